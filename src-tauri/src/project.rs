//! Which project is open: `VERDIKT_DB`, else the last one used, else (first launch) the default
//! project with the bundled sample dataset imported, so a newcomer sees real work at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, State};
use verdikt_core::filter::SampleFilter;
use verdikt_core::import::{ImportOptions, import};
use verdikt_core::stats::{DatasetInfo, Stats, datasets, stats};
use verdikt_core::store::Store;

use crate::error::{AppError, AppResult, import_error};
use crate::state::AppState;

/// The bundled sample dataset, relative to the app's resource folder (see tauri.conf.json).
pub const SAMPLE_RESOURCE: &str = "datasets/refuseu-sample.jsonl";
const SAMPLE_DATASET: &str = "refuseu-sample";
const RECENT_FILE: &str = "recent-projects.json";
const RECENT_KEPT: usize = 10;

#[derive(Serialize, specta::Type)]
pub struct ProjectInfo {
    pub path: String,
    pub datasets: Vec<DatasetInfo>,
    pub stats: Stats,
}

#[derive(Serialize, specta::Type)]
pub struct AppInfo {
    pub version: String,
    pub project: Option<ProjectInfo>,
    pub recent: Vec<String>,
    /// `--open-sample ID`: the window opens Review on this sample (once).
    pub open_sample: Option<String>,
    /// What went wrong opening the project at start, if anything.
    pub startup_error: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct Recent {
    projects: Vec<PathBuf>,
}

fn recent_path() -> Option<PathBuf> {
    verdikt_core::paths::data_dir().map(|d| d.join(RECENT_FILE))
}

fn load_recent() -> Recent {
    recent_path()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Puts `path` first in the recent list. Losing the list loses nothing stored, so a failure
/// to write it is only logged.
fn remember(path: &Path) {
    let Some(file) = recent_path() else { return };
    let mut recent = load_recent();
    recent.projects.retain(|p| p != path);
    recent.projects.insert(0, path.to_path_buf());
    recent.projects.truncate(RECENT_KEPT);
    let write = || -> std::io::Result<()> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = file.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&recent).expect("paths serialise"),
        )?;
        std::fs::rename(tmp, &file)
    };
    if let Err(e) = write() {
        log::warn!("cannot update {}: {e}", file.display());
    }
}

/// Opens the project the app starts with; the error, if any, is shown on the Start screen.
pub fn open_at_start(app: &AppHandle) -> Result<(), String> {
    let state = app.state::<AppState>();
    let from_env = std::env::var_os("VERDIKT_DB").filter(|v| !v.is_empty());
    if let Some(path) = from_env {
        return state.open(Path::new(&path)).map_err(|e| e.message);
    }
    if let Some(last) = load_recent().projects.into_iter().find(|p| p.exists()) {
        state.open(&last).map_err(|e| e.message)?;
        remember(&last);
        return Ok(());
    }
    let path = Store::default_path().map_err(|e| e.to_string())?;
    let first = !path.exists();
    state.open(&path).map_err(|e| e.message)?;
    remember(&path);
    if first {
        let sample = bundled_sample(app)?;
        state
            .with_store(|store| import_sample(store, &sample))
            .map_err(|e| e.message)?;
    }
    Ok(())
}

/// The bundled sample: in the installed resource folder, or beside the executable, where the
/// build copies resources (a binary run from `target/`, as in the tests and `scripts/setup`).
fn bundled_sample(app: &AppHandle) -> Result<PathBuf, String> {
    let installed = app
        .path()
        .resource_dir()
        .ok()
        .map(|d| d.join(SAMPLE_RESOURCE));
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(SAMPLE_RESOURCE)));
    installed
        .iter()
        .chain(beside.iter())
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| format!("the bundled sample dataset {SAMPLE_RESOURCE} is missing"))
}

fn import_sample(store: &mut Store, file: &Path) -> AppResult<()> {
    let opts = ImportOptions {
        dataset: Some(SAMPLE_DATASET.into()),
        ..ImportOptions::default()
    };
    import(
        store,
        &[file.to_path_buf()],
        &opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .map_err(import_error)?;
    Ok(())
}

fn project_info(store: &Store) -> AppResult<ProjectInfo> {
    Ok(ProjectInfo {
        path: store.path().display().to_string(),
        datasets: datasets(store)?,
        stats: stats(store, &SampleFilter::default())?,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, AppState>) -> AppResult<AppInfo> {
    let project = match state.project_path() {
        Some(_) => Some(state.with_store(|s| project_info(s))?),
        None => None,
    };
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        project,
        recent: load_recent()
            .projects
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        open_sample: state
            .open_sample
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(),
        startup_error: state
            .startup_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(),
    })
}

/// Opens (or creates) a project file the user chose, and makes it the current one; another
/// program's SQLite file is refused untouched (`Store::open`).
#[tauri::command]
#[specta::specta]
pub async fn project_open(state: State<'_, AppState>, path: String) -> AppResult<ProjectInfo> {
    if path.trim().is_empty() {
        return Err(AppError::new("give the project file's path"));
    }
    let path = state
        .grants()
        .project_file(&path, &load_recent().projects)?;
    state.open(&path)?;
    remember(&path);
    state.with_store(|s| project_info(s))
}

/// The open project's datasets and counts.
#[tauri::command]
#[specta::specta]
pub async fn project_info_get(state: State<'_, AppState>) -> AppResult<ProjectInfo> {
    state.with_store(|s| project_info(s))
}
