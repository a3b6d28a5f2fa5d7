//! What one reviewer may see of one sample. The project's settings decide: while the audit is
//! blind, other reviewers' answers stay hidden until the reviewer has given their own; when
//! guard verdicts are hidden, guard readings, P(unsafe), the keep rule's outcome and the guard
//! reasons' details stay hidden until then too (no anchoring). An adjudicator of the sample's
//! language sees everything, since they judge the disagreement itself.

use serde::Serialize;

use crate::audit::{
    AnswerRecord, AuditError, audit_config, audit_fields, current_answers, disputed_fields,
    final_answer, reviewer,
};
use crate::queue::{QueueError, SampleView, sample_view};
use crate::store::Store;
use crate::triage::Reason;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// One sample as a given reviewer sees it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewView {
    /// Guard readings are empty, `kept_by_rule` false and guard reason details blank while
    /// `guards_hidden`.
    pub view: SampleView,
    /// The reviewer's own current answer.
    pub mine: Option<AnswerRecord>,
    /// Other reviewers' current answers; empty while `others_hidden`.
    pub others: Vec<AnswerRecord>,
    /// The adjudicated final answer; `None` also while `others_hidden`.
    pub final_answer: Option<AnswerRecord>,
    /// Texts the guards dispute: each needs the reviewer's own verdict before the sample can
    /// pass (shown even while guards are hidden, without saying what the guards said).
    pub disputed: Vec<String>,
    /// The sample is in the random audit sample: every text it has, each asking for the
    /// reviewer's own verdict (the guard-error figures need them; a missing one does not hold
    /// the sample back from `--only-passed`, which asks only for the disputed ones). Empty
    /// otherwise; it says nothing of the guards, so it is shown while they are hidden.
    pub audited: Vec<String>,
    pub guards_hidden: bool,
    pub others_hidden: bool,
    /// The reviewer adjudicates this sample's language.
    pub adjudicator: bool,
}

/// Reasons whose details quote guard verdicts.
const GUARD_REASONS: [Reason; 4] = [
    Reason::GuardDisagreement,
    Reason::GuardVsExpected,
    Reason::Uncertain,
    Reason::NotRefusal,
];

/// Sample `sample_id` (internal id) as reviewer `name` may see it now.
pub fn review_view(store: &Store, sample_id: i64, name: &str) -> Result<ReviewView, ReviewError> {
    let who = reviewer(store, name)?;
    let config = audit_config(store.conn())?;
    let mut view = sample_view(store.conn(), sample_id)?;
    let (mine, others): (Vec<AnswerRecord>, Vec<AnswerRecord>) = current_answers(store, sample_id)?
        .into_iter()
        .partition(|a| a.reviewer == who.name);
    let mine = mine.into_iter().next();
    let adjudicator = who.adjudicator && crate::audit::reads(&who, &view.language);
    let answered = mine.is_some() || adjudicator;
    let others_hidden = config.blind && !answered && !others.is_empty();
    let guards_hidden = config.hide_guard_verdicts && !answered;
    if guards_hidden {
        for text in &mut view.texts {
            text.guards.clear();
        }
        view.kept_by_rule = false;
        for reason in &mut view.reasons {
            if GUARD_REASONS.iter().any(|r| r.name() == reason.reason) {
                reason.detail.clear();
            }
        }
    }
    if others_hidden {
        // The detail quotes the others' answers.
        for reason in &mut view.reasons {
            if reason.reason == Reason::ReviewersDisagree.name() {
                reason.detail.clear();
            }
        }
    }
    let final_answer = if others_hidden {
        None
    } else {
        final_answer(store.conn(), sample_id)?
    };
    Ok(ReviewView {
        view,
        mine,
        others: if others_hidden { Vec::new() } else { others },
        final_answer,
        disputed: disputed_fields(store, sample_id)?,
        audited: audit_fields(store, sample_id)?,
        guards_hidden,
        others_hidden,
        adjudicator,
    })
}
