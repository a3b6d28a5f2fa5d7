//! The review queue: samples with at least one triage reason that still need answers (the
//! project's answers per sample) and that this reviewer has not answered, in a stable order
//! (reason priority, then sample id), and the `SampleView` the app's Review screen shows. An
//! adjudicator's queue holds instead the samples whose reviewers disagree and that have no final
//! answer yet.
//!
//! Speed comes from `triage_queue` (one row per queued sample, kept by triggers) and its
//! indexes (language, priority, sample_id): each language is one ordered index walk that stops
//! at the limit, and the languages are merged here. The row also holds the sample's answers
//! (distinct reviewers) and the answers the team settings ask of it, both kept by triggers
//! (migration 0016), and a partial index holds only the samples still open: a reviewer's walk
//! never steps over samples that have their answers, however many there are. A reviewer sees
//! only the languages they read.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde::Serialize;

use crate::import::Turn;
use crate::keep;
use crate::project_guards::{GuardsError, project_guards};
use crate::sample::{normalise_language, normalise_style, parse_category, read_turns};
use crate::triage::Reason;

/// Which waiting samples to list. Every field narrows; the default lists all.
#[derive(Clone, Debug, Default)]
pub struct QueueQuery {
    /// Comma-separated language codes; a code also matches its regional variants.
    pub language: Option<String>,
    pub reason: Option<Reason>,
    /// Only this reviewer's languages, and samples this reviewer has not answered. Without
    /// one, samples that still need answers from anyone.
    pub reviewer: Option<String>,
    /// The adjudication queue of `reviewer` (who must be an adjudicator): samples whose
    /// reviewers disagree and that have no final answer yet.
    pub adjudicate: bool,
    pub dataset: Option<String>,
    pub category: Option<String>,
    pub style: Option<String>,
    /// Only samples the paper's keep rule keeps.
    pub keep_rule: bool,
    pub limit: Option<u64>,
}

/// One waiting sample.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueItem {
    /// The sample id as imported.
    pub sample_id: String,
    /// The project's internal id (what `SampleView` and `next` take).
    pub id: i64,
    pub dataset: String,
    pub language: String,
    pub category: Option<String>,
    pub style: Option<String>,
    /// Reason names, most urgent first.
    pub reasons: Vec<String>,
}

/// Queued samples for one (reason, language).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueCount {
    pub reason: String,
    pub language: String,
    /// Still waiting for an answer (from the reviewer, or from anyone).
    pub waiting: u64,
    /// With this reason, answered or not.
    pub total: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no reviewer named `{0}` (add one with `verdikt reviewer add`)")]
    NoReviewer(String),
    #[error("the adjudication queue needs a reviewer who adjudicates; `{0}` does not")]
    NotAdjudicator(String),
    #[error("the adjudication queue is an adjudicator's: name the reviewer")]
    AdjudicatorMissing,
    #[error("reviewer `{0}` has no languages (the list stored with the reviewer is empty)")]
    ReviewerWithoutLanguages(String),
    #[error("reviewer `{name}`: the stored languages are not a JSON list of codes: {source}")]
    ReviewerLanguages {
        name: String,
        source: serde_json::Error,
    },
    #[error("no dataset named `{0}` in this project")]
    NoDataset(String),
    #[error("--language: {0}")]
    Language(String),
    #[error("--category: {0}")]
    Category(String),
    #[error("no sample with id {0} in this project")]
    NoSample(i64),
    #[error(transparent)]
    Guards(#[from] GuardsError),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// A query turned into SQL: the languages to walk and conditions over `triage_queue AS q`
/// joined with `samples AS s`.
struct Plan {
    languages: Vec<String>,
    /// "Still waiting for an answer", apart from the filters: counts also total answered ones.
    unanswered: String,
    condition: String,
    params: Vec<Value>,
}

impl Plan {
    fn new(conn: &Connection, q: &QueueQuery) -> Result<Plan, QueueError> {
        let mut clauses = vec!["1 = 1".to_string()];
        let mut params = Vec::new();
        let mut push = |clause: &str, value: Value, params: &mut Vec<Value>| {
            params.push(value);
            clauses.push(clause.replace('?', &format!("?{}", params.len())));
        };
        let mut wanted: Option<Vec<String>> = match &q.language {
            Some(list) => Some(
                list.split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(normalise_language)
                    .collect::<Result<_, _>>()
                    .map_err(QueueError::Language)?,
            ),
            None => None,
        };
        // Kept by triggers (migration 0016); the same term is the open-samples index's condition.
        let needs_answers = "q.answers < q.needed".to_string();
        let unanswered = match &q.reviewer {
            Some(name) => {
                let (id, reads, adjudicator) = reviewer(conn, name)?;
                wanted = Some(match wanted {
                    // The reviewer's languages narrowed by --language, either way round.
                    Some(w) => w
                        .into_iter()
                        .filter(|l| reads.iter().any(|r| matches(l, r) || matches(r, l)))
                        .collect(),
                    None => reads,
                });
                if q.adjudicate {
                    if !adjudicator {
                        return Err(QueueError::NotAdjudicator(name.clone()));
                    }
                    format!(
                        "EXISTS (SELECT 1 FROM triage_reasons AS r WHERE r.sample_id = q.sample_id AND r.reason = '{}')
                         AND NOT EXISTS (SELECT 1 FROM final_answers AS f WHERE f.sample_id = q.sample_id)",
                        Reason::ReviewersDisagree.name()
                    )
                } else {
                    params.push(Value::Integer(id));
                    format!(
                        "NOT EXISTS (SELECT 1 FROM annotations AS a WHERE a.sample_id = q.sample_id AND a.reviewer_id = ?{})
                         AND {needs_answers}",
                        params.len()
                    )
                }
            }
            None if q.adjudicate => return Err(QueueError::AdjudicatorMissing),
            None => needs_answers,
        };
        if let Some(name) = &q.dataset {
            let id: i64 = conn
                .query_row("SELECT id FROM datasets WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| QueueError::NoDataset(name.clone()))?;
            push("q.dataset_id = ?", Value::Integer(id), &mut params);
        }
        if let Some(reason) = q.reason {
            push(
                "EXISTS (SELECT 1 FROM triage_reasons AS r WHERE r.sample_id = q.sample_id AND r.reason = ?)",
                Value::Text(reason.name().into()),
                &mut params,
            );
        }
        if let Some(c) = &q.category {
            let code = parse_category(c).map_err(QueueError::Category)?;
            push("s.category = ?", Value::Text(code.into()), &mut params);
        }
        if let Some(style) = q.style.as_deref().and_then(normalise_style) {
            push("s.style = ?", Value::Text(style), &mut params);
        }
        if q.keep_rule {
            clauses.push(keep::condition(conn)?);
        }
        let present = present_languages(conn)?;
        let languages = match wanted {
            Some(w) => present
                .into_iter()
                .filter(|p| w.iter().any(|l| matches(p, l)))
                .collect(),
            None => present,
        };
        Ok(Plan {
            languages,
            unanswered,
            condition: clauses.join(" AND "),
            params,
        })
    }
}

/// Whether sample language `code` is read by someone who reads `reads` (`pt` reads `pt-BR`).
fn matches(code: &str, reads: &str) -> bool {
    code.eq_ignore_ascii_case(reads)
        || code
            .get(..reads.len() + 1)
            .is_some_and(|p| p[..reads.len()].eq_ignore_ascii_case(reads) && p.ends_with('-'))
}

/// A reviewer's id, languages and whether they adjudicate.
fn reviewer(conn: &Connection, name: &str) -> Result<(i64, Vec<String>, bool), QueueError> {
    let (id, json, adjudicator): (i64, String, bool) = conn
        .query_row(
            "SELECT id, languages, adjudicator FROM reviewers WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| QueueError::NoReviewer(name.into()))?;
    let reads: Vec<String> =
        serde_json::from_str(&json).map_err(|source| QueueError::ReviewerLanguages {
            name: name.into(),
            source,
        })?;
    if reads.is_empty() {
        return Err(QueueError::ReviewerWithoutLanguages(name.into()));
    }
    Ok((id, reads, adjudicator))
}

/// The distinct languages in the queue, by skipping through the index (one seek each).
fn present_languages(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE l(code) AS (
             SELECT min(language) FROM triage_queue
             UNION ALL
             SELECT (SELECT min(language) FROM triage_queue WHERE language > l.code) FROM l
             WHERE l.code IS NOT NULL)
         SELECT code FROM l WHERE code IS NOT NULL",
    )?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

const ITEM_COLUMNS: &str = "q.priority, q.sample_id, s.ext_id, \
    (SELECT name FROM datasets AS d WHERE d.id = q.dataset_id), q.language, s.category, s.style, \
    (SELECT group_concat(r.reason, ',' ORDER BY p.priority) FROM triage_reasons AS r \
     JOIN triage_priority AS p ON p.reason = r.reason WHERE r.sample_id = q.sample_id)";

/// One language's walk: the plan's parameters, then language and the (priority, id) to start
/// after.
fn walk_sql(plan: &Plan, limit: Option<u64>) -> String {
    let n = plan.params.len();
    format!(
        "SELECT {ITEM_COLUMNS} FROM triage_queue AS q JOIN samples AS s ON s.id = q.sample_id
         WHERE q.language = ?{} AND (q.priority, q.sample_id) > (?{}, ?{}) AND {} AND {}
         ORDER BY q.priority, q.sample_id {}",
        n + 1,
        n + 2,
        n + 3,
        plan.unanswered,
        plan.condition,
        limit.map_or(String::new(), |l| format!("LIMIT {l}")),
    )
}

/// Walks each language's index range from `after` (priority, id), `limit` rows each, and
/// merges them into one ordered list.
fn walk(
    conn: &Connection,
    plan: &Plan,
    after: (i64, i64),
    limit: Option<u64>,
) -> rusqlite::Result<Vec<QueueItem>> {
    let mut stmt = conn.prepare_cached(&walk_sql(plan, limit))?;
    let mut merged: Vec<((i64, i64), QueueItem)> = Vec::new();
    for language in &plan.languages {
        let mut args = plan.params.clone();
        args.extend([
            Value::Text(language.clone()),
            Value::Integer(after.0),
            Value::Integer(after.1),
        ]);
        let rows = stmt.query_map(params_from_iter(&args), |r| {
            let reasons: Option<String> = r.get(7)?;
            Ok((
                (r.get(0)?, r.get(1)?),
                QueueItem {
                    id: r.get(1)?,
                    sample_id: r.get(2)?,
                    dataset: r.get(3)?,
                    language: r.get(4)?,
                    category: r.get(5)?,
                    style: r.get(6)?,
                    reasons: reasons
                        .unwrap_or_default()
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                },
            ))
        })?;
        for row in rows {
            merged.push(row?);
        }
    }
    merged.sort_by_key(|(key, _)| *key);
    if let Some(l) = limit {
        merged.truncate(l as usize);
    }
    Ok(merged.into_iter().map(|(_, item)| item).collect())
}

/// The waiting samples, most urgent first.
pub fn list(conn: &Connection, q: &QueueQuery) -> Result<Vec<QueueItem>, QueueError> {
    let plan = Plan::new(conn, q)?;
    Ok(walk(conn, &plan, (i64::MIN, i64::MIN), q.limit)?)
}

/// The next waiting sample after sample `after` (internal id) in queue order, or the first.
/// The app preloads it while the reviewer reads the current one.
pub fn next(
    conn: &Connection,
    q: &QueueQuery,
    after: Option<i64>,
) -> Result<Option<QueueItem>, QueueError> {
    let plan = Plan::new(conn, q)?;
    let cursor = match after {
        Some(id) => conn
            .query_row(
                "SELECT priority, sample_id FROM triage_queue WHERE sample_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            // A sample that left the queue: continue after its id at the same priority class.
            .unwrap_or((i64::MIN, id)),
        None => (i64::MIN, i64::MIN),
    };
    Ok(walk(conn, &plan, cursor, Some(1))?.into_iter().next())
}

/// (waiting, total) per (reason, language).
type Tally = BTreeMap<(String, String), (u64, u64)>;

/// Waiting and total queued samples per (reason, language), or per language alone (reason
/// `""`) when `by_reason` is false, in the plan's languages.
fn tally(conn: &Connection, plan: &Plan, by_reason: bool) -> Result<Tally, QueueError> {
    // Counted in Rust rather than by GROUP BY: SQLite would sort every (reason, sample) row
    // first, which is most of the cost on a large queue. `samples` joins only when filtered on.
    let samples_join = if plan.condition.contains("s.") {
        "JOIN samples AS s ON s.id = q.sample_id"
    } else {
        ""
    };
    let (reason, reasons_join) = if by_reason {
        (
            "r.reason",
            "JOIN triage_reasons AS r ON r.sample_id = q.sample_id",
        )
    } else {
        ("''", "")
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {reason}, q.language, {}
         FROM triage_queue AS q {reasons_join} {samples_join}
         WHERE {}",
        plan.unanswered, plan.condition
    ))?;
    let mut tally = Tally::new();
    let mut rows = stmt.query(params_from_iter(&plan.params))?;
    while let Some(row) = rows.next()? {
        let language = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        if !plan.languages.iter().any(|l| l == language) {
            continue;
        }
        let reason = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        let waiting: bool = row.get(2)?;
        let entry = tally
            .entry((reason.to_owned(), language.to_owned()))
            .or_default();
        entry.0 += u64::from(waiting);
        entry.1 += 1;
    }
    Ok(tally)
}

/// Waiting and total samples per (reason, language) under the query's filters. A sample with
/// two reasons is in two rows: for progress, see [`progress`].
pub fn counts(conn: &Connection, q: &QueueQuery) -> Result<Vec<QueueCount>, QueueError> {
    let plan = Plan::new(conn, q)?;
    Ok(tally(conn, &plan, true)?
        .into_iter()
        .map(|((reason, language), (waiting, total))| QueueCount {
            reason,
            language,
            waiting,
            total,
        })
        .collect())
}

/// Review progress of one language (`language` null: all), counted in samples.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LanguageProgress {
    pub language: Option<String>,
    /// Queued samples under the filters.
    pub total: u64,
    /// Of those, the samples still waiting (for the reviewer, or for anyone; for an
    /// adjudicator, for a final answer).
    pub waiting: u64,
}

/// Progress per language and overall (first), in samples: a sample with two reasons counts
/// once.
pub fn progress(conn: &Connection, q: &QueueQuery) -> Result<Vec<LanguageProgress>, QueueError> {
    let plan = Plan::new(conn, q)?;
    let mut overall = LanguageProgress {
        language: None,
        total: 0,
        waiting: 0,
    };
    let mut out = Vec::new();
    for ((_, language), (waiting, total)) in tally(conn, &plan, false)? {
        overall.total += total;
        overall.waiting += waiting;
        out.push(LanguageProgress {
            language: Some(language),
            total,
            waiting,
        });
    }
    out.insert(0, overall);
    Ok(out)
}

/// One guard run's reading of one text.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuardReading {
    pub run_id: i64,
    pub profile: String,
    pub model: String,
    /// Whether this run is one of the project's guards.
    pub project_guard: bool,
    pub verdict: String,
    pub categories: Vec<String>,
    pub p_unsafe: Option<f64>,
    pub refusal: Option<bool>,
    /// The guard saw the text only in part (shortened to fit its context).
    pub truncated: bool,
}

/// One text of a sample, as the reviewer reads it, with what the machines said about it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TextView {
    /// `prompt`, `chosen`, `rejected` or `response`.
    pub field: String,
    /// Exactly as imported: render as text, never as HTML.
    pub text: String,
    /// `None`: not identified yet, or unsure.
    pub detected_language: Option<String>,
    pub language_confidence: Option<f64>,
    pub guards: Vec<GuardReading>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReasonView {
    pub reason: String,
    pub detail: String,
}

/// Everything the Review screen shows of one sample.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleView {
    pub id: i64,
    /// The sample id as imported.
    pub sample_id: String,
    pub dataset: String,
    pub language: String,
    pub category: Option<String>,
    pub style: Option<String>,
    pub split: Option<String>,
    /// When the prompt is a conversation: its turns before the prompt (the last user turn),
    /// system message first; empty for a single prompt. Render as text, never as HTML.
    pub turns: Vec<Turn>,
    pub texts: Vec<TextView>,
    /// Most urgent first.
    pub reasons: Vec<ReasonView>,
    /// Whether the paper's keep rule keeps the sample under the project's guards.
    pub kept_by_rule: bool,
}

/// One sample (internal id) for the Review screen.
pub fn sample_view(conn: &Connection, id: i64) -> Result<SampleView, QueueError> {
    let keep = keep::condition(conn)?;
    let guards = project_guards(conn)?;
    let mut view = conn
        .query_row(
            &format!(
                "SELECT s.ext_id, d.name, s.language, s.category, s.style, s.split, {keep},
                        s.prompt, s.chosen, s.rejected, s.response, s.turns
                 FROM samples AS s JOIN datasets AS d ON d.id = s.dataset_id WHERE s.id = ?1"
            ),
            [id],
            |r| {
                let texts = ["prompt", "chosen", "rejected", "response"]
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, field)| {
                        r.get::<_, Option<String>>(7 + i).transpose().map(|text| {
                            text.map(|text| TextView {
                                field: field.into(),
                                text,
                                detected_language: None,
                                language_confidence: None,
                                guards: Vec::new(),
                            })
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(SampleView {
                    id,
                    sample_id: r.get(0)?,
                    dataset: r.get(1)?,
                    language: r.get(2)?,
                    category: r.get(3)?,
                    style: r.get(4)?,
                    split: r.get(5)?,
                    kept_by_rule: r.get(6)?,
                    turns: read_turns(r.get(11)?)?
                        .map(|c| c.earlier)
                        .unwrap_or_default(),
                    texts,
                    reasons: Vec::new(),
                })
            },
        )
        .optional()?
        .ok_or(QueueError::NoSample(id))?;
    let mut by_field: BTreeMap<String, &mut TextView> = view
        .texts
        .iter_mut()
        .map(|t| (t.field.clone(), t))
        .collect();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT field, detected, confidence FROM text_languages WHERE sample_id = ?1",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            if let Some(t) = by_field.get_mut(&r.get::<_, String>(0)?) {
                t.detected_language = r.get(1)?;
                t.language_confidence = r.get(2)?;
            }
        }
    }
    {
        let mut stmt = conn.prepare_cached(
            "SELECT v.field, v.run_id, g.profile,
                    coalesce(g.model_path, g.server_url || ' ' || g.server_model, ''),
                    v.verdict, v.categories, v.p_unsafe, v.refusal, v.truncated
             FROM verdicts AS v JOIN guard_runs AS g ON g.id = v.run_id
             WHERE v.sample_id = ?1 ORDER BY v.run_id",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            let Some(t) = by_field.get_mut(&r.get::<_, String>(0)?) else {
                continue;
            };
            let run_id: i64 = r.get(1)?;
            let categories: String = r.get(5)?;
            t.guards.push(GuardReading {
                run_id,
                profile: r.get(2)?,
                model: r.get(3)?,
                project_guard: guards.runs.contains(&run_id),
                verdict: r.get(4)?,
                categories: serde_json::from_str(&categories).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        5,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                })?,
                p_unsafe: r.get(6)?,
                refusal: r.get(7)?,
                truncated: r.get(8)?,
            });
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT r.reason, r.detail FROM triage_reasons AS r
         JOIN triage_priority AS p ON p.reason = r.reason
         WHERE r.sample_id = ?1 ORDER BY p.priority",
    )?;
    view.reasons = stmt
        .query_map([id], |r| {
            Ok(ReasonView {
                reason: r.get(0)?,
                detail: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::add_reviewer;
    use crate::store::Store;

    /// A reviewer's next is one walk over the samples still open (the partial index kept by
    /// migration 0016's triggers), not over every queued sample: answered samples cost nothing.
    #[test]
    fn the_walk_reads_only_open_samples() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        add_reviewer(&store, "ana", "pl").unwrap();
        for reviewer in [Some("ana".to_string()), None] {
            let query = QueueQuery {
                reviewer,
                ..QueueQuery::default()
            };
            let plan = Plan::new(store.conn(), &query).unwrap();
            let explained: Vec<String> = store
                .conn()
                .prepare(&format!("EXPLAIN QUERY PLAN {}", walk_sql(&plan, Some(1))))
                .unwrap()
                .query_map(
                    params_from_iter(plan.params.iter().chain(&[
                        Value::Text("pl".into()),
                        Value::Integer(0),
                        Value::Integer(0),
                    ])),
                    |r| r.get(3),
                )
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                explained[0].contains("USING INDEX triage_queue_open (language=? AND priority>?)"),
                "{explained:?}"
            );
        }
    }
}
