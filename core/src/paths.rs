//! Where Verdikt keeps its files: `VERDIKT_HOME` when set (tests, portable installs), else the
//! OS data folder's `verdikt/`.

use std::path::PathBuf;

/// The folder for the default project, downloaded models and user guard profiles.
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("VERDIKT_HOME") {
        Some(home) if !home.is_empty() => Some(PathBuf::from(home)),
        _ => dirs::data_dir().map(|d| d.join("verdikt")),
    }
}

/// Downloaded guard models.
pub fn models_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("models"))
}

/// User guard profiles, which override the built-in ones of the same name.
pub fn profiles_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("guards"))
}
