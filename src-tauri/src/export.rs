//! The Export screen: the train/test split, then format, filters and target; the file is
//! written beside the target and renamed (by the core), so a cancelled or failed export leaves
//! nothing half-written.

use serde::Deserialize;
use tauri::State;
use verdikt_core::export::{ExportFormat, ExportOptions, ExportReport, PassRule, export};
use verdikt_core::filter::SampleFilter;
use verdikt_core::split::{SplitOptions, SplitReport, split};

use crate::error::AppResult;
use crate::given;
use crate::jobs::run_job;
use crate::state::AppState;

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct ExportRequest {
    pub out: String,
    pub format: ExportFormat,
    pub dataset: Option<String>,
    /// Comma-separated language codes.
    pub language: Option<String>,
    /// Comma-separated split names.
    pub split: Option<String>,
    /// Only samples the paper's keep rule keeps (guards' verdicts).
    pub keep_rule: bool,
    /// Only samples that passed the audit; `q3_optional` also accepts Q3 = no.
    pub only_passed: bool,
    pub q3_optional: bool,
}

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct SplitRequest {
    /// Test samples to aim at per category per language.
    pub test_per_category: u32,
    pub seed: u32,
    pub dataset: Option<String>,
    /// Comma-separated language codes.
    pub language: Option<String>,
}

/// Assigns train/test to the selected samples: whole (category, style) groups, seeded.
#[tauri::command]
#[specta::specta]
pub async fn split_run(
    state: State<'_, AppState>,
    job: String,
    request: SplitRequest,
) -> AppResult<SplitReport> {
    let opts = SplitOptions {
        test_per_category: request.test_per_category.into(),
        seed: request.seed.into(),
        filter: SampleFilter {
            dataset: given(request.dataset),
            language: given(request.language),
            ..SampleFilter::default()
        },
    };
    run_job(&state, &job, move |store, _cancel| Ok(split(store, &opts)?)).await
}

/// Writes the selected samples to a target the user chose (see `grants`); the core has no
/// row-level progress for export, so the window shows it as running until this returns.
#[tauri::command]
#[specta::specta]
pub async fn export_run(
    state: State<'_, AppState>,
    job: String,
    request: ExportRequest,
) -> AppResult<ExportReport> {
    let target = state.target(&request.out)?;
    let opts = ExportOptions {
        out: target.path,
        force: target.force,
        format: request.format,
        filter: SampleFilter {
            dataset: given(request.dataset),
            language: given(request.language),
            split: given(request.split),
            keep_rule: request.keep_rule,
        },
        only_passed: request.only_passed.then_some(PassRule {
            q3_optional: request.q3_optional,
        }),
    };
    run_job(&state, &job, move |store, _cancel| {
        Ok(export(store, &opts)?)
    })
    .await
}
