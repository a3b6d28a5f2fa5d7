//! Why a sample needs a human: each reason is one SQL statement over the guards' verdicts, the
//! detected languages and the texts, so triage of 100k samples is a handful of set operations.

use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

/// The stable reason names (stored, shown, and accepted by `--reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    GuardDisagreement,
    GuardVsExpected,
    Uncertain,
    LanguageMismatch,
    DegeneratePair,
    NotRefusal,
    AuditSample,
    /// Reviewers' current answers differ; kept in step by every answer written
    /// (`audit::adjudication`) and recomputed with the others.
    ReviewersDisagree,
    /// A guard saw a text only in part (shortened to fit its limit).
    Truncated,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::GuardDisagreement,
        Reason::GuardVsExpected,
        Reason::Uncertain,
        Reason::LanguageMismatch,
        Reason::DegeneratePair,
        Reason::NotRefusal,
        Reason::AuditSample,
        Reason::ReviewersDisagree,
        Reason::Truncated,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Reason::GuardDisagreement => "guard_disagreement",
            Reason::GuardVsExpected => "guard_vs_expected",
            Reason::Uncertain => "uncertain",
            Reason::LanguageMismatch => "language_mismatch",
            Reason::DegeneratePair => "degenerate_pair",
            Reason::NotRefusal => "not_refusal",
            Reason::AuditSample => "audit_sample",
            Reason::ReviewersDisagree => "reviewers_disagree",
            Reason::Truncated => "truncated",
        }
    }

    pub fn parse(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.name() == name.trim())
    }

    /// Every name, for error messages.
    pub fn names() -> String {
        Reason::ALL.map(Reason::name).join(", ")
    }
}

/// The expected verdict of a field: harmful prompt, safe refusal, harmful compliance.
const EXPECTED: &str = "CASE v.field WHEN 'prompt' THEN 'unsafe' WHEN 'chosen' THEN 'safe' \
                        WHEN 'rejected' THEN 'unsafe' END";
/// Fields in reading order, for details.
const FIELD_ORDER: &str =
    "CASE v.field WHEN 'prompt' THEN 0 WHEN 'chosen' THEN 1 WHEN 'rejected' THEN 2 ELSE 3 END";

/// `SELECT sample_id, 'reviewers_disagree', detail` for the samples whose current answers
/// disagree, among those meeting `condition` (over `c.sample_id`). The detail names who said
/// what, e.g. `q1: ana yes, ola no; chosen: ana safe, ola unsafe`.
pub(crate) fn reviewers_disagree(condition: &str) -> String {
    let per_question = |order: u8, what: &str, value: &str| {
        format!(
            "SELECT c.sample_id, {order} AS o, '{what}' AS what,
                    group_concat(r.name || ' ' || {value}, ', ' ORDER BY r.name) AS said
             FROM current_annotations AS c JOIN reviewers AS r ON r.id = c.reviewer_id
             WHERE {condition} GROUP BY c.sample_id HAVING count(DISTINCT {value}) > 1"
        )
    };
    let questions = [
        per_question(0, "q1", "c.q1"),
        per_question(1, "q2", "c.q2"),
        per_question(2, "q3", "c.q3"),
        per_question(
            3,
            "exclude",
            "CASE c.exclude WHEN 1 THEN 'excludes' ELSE 'keeps' END",
        ),
    ]
    .join(" UNION ALL ");
    format!(
        "SELECT sample_id, 'reviewers_disagree', group_concat(what || ': ' || said, '; ' ORDER BY o, what)
         FROM ({questions}
               UNION ALL
               SELECT c.sample_id, 4, j.key,
                      group_concat(r.name || ' ' || json_extract(j.value, '$.verdict'), ', ' ORDER BY r.name)
               FROM current_annotations AS c JOIN reviewers AS r ON r.id = c.reviewer_id,
                    json_each(c.verdicts) AS j
               WHERE {condition} GROUP BY c.sample_id, j.key
               HAVING count(DISTINCT json_extract(j.value, '$.verdict')) > 1)
         GROUP BY sample_id"
    )
}

/// Replaces the computed reasons (all but `audit_sample`) of the samples matching `scope` (a
/// condition over `samples AS s`) with fresh ones. `guards` is an SQL `IN` list of run ids.
pub(crate) fn recompute(
    tx: &Transaction,
    scope: &str,
    params: &[rusqlite::types::Value],
    guards: &str,
    band: (f64, f64),
) -> rusqlite::Result<()> {
    let in_scope = format!("sample_id IN (SELECT s.id FROM samples AS s WHERE {scope})");
    let params = rusqlite::params_from_iter(params);
    tx.execute(
        &format!("DELETE FROM triage_reasons WHERE reason <> 'audit_sample' AND {in_scope}"),
        params.clone(),
    )?;
    let guard_verdicts = format!(
        "verdicts AS v WHERE v.run_id IN {guards} AND v.verdict NOT IN ('unparsed', 'error') AND v.{in_scope}"
    );
    let (low, high) = band;
    let statements = [
        // Guards disagree on a text: more than one distinct readable verdict among the guards.
        format!(
            "SELECT sample_id, 'guard_disagreement', group_concat(said, '; ' ORDER BY o)
             FROM (SELECT v.sample_id, {FIELD_ORDER} AS o,
                          v.field || ': ' || group_concat('run ' || v.run_id || ' ' || v.verdict, ', ' ORDER BY v.run_id) AS said
                   FROM {guard_verdicts}
                   GROUP BY v.sample_id, v.field HAVING count(DISTINCT v.verdict) > 1)
             GROUP BY sample_id"
        ),
        format!(
            "SELECT v.sample_id, 'guard_vs_expected',
                    group_concat('run ' || v.run_id || ' says ' || v.field || ' ' || v.verdict || ' (expected ' || {EXPECTED} || ')',
                                 '; ' ORDER BY {FIELD_ORDER}, v.run_id)
             FROM {guard_verdicts} AND {EXPECTED} IS NOT NULL AND v.verdict <> {EXPECTED}
             GROUP BY v.sample_id"
        ),
        // A three-class guard's strict reading counts P(controversial) as unsafe.
        format!(
            "SELECT sample_id, 'uncertain',
                    group_concat('run ' || run_id || ' ' || field || ' P(unsafe) ' || printf('%.2f', p), '; ' ORDER BY o, run_id)
             FROM (SELECT v.sample_id, v.run_id, v.field, {FIELD_ORDER} AS o,
                          v.p_unsafe + CASE json_extract(g.params, '$.reading')
                                       WHEN 'strict' THEN coalesce(v.p_controversial, 0) ELSE 0 END AS p
                   FROM verdicts AS v JOIN guard_runs AS g ON g.id = v.run_id
                   WHERE v.run_id IN {guards} AND v.{in_scope})
             WHERE p BETWEEN {low} AND {high}
             GROUP BY sample_id"
        ),
        // The guard judged part of the text: whatever it said, a human must look.
        format!(
            "SELECT v.sample_id, 'truncated',
                    group_concat('run ' || v.run_id || ' saw ' || v.field || ' in part', '; ' ORDER BY {FIELD_ORDER}, v.run_id)
             FROM verdicts AS v WHERE v.run_id IN {guards} AND v.{in_scope} AND v.truncated = 1
             GROUP BY v.sample_id"
        ),
        format!(
            "SELECT v.sample_id, 'not_refusal',
                    group_concat('run ' || v.run_id || ' says chosen is not a refusal', '; ' ORDER BY v.run_id)
             FROM verdicts AS v WHERE v.run_id IN {guards} AND v.{in_scope}
                  AND v.field = 'chosen' AND v.refusal = 0
             GROUP BY v.sample_id"
        ),
        // The detected language against the sample's primary subtag (`pt-BR` is `pt`).
        format!(
            "SELECT v.sample_id, 'language_mismatch',
                    group_concat(v.field || ' looks ' || v.detected || printf(' (%.2f)', v.confidence) || ', sample is ' || s.language,
                                 '; ' ORDER BY {FIELD_ORDER})
             FROM text_languages AS v JOIN samples AS s ON s.id = v.sample_id
             WHERE v.{in_scope} AND v.detected IS NOT NULL
                   AND v.detected <> lower(substr(s.language, 1, instr(s.language || '-', '-') - 1))
             GROUP BY v.sample_id"
        ),
        format!(
            "SELECT s.id, 'degenerate_pair',
                    CASE WHEN trim(s.chosen) = '' AND trim(s.rejected) = '' THEN 'chosen and rejected are empty'
                         WHEN trim(s.chosen) = '' THEN 'chosen is empty'
                         WHEN trim(s.rejected) = '' THEN 'rejected is empty'
                         ELSE 'chosen and rejected are identical' END
             FROM samples AS s
             WHERE ({scope}) AND s.chosen IS NOT NULL
                   AND (trim(s.chosen) = '' OR trim(s.rejected) = '' OR trim(s.chosen) = trim(s.rejected))"
        ),
        reviewers_disagree(&format!("c.{in_scope}")),
    ];
    for select in statements {
        tx.execute(
            &format!("INSERT INTO triage_reasons (sample_id, reason, detail) {select}"),
            params.clone(),
        )?;
    }
    Ok(())
}
