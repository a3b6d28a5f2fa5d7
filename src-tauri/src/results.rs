//! The Results screen: the measurement report (results, agreement, ASR, progress) as tables and
//! SVG charts, all built by `verdikt_core::measure::report`; saving a chart or a table to a file
//! the user picked in the save dialog.

use std::path::PathBuf;

use tauri::State;
use verdikt_core::filter::SampleFilter;
use verdikt_core::measure::report::{Report, build};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn results_get(state: State<'_, AppState>, filter: SampleFilter) -> AppResult<Report> {
    state.with_store(|store| Ok(build(store, &filter)?))
}

/// Saves one chart (`kind` = `svg`) or table (`kind` = `csv`) of the report under `filter`
/// to `path`.
#[tauri::command]
#[specta::specta]
pub async fn results_save(
    state: State<'_, AppState>,
    filter: SampleFilter,
    kind: String,
    name: String,
    path: String,
) -> AppResult<()> {
    let report = state.with_store(|store| Ok(build(store, &filter)?))?;
    let path = PathBuf::from(path);
    match kind.as_str() {
        "svg" => {
            let chart = report
                .charts
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| AppError::new(format!("no chart named `{name}`")))?;
            std::fs::write(&path, &chart.svg)?;
        }
        "csv" => {
            let table = report
                .tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| AppError::new(format!("no table named `{name}`")))?;
            table.write_csv_to(&path)?;
        }
        other => return Err(AppError::new(format!("cannot save `{other}`"))),
    }
    Ok(())
}
