//! Answers to the audit questions. The table is append-only: answering again, or undoing, adds
//! version n+1 for the (sample, reviewer) pair inside one immediate transaction, so concurrent
//! writers cannot both take n+1 and a killed process leaves either the whole version or none.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::AuditError;
use super::adjudication::refresh_disagreement;
use super::reviewers::{Reviewer, reviewer};
use crate::guard::run::TextField;
use crate::sample::parse_category;
use crate::store::Store;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YesNo {
    Yes,
    No,
}

/// Q3 (style adherence) may not apply, e.g. when a sample has no attack style.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Q3 {
    Yes,
    No,
    Na,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextVerdict {
    Safe,
    Unsafe,
}

macro_rules! text_enum {
    ($ty:ty, $what:literal, $($variant:ident = $name:literal),+) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok(Self::$variant),)+
                    other => Err(format!(concat!("`{}` is not ", $what), other)),
                }
            }
        }
    };
}
text_enum!(YesNo, "yes or no", Yes = "yes", No = "no");
text_enum!(Q3, "yes, no or na", Yes = "yes", No = "no", Na = "na");
text_enum!(
    TextVerdict,
    "safe or unsafe",
    Safe = "safe",
    Unsafe = "unsafe"
);

/// A reviewer's own verdict on one text of the sample.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldVerdict {
    pub verdict: TextVerdict,
    #[serde(default)]
    pub categories: Vec<String>,
}

/// One reviewer's answer to one sample.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub q1: YesNo,
    pub q2: YesNo,
    pub q3: Q3,
    /// Keyed by text: `prompt`, `chosen`, `rejected` or `response`.
    #[serde(default)]
    pub verdicts: BTreeMap<String, FieldVerdict>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub exclude: bool,
    /// Seconds from the sample being shown to this answer being submitted (`None`: untimed).
    #[serde(default)]
    pub seconds: Option<f64>,
}

/// A stored version of an answer, with who, when and where it came from.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnswerRecord {
    pub id: i64,
    /// The sample's id as imported, and its dataset.
    pub sample: String,
    pub dataset: String,
    pub reviewer: String,
    pub version: i64,
    /// `local`, or the id of the review pack the answer was merged from.
    pub origin: String,
    /// Where it was given: `cli`, `window`, `pack` or `session:<id>` (a browser session of
    /// `verdikt serve`); `None` for answers stored before sources were kept.
    pub source: Option<String>,
    pub created_at: String,
    /// An adjudicator's final answer (table `final_answers`; `reviewer` is the adjudicator and
    /// `version` counts the sample's final answers), not an individual reviewer's answer.
    #[serde(rename = "final")]
    pub is_final: bool,
    #[serde(flatten)]
    pub answer: Answer,
}

/// Where an answer comes from, and the id its sender made for it (if any): an answer whose id is
/// already stored is that answer, so a request sent again stores nothing more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub source: Source,
    pub answer_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Cli,
    Window,
    Pack,
    /// A browser session of `verdikt serve` (its row in `serve_sessions`).
    Session(i64),
}

impl Source {
    pub fn stored(&self) -> String {
        match self {
            Source::Cli => "cli".into(),
            Source::Window => "window".into(),
            Source::Pack => "pack".into(),
            Source::Session(id) => format!("session:{id}"),
        }
    }
}

impl Provenance {
    /// Typed at the command line; nothing to retry.
    pub const CLI: Provenance = Provenance {
        source: Source::Cli,
        answer_id: None,
    };

    pub fn new(source: Source, answer_id: Option<String>) -> Provenance {
        Provenance { source, answer_id }
    }
}

/// The row of `table` already stored under the sender's answer id: the same answer sent
/// again. An id that names another sample's or reviewer's answer is refused.
pub(super) fn already_stored(
    tx: &Transaction<'_>,
    table: &str,
    from: &Provenance,
    sample_id: i64,
    reviewer_id: i64,
) -> Result<Option<AnswerRecord>, AuditError> {
    let Some(answer_id) = &from.answer_id else {
        return Ok(None);
    };
    let who = if table == "final_answers" {
        "adjudicator_id"
    } else {
        "reviewer_id"
    };
    let found: Option<(i64, i64, i64)> = tx
        .query_row(
            &format!("SELECT id, sample_id, {who} FROM {table} WHERE answer_id = ?1"),
            [answer_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match found {
        None => Ok(None),
        Some((id, s, r)) if s == sample_id && r == reviewer_id => Ok(Some(record(tx, table, id)?)),
        Some(_) => Err(AuditError::AnswerIdTaken(answer_id.clone())),
    }
}

/// What validation needs to know about a sample.
pub(super) struct SampleInfo {
    pub(super) ext_id: String,
    pub(super) language: String,
    texts: Vec<&'static str>,
}

pub(super) fn sample_info(
    conn: &rusqlite::Connection,
    sample_id: i64,
) -> Result<SampleInfo, AuditError> {
    let (ext_id, language, pair, response) = conn.query_row(
        "SELECT ext_id, language, chosen IS NOT NULL, response IS NOT NULL FROM samples WHERE id = ?1",
        [sample_id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let texts = TextField::ALL
        .into_iter()
        .filter(|f| match f {
            TextField::Prompt => true,
            TextField::Chosen | TextField::Rejected => pair,
            TextField::Response => response,
        })
        .map(TextField::name)
        .collect();
    Ok(SampleInfo {
        ext_id,
        language,
        texts,
    })
}

impl Answer {
    /// Checks the answer against its sample and returns it in canonical form (categories as
    /// `S1`..`S14`, in order, once each).
    pub(super) fn validated(&self, sample: &SampleInfo) -> Result<Answer, AuditError> {
        let bad = |field: &str, message: String| AuditError::InvalidAnswer {
            sample: sample.ext_id.clone(),
            field: field.to_string(),
            message,
        };
        let mut out = self.clone();
        if out.seconds.is_some_and(|s| !s.is_finite() || s < 0.0) {
            return Err(bad(
                "seconds",
                "must be a time of zero or more seconds".into(),
            ));
        }
        for (text, v) in out.verdicts.iter_mut() {
            let field = format!("verdict for `{text}`");
            if TextField::parse(text).is_none() {
                return Err(bad(
                    &field,
                    "texts are prompt, chosen, rejected and response".into(),
                ));
            }
            if !sample.texts.contains(&text.as_str()) {
                return Err(bad(&field, format!("the sample has no {text} text")));
            }
            if v.verdict == TextVerdict::Safe && !v.categories.is_empty() {
                return Err(bad(
                    &field,
                    "categories belong to an unsafe verdict only".into(),
                ));
            }
            let mut codes: Vec<usize> = Vec::new();
            for c in &v.categories {
                let code = parse_category(c).map_err(|m| bad(&field, m))?;
                codes.push(code[1..].parse().expect("canonical codes are S<n>"));
            }
            codes.sort_unstable();
            codes.dedup();
            v.categories = codes.into_iter().map(|n| format!("S{n}")).collect();
        }
        Ok(out)
    }
}

/// A reviewer reads a sample's language when they list it or its primary language (`pt` reads
/// `pt-BR`).
pub(crate) fn reads(reviewer: &Reviewer, language: &str) -> bool {
    let primary = language.split('-').next().unwrap_or(language);
    reviewer
        .languages
        .iter()
        .any(|l| l == language || l == primary)
}

/// Refuses an answer by a reviewer who does not read the sample's language; `verb` says what
/// they do with the languages they list (`reads`, `adjudicates`).
pub(super) fn must_read(who: &Reviewer, info: &SampleInfo, verb: &str) -> Result<(), AuditError> {
    if reads(who, &info.language) {
        return Ok(());
    }
    Err(AuditError::InvalidAnswer {
        sample: info.ext_id.clone(),
        field: "reviewer".into(),
        message: format!(
            "{} {verb} {}, not the sample's language {}",
            who.name,
            who.languages.join(", "),
            info.language
        ),
    })
}

/// The reviewer by name, an immediate transaction (answers are appended under it, so two
/// writers never take the same version), and the sample as validation needs it.
pub(super) fn begin_answer<'s>(
    store: &'s mut Store,
    sample_id: i64,
    reviewer_name: &str,
) -> Result<(Reviewer, Transaction<'s>, SampleInfo), AuditError> {
    let who = reviewer(store, reviewer_name)?;
    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let info = sample_info(&tx, sample_id)?;
    Ok((who, tx, info))
}

/// Appends `answer` as the next version of (sample, reviewer) and returns the stored record
/// (the one already stored under `from`'s answer id, if that was sent before).
pub fn annotate(
    store: &mut Store,
    sample_id: i64,
    reviewer_name: &str,
    answer: &Answer,
    from: &Provenance,
) -> Result<AnswerRecord, AuditError> {
    let (who, tx, info) = begin_answer(store, sample_id, reviewer_name)?;
    if let Some(stored) = already_stored(&tx, "annotations", from, sample_id, who.id)? {
        return Ok(stored);
    }
    must_read(&who, &info, "reads")?;
    let answer = answer.validated(&info)?;
    let id = append(&tx, sample_id, who.id, &answer, "local", None, from)?;
    refresh_disagreement(&tx, sample_id)?;
    let stored = record(&tx, "annotations", id)?;
    tx.commit()?;
    Ok(stored)
}

/// Writes version n+1 inside the caller's transaction; `created_at` keeps the time an answer
/// was given elsewhere (a review pack). Returns the new row id.
pub(super) fn append(
    tx: &Transaction<'_>,
    sample_id: i64,
    reviewer_id: i64,
    answer: &Answer,
    origin: &str,
    created_at: Option<&str>,
    from: &Provenance,
) -> Result<i64, AuditError> {
    let verdicts = serde_json::to_string(&answer.verdicts).expect("verdicts serialise");
    tx.execute(
        "INSERT INTO annotations (sample_id, reviewer_id, version, q1, q2, q3, verdicts, note,
                                  exclude, origin, created_at, seconds, source, answer_id)
         VALUES (?1, ?2,
                 (SELECT coalesce(max(version), 0) + 1 FROM annotations
                  WHERE sample_id = ?1 AND reviewer_id = ?2),
                 ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                 coalesce(?10, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), ?11, ?12, ?13)",
        params![
            sample_id,
            reviewer_id,
            answer.q1.as_str(),
            answer.q2.as_str(),
            answer.q3.as_str(),
            verdicts,
            answer.note,
            answer.exclude,
            origin,
            created_at,
            answer.seconds,
            from.source.stored(),
            from.answer_id,
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Which stored answers a query reads: reviewers' answers (`annotations`, or the view
/// `current_annotations`) or adjudicators' final answers (`final_answers`,
/// `current_final_answers`). Both read as [`AnswerRecord`]s.
pub(super) fn select_records(table: &str) -> String {
    let (who, origin, is_final) = if table.contains("final") {
        ("a.adjudicator_id", "'local'", 1)
    } else {
        ("a.reviewer_id", "a.origin", 0)
    };
    format!(
        "SELECT a.id, s.ext_id, d.name, r.name, a.version, {origin}, a.created_at, \
         a.q1, a.q2, a.q3, a.verdicts, a.note, a.exclude, a.seconds, {is_final}, a.source \
         FROM {table} AS a JOIN samples AS s ON s.id = a.sample_id \
         JOIN datasets AS d ON d.id = s.dataset_id JOIN reviewers AS r ON r.id = {who}"
    )
}

fn from_row(row: &rusqlite::Row<'_>) -> Result<AnswerRecord, AuditError> {
    let id: i64 = row.get(0)?;
    let corrupt = |message: String| AuditError::Corrupt { id, message };
    let text = |i: usize| -> Result<String, AuditError> {
        row.get::<_, Option<String>>(i)?
            .ok_or_else(|| corrupt(format!("column {i} is empty")))
    };
    let verdicts: String = row.get(10)?;
    Ok(AnswerRecord {
        id,
        sample: row.get(1)?,
        dataset: row.get(2)?,
        reviewer: row.get(3)?,
        version: row.get(4)?,
        origin: row.get(5)?,
        created_at: row.get(6)?,
        is_final: row.get(14)?,
        source: row.get(15)?,
        answer: Answer {
            q1: text(7)?.parse().map_err(corrupt)?,
            q2: text(8)?.parse().map_err(corrupt)?,
            q3: text(9)?.parse().map_err(corrupt)?,
            verdicts: serde_json::from_str(&verdicts).map_err(|e| corrupt(e.to_string()))?,
            note: row.get(11)?,
            exclude: row.get(12)?,
            seconds: row.get(13)?,
        },
    })
}

pub(super) fn records(
    conn: &rusqlite::Connection,
    table: &str,
    condition: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<AnswerRecord>, AuditError> {
    let sql = format!("{} WHERE {condition}", select_records(table));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

/// The stored row `id` of `table` (`annotations` or `final_answers`).
pub(super) fn record(
    conn: &rusqlite::Connection,
    table: &str,
    id: i64,
) -> Result<AnswerRecord, AuditError> {
    let mut found = records(conn, table, "a.id = ?1", [id])?;
    Ok(found.pop().expect("the row was just written"))
}

/// Every version of every answer to a sample, reviewers' and adjudicators' final answers
/// (marked `final`), oldest first.
pub fn history(store: &Store, sample_id: i64) -> Result<Vec<AnswerRecord>, AuditError> {
    let mut all = Vec::new();
    for table in ["annotations", "final_answers"] {
        all.extend(records(
            store.conn(),
            table,
            "a.sample_id = ?1 ORDER BY a.created_at, r.name, a.version",
            [sample_id],
        )?);
    }
    // Stable: within one table the order above holds; across tables, by time.
    all.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    Ok(all)
}

/// The current answer of each reviewer who answered the sample (their latest version), by name.
pub fn current_answers(store: &Store, sample_id: i64) -> Result<Vec<AnswerRecord>, AuditError> {
    records(
        store.conn(),
        "current_annotations",
        "a.sample_id = ?1 ORDER BY r.name",
        [sample_id],
    )
}

/// Undo for the app: appends a copy of the version before the reviewer's current one, so the
/// undone answer stays in the history. A first answer has nothing to go back to.
pub fn revert_last(
    store: &mut Store,
    sample_id: i64,
    reviewer_name: &str,
    from: &Provenance,
) -> Result<AnswerRecord, AuditError> {
    let who = reviewer(store, reviewer_name)?;
    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(stored) = already_stored(&tx, "annotations", from, sample_id, who.id)? {
        return Ok(stored);
    }
    let versions: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) FROM annotations WHERE sample_id = ?1 AND reviewer_id = ?2",
        [sample_id, who.id],
        |r| r.get(0),
    )?;
    let previous: Option<i64> = tx
        .query_row(
            "SELECT id FROM annotations WHERE sample_id = ?1 AND reviewer_id = ?2 AND version = ?3",
            params![sample_id, who.id, versions - 1],
            |r| r.get(0),
        )
        .optional()?;
    let Some(previous) = previous else {
        return Err(AuditError::NothingToRevert {
            sample: sample_info(&tx, sample_id)?.ext_id,
            reviewer: who.name,
            versions,
        });
    };
    let answer = Answer {
        // Going back is not a timed answer.
        seconds: None,
        ..record(&tx, "annotations", previous)?.answer
    };
    let id = append(&tx, sample_id, who.id, &answer, "local", None, from)?;
    refresh_disagreement(&tx, sample_id)?;
    let stored = record(&tx, "annotations", id)?;
    tx.commit()?;
    Ok(stored)
}

/// SQL listing the disputed texts (`v.field`) of the sample whose id is the SQL expression
/// `sample`, among those meeting `also` (a condition on `v`): texts of a sample triaged for a
/// guard dispute on which the guard runs disagree with each other or with the expected label
/// (prompt unsafe, chosen safe, rejected unsafe). It looks at every run on the sample, not only
/// "the guards": a wider net that may ask for a reviewer verdict more often, never less.
pub(crate) fn disputed_fields_sql(sample: &str, also: &str) -> String {
    format!(
        "SELECT v.field FROM verdicts AS v
         WHERE v.sample_id = {sample} AND ({also}) AND v.verdict <> 'error'
           AND EXISTS (SELECT 1 FROM triage_reasons AS t WHERE t.sample_id = {sample}
                       AND t.reason IN ('guard_disagreement', 'guard_vs_expected'))
         GROUP BY v.field
         HAVING count(DISTINCT v.verdict) > 1
             OR max(v.verdict <> CASE v.field WHEN 'chosen' THEN 'safe'
                                              WHEN 'response' THEN v.verdict
                                              ELSE 'unsafe' END)"
    )
}

/// The texts of a sample that need a reviewer's own verdict before it can pass the audit.
pub fn disputed_fields(store: &Store, sample_id: i64) -> Result<Vec<String>, AuditError> {
    let sql = format!("{} ORDER BY v.field", disputed_fields_sql("?1", "1"));
    let mut stmt = store.conn().prepare_cached(&sql)?;
    let rows = stmt.query_map([sample_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The texts of a sample drawn into the random audit sample (triage reason `audit_sample`)
/// that need the reviewer's own verdict: every text it has. The guard-error, calibration and
/// corrected figures compare guards with humans on these texts, so a text the guards agree on
/// needs a human verdict as much as a disputed one; asking for all of them says nothing of what
/// the guards said. Empty for a sample outside the audit sample.
pub fn audit_fields(store: &Store, sample_id: i64) -> Result<Vec<String>, AuditError> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT s.prompt, s.chosen, s.rejected, s.response FROM samples AS s
         WHERE s.id = ?1 AND EXISTS (SELECT 1 FROM triage_reasons AS t
                                     WHERE t.sample_id = s.id AND t.reason = 'audit_sample')",
    )?;
    let texts: Option<[Option<String>; 4]> = stmt
        .query_row([sample_id], |r| {
            Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?])
        })
        .optional()?;
    Ok(texts
        .into_iter()
        .flat_map(|texts| texts.into_iter().zip(crate::guard::run::TextField::ALL))
        .filter(|(text, _)| text.as_deref().is_some_and(|t| !t.trim().is_empty()))
        .map(|(_, field)| field.name().to_string())
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::add_reviewer;

    fn project() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
                 INSERT INTO samples (id, dataset_id, ext_id, language, prompt, chosen, rejected)
                 VALUES (1, 1, 'a', 'pl', 'p', 'c', 'r');
                 INSERT INTO samples (id, dataset_id, ext_id, language, prompt)
                 VALUES (2, 1, 'b', 'de', 'p');",
            )
            .unwrap();
        add_reviewer(&store, "ana", "pl,de").unwrap();
        (dir, store)
    }

    /// Q1 as given, Q2 yes, Q3 na, nothing else.
    pub(crate) fn answer(q1: YesNo) -> Answer {
        Answer {
            q1,
            q2: YesNo::Yes,
            q3: Q3::Na,
            verdicts: BTreeMap::new(),
            note: String::new(),
            exclude: false,
            seconds: None,
        }
    }

    #[test]
    fn an_answer_sent_again_under_its_id_is_stored_once() {
        let (_d, mut store) = project();
        add_reviewer(&store, "ola", "pl").unwrap();
        let from = Provenance::new(Source::Window, Some("a-1".into()));
        let first = annotate(&mut store, 1, "ana", &answer(YesNo::Yes), &from).unwrap();
        let again = annotate(&mut store, 1, "ana", &answer(YesNo::No), &from).unwrap();
        assert_eq!(first, again, "the stored answer, unchanged");
        assert_eq!(first.source.as_deref(), Some("window"));
        for (sample, who) in [(2, "ana"), (1, "ola")] {
            assert!(matches!(
                annotate(&mut store, sample, who, &answer(YesNo::Yes), &from),
                Err(AuditError::AnswerIdTaken(_))
            ));
        }
        let undo = Provenance::new(Source::Session(7), Some("u-1".into()));
        annotate(&mut store, 1, "ana", &answer(YesNo::No), &Provenance::CLI).unwrap();
        let undone = revert_last(&mut store, 1, "ana", &undo).unwrap();
        assert_eq!(revert_last(&mut store, 1, "ana", &undo).unwrap(), undone);
        assert_eq!(undone.source.as_deref(), Some("session:7"));
        assert_eq!(history(&store, 1).unwrap().len(), 3);
    }

    #[test]
    fn versions_append_and_undo_appends_the_previous_answer() {
        let (_d, mut store) = project();
        let first = annotate(&mut store, 1, "ana", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
        let second = annotate(&mut store, 1, "ana", &answer(YesNo::No), &Provenance::CLI).unwrap();
        assert_eq!((first.version, second.version), (1, 2));
        let undone = revert_last(&mut store, 1, "ana", &Provenance::CLI).unwrap();
        assert_eq!((undone.version, undone.answer.q1), (3, YesNo::Yes));
        assert_eq!(history(&store, 1).unwrap().len(), 3);
        let current = current_answers(&store, 1).unwrap();
        assert_eq!((current.len(), current[0].version), (1, 3));
        assert!(matches!(
            revert_last(&mut store, 2, "ana", &Provenance::CLI),
            Err(AuditError::NothingToRevert { versions: 0, .. })
        ));
    }

    #[test]
    fn answers_are_validated_against_the_sample() {
        let (_d, mut store) = project();
        let mut a = answer(YesNo::Yes);
        a.verdicts.insert(
            "rejected".into(),
            FieldVerdict {
                verdict: TextVerdict::Unsafe,
                categories: vec!["s2".into(), "Violent Crimes".into(), "S2".into()],
            },
        );
        let stored = annotate(&mut store, 1, "ana", &a, &Provenance::CLI).unwrap();
        assert_eq!(stored.answer.verdicts["rejected"].categories, ["S1", "S2"]);
        let err = annotate(&mut store, 2, "ana", &a, &Provenance::CLI)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`b`") && err.contains("no rejected text"),
            "{err}"
        );
        a.verdicts.get_mut("rejected").unwrap().categories = vec!["S15".into()];
        let err = annotate(&mut store, 1, "ana", &a, &Provenance::CLI)
            .unwrap_err()
            .to_string();
        assert!(err.contains("S15"), "{err}");
        add_reviewer(&store, "jan", "cs").unwrap();
        let err =
            annotate(&mut store, 1, "jan", &answer(YesNo::Yes), &Provenance::CLI).unwrap_err();
        assert!(
            err.to_string().contains("not the sample's language pl"),
            "{err}"
        );
        assert_eq!(
            history(&store, 1).unwrap().len(),
            1,
            "refused answers store nothing"
        );
    }

    #[test]
    fn disputed_texts_follow_guard_verdicts_of_triaged_samples() {
        let (_d, store) = project();
        store
            .conn()
            .execute_batch(
                "INSERT INTO guard_runs (id, profile, backend, status) VALUES (1, 'g', 'local', 'done'), (2, 'h', 'local', 'done');
                 INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms) VALUES
                   (1, 1, 'prompt', 'unsafe', '', 0), (2, 1, 'prompt', 'unsafe', '', 0),
                   (1, 1, 'chosen', 'safe', '', 0), (2, 1, 'chosen', 'unsafe', '', 0),
                   (1, 1, 'rejected', 'safe', '', 0), (2, 1, 'rejected', 'safe', '', 0);",
            )
            .unwrap();
        assert!(
            disputed_fields(&store, 1).unwrap().is_empty(),
            "not triaged"
        );
        store
            .conn()
            .execute_batch(
                "INSERT INTO triage_reasons (sample_id, reason) VALUES (1, 'guard_disagreement');",
            )
            .unwrap();
        assert_eq!(disputed_fields(&store, 1).unwrap(), ["chosen", "rejected"]);
    }

    #[test]
    fn every_text_of_an_audit_sample_asks_for_a_verdict() {
        let (_d, store) = project();
        assert!(audit_fields(&store, 1).unwrap().is_empty(), "not drawn");
        store
            .conn()
            .execute_batch(
                "INSERT INTO triage_reasons (sample_id, reason) VALUES (1, 'audit_sample'), (2, 'audit_sample');
                 UPDATE samples SET response = '  ' WHERE id = 2;",
            )
            .unwrap();
        assert_eq!(
            audit_fields(&store, 1).unwrap(),
            ["prompt", "chosen", "rejected"]
        );
        // A blank text is no text to judge.
        assert_eq!(audit_fields(&store, 2).unwrap(), ["prompt"]);
    }
}
