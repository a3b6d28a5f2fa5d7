//! The Import screen: detect formats, preview the mapping of the first rows, run the import
//! with progress and cancel. All of it is `verdikt_core::import`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tauri::State;
use tauri::ipc::Channel;
use verdikt_core::import::{
    ImportOptions, ImportProgress, ImportReport, InputFormat, SourceFile, detect, import, preview,
};
use verdikt_core::sample::Field;

use crate::error::{AppError, AppResult, import_error};
use crate::given;
use crate::grants::Grants;
use crate::jobs::run_job;
use crate::state::AppState;

/// How many rows the preview shows.
const PREVIEW_ROWS: usize = 5;

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct ImportRequest {
    pub paths: Vec<String>,
    pub format: InputFormat,
    pub dataset: Option<String>,
    pub replace: bool,
    pub skip_invalid: bool,
    /// `(field, column)`: read the field from that column instead of the automatic alias.
    pub mappings: Vec<(String, String)>,
}

impl ImportRequest {
    /// The source paths, each one the user picked or dropped.
    fn paths(&self, grants: &Grants) -> AppResult<Vec<PathBuf>> {
        self.paths.iter().map(|p| grants.source(p)).collect()
    }

    fn options(&self) -> AppResult<ImportOptions> {
        let mappings = self
            .mappings
            .iter()
            .map(|(field, column)| {
                Field::from_name(field)
                    .map(|f| (f, column.clone()))
                    .ok_or_else(|| AppError::new(format!("unknown field `{field}`")))
            })
            .collect::<AppResult<_>>()?;
        Ok(ImportOptions {
            dataset: given(self.dataset.clone()),
            format: self.format,
            replace: self.replace,
            skip_invalid: self.skip_invalid,
            mappings,
            ..ImportOptions::default()
        })
    }
}

/// One previewed row: its raw columns as text and what it maps to, or why it cannot.
#[derive(Serialize, specta::Type)]
pub struct PreviewRow {
    pub line: u64,
    pub columns: Vec<(String, String)>,
    /// `field → value` of each sample the row becomes.
    pub mapped: Vec<Vec<(String, String)>>,
    pub problems: Vec<String>,
}

#[derive(Serialize, specta::Type)]
pub struct FilePreview {
    pub file: SourceFile,
    pub rows: Vec<PreviewRow>,
    /// The sample fields a column can be mapped to.
    pub fields: Vec<String>,
}

/// The files the paths stand for and a preview of the first one.
#[tauri::command]
#[specta::specta]
pub async fn import_preview(
    state: State<'_, AppState>,
    request: ImportRequest,
) -> AppResult<Vec<FilePreview>> {
    let paths = request.paths(&state.grants())?;
    tauri::async_runtime::spawn_blocking(move || {
        let files = detect(&paths, request.format).map_err(import_error)?;
        let opts = request.options()?;
        files
            .into_iter()
            .take(1)
            .map(|file| {
                let rows = preview(&file, &opts, PREVIEW_ROWS).map_err(import_error)?;
                Ok(FilePreview {
                    rows: rows.into_iter().map(preview_row).collect(),
                    file,
                    fields: Field::ALL.iter().map(|f| f.name().to_string()).collect(),
                })
            })
            .collect()
    })
    .await?
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn preview_row(row: verdikt_core::import::PreviewRow) -> PreviewRow {
    let columns = row
        .raw
        .iter()
        .flat_map(|r| r.iter().map(|(k, v)| (k.to_string(), text(v))))
        .collect();
    let (mapped, problems) = match row.result {
        Ok(samples) => (
            samples
                .into_iter()
                .map(|s| {
                    let mut f = vec![
                        ("id".to_string(), s.ext_id),
                        ("language".into(), s.language),
                        ("category".into(), s.category.unwrap_or("").into()),
                        ("style".into(), s.style.unwrap_or_default()),
                        ("split".into(), s.split.unwrap_or_default()),
                        ("prompt".into(), s.prompt),
                    ];
                    if let Some((chosen, rejected)) = s.pair {
                        f.push(("chosen".into(), chosen));
                        f.push(("rejected".into(), rejected));
                    }
                    if let Some(response) = s.response {
                        f.push(("response".into(), response));
                    }
                    f
                })
                .collect(),
            Vec::new(),
        ),
        Err(problems) => (
            Vec::new(),
            problems
                .iter()
                .map(|p| format!("line {}: {}: {}", row.line, p.field, p.message))
                .collect(),
        ),
    };
    PreviewRow {
        line: row.line,
        columns,
        mapped,
        problems,
    }
}

/// Imports the files; progress goes to `on_progress`; `job_cancel(job)` rolls it back.
#[tauri::command]
#[specta::specta]
pub async fn import_run(
    state: State<'_, AppState>,
    job: String,
    request: ImportRequest,
    on_progress: Channel<ImportProgress>,
) -> AppResult<ImportReport> {
    let opts = request.options()?;
    let paths = request.paths(&state.grants())?;
    run_job(&state, &job, move |store, cancel| {
        import(
            store,
            &paths,
            &opts,
            &mut |p| {
                let _ = on_progress.send(p);
            },
            cancel,
        )
        .map_err(import_error)
    })
    .await
}
