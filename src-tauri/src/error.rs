//! Errors as the window shows them: the core's typed errors turned into words at the edge,
//! with per-row details (file, line, field) kept as a list the UI can show one per line.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppError {
    pub message: String,
    /// One entry per located problem (e.g. `file:line: field: message`), when there are any.
    pub details: Vec<String>,
}

impl AppError {
    pub fn new(message: impl Into<String>) -> AppError {
        AppError {
            message: message.into(),
            details: Vec::new(),
        }
    }
}

impl<E: std::error::Error> From<E> for AppError {
    fn from(e: E) -> AppError {
        AppError::new(e.to_string())
    }
}

/// The import error with every row problem it kept, so the Import screen can list them.
pub fn import_error(e: verdikt_core::import::ImportError) -> AppError {
    use verdikt_core::import::ImportError;
    let details = match &e {
        ImportError::Invalid { problems, .. } => problems.iter().map(|p| p.to_string()).collect(),
        _ => Vec::new(),
    };
    AppError {
        message: e.to_string(),
        details,
    }
}

pub type AppResult<T> = Result<T, AppError>;
