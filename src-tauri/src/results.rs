//! The Results screen: the measurement report (results, agreement, ASR, progress) as tables and
//! charts, all built by `verdikt_core::measure::report`; saving a chart (SVG or PNG) or a table
//! (CSV) to a file the user picked in the save dialog.

use tauri::State;
use verdikt_core::filter::SampleFilter;
use verdikt_core::measure::charts;
use verdikt_core::measure::report::{Report, build};
use verdikt_core::staged::write_file;

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

/// Saves one chart or table (`name`) of the report under `filter` to `path`, which the user
/// chose in the save dialog (or lies in the project's folder); staged and renamed.
#[tauri::command]
#[specta::specta]
pub async fn results_save(
    state: State<'_, AppState>,
    filter: SampleFilter,
    kind: SaveKind,
    name: String,
    path: String,
) -> AppResult<()> {
    let target = state.target(&path)?;
    let report = state.with_store(|store| Ok(build(store, &filter)?))?;
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
            return Ok(table.save_csv(&target.path, target.force)?);
        }
    };
    Ok(write_file(&target.path, target.force, &bytes)?)
}
