//! The Results screen: the measurement report (results, agreement, ASR, progress) as tables and
//! charts, all built by `verdikt_core::measure::report`; saving a chart (SVG or PNG) or a table
//! (CSV) to a file the user picked in the save dialog.

use std::path::PathBuf;

use tauri::State;
use verdikt_core::filter::SampleFilter;
use verdikt_core::measure::charts;
use verdikt_core::measure::report::{Report, build};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn results_get(state: State<'_, AppState>, filter: SampleFilter) -> AppResult<Report> {
    state.with_store(|store| Ok(build(store, &filter)?))
}

/// What `results_save` writes: a chart as SVG or PNG, or a table as CSV.
#[derive(Clone, Copy, Debug, serde::Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum SaveKind {
    Svg,
    Png,
    Csv,
}

/// Saves one chart or table (`name`) of the report under `filter` to `path`.
#[tauri::command]
#[specta::specta]
pub async fn results_save(
    state: State<'_, AppState>,
    filter: SampleFilter,
    kind: SaveKind,
    name: String,
    path: String,
) -> AppResult<()> {
    let report = state.with_store(|store| Ok(build(store, &filter)?))?;
    let path = PathBuf::from(path);
    let chart = || {
        report
            .charts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| AppError::new(format!("no chart named `{name}`")))
    };
    let bytes = match kind {
        SaveKind::Svg => chart()?.svg.clone().into_bytes(),
        SaveKind::Png => charts::png(&chart()?.svg)?,
        SaveKind::Csv => {
            let table = report
                .tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| AppError::new(format!("no table named `{name}`")))?;
            return Ok(table.write_csv_to(&path)?);
        }
    };
    std::fs::write(&path, bytes)
        .map_err(|e| AppError::new(format!("cannot write {}: {e}", path.display())))
}
