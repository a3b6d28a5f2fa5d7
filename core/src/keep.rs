//! The RefusEU paper's keep rule as a named filter: keep a prompt only if every guard calls it
//! unsafe; keep a pair only if every guard calls the chosen answer safe and at least one calls
//! the rejected answer unsafe. A guard that has not judged a text does not vote for keeping it.

use rusqlite::Connection;
use serde::Serialize;

use crate::project_guards::{GuardsError, ProjectGuards, project_guards};

/// The rule as a condition over `samples AS s` for the given guards (no guards: nothing kept).
pub fn condition_for(guards: &ProjectGuards) -> String {
    if guards.runs.is_empty() {
        return "0".into();
    }
    let n = guards.runs.len();
    let list = guards.sql_list();
    let all = |field: &str, verdict: &str| {
        format!(
            "(SELECT count(*) FROM verdicts AS k WHERE k.sample_id = s.id AND k.field = '{field}'
              AND k.verdict = '{verdict}' AND k.run_id IN {list}) = {n}"
        )
    };
    format!(
        "({prompt} AND (s.chosen IS NULL OR ({chosen} AND EXISTS (SELECT 1 FROM verdicts AS k
           WHERE k.sample_id = s.id AND k.field = 'rejected' AND k.verdict = 'unsafe' AND k.run_id IN {list}))))",
        prompt = all("prompt", "unsafe"),
        chosen = all("chosen", "safe"),
    )
}

/// The rule for the project's guards in force.
pub fn condition(conn: &Connection) -> Result<String, GuardsError> {
    Ok(condition_for(&project_guards(conn)?))
}

/// How many samples the keep rule keeps, of those in a scope.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KeepCounts {
    pub samples: u64,
    pub kept: u64,
    pub triples: u64,
    pub triples_kept: u64,
}

pub(crate) fn counts(
    conn: &Connection,
    guards: &ProjectGuards,
    scope: &str,
    params: &[rusqlite::types::Value],
) -> rusqlite::Result<KeepCounts> {
    let keep = condition_for(guards);
    conn.query_row(
        &format!(
            "SELECT count(*), coalesce(sum(k), 0), count(s.chosen), coalesce(sum(k AND s.chosen IS NOT NULL), 0)
             FROM (SELECT s.chosen, {keep} AS k FROM samples AS s WHERE {scope}) AS s"
        ),
        rusqlite::params_from_iter(params),
        |r| {
            let n = |i| r.get::<_, i64>(i).map(|v| v as u64);
            Ok(KeepCounts {
                samples: n(0)?,
                kept: n(1)?,
                triples: n(2)?,
                triples_kept: n(3)?,
            })
        },
    )
}
