//! Audit: who reviews (reviewers), what they answer (append-only answers with history), the
//! wording they answer to (questions), how a team audits (overlap, blind, hidden guard
//! verdicts), adjudication of disagreements (final answers), and review packs for teams without
//! a shared server.
//! Answers are only ever appended, each in its own transaction, so no answer is lost or
//! overwritten, even when the process is killed.
//!
//! The parts:
//! - `reviewers.rs` names, languages, adjudicator flag
//! - `config.rs` the team's settings (answers per sample, overlap share, blind, hidden guard
//!   verdicts) in the project table
//! - `care.rs` reviewer care: which categories and texts are blurred until revealed, the break
//!   interval (team settings too), and each reviewer's own "always reveal" categories
//! - `answer.rs` typed answers appended as version n+1 in an immediate transaction (with seconds
//!   shown → submitted), history, current answers (view `current_annotations`), undo by appending,
//!   disputed texts; each answer keeps its source (`cli`, `window`, `pack`, `session:N`) and the
//!   id its sender made for it, so an answer sent again is stored once (`Provenance`)
//! - `adjudication.rs` `reviewers_disagree` refreshed in each answer's transaction, final answers
//!   (`final_answers`, append-only, view `current_final_answers`), the side-by-side `Disagreement`
//! - `questions.rs` wording in the project table with DESIGN's defaults
//! - `pack.rs` review packs: project files with a manifest (recorded in `pack_exports`) holding the
//!   reviewer's queue (`queue::list`, so the team settings apply) shared out by seeded rendezvous
//!   hashing to as many reviewers as each sample is short of answers, idempotent merge in one
//!   transaction

mod adjudication;
pub(crate) mod answer;
mod care;
mod config;
pub mod pack;

mod questions;
mod reviewers;

pub use adjudication::{Disagreement, adjudicate, disagreement, final_answer};
pub use answer::{
    Answer, AnswerRecord, FieldVerdict, Provenance, Q3, Source, TextVerdict, YesNo, annotate,
    audit_fields, current_answers, disputed_fields, history, revert_last,
};
pub(crate) use answer::{disputed_fields_sql, reads};
pub use care::{
    CARE_KEYS, CareSettings, care_settings, is_care_key, revealed_always, set_care,
    set_revealed_always,
};
pub use config::{AuditConfig, CONFIG_KEYS, audit_config, parse_switch, set_config};
pub use questions::{Question, Questions, questions, set_question};
pub use reviewers::{
    Reviewer, add_reviewer, list_reviewers, reviewer, set_adjudicator, set_languages,
};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no reviewer named `{0}`; add one with `verdikt reviewer add`")]
    UnknownReviewer(String),
    #[error("a reviewer named `{0}` already exists")]
    ReviewerExists(String),
    #[error("reviewer name: {0}")]
    ReviewerName(String),
    #[error("--languages: {0}")]
    Languages(String),
    /// An answer that cannot be stored; `field` names the part of the answer at fault.
    #[error("answer to sample `{sample}`, {field}: {message}")]
    InvalidAnswer {
        sample: String,
        field: String,
        message: String,
    },
    #[error(
        "{reviewer} has {versions} version(s) of an answer to sample `{sample}`; undo needs an earlier version to go back to"
    )]
    NothingToRevert {
        sample: String,
        reviewer: String,
        versions: i64,
    },
    #[error("setting `{key}`: {message}")]
    Config { key: String, message: String },
    #[error("no question `{0}`; the keys are q1, q2, q3 and guidelines")]
    UnknownQuestion(String),
    /// An answer id the sender made names another sample's or reviewer's stored answer.
    #[error("answer id `{0}` is already used by another answer; send a new id")]
    AnswerIdTaken(String),
    #[error("stored answer {id} is unreadable: {message}")]
    Corrupt { id: i64, message: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}
