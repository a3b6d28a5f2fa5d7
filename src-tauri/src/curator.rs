//! The Curator screen: what decides what reviewers see. Triage and the audit draw fill the
//! queue; reviewers (names, languages), team settings (reviewer care's among them), the
//! question wording, the project's choice of guards, and review packs for reviewers who work
//! offline. All of it is `verdikt_core`; each command
//! is what the curator's `verdikt` command does.

use serde::{Deserialize, Serialize};
use tauri::State;
use tauri::ipc::Channel;
use verdikt_core::audit::pack::{PackOptions, export_pack, import_pack};
use verdikt_core::audit::{
    AuditConfig, CareSettings, Reviewer, add_reviewer, audit_config, set_adjudicator, set_care,
    set_config, set_languages, set_question,
};
use verdikt_core::filter::SampleFilter;
use verdikt_core::measure::corrected::{CONFIDENCE, Plan, project_plan, top_up_targets};
use verdikt_core::project_guards::{
    JudgeChoice, KeepRule, ProjectGuards, project_guards, use_guards, use_judge, use_keep_rule,
};
use verdikt_core::triage::audit_sample::{AuditSampleOptions, AuditSampleReport, draw, top_up};
use verdikt_core::triage::{TriageOptions, TriageReport, triage};

use crate::error::{AppError, AppResult};
use crate::given;
use crate::jobs::run_job;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn reviewer_add(
    state: State<'_, AppState>,
    name: String,
    languages: String,
) -> AppResult<Reviewer> {
    state.with_store(|store| Ok(add_reviewer(store, &name, &languages)?))
}

/// Replaces the languages a reviewer reads (what their queue holds).
#[tauri::command]
#[specta::specta]
pub async fn reviewer_languages_set(
    state: State<'_, AppState>,
    name: String,
    languages: String,
) -> AppResult<Reviewer> {
    state.with_store(|store| Ok(set_languages(store, &name, &languages)?))
}

/// Makes a reviewer an adjudicator of the languages they read, or no longer one.
#[tauri::command]
#[specta::specta]
pub async fn reviewer_adjudicator_set(
    state: State<'_, AppState>,
    name: String,
    adjudicator: bool,
) -> AppResult<Reviewer> {
    state.with_store(|store| Ok(set_adjudicator(store, &name, adjudicator)?))
}

/// How the team audits: answers per sample, the share that needs them, blind, hidden guards.
#[tauri::command]
#[specta::specta]
pub async fn audit_config_get(state: State<'_, AppState>) -> AppResult<AuditConfig> {
    state.with_store(|store| Ok(audit_config(store.conn())?))
}

/// Sets one team-audit setting (`verdikt config KEY VALUE`), e.g. `answers-per-sample` `2`.
#[tauri::command]
#[specta::specta]
pub async fn audit_config_set(
    state: State<'_, AppState>,
    key: String,
    value: String,
) -> AppResult<AuditConfig> {
    state.with_store(|store| Ok(set_config(store, &key, &value)?))
}

/// Sets one reviewer-care setting (`verdikt config KEY VALUE`), e.g. `blur-categories` `S4,S11`;
/// the Review screen reads them with its setup.
#[tauri::command]
#[specta::specta]
pub async fn care_config_set(
    state: State<'_, AppState>,
    key: String,
    value: String,
) -> AppResult<CareSettings> {
    state.with_store(|store| Ok(set_care(store, &key, &value)?))
}

/// New wording for `q1`/`q2`/`q3` or the guidelines; empty text returns to the default.
#[tauri::command]
#[specta::specta]
pub async fn question_set(state: State<'_, AppState>, key: String, text: String) -> AppResult<()> {
    state.with_store(|store| Ok(set_question(store, &key, &text)?))
}

/// The guard runs in force (chosen by the curator, or the default).
#[tauri::command]
#[specta::specta]
pub async fn project_guards_get(state: State<'_, AppState>) -> AppResult<ProjectGuards> {
    state.with_store(|store| Ok(project_guards(store.conn())?))
}

/// Makes `runs` the project's guards; none returns to the default (latest run per guard).
#[tauri::command]
#[specta::specta]
pub async fn project_guards_set(
    state: State<'_, AppState>,
    runs: Vec<i64>,
) -> AppResult<ProjectGuards> {
    state.with_store(|store| Ok(use_guards(store.conn(), &runs)?))
}

/// Sets the project's judge (the paper's protocol), no judge, or back to the default.
#[tauri::command]
#[specta::specta]
pub async fn project_judge_set(
    state: State<'_, AppState>,
    judge: JudgeChoice,
) -> AppResult<ProjectGuards> {
    state.with_store(|store| Ok(use_judge(store.conn(), judge)?))
}

/// Sets the keep rule; none returns to the default (adjudicated when there is a judge).
#[tauri::command]
#[specta::specta]
pub async fn project_keep_rule_set(
    state: State<'_, AppState>,
    rule: Option<KeepRule>,
) -> AppResult<ProjectGuards> {
    state.with_store(|store| Ok(use_keep_rule(store.conn(), rule)?))
}

/// Progress of a triage run: texts whose language was identified so far, of how many.
#[derive(Clone, Serialize, specta::Type)]
pub struct TriageProgress {
    pub done: u64,
    pub total: u64,
}

/// Recomputes the queue (language identification, then every triage rule).
#[tauri::command]
#[specta::specta]
pub async fn triage_run(
    state: State<'_, AppState>,
    job: String,
    on_progress: Channel<TriageProgress>,
) -> AppResult<TriageReport> {
    run_job(&state, &job, move |store, cancel| {
        Ok(triage(
            store,
            &TriageOptions::default(),
            &mut |done, total| {
                let _ = on_progress.send(TriageProgress { done, total });
            },
            cancel,
        )?)
    })
    .await
}

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct AuditSampleRequest {
    pub per_language: u32,
    pub seed: u32,
    /// Comma-separated language codes; none = every language.
    pub language: Option<String>,
}

/// Draws the stratified audit sample into the queue (reason `audit_sample`), replacing an
/// earlier draw in the same languages.
#[tauri::command]
#[specta::specta]
pub async fn audit_sample_draw(
    state: State<'_, AppState>,
    job: String,
    request: AuditSampleRequest,
) -> AppResult<AuditSampleReport> {
    let opts = AuditSampleOptions {
        per_language: request.per_language.into(),
        seed: request.seed.into(),
        filter: SampleFilter {
            language: given(request.language),
            ..SampleFilter::default()
        },
    };
    run_job(&state, &job, move |store, _cancel| Ok(draw(store, &opts)?)).await
}

/// How many more randomly audited texts each language needs for a corrected ASR within ±
/// `width` (95%), under the default rule (the judge's protocol where a judge is in force, else
/// `both`): `verdikt audit-plan --width`.
#[tauri::command]
#[specta::specta]
pub async fn audit_plan_get(state: State<'_, AppState>, width: f64) -> AppResult<Vec<Plan>> {
    state.with_store(|store| {
        Ok(project_plan(
            store,
            &SampleFilter::default(),
            None,
            width,
            CONFIDENCE,
        )?)
    })
}

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct TopUpRequest {
    /// The plan's half-width.
    pub width: f64,
    pub seed: u32,
}

/// Draws what the audit plan asks for: per language with more to draw, `verdikt audit-sample
/// --top-up --per-language <audited + more> --language <it>`, keeping every sample already
/// drawn. One report per language topped up.
#[tauri::command]
#[specta::specta]
pub async fn audit_plan_top_up(
    state: State<'_, AppState>,
    job: String,
    request: TopUpRequest,
) -> AppResult<Vec<AuditSampleReport>> {
    run_job(&state, &job, move |store, _cancel| {
        let plans = project_plan(
            store,
            &SampleFilter::default(),
            None,
            request.width,
            CONFIDENCE,
        )?;
        let mut out = Vec::new();
        for (language, per_language) in top_up_targets(&plans) {
            let opts = AuditSampleOptions {
                per_language,
                seed: request.seed.into(),
                filter: SampleFilter {
                    language: Some(language),
                    ..SampleFilter::default()
                },
            };
            out.push(top_up(store, &opts)?);
        }
        Ok(out)
    })
    .await
}

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct PackRequest {
    pub reviewer: String,
    pub language: String,
    pub seed: u32,
    /// The pack file to write.
    pub out: String,
}

/// A review pack as written: its id, how many samples, how many of them also need another
/// reviewer's answer.
#[derive(Serialize, specta::Type)]
pub struct PackSummary {
    pub pack_id: String,
    pub samples: u32,
    pub shared: u32,
    pub out: String,
}

/// Writes a review pack for one reviewer and language (a project file they answer offline).
#[tauri::command]
#[specta::specta]
pub async fn pack_export(
    state: State<'_, AppState>,
    job: String,
    request: PackRequest,
) -> AppResult<PackSummary> {
    if request.out.trim().is_empty() {
        return Err(AppError::new("pick where to save the pack"));
    }
    let target = state.target(&request.out)?;
    let opts = PackOptions {
        reviewer: request.reviewer,
        language: request.language,
        seed: request.seed.into(),
        out: target.path,
        force: target.force,
    };
    run_job(&state, &job, move |store, _cancel| {
        let r = export_pack(store, &opts)?;
        Ok(PackSummary {
            pack_id: r.pack_id,
            samples: r.samples as u32,
            shared: r.shared as u32,
            out: r.out.display().to_string(),
        })
    })
    .await
}

/// A merged pack: whose answers, how many versions were added now and how many earlier.
#[derive(Serialize, specta::Type)]
pub struct MergeSummary {
    pub pack_id: String,
    pub reviewer: String,
    pub merged: u32,
    pub already_merged: u32,
}

/// Merges a reviewer's answered pack back (idempotent: a second merge adds nothing).
#[tauri::command]
#[specta::specta]
pub async fn pack_merge(
    state: State<'_, AppState>,
    job: String,
    path: String,
) -> AppResult<MergeSummary> {
    let path = state.grants().source(&path)?;
    run_job(&state, &job, move |store, _cancel| {
        let r = import_pack(store, &path)?;
        Ok(MergeSummary {
            pack_id: r.pack_id,
            reviewer: r.reviewer,
            merged: r.merged as u32,
            already_merged: r.already_merged as u32,
        })
    })
    .await
}
