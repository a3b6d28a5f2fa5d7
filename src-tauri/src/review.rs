//! The Review screen: the reviewer's queue, one sample with every guard's reading, answers,
//! undo and the question wording, reviewer care's settings and each reviewer's "always reveal"
//! categories. Queue order and sample views are `verdikt_core::queue`; reviewers, answers,
//! history and care are `verdikt_core::audit`; triage is `verdikt_core::triage`.

use serde::{Deserialize, Serialize};
use tauri::State;
use verdikt_core::audit::{
    Answer, AnswerRecord, CareSettings, Questions, Reviewer, adjudicate, annotate, care_settings,
    list_reviewers, questions, revealed_always, revert_last, set_revealed_always,
};
use verdikt_core::filter::SampleFilter;
use verdikt_core::project_guards::project_guards;
use verdikt_core::queue::{LanguageProgress, QueueQuery, next, progress};
use verdikt_core::review::{ReviewView, review_view};
use verdikt_core::sample::CATEGORIES;
use verdikt_core::stats::stats;
use verdikt_core::store::Store;
use verdikt_core::triage::Reason;

use crate::error::{AppError, AppResult};
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
    /// S1–S14 with their names, for showing a code with what it means.
    pub category_names: Vec<CategoryName>,
    /// The project's judge run (the paper's adjudicator, never one of its guards), so its
    /// readings can be told from the guards'.
    pub judge: Option<i64>,
    /// What the review spares reviewers: blurred categories and texts, the break interval.
    pub care: CareSettings,
}

#[derive(Serialize, specta::Type)]
pub struct CategoryName {
    pub code: String,
    pub name: String,
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
            category_names: CATEGORIES
                .iter()
                .map(|(code, name)| CategoryName {
                    code: code.to_string(),
                    name: name.to_string(),
                })
                .collect(),
            judge: project_guards(store.conn())?.judge,
            care: care_settings(store.conn())?,
        })
    })
}

/// The queue filters the window sends; the reviewer is given separately.
#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct ReviewQuery {
    pub language: Option<String>,
    pub reason: Option<String>,
    pub dataset: Option<String>,
    pub category: Option<String>,
    pub style: Option<String>,
    /// The adjudication queue: samples whose reviewers disagree, for an adjudicator.
    pub adjudicate: bool,
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
            dataset: self.dataset.clone(),
            category: self.category.clone(),
            style: self.style.clone(),
            adjudicate: self.adjudicate,
            ..QueueQuery::default()
        })
    }
}

fn review_sample(store: &Store, id: i64, reviewer: &str) -> AppResult<ReviewView> {
    Ok(review_view(store, id, reviewer)?)
}

#[tauri::command]
#[specta::specta]
pub async fn review_counts(
    state: State<'_, AppState>,
    reviewer: String,
    query: ReviewQuery,
) -> AppResult<Vec<LanguageProgress>> {
    let q = query.for_reviewer(&reviewer)?;
    state.with_store(|store| Ok(progress(store.conn(), &q)?))
}

/// The waiting sample after `after` in queue order (or the first), ready to show.
#[tauri::command]
#[specta::specta]
pub async fn review_next(
    state: State<'_, AppState>,
    reviewer: String,
    query: ReviewQuery,
    after: Option<i64>,
) -> AppResult<Option<ReviewView>> {
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
) -> AppResult<ReviewView> {
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

/// An adjudicator's final answer to a sample whose reviewers disagree (append-only).
#[tauri::command]
#[specta::specta]
pub async fn review_adjudicate(
    state: State<'_, AppState>,
    id: i64,
    reviewer: String,
    answer: Answer,
) -> AppResult<AnswerRecord> {
    state.with_store(|store| Ok(adjudicate(store, id, &reviewer, &answer)?))
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

/// The categories the reviewer has chosen to see unblurred on every sample.
#[tauri::command]
#[specta::specta]
pub async fn reviewer_reveals_get(
    state: State<'_, AppState>,
    reviewer: String,
) -> AppResult<Vec<String>> {
    state.with_store(|store| Ok(revealed_always(store, &reviewer)?))
}

/// The reviewer sees `category` unblurred always, or blurred again; returns their choices.
#[tauri::command]
#[specta::specta]
pub async fn reviewer_reveal_set(
    state: State<'_, AppState>,
    reviewer: String,
    category: String,
    always: bool,
) -> AppResult<Vec<String>> {
    state.with_store(|store| Ok(set_revealed_always(store, &reviewer, &category, always)?))
}
