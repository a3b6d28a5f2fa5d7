//! Long work (import, guard runs, downloads, export) on a blocking worker thread with its own
//! project connection, so the window stays responsive; progress goes back over a Channel.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tauri::State;
use verdikt_core::store::Store;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Runs `work` off the UI thread on a fresh connection to the open project; the job is
/// cancellable through `job_cancel(id)` until it returns.
pub async fn run_job<T: Send + 'static>(
    state: &State<'_, AppState>,
    id: &str,
    work: impl FnOnce(&mut Store, &Arc<AtomicBool>) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let path: PathBuf = state
        .project_path()
        .ok_or_else(|| AppError::new("no project is open"))?;
    run_blocking(state, id, move |cancel| {
        let mut store = Store::open(&path)?;
        work(&mut store, cancel)
    })
    .await
}

/// Runs `work` off the UI thread on a fresh connection to the open project: a read too long
/// to hold the window's own connection, with nothing to cancel or report (not a job).
pub async fn read_off_thread<T: Send + 'static>(
    state: &State<'_, AppState>,
    work: impl FnOnce(&Store) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let path: PathBuf = state
        .project_path()
        .ok_or_else(|| AppError::new("no project is open"))?;
    tauri::async_runtime::spawn_blocking(move || work(&Store::open(&path)?))
        .await
        .map_err(|e| AppError::new(format!("the work stopped unexpectedly: {e}")))?
}

/// Runs `work` off the UI thread, cancellable through `job_cancel(id)` until it returns.
pub async fn run_blocking<T: Send + 'static>(
    state: &State<'_, AppState>,
    id: &str,
    work: impl FnOnce(&Arc<AtomicBool>) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let cancel = state.start_job(id)?;
    let outcome = tauri::async_runtime::spawn_blocking(move || work(&cancel)).await;
    state.end_job(id);
    outcome.map_err(|e| AppError::new(format!("the job stopped unexpectedly: {e}")))?
}

/// Stops a running job. Returns false when no job of that id runs.
#[tauri::command]
#[specta::specta]
pub fn job_cancel(state: State<'_, AppState>, id: String) -> bool {
    state.cancel_job(&id)
}
