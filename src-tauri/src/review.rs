//! The Review screen: the reviewer's queue, one sample with every guard's reading, answers,
//! undo, the question wording, reviewer care and each reviewer's "always reveal" categories.
//! Each command is `verdikt_core::review_api`, the layer that
//! `verdikt serve` calls for browsers too, with the window as the caller: it names the reviewer
//! and may open any sample of the project.

use tauri::State;
use verdikt_core::audit::{Answer, AnswerRecord};
use verdikt_core::queue::LanguageProgress;
use verdikt_core::review::ReviewView;
use verdikt_core::review_api::{self, Caller, ReviewQuery, ReviewSetup};

use crate::error::AppResult;
use crate::state::AppState;

fn window(reviewer: String) -> Caller {
    Caller::Window { reviewer }
}

#[tauri::command]
#[specta::specta]
pub async fn review_setup(state: State<'_, AppState>) -> AppResult<ReviewSetup> {
    state.with_store(|store| Ok(review_api::setup(store, None)?))
}

#[tauri::command]
#[specta::specta]
pub async fn review_counts(
    state: State<'_, AppState>,
    reviewer: String,
    query: ReviewQuery,
) -> AppResult<Vec<LanguageProgress>> {
    state.with_store(|store| Ok(review_api::counts(store, &window(reviewer), &query)?))
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
    state.with_store(|store| {
        Ok(review_api::next_sample(
            store,
            &window(reviewer),
            &query,
            after,
        )?)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn review_sample_get(
    state: State<'_, AppState>,
    id: i64,
    reviewer: String,
) -> AppResult<ReviewView> {
    state.with_store(|store| Ok(review_api::sample(store, &window(reviewer), id)?))
}

/// `--open-sample ID`: the imported id (with its dataset when two datasets share it).
#[tauri::command]
#[specta::specta]
pub async fn review_resolve(
    state: State<'_, AppState>,
    sample: String,
    dataset: Option<String>,
) -> AppResult<i64> {
    let anyone = window(String::new());
    state.with_store(|store| {
        Ok(review_api::resolve(
            store,
            &anyone,
            &sample,
            dataset.as_deref(),
        )?)
    })
}

/// Stores the reviewer's answer as the sample's next version (append-only). `answer_id`, made
/// by the window for each answer, makes a retried submit store it once.
#[tauri::command]
#[specta::specta]
pub async fn review_submit(
    state: State<'_, AppState>,
    id: i64,
    reviewer: String,
    answer: Answer,
    answer_id: Option<String>,
) -> AppResult<AnswerRecord> {
    state.with_store(|store| {
        Ok(review_api::submit(
            store,
            &window(reviewer),
            id,
            &answer,
            answer_id,
        )?)
    })
}

/// An adjudicator's final answer to a sample whose reviewers disagree (append-only).
#[tauri::command]
#[specta::specta]
pub async fn review_adjudicate(
    state: State<'_, AppState>,
    id: i64,
    reviewer: String,
    answer: Answer,
    answer_id: Option<String>,
) -> AppResult<AnswerRecord> {
    state.with_store(|store| {
        Ok(review_api::adjudicate(
            store,
            &window(reviewer),
            id,
            &answer,
            answer_id,
        )?)
    })
}

/// Undo: appends a copy of the reviewer's previous version, so the undone one stays in history.
#[tauri::command]
#[specta::specta]
pub async fn review_undo(
    state: State<'_, AppState>,
    id: i64,
    reviewer: String,
    answer_id: Option<String>,
) -> AppResult<AnswerRecord> {
    state.with_store(|store| Ok(review_api::undo(store, &window(reviewer), id, answer_id)?))
}

/// The categories the reviewer has chosen to see unblurred on every sample.
#[tauri::command]
#[specta::specta]
pub async fn reviewer_reveals_get(
    state: State<'_, AppState>,
    reviewer: String,
) -> AppResult<Vec<String>> {
    state.with_store(|store| Ok(review_api::reveals(store, &window(reviewer))?))
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
    state.with_store(|store| {
        Ok(review_api::set_reveal(
            store,
            &window(reviewer),
            &category,
            always,
        )?)
    })
}
