//! Measurement of an audit: agreement between raters, per-language audit results, attack
//! success rate of model responses, and the report with its charts.
//!
//! `agreement` is pure math; `ratings` gathers rater × item matrices from the store;
//! `results` and `asr` compute the tables; `charts` draws them as SVG (the same SVG the app
//! shows) and PNG; `report` writes them all to a folder.

pub mod agreement;
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
    #[error("{path} exists and is not a Verdikt report folder: choose another folder")]
    NotAReport { path: std::path::PathBuf },
}

impl From<crate::staged::StageError> for MeasureError {
    fn from(crate::staged::StageError { path, source }: crate::staged::StageError) -> Self {
        MeasureError::Write { path, source }
    }
}

pub mod asr;
pub mod charts;
pub mod report;
pub mod results;
