//! "The guards" of the project: the guard runs whose verdicts triage, the keep rule and the
//! statistics compare. A curator may pick them (`verdikt guards use`); until then the latest
//! finished run of each distinct guard (profile + model) speaks, so a re-run of the same guard
//! replaces its predecessor instead of disagreeing with it.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

const KEY: &str = "guards";

#[derive(Debug, thiserror::Error)]
pub enum GuardsError {
    #[error("no guard run {0} in this project (see `verdikt guard runs`)")]
    NoRun(i64),
    #[error("the project setting `guards` is not a JSON list of run ids: {0}")]
    Corrupt(serde_json::Error),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The guard runs in force, and whether a curator chose them.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectGuards {
    pub runs: Vec<i64>,
    /// `false`: the default (latest finished run per profile and model).
    pub chosen: bool,
}

impl ProjectGuards {
    /// `IN (…)` list for SQL; ids are integers, so formatting them in is safe.
    pub(crate) fn sql_list(&self) -> String {
        let ids: Vec<String> = self.runs.iter().map(i64::to_string).collect();
        format!("({})", ids.join(", "))
    }
}

/// The guards in force. Chosen runs that were deleted since are dropped.
pub fn project_guards(conn: &Connection) -> Result<ProjectGuards, GuardsError> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM project WHERE key = ?1", [KEY], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(json) = stored {
        let ids: Vec<i64> = serde_json::from_str(&json).map_err(GuardsError::Corrupt)?;
        let mut runs = Vec::with_capacity(ids.len());
        for id in ids {
            if run_exists(conn, id)? {
                runs.push(id);
            }
        }
        return Ok(ProjectGuards { runs, chosen: true });
    }
    let mut stmt = conn.prepare(
        "SELECT max(id) FROM guard_runs WHERE status = 'done'
         GROUP BY profile, coalesce(model_sha256, server_url || ' ' || server_model)
         ORDER BY 1",
    )?;
    let runs = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ProjectGuards {
        runs,
        chosen: false,
    })
}

/// Makes `runs` the guards of the project; an empty list returns to the default.
pub fn use_guards(conn: &Connection, runs: &[i64]) -> Result<ProjectGuards, GuardsError> {
    if runs.is_empty() {
        conn.execute("DELETE FROM project WHERE key = ?1", [KEY])?;
        return project_guards(conn);
    }
    let mut unique = Vec::new();
    for &id in runs {
        if !run_exists(conn, id)? {
            return Err(GuardsError::NoRun(id));
        }
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    let json = serde_json::to_string(&unique).expect("a list of integers serialises");
    conn.execute(
        "INSERT INTO project (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [KEY, json.as_str()],
    )?;
    Ok(ProjectGuards {
        runs: unique,
        chosen: true,
    })
}

fn run_exists(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM guard_runs WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn run(conn: &Connection, id: i64, profile: &str, sha: &str, status: &str) {
        conn.execute(
            "INSERT INTO guard_runs (id, profile, backend, model_sha256, status) VALUES (?1, ?2, 'local', ?3, ?4)",
            rusqlite::params![id, profile, sha, status],
        )
        .unwrap();
    }

    #[test]
    fn default_is_latest_finished_run_per_guard_and_choice_overrides_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        let c = store.conn();
        run(c, 1, "llama-guard-3-8b", "aa", "done");
        run(c, 2, "llama-guard-3-8b", "aa", "done");
        run(c, 3, "llama-guard-3-8b", "aa", "failed");
        run(c, 4, "llama-guard-3-8b", "bb", "done");
        run(c, 5, "qwen3guard-gen", "aa", "done");
        let default = project_guards(c).unwrap();
        assert_eq!((default.runs, default.chosen), (vec![2, 4, 5], false));

        let chosen = use_guards(c, &[5, 1, 5]).unwrap();
        assert_eq!(chosen.runs, vec![5, 1]);
        assert_eq!(project_guards(c).unwrap(), chosen);
        assert!(matches!(use_guards(c, &[9]), Err(GuardsError::NoRun(9))));
        assert_eq!(
            project_guards(c).unwrap(),
            chosen,
            "a refused choice changes nothing"
        );
        assert!(!use_guards(c, &[]).unwrap().chosen);
    }
}
