//! The Review screen: the reviewer's queue, one sample with every guard's reading, answers,
//! undo and the question wording. Queue order and sample views are `verdikt_core::queue`;
//! reviewers, answers and history are `verdikt_core::audit`; triage is `verdikt_core::triage`.

use serde::{Deserialize, Serialize};
use tauri::State;
use tauri::ipc::Channel;
use verdikt_core::audit::{
    Answer, AnswerRecord, Questions, Reviewer, add_reviewer, annotate, current_answers,
    list_reviewers, questions, revert_last,
};
use verdikt_core::filter::SampleFilter;
use verdikt_core::queue::{QueueCount, QueueQuery, SampleView, counts, next, sample_view};
use verdikt_core::stats::stats;
use verdikt_core::store::Store;
use verdikt_core::triage::audit_sample::{AuditSampleOptions, AuditSampleReport, draw};
use verdikt_core::triage::{Reason, TriageOptions, TriageReport, triage};

use crate::error::{AppError, AppResult};
use crate::given;
use crate::jobs::run_job;
use crate::state::AppState;

/// What the Review screen offers to choose from.
#[derive(Serialize, specta::Type)]
pub struct ReviewSetup {
    pub reviewers: Vec<Reviewer>,
    pub questions: Questions,
    pub languages: Vec<String>,
    pub reasons: Vec<String>,
    pub categories: Vec<String>,
    pub styles: Vec<String>,
}

#[tauri::command]
#[specta::specta]
pub async fn review_setup(state: State<'_, AppState>) -> AppResult<ReviewSetup> {
    state.with_store(|store| {
        let counts = stats(store, &SampleFilter::default())?;
        Ok(ReviewSetup {
            reviewers: list_reviewers(store)?,
            questions: questions(store)?,
            languages: counts.by_language.into_keys().collect(),
            reasons: Reason::ALL.iter().map(|r| r.name().to_string()).collect(),
            categories: counts.by_category.into_keys().collect(),
            styles: counts.by_style.into_keys().collect(),
        })
    })
}

#[tauri::command]
#[specta::specta]
pub async fn reviewer_add(
    state: State<'_, AppState>,
    name: String,
    languages: String,
) -> AppResult<Reviewer> {
    state.with_store(|store| Ok(add_reviewer(store, &name, &languages)?))
}

/// The queue filters the window sends; the reviewer is given separately.
#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct ReviewQuery {
    pub language: Option<String>,
    pub reason: Option<String>,
    pub dataset: Option<String>,
    pub category: Option<String>,
    pub style: Option<String>,
}

impl ReviewQuery {
    fn for_reviewer(&self, reviewer: &str) -> AppResult<QueueQuery> {
        let reason = match &self.reason {
            Some(name) => Some(Reason::parse(name).ok_or_else(|| {
                AppError::new(format!(
                    "no triage reason `{name}`; known: {}",
                    Reason::names()
                ))
            })?),
            None => None,
        };
        Ok(QueueQuery {
            language: self.language.clone(),
            reason,
            reviewer: Some(reviewer.to_string()),
            adjudicate: false,
            dataset: self.dataset.clone(),
            category: self.category.clone(),
            style: self.style.clone(),
            keep_rule: false,
            limit: None,
        })
    }
}

/// One sample as the reviewer sees it, with their own current answer when they gave one.
#[derive(Serialize, specta::Type)]
pub struct ReviewSample {
    pub view: SampleView,
    pub mine: Option<AnswerRecord>,
}

fn review_sample(store: &Store, id: i64, reviewer: &str) -> AppResult<ReviewSample> {
    let view = sample_view(store.conn(), id)?;
    let mine = current_answers(store, id)?
        .into_iter()
        .find(|a| a.reviewer == reviewer);
    Ok(ReviewSample { view, mine })
}

#[tauri::command]
#[specta::specta]
pub async fn review_counts(
    state: State<'_, AppState>,
    reviewer: String,
    query: ReviewQuery,
) -> AppResult<Vec<QueueCount>> {
    let q = query.for_reviewer(&reviewer)?;
    state.with_store(|store| Ok(counts(store.conn(), &q)?))
}

/// The waiting sample after `after` in queue order (or the first), ready to show.
#[tauri::command]
#[specta::specta]
pub async fn review_next(
    state: State<'_, AppState>,
    reviewer: String,
    query: ReviewQuery,
    after: Option<i64>,
) -> AppResult<Option<ReviewSample>> {
    let q = query.for_reviewer(&reviewer)?;
    state.with_store(|store| match next(store.conn(), &q, after)? {
        Some(item) => Ok(Some(review_sample(store, item.id, &reviewer)?)),
        None => Ok(None),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn review_sample_get(
    state: State<'_, AppState>,
    id: i64,
    reviewer: String,
) -> AppResult<ReviewSample> {
    state.with_store(|store| review_sample(store, id, &reviewer))
}

/// `--open-sample ID`: the imported id (with its dataset when two datasets share it).
#[tauri::command]
#[specta::specta]
pub async fn review_resolve(
    state: State<'_, AppState>,
    sample: String,
    dataset: Option<String>,
) -> AppResult<i64> {
    state.with_store(|store| Ok(store.resolve_sample(&sample, dataset.as_deref())?))
}

/// Stores the reviewer's answer as the sample's next version (append-only).
#[tauri::command]
#[specta::specta]
pub async fn review_submit(
    state: State<'_, AppState>,
    id: i64,
    reviewer: String,
    answer: Answer,
) -> AppResult<AnswerRecord> {
    state.with_store(|store| Ok(annotate(store, id, &reviewer, &answer)?))
}

/// Undo: appends a copy of the reviewer's previous version, so the undone one stays in history.
#[tauri::command]
#[specta::specta]
pub async fn review_undo(
    state: State<'_, AppState>,
    id: i64,
    reviewer: String,
) -> AppResult<AnswerRecord> {
    state.with_store(|store| Ok(revert_last(store, id, &reviewer)?))
}

/// Progress of a triage run: texts whose language was identified so far, of how many.
#[derive(Clone, Serialize, specta::Type)]
pub struct TriageProgress {
    pub done: u64,
    pub total: u64,
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
