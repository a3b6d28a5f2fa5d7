//! The Results screen: the measurement report (results, agreement, ASR, progress) as tables and
//! charts, all built by `verdikt_core::measure::report`; saving a chart (SVG or PNG) or a table
//! (CSV) to a file the user picked in the save dialog. What is saved is what the window shows
//! (the window sends it back), so a filter edited after the last refresh or answers stored
//! since cannot make the file differ from the screen.

use tauri::State;
use verdikt_core::filter::SampleFilter;
use verdikt_core::measure::charts;
use verdikt_core::measure::report::{Report, Table, build};
use verdikt_core::staged::write_file;

use crate::error::AppResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn results_get(state: State<'_, AppState>, filter: SampleFilter) -> AppResult<Report> {
    state.with_store(|store| Ok(build(store, &filter)?))
}

/// One chart or table as the window shows it.
#[derive(Clone, Debug, serde::Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Shown {
    /// A chart's SVG document, saved as it is.
    Svg { svg: String },
    /// A chart's SVG document, rasterised.
    Png { svg: String },
    /// A table, saved as CSV (formula-guarded cells).
    Csv {
        name: String,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

/// Saves what the window shows to `path`, which the user chose in the save dialog (or lies in
/// the project's folder); staged and renamed.
#[tauri::command]
#[specta::specta]
pub async fn results_save(state: State<'_, AppState>, shown: Shown, path: String) -> AppResult<()> {
    let target = state.target(&path)?;
    let bytes = match shown {
        Shown::Svg { svg } => svg.into_bytes(),
        Shown::Png { svg } => charts::png(&svg)?,
        Shown::Csv { name, header, rows } => {
            let table = Table {
                name,
                header,
                rows,
                legend: Vec::new(),
            };
            return Ok(table.save_csv(&target.path, target.force)?);
        }
    };
    Ok(write_file(&target.path, target.force, &bytes)?)
}
