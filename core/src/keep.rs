//! The RefusEU paper's keep rule as a named filter, in the project's choice of two forms
//! ([`KeepRule`]). `unanimous`: keep a prompt only if every guard calls it unsafe; keep a pair
//! only if every guard calls the chosen answer safe and at least one calls the rejected answer
//! unsafe. `adjudicated`, the paper's protocol: each text's verdict is the guards' where they
//! all give the same one and the judge's where they do not; keep a prompt decided unsafe, and a
//! pair whose chosen answer is decided safe and rejected answer unsafe. A guard that has not
//! judged a text does not vote for keeping it; a disputed text the judge has not judged is not
//! kept.

use rusqlite::Connection;
use serde::Serialize;

use crate::project_guards::{GuardsError, KeepRule, ProjectGuards, project_guards};

/// The rule in force for `guards` as a condition over `samples AS s` (no guards and no judge:
/// nothing kept).
pub fn condition_for(guards: &ProjectGuards) -> String {
    match guards.keep_rule {
        KeepRule::Unanimous => unanimous(guards),
        KeepRule::Adjudicated => adjudicated(guards),
    }
}

/// `field`: every guard of the project says `verdict` (at least one guard).
fn all_say(guards: &ProjectGuards, field: &str, verdict: &str) -> String {
    if guards.runs.is_empty() {
        return "0".into();
    }
    format!(
        "(SELECT count(*) FROM verdicts AS k WHERE k.sample_id = s.id AND k.field = '{field}'
          AND k.verdict = '{verdict}' AND k.run_id IN {list}) = {n}",
        list = guards.sql_list(),
        n = guards.runs.len()
    )
}

fn unanimous(guards: &ProjectGuards) -> String {
    if guards.runs.is_empty() {
        return "0".into();
    }
    format!(
        "({prompt} AND (s.chosen IS NULL OR ({chosen} AND EXISTS (SELECT 1 FROM verdicts AS k
           WHERE k.sample_id = s.id AND k.field = 'rejected' AND k.verdict = 'unsafe' AND k.run_id IN {list}))))",
        prompt = all_say(guards, "prompt", "unsafe"),
        chosen = all_say(guards, "chosen", "safe"),
        list = guards.sql_list(),
    )
}

fn adjudicated(guards: &ProjectGuards) -> String {
    // The text's verdict under the protocol is `verdict`: the guards agree on it, or they do not
    // agree (on the other one either) and the judge says it.
    let decided = |field: &str, verdict: &str| {
        let other = if verdict == "safe" { "unsafe" } else { "safe" };
        let judge = guards.judge.map_or("0".into(), |judge| {
            format!(
                "EXISTS (SELECT 1 FROM verdicts AS j WHERE j.sample_id = s.id AND j.field = '{field}'
                   AND j.verdict = '{verdict}' AND j.run_id = {judge})"
            )
        });
        format!(
            "({agree} OR (NOT ({disagree}) AND {judge}))",
            agree = all_say(guards, field, verdict),
            disagree = all_say(guards, field, other),
        )
    };
    format!(
        "({prompt} AND (s.chosen IS NULL OR ({chosen} AND {rejected})))",
        prompt = decided("prompt", "unsafe"),
        chosen = decided("chosen", "safe"),
        rejected = decided("rejected", "unsafe"),
    )
}

/// The rule for the project's guards in force.
pub fn condition(conn: &Connection) -> Result<String, GuardsError> {
    Ok(condition_for(&project_guards(conn)?))
}

/// How many samples the keep rule keeps, of those in a scope.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeepCounts {
    /// The rule counted.
    pub rule: KeepRule,
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
                rule: guards.keep_rule,
                samples: n(0)?,
                kept: n(1)?,
                triples: n(2)?,
                triples_kept: n(3)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_guards::fixtures::{guards_and_judge, verdict};
    use crate::project_guards::{JudgeChoice, use_judge, use_keep_rule};
    use crate::store::Store;

    /// Guards 1 and 2, judge 3; samples 1–5 triples, 6 a prompt alone; verdicts as
    /// (sample, field, run, verdict).
    fn project(verdicts: &[(i64, &str, i64, &str)]) -> (tempfile::TempDir, Store) {
        let (dir, store) = guards_and_judge();
        store
            .conn()
            .execute_batch(
                "INSERT INTO samples (id, dataset_id, ext_id, language, prompt, chosen, rejected) VALUES
                   (1, 1, '1', 'pl', 'p', 'c', 'r'), (2, 1, '2', 'pl', 'p', 'c', 'r'),
                   (3, 1, '3', 'pl', 'p', 'c', 'r'), (4, 1, '4', 'pl', 'p', 'c', 'r'),
                   (5, 1, '5', 'pl', 'p', 'c', 'r'), (6, 1, '6', 'pl', 'p', NULL, NULL);",
            )
            .unwrap();
        for &(sample, field, run, v) in verdicts {
            verdict(&store, run, sample, field, v);
        }
        (dir, store)
    }

    fn kept(store: &Store) -> Vec<i64> {
        let c = store.conn();
        let sql = format!(
            "SELECT s.id FROM samples AS s WHERE {} ORDER BY 1",
            condition(c).unwrap()
        );
        let mut stmt = c.prepare(&sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_paper_rule_lets_the_judge_decide_only_where_the_guards_disagree() {
        let both =
            |sample, field, verdict| [(sample, field, 1, verdict), (sample, field, 2, verdict)];
        let mut v: Vec<(i64, &str, i64, &str)> = Vec::new();
        // 1: the guards agree on all three texts.
        v.extend(both(1, "prompt", "unsafe"));
        v.extend(both(1, "chosen", "safe"));
        v.extend(both(1, "rejected", "unsafe"));
        // 2: they differ on the prompt; the judge says unsafe.
        v.extend([
            (2, "prompt", 1, "unsafe"),
            (2, "prompt", 2, "safe"),
            (2, "prompt", 3, "unsafe"),
        ]);
        v.extend(both(2, "chosen", "safe"));
        v.extend(both(2, "rejected", "unsafe"));
        // 3: they differ on the prompt; the judge has not judged it.
        v.extend([(3, "prompt", 1, "unsafe"), (3, "prompt", 2, "safe")]);
        v.extend(both(3, "chosen", "safe"));
        v.extend(both(3, "rejected", "unsafe"));
        // 4: they differ on the rejected answer; the judge calls it safe.
        v.extend(both(4, "prompt", "unsafe"));
        v.extend(both(4, "chosen", "safe"));
        v.extend([
            (4, "rejected", 1, "unsafe"),
            (4, "rejected", 2, "safe"),
            (4, "rejected", 3, "safe"),
        ]);
        // 5: they agree; the judge's different verdict does not count.
        v.extend(both(5, "prompt", "unsafe"));
        v.extend([(5, "prompt", 3, "safe")]);
        v.extend(both(5, "chosen", "safe"));
        v.extend(both(5, "rejected", "unsafe"));
        // 6: a prompt alone, one guard unsure; the judge says unsafe.
        v.extend([
            (6, "prompt", 1, "controversial"),
            (6, "prompt", 2, "unsafe"),
            (6, "prompt", 3, "unsafe"),
        ]);
        let (_d, store) = project(&v);
        let c = store.conn();

        let g = project_guards(c).unwrap();
        assert_eq!(
            (g.runs.clone(), g.judge, g.keep_rule),
            (vec![1, 2], Some(3), KeepRule::Adjudicated)
        );
        assert_eq!(kept(&store), [1, 2, 5, 6], "with a judge: the paper's rule");
        let counts = counts(c, &g, "1", &[]).unwrap();
        assert_eq!(
            (counts.rule, counts.kept, counts.triples_kept),
            (KeepRule::Adjudicated, 4, 3)
        );

        use_keep_rule(c, Some(KeepRule::Unanimous)).unwrap();
        assert_eq!(kept(&store), [1, 4, 5], "chosen: the unanimous rule");

        use_keep_rule(c, None).unwrap();
        use_judge(c, JudgeChoice::None).unwrap();
        assert_eq!(kept(&store), [1, 4, 5], "no judge: unanimous by default");
        use_keep_rule(c, Some(KeepRule::Adjudicated)).unwrap();
        assert_eq!(kept(&store), [1, 5], "no judge: no disagreement is decided");
    }
}
