//! Measurement of an audit: agreement between raters, per-language audit results, attack
//! success rate of model responses, and the report with its charts.
//!
//! `agreement` and `estimate` are pure math; `guard_error`, `calibration` and `corrected` join the
//! guards' verdicts with the human audit of the random sample; `ratings` gathers rater × item matrices from the store;
//! `results` and `asr` compute the tables; `audit_figures` turns the audit-sample figures into
//! the report's tables and charts; `charts` draws them as SVG (the same SVG the app
//! shows) and PNG; `report` writes them all to a folder.

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
