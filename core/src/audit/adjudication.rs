//! Adjudication: when reviewers' current answers to a sample disagree (on Q1–Q3, on excluding
//! it, or in their own verdict on a text), the sample gets the triage reason
//! `reviewers_disagree`, kept in step with every answer written. An adjudicator of the sample's
//! language then records the final answer, append-only like every answer. Measurement reads
//! individual answers for agreement and final answers (adjudicated, else agreeing) for pass
//! rates, `--only-passed` and ASR.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::AuditError;
use super::answer::{
    Answer, AnswerRecord, Provenance, already_stored, begin_answer, must_read, record, records,
};
use crate::store::Store;
use crate::triage::Reason;
use crate::triage::reasons::reviewers_disagree;

const REVIEWERS_DISAGREE: &str = Reason::ReviewersDisagree.name();

/// Recomputes `reviewers_disagree` for one sample after one of its answers changed, inside the
/// writer's transaction.
pub(crate) fn refresh_disagreement(tx: &Transaction<'_>, sample_id: i64) -> rusqlite::Result<()> {
    // Cached: this runs with every answer, and the comparison takes longer to prepare than
    // to run for one sample.
    tx.prepare_cached("DELETE FROM triage_reasons WHERE sample_id = ?1 AND reason = ?2")?
        .execute(params![sample_id, REVIEWERS_DISAGREE])?;
    tx.prepare_cached(&format!(
        "INSERT INTO triage_reasons (sample_id, reason, detail) {}",
        reviewers_disagree("c.sample_id = ?1")
    ))?
    .execute([sample_id])?;
    Ok(())
}

/// A sample where reviewers disagree, as the adjudicator sees it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Disagreement {
    /// The project's internal id of the sample.
    pub id: i64,
    /// Who said what where they differ (`q1: ana yes, ola no`); empty when they agree now.
    pub detail: String,
    /// Every reviewer's current answer, with notes, by reviewer name.
    pub answers: Vec<AnswerRecord>,
    /// The current final answer, when one was recorded.
    pub final_answer: Option<AnswerRecord>,
}

/// Every reviewer's current answer to a sample side by side, what they differ on, and the
/// final answer so far.
pub fn disagreement(store: &Store, sample_id: i64) -> Result<Disagreement, AuditError> {
    let conn = store.conn();
    let detail: Option<String> = conn
        .query_row(
            "SELECT detail FROM triage_reasons WHERE sample_id = ?1 AND reason = ?2",
            params![sample_id, REVIEWERS_DISAGREE],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Disagreement {
        id: sample_id,
        detail: detail.unwrap_or_default(),
        answers: records(
            conn,
            "current_annotations",
            "a.sample_id = ?1 ORDER BY r.name",
            [sample_id],
        )?,
        final_answer: final_answer(conn, sample_id)?,
    })
}

/// The current final answer of a sample (its latest version), if any.
pub fn final_answer(conn: &Connection, sample_id: i64) -> Result<Option<AnswerRecord>, AuditError> {
    Ok(records(
        conn,
        "current_final_answers",
        "a.sample_id = ?1",
        [sample_id],
    )?
    .pop())
}

/// Appends `answer` as the sample's next final answer by `adjudicator`, who must be an
/// adjudicator reading the sample's language, on a sample whose reviewers disagree.
pub fn adjudicate(
    store: &mut Store,
    sample_id: i64,
    adjudicator: &str,
    answer: &Answer,
    from: &Provenance,
) -> Result<AnswerRecord, AuditError> {
    let (who, tx, info) = begin_answer(store, sample_id, adjudicator)?;
    if let Some(stored) = already_stored(&tx, "final_answers", from, sample_id, who.id)? {
        return Ok(stored);
    }
    let refuse = |field: &str, message: String| AuditError::InvalidAnswer {
        sample: info.ext_id.clone(),
        field: field.into(),
        message,
    };
    if !who.adjudicator {
        return Err(refuse(
            "reviewer",
            format!("{} is not an adjudicator", who.name),
        ));
    }
    must_read(&who, &info, "adjudicates")?;
    let disputed: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM triage_reasons WHERE sample_id = ?1 AND reason = ?2)",
        params![sample_id, REVIEWERS_DISAGREE],
        |r| r.get(0),
    )?;
    if !disputed {
        return Err(refuse(
            "final answer",
            "its reviewers do not disagree, so there is nothing to adjudicate".into(),
        ));
    }
    let answer = answer.validated(&info)?;
    let verdicts = serde_json::to_string(&answer.verdicts).expect("verdicts serialise");
    tx.execute(
        "INSERT INTO final_answers (sample_id, adjudicator_id, version, q1, q2, q3, verdicts,
                                    note, exclude, seconds, source, answer_id)
         VALUES (?1, ?2, (SELECT coalesce(max(version), 0) + 1 FROM final_answers WHERE sample_id = ?1),
                 ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            sample_id,
            who.id,
            answer.q1.as_str(),
            answer.q2.as_str(),
            answer.q3.as_str(),
            verdicts,
            answer.note,
            answer.exclude,
            answer.seconds,
            from.source.stored(),
            from.answer_id,
        ],
    )?;
    let stored = record(&tx, "final_answers", tx.last_insert_rowid())?;
    tx.commit()?;
    Ok(stored)
}
