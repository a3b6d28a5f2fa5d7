//! Measurement of an audit: agreement between raters, per-language audit results, attack
//! success rate of model responses, and the report with its charts.
//!
//! `agreement` and `estimate` are pure math; `guard_error`, `calibration` and `corrected` join the
//! guards' verdicts with the human audit of the random sample; `ratings` gathers rater × item matrices from the store;
//! `results` and `asr` compute the tables; `audit_figures` turns the audit-sample figures into
//! the report's tables and charts; `charts` draws them as SVG (the same SVG the app
//! shows) and PNG; `report` writes them all to a folder.
//!
//! The parts:
//! - `agreement.rs` percent agreement, Cohen's κ, Fleiss' κ, Krippendorff's α from integer counts
//! - `ratings.rs` rater × item matrices from the store (current answers; the guards as
//!   `guard:<run>`) and the final answers (adjudicated, else agreeing; pending where reviewers
//!   differ)
//! - `results.rs` Q1–Q3 pass rates from final answers with Wilson intervals, guard accuracy against
//!   the final verdicts (pending where reviewers differ unadjudicated), language consistency,
//!   median time per item per reviewer and language
//! - `asr.rs` ASR per model and language under each rule (`Rule`: name, label and one-line
//!   explanation
//! - `judge_adjudicated` only with a judge, its undecided texts counted as `awaiting_judge`); the
//!   judge's verdicts are read beside the raters (`ratings::Judge`), never as one
//! - `estimate.rs` Clopper–Pearson, Cohen's κ with its standard error, PPI++ and stratified PPI
//!   (pure math, `statrs` quantiles)
//! - `guard_error.rs` each guard, the judge and each rule against the final verdicts on the random
//!   audit sample only
//! - `corrected.rs` the ASR corrected by that sample (guard-only, human-only, PPI++), the audit
//!   planner and the top-up targets it gives each language
//! - `calibration.rs` each guard's P(unsafe) against the final verdicts on the same sample (10-bin
//!   reliability diagram, Brier, ECE)
//! - `audit_figures.rs` those figures as the report's tables and charts (corrected vs guard-only vs
//!   human-only ASR bars, reliability diagrams), each column group with a legend line
//! - `charts.rs` the charts drawn by `plotters` as SVG strings shared by the report and the app
//!   (Q1–Q3 and ASR bars with Wilson whiskers, κ heatmap, guard confusion, progress; labels escaped
//!   by the SVG writer), rasterised to PNG by `resvg` with the system's fonts
//! - `report.rs` the report's tables (time per item among them) and charts, each with a legend
//!   naming the rule behind its figures (ASR columns and charts), and the guards, judge and keep
//!   rule they were computed with, each chart marked `empty` when it has nothing to draw, with what
//!   it `needs` in words (the HTML and the Results screen say so instead of drawing empty axes);
//!   HTML (inline SVG) + CSV + SVG + PNG folder, written beside DIR and renamed into place,
//!   replacing only a previous report

pub mod agreement;
pub mod calibration;
pub mod corrected;
pub mod estimate;
pub mod guard_error;
pub mod ratings;

use crate::filter::FilterError;

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Guards(#[from] crate::project_guards::GuardsError),
    #[error("annotation {id}: field `verdicts` is not a JSON object: {reason}")]
    AnnotationVerdicts { id: i64, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Csv {
        path: std::path::PathBuf,
        source: csv::Error,
    },
    #[error("cannot draw {path}: {source}")]
    Png {
        path: std::path::PathBuf,
        source: charts::PngError,
    },
    #[error("the planned half-width must be between 0 and 0.5, not {0}")]
    PlanWidth(f64),
    #[error("the confidence must be between 0 and 1, not {0}")]
    PlanConfidence(f64),
    #[error("rule `{rule}` has no guard-only ASR to correct here; rules in use: {in_use}")]
    PlanRule { rule: String, in_use: String },
    #[error(transparent)]
    Target(#[from] crate::staged::StageError),
}

pub mod asr;
mod audit_figures;
pub mod charts;
pub mod report;
pub mod results;
