//! "The guards" of the project: the guard runs whose verdicts triage, the keep rule and the
//! statistics compare. A curator may pick them (`verdikt guards use`); until then the latest
//! finished run of each distinct guard (profile + model) speaks, so a re-run of the same guard
//! replaces its predecessor instead of disagreeing with it.
//!
//! Beside them, the project's judge: the run that decides the texts the guards dispute under
//! the paper's adjudication protocol (ASR's `judge_adjudicated`, the `adjudicated` keep rule).
//! A curator may pick it (`verdikt guards judge`); until then it is the latest finished run made
//! with `--only-disputed`, which checked only disputed texts and so is never a default guard.
//! The judge is never one of the guards.

use rusqlite::Connection;

use crate::store::{project_setting, set_project_setting};
use serde::{Deserialize, Serialize};

const KEY: &str = "guards";
const JUDGE_KEY: &str = "judge";
const KEEP_RULE_KEY: &str = "keep_rule";

/// Runs made with `--only-disputed` (a judge's runs), over `guard_runs`.
const ONLY_DISPUTED: &str = "coalesce(json_extract(params, '$.only_disputed'), 0)";

#[derive(Debug, thiserror::Error)]
pub enum GuardsError {
    #[error("no guard run {0} in this project (see `verdikt guard runs`)")]
    NoRun(i64),
    #[error(
        "run {0} cannot be both one of the project's guards and its judge: choose the guards without it, or another judge (or none)"
    )]
    GuardAndJudge(i64),
    #[error("the project setting `{key}` is unreadable: {reason}")]
    Corrupt { key: &'static str, reason: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// Which keep rule filters the samples (`--keep-rule`, the Review screen's ★).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepRule {
    /// Every guard calls the prompt unsafe, every guard the chosen answer safe and at least one
    /// the rejected answer unsafe. The default without a judge.
    Unanimous,
    /// The paper's protocol: each text's verdict is the guards' where they all give the same
    /// one, else the judge's; the prompt unsafe, the chosen answer safe, the rejected unsafe.
    /// The default with a judge.
    Adjudicated,
}

impl KeepRule {
    pub const ALL: [KeepRule; 2] = [KeepRule::Unanimous, KeepRule::Adjudicated];

    pub fn name(self) -> &'static str {
        match self {
            KeepRule::Unanimous => "unanimous",
            KeepRule::Adjudicated => "adjudicated",
        }
    }

    pub fn parse(s: &str) -> Option<KeepRule> {
        KeepRule::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// What the project's judge is to be.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeChoice {
    /// The latest finished `--only-disputed` run.
    Default,
    /// No judge: the paper's protocol is off.
    None,
    Run(i64),
}

/// The guard runs in force, the judge, and the keep rule, each with whether a curator chose it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectGuards {
    pub runs: Vec<i64>,
    /// `false`: the default (latest finished run per profile and model, `--only-disputed` runs
    /// aside).
    pub chosen: bool,
    /// The run that decides what the guards dispute; none: the paper's protocol is off.
    pub judge: Option<i64>,
    /// `false`: the default (the latest finished `--only-disputed` run).
    pub judge_chosen: bool,
    pub keep_rule: KeepRule,
    /// `false`: the default (`adjudicated` with a judge, else `unanimous`).
    pub keep_rule_chosen: bool,
}

impl ProjectGuards {
    /// `IN (…)` list for SQL; ids are integers, so formatting them in is safe.
    pub(crate) fn sql_list(&self) -> String {
        let ids: Vec<String> = self.runs.iter().map(i64::to_string).collect();
        format!("({})", ids.join(", "))
    }
}

fn corrupt(key: &'static str) -> impl Fn(serde_json::Error) -> GuardsError {
    move |e| GuardsError::Corrupt {
        key,
        reason: e.to_string(),
    }
}

/// The chosen guard runs that still exist, if a curator chose them.
fn chosen_runs(conn: &Connection) -> Result<Option<Vec<i64>>, GuardsError> {
    let Some(json) = project_setting(conn, KEY)? else {
        return Ok(None);
    };
    let ids: Vec<i64> = serde_json::from_str(&json).map_err(corrupt(KEY))?;
    let mut runs = Vec::with_capacity(ids.len());
    for id in ids {
        if run_exists(conn, id)? {
            runs.push(id);
        }
    }
    Ok(Some(runs))
}

/// The latest finished `--only-disputed` run.
fn default_judge(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        &format!("SELECT max(id) FROM guard_runs WHERE status = 'done' AND {ONLY_DISPUTED}"),
        [],
        |r| r.get(0),
    )
}

/// The judge in force and whether a curator chose it (a chosen run deleted since: none).
fn judge(conn: &Connection) -> Result<(Option<i64>, bool), GuardsError> {
    let Some(json) = project_setting(conn, JUDGE_KEY)? else {
        return Ok((default_judge(conn)?, false));
    };
    let id: Option<i64> = serde_json::from_str(&json).map_err(corrupt(JUDGE_KEY))?;
    let id = match id {
        Some(id) if run_exists(conn, id)? => Some(id),
        _ => None,
    };
    Ok((id, true))
}

/// The guards, judge and keep rule in force. Chosen runs that were deleted since are dropped.
pub fn project_guards(conn: &Connection) -> Result<ProjectGuards, GuardsError> {
    let (judge, judge_chosen) = judge(conn)?;
    let (mut runs, chosen) = match chosen_runs(conn)? {
        Some(runs) => (runs, true),
        None => {
            let mut stmt = conn.prepare(&format!(
                "SELECT max(id) FROM guard_runs WHERE status = 'done' AND NOT {ONLY_DISPUTED}
                 GROUP BY profile, coalesce(model_sha256, server_url || ' ' || server_model)
                 ORDER BY 1"
            ))?;
            let runs = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            (runs, false)
        }
    };
    runs.retain(|&r| Some(r) != judge);
    let (keep_rule, keep_rule_chosen) = match project_setting(conn, KEEP_RULE_KEY)? {
        Some(name) => (
            KeepRule::parse(&name).ok_or_else(|| GuardsError::Corrupt {
                key: KEEP_RULE_KEY,
                reason: format!("`{name}` is not a keep rule"),
            })?,
            true,
        ),
        None if judge.is_some() => (KeepRule::Adjudicated, false),
        None => (KeepRule::Unanimous, false),
    };
    Ok(ProjectGuards {
        runs,
        chosen,
        judge,
        judge_chosen,
        keep_rule,
        keep_rule_chosen,
    })
}

/// Makes `runs` the guards of the project; an empty list returns to the default. The judge in
/// force cannot be one of them.
pub fn use_guards(conn: &Connection, runs: &[i64]) -> Result<ProjectGuards, GuardsError> {
    if runs.is_empty() {
        set_project_setting(conn, KEY, None)?;
        return project_guards(conn);
    }
    let judge = judge(conn)?.0;
    let mut unique = Vec::new();
    for &id in runs {
        if !run_exists(conn, id)? {
            return Err(GuardsError::NoRun(id));
        }
        if judge == Some(id) {
            return Err(GuardsError::GuardAndJudge(id));
        }
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    let json = serde_json::to_string(&unique).expect("a list of integers serialises");
    set_project_setting(conn, KEY, Some(&json))?;
    project_guards(conn)
}

/// Sets the project's judge. A chosen guard cannot become it.
pub fn use_judge(conn: &Connection, choice: JudgeChoice) -> Result<ProjectGuards, GuardsError> {
    let (judge, stored) = match choice {
        JudgeChoice::Default => (default_judge(conn)?, None),
        JudgeChoice::None => (None, Some("null".to_string())),
        JudgeChoice::Run(id) if !run_exists(conn, id)? => return Err(GuardsError::NoRun(id)),
        JudgeChoice::Run(id) => (Some(id), Some(id.to_string())),
    };
    if let Some(id) = judge
        && chosen_runs(conn)?.is_some_and(|runs| runs.contains(&id))
    {
        return Err(GuardsError::GuardAndJudge(id));
    }
    set_project_setting(conn, JUDGE_KEY, stored.as_deref())?;
    project_guards(conn)
}

/// Sets the keep rule; `None` returns to the default (`adjudicated` with a judge).
pub fn use_keep_rule(
    conn: &Connection,
    rule: Option<KeepRule>,
) -> Result<ProjectGuards, GuardsError> {
    set_project_setting(conn, KEEP_RULE_KEY, rule.map(KeepRule::name))?;
    project_guards(conn)
}

fn run_exists(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM guard_runs WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )
}

/// A project for the tests of the judge's rules (ASR, keep rule).
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::store::Store;

    /// Dataset 1, guard runs 1 and 2, and judge run 3 (an `--only-disputed` run).
    pub(crate) fn guards_and_judge() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
                 INSERT INTO guard_runs (id, profile, backend, model_path, status, params) VALUES
                   (1, 'a', 'local', 'a.gguf', 'done', '{}'), (2, 'b', 'local', 'b.gguf', 'done', '{}'),
                   (3, 'refuseu-judge', 'local', 'j.gguf', 'done', '{\"only_disputed\": true}');",
            )
            .unwrap();
        (dir, store)
    }

    pub(crate) fn verdict(store: &Store, run: i64, sample: i64, field: &str, verdict: &str) {
        store
            .conn()
            .execute(
                "INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms)
                 VALUES (?1, ?2, ?3, ?4, '', 0)",
                rusqlite::params![run, sample, field, verdict],
            )
            .unwrap();
    }
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

    /// A run made with `--only-disputed`.
    fn judge_run(conn: &Connection, id: i64, status: &str) {
        run(conn, id, "refuseu-judge", "jj", status);
        conn.execute(
            "UPDATE guard_runs SET params = '{\"only_disputed\":true}' WHERE id = ?1",
            [id],
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

    #[test]
    fn the_judge_is_the_latest_only_disputed_run_never_a_guard_and_brings_the_paper_keep_rule() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        let c = store.conn();
        run(c, 1, "llama-guard-3-8b", "aa", "done");
        run(c, 2, "qwen3guard-gen", "bb", "done");
        let none = project_guards(c).unwrap();
        assert_eq!((none.judge, none.keep_rule), (None, KeepRule::Unanimous));

        judge_run(c, 3, "done");
        judge_run(c, 4, "running");
        let g = project_guards(c).unwrap();
        assert_eq!(g.runs, vec![1, 2], "a judge's run is no default guard");
        assert_eq!((g.judge, g.judge_chosen), (Some(3), false));
        assert_eq!(
            (g.keep_rule, g.keep_rule_chosen),
            (KeepRule::Adjudicated, false)
        );

        assert!(matches!(
            use_guards(c, &[1, 3]),
            Err(GuardsError::GuardAndJudge(3))
        ));
        use_guards(c, &[1, 2]).unwrap();
        assert!(matches!(
            use_judge(c, JudgeChoice::Run(2)),
            Err(GuardsError::GuardAndJudge(2))
        ));
        assert!(matches!(
            use_judge(c, JudgeChoice::Run(9)),
            Err(GuardsError::NoRun(9))
        ));
        let g = use_judge(c, JudgeChoice::Run(4)).unwrap();
        assert_eq!(
            (g.judge, g.judge_chosen, g.runs),
            (Some(4), true, vec![1, 2])
        );

        let g = use_judge(c, JudgeChoice::None).unwrap();
        assert_eq!((g.judge, g.judge_chosen), (None, true));
        assert_eq!(
            g.keep_rule,
            KeepRule::Unanimous,
            "no judge: the unanimous rule"
        );
        let g = use_keep_rule(c, Some(KeepRule::Adjudicated)).unwrap();
        assert_eq!(
            (g.keep_rule, g.keep_rule_chosen),
            (KeepRule::Adjudicated, true)
        );

        let g = use_judge(c, JudgeChoice::Default).unwrap();
        assert_eq!((g.judge, g.judge_chosen), (Some(3), false));
        let g = use_keep_rule(c, None).unwrap();
        assert_eq!(
            (g.keep_rule, g.keep_rule_chosen),
            (KeepRule::Adjudicated, false)
        );
    }
}
