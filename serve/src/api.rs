//! The review commands over HTTP: `POST /api/<command>` with the same JSON arguments the
//! window's generated bindings send (their camelCase names), answered with the same JSON the
//! window gets. Each is one call into `verdikt_core::review_api`, the layer the window calls too;
//! the caller is the session's reviewer, so a `reviewer` field in the body is never read. No
//! other command exists here: curator commands (import, guards, triage, settings, reviewers,
//! packs, results, export) have no route at all.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use verdikt_core::audit::Answer;
use verdikt_core::review_api::{self, Caller, ReviewQuery};
use verdikt_core::store::Store;

use crate::reply::ApiError;

/// Every command a session may call: the Review screen's (its reviewer care's "always reveal"
/// included), nothing else.
pub const COMMANDS: [&str; 10] = [
    "review_setup",
    "review_counts",
    "review_next",
    "review_sample_get",
    "review_resolve",
    "review_submit",
    "review_adjudicate",
    "review_undo",
    "reviewer_reveals_get",
    "reviewer_reveal_set",
];

/// A command: the store, the session's reviewer, the request body → the JSON answer.
pub type Command = fn(&mut Store, &Caller, &[u8]) -> Result<serde_json::Value, ApiError>;

/// What a command does to the project: reads run side by side on the pool's readers, writes
/// take their turn one at a time on its writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The commands by name; `COMMANDS` lists the same names in the same order.
pub const TABLE: [(&str, Access, Command); 10] = [
    ("review_setup", Access::Read, setup),
    ("review_counts", Access::Read, counts),
    ("review_next", Access::Read, next),
    ("review_sample_get", Access::Read, sample_get),
    ("review_resolve", Access::Read, resolve),
    ("review_submit", Access::Write, submit),
    ("review_adjudicate", Access::Write, adjudicate),
    ("review_undo", Access::Write, undo),
    ("reviewer_reveals_get", Access::Read, reveals_get),
    ("reviewer_reveal_set", Access::Write, reveal_set),
];

fn args<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            format!("the request's arguments: {e}"),
        )
    })
}

fn json<T: serde::Serialize, E: std::error::Error + 'static>(
    out: Result<T, E>,
) -> Result<serde_json::Value, ApiError> {
    let value = out.map_err(ApiError::from_core)?;
    serde_json::to_value(value).map_err(|_| ApiError::internal())
}

#[derive(Deserialize)]
struct Nothing {}

#[derive(Deserialize)]
struct Query {
    query: ReviewQuery,
    #[serde(default)]
    after: Option<i64>,
}

#[derive(Deserialize)]
struct Sample {
    id: i64,
}

#[derive(Deserialize)]
struct Resolve {
    sample: String,
    #[serde(default)]
    dataset: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Submit {
    id: i64,
    answer: Answer,
    #[serde(default)]
    answer_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Undo {
    id: i64,
    #[serde(default)]
    answer_id: Option<String>,
}

fn setup(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let Nothing {} = args(body)?;
    json(review_api::setup(store, Some(who.reviewer())))
}

fn counts(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let q: Query = args(body)?;
    json(review_api::counts(store, who, &q.query))
}

fn next(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let q: Query = args(body)?;
    json(review_api::next_sample(store, who, &q.query, q.after))
}

fn sample_get(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let s: Sample = args(body)?;
    json(review_api::sample(store, who, s.id))
}

fn resolve(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let r: Resolve = args(body)?;
    json(review_api::resolve(
        store,
        who,
        &r.sample,
        r.dataset.as_deref(),
    ))
}

fn submit(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let s: Submit = args(body)?;
    json(review_api::submit(store, who, s.id, &s.answer, s.answer_id))
}

fn adjudicate(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let s: Submit = args(body)?;
    json(review_api::adjudicate(
        store,
        who,
        s.id,
        &s.answer,
        s.answer_id,
    ))
}

fn undo(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let u: Undo = args(body)?;
    json(review_api::undo(store, who, u.id, u.answer_id))
}

#[derive(Deserialize)]
struct Reveal {
    category: String,
    always: bool,
}

fn reveals_get(
    store: &mut Store,
    who: &Caller,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let Nothing {} = args(body)?;
    json(review_api::reveals(store, who))
}

fn reveal_set(store: &mut Store, who: &Caller, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let r: Reveal = args(body)?;
    json(review_api::set_reveal(store, who, &r.category, r.always))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_list() {
        let names: Vec<&str> = TABLE.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, COMMANDS);
    }
}
