//! A team audit through the real `verdikt` binary: the audit settings, overlap-aware queues,
//! disagreement and adjudication, final answers in history, results, agreement and
//! `export --only-passed`, time per item, and reviewer care's settings.

mod common;

use common::{Project, answer_args, datasets, jsonl_ids, s};
use serde_json::Value;

/// The bundled sample with its first four Polish samples queued, two Polish reviewers and a
/// Polish adjudicator.
fn project() -> Project {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    p.ok(&["reviewer", "add", "ana", "--languages", "pl"]);
    p.ok(&["reviewer", "add", "ola", "--languages", "pl"]);
    let out = p.ok(&[
        "reviewer",
        "add",
        "adam",
        "--languages",
        "pl",
        "--adjudicator",
    ]);
    assert!(out.contains("adjudicator"), "{out}");
    rusqlite::Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "INSERT INTO triage_reasons (sample_id, reason)
             SELECT id, 'audit_sample' FROM samples WHERE language = 'pl' ORDER BY id LIMIT 4",
        )
        .unwrap();
    p
}

fn json(p: &Project, args: &[&str]) -> Value {
    serde_json::from_str(&p.ok(args)).unwrap()
}

fn answer(p: &Project, command: &str, sample: &str, reviewer: &str, q1: &str, extra: &[&str]) {
    p.ok(&answer_args(
        command,
        sample,
        reviewer,
        [q1, "yes", "na"],
        extra,
    ));
}

fn queue_ids(p: &Project, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["queue", "--json"];
    args.extend_from_slice(extra);
    json(p, &args)
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sample_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn settings_are_listed_set_and_refused_by_name() {
    let p = project();
    let listed = p.ok(&["config"]);
    assert!(
        listed.contains("answers-per-sample   1") && listed.contains("blind                on"),
        "{listed}"
    );
    p.ok(&["config", "answers-per-sample", "2"]);
    p.ok(&["config", "blind", "off"]);
    p.ok(&["config", "hide-guard-verdicts", "on"]);
    let c = json(&p, &["config", "--json"]);
    assert_eq!(c["answers_per_sample"], 2);
    assert_eq!(
        (c["blind"].as_bool(), c["hide_guard_verdicts"].as_bool()),
        (Some(false), Some(true))
    );
    for (key, value) in [
        ("answers-per-sample", "0"),
        ("blind", "sometimes"),
        ("colour", "red"),
    ] {
        let (ok, _, err) = p.run(&["config", key, value]);
        assert!(!ok && err.contains(&format!("setting `{key}`")), "{err}");
    }
    assert_eq!(
        json(&p, &["config", "--json"]),
        c,
        "refusals change nothing"
    );
}

#[test]
fn reviewer_care_is_set_like_the_team_settings_and_a_reviewer_keeps_their_reveals() {
    let p = Project::new();
    let listed = p.ok(&["config"]);
    for line in [
        "blur-categories      S3,S4,S11,S12",
        "blur-texts           rejected,response",
        "break-minutes        45",
    ] {
        assert!(listed.contains(line), "{listed}");
    }
    p.ok(&["config", "blur-categories", "s11, S4"]);
    p.ok(&["config", "blur-texts", "none"]);
    p.ok(&["config", "break_minutes", "0.5"]);
    let c = json(&p, &["config", "--json"]);
    assert_eq!(c["blur_categories"], serde_json::json!(["S4", "S11"]));
    assert_eq!(c["blur_texts"], serde_json::json!([]));
    assert_eq!(c["break_minutes"], 0.5);
    assert_eq!(c["answers_per_sample"], 1, "one list of settings");
    for (key, value) in [
        ("blur-categories", "S15"),
        ("blur-texts", "answer"),
        ("break-minutes", "999"),
    ] {
        let (ok, _, err) = p.run(&["config", key, value]);
        assert!(!ok && err.contains(&format!("setting `{key}`")), "{err}");
    }
    let (ok, _, err) = p.run(&["config", "colour", "red"]);
    assert!(
        !ok && err.contains("break-minutes"),
        "the keys are named: {err}"
    );
    assert_eq!(
        json(&p, &["config", "--json"]),
        c,
        "refusals change nothing"
    );

    p.ok(&["reviewer", "add", "ana", "--languages", "pl"]);
    let shown = p.ok(&["reviewer", "reveal", "ana", "s11", "on"]);
    assert!(shown.contains("ana always sees unblurred: S11"), "{shown}");
    assert!(
        p.ok(&["reviewer", "reveal", "ana"])
            .contains("unblurred: S11")
    );
    let shown = p.ok(&["reviewer", "reveal", "ana", "S11", "off"]);
    assert!(shown.contains("unblurred: none"), "{shown}");
    let (ok, _, err) = p.run(&["reviewer", "reveal", "ana", "S15", "on"]);
    assert!(!ok && err.contains("S15"), "{err}");
}

#[test]
fn the_queue_follows_the_overlap_target_and_progress_counts_samples() {
    let p = project();
    answer(&p, "annotate", "pl-0001", "ana", "yes", &[]);
    assert_eq!(
        queue_ids(&p, &["--reviewer", "ola"]),
        ["pl-0002", "pl-0003", "pl-0004"]
    );
    p.ok(&["config", "answers-per-sample", "2"]);
    assert_eq!(
        queue_ids(&p, &["--reviewer", "ola"]),
        ["pl-0001", "pl-0002", "pl-0003", "pl-0004"]
    );
    assert_eq!(
        queue_ids(&p, &["--reviewer", "ana"]),
        ["pl-0002", "pl-0003", "pl-0004"]
    );
    answer(&p, "annotate", "pl-0001", "ola", "yes", &[]);
    assert_eq!(queue_ids(&p, &[]), ["pl-0002", "pl-0003", "pl-0004"]);

    rusqlite::Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "INSERT INTO triage_reasons (sample_id, reason)
             SELECT id, 'uncertain' FROM samples WHERE ext_id = 'pl-0002'",
        )
        .unwrap();
    let progress = json(&p, &["queue", "--progress", "--reviewer", "ana", "--json"]);
    let all = &progress[0];
    assert!(all["language"].is_null());
    assert_eq!(
        (all["total"].as_u64(), all["waiting"].as_u64()),
        (Some(4), Some(3))
    );
    let table = p.ok(&["queue", "--progress"]);
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().eq(["pl", "3", "4"])),
        "{table}"
    );
}

#[test]
fn an_adjudicator_resolves_a_disagreement_and_measurement_reads_the_final_answer() {
    let p = project();
    answer(
        &p,
        "annotate",
        "pl-0001",
        "ana",
        "yes",
        &["--seconds", "12"],
    );
    answer(
        &p,
        "annotate",
        "pl-0001",
        "ola",
        "no",
        &["--note", "not a refusal"],
    );
    answer(
        &p,
        "annotate",
        "pl-0002",
        "ana",
        "yes",
        &["--seconds", "30"],
    );
    answer(&p, "annotate", "pl-0002", "ola", "yes", &[]);
    assert_eq!(
        queue_ids(&p, &["--reason", "reviewers_disagree"]),
        Vec::<String>::new(),
        "answered samples are not waiting for reviewers"
    );
    assert_eq!(
        queue_ids(&p, &["--adjudicate", "--reviewer", "adam"]),
        ["pl-0001"]
    );
    let (ok, _, err) = p.run(&["queue", "--adjudicate", "--reviewer", "ana"]);
    assert!(!ok && err.contains("`ana` does not"), "{err}");

    let pl = |p: &Project| {
        json(p, &["results", "--json"])["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["language"] == "pl")
            .unwrap()
            .clone()
    };
    let before = pl(&p);
    assert_eq!(
        (before["pending"].as_u64(), before["q1"]["n"].as_u64()),
        (Some(1), Some(1))
    );
    let exported = |p: &Project| {
        let out = p.path("passed.jsonl");
        p.ok(&[
            "export",
            "--format",
            "trl",
            "--out",
            s(&out),
            "--only-passed",
            // Exported again after the adjudication: the earlier file is ours to replace.
            "--force",
        ]);
        jsonl_ids(&out)
    };
    assert_eq!(exported(&p), ["pl-0002"]);

    let (ok, _, err) = p.run(&answer_args(
        "adjudicate",
        "pl-0001",
        "ana",
        ["yes", "yes", "na"],
        &[],
    ));
    assert!(!ok && err.contains("not an adjudicator"), "{err}");
    let (ok, _, err) = p.run(&answer_args(
        "adjudicate",
        "pl-0002",
        "adam",
        ["yes", "yes", "na"],
        &[],
    ));
    assert!(!ok && err.contains("nothing to adjudicate"), "{err}");
    answer(
        &p,
        "adjudicate",
        "pl-0001",
        "adam",
        "yes",
        &["--note", "a refusal after all"],
    );
    assert_eq!(
        queue_ids(&p, &["--adjudicate", "--reviewer", "adam"]),
        Vec::<String>::new()
    );

    let history = json(&p, &["history", "pl-0001", "--json"]);
    let marks: Vec<(String, bool)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["reviewer"].as_str().unwrap().into(),
                a["final"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("ana".into(), false),
            ("ola".into(), false),
            ("adam".into(), true)
        ]
    );
    assert!(p.ok(&["history", "pl-0001"]).contains("final v1\tadam"));

    let after = pl(&p);
    assert_eq!(
        (
            after["pending"].as_u64(),
            after["q1"]["successes"].as_u64(),
            after["q1"]["n"].as_u64()
        ),
        (Some(0), Some(2), Some(2))
    );
    assert_eq!(exported(&p), ["pl-0001", "pl-0002"]);
    let agreement = json(&p, &["agreement", "--json", "--language", "pl"]);
    let q1 = agreement
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["what"] == "q1" && r["scope"].as_object().unwrap().is_empty())
        .unwrap();
    assert_eq!(
        (q1["raters"].clone(), q1["n"].as_u64()),
        (serde_json::json!(["ana", "ola"]), Some(2))
    );
    assert_eq!(
        q1["percent_agreement"].as_f64(),
        Some(0.5),
        "individual answers, not the final"
    );

    let results = p.ok(&["results"]);
    assert!(
        results
            .lines()
            .any(|l| l.split_whitespace().take(3).eq(["ana", "pl", "21.0"])),
        "median of 12 and 30 s:\n{results}"
    );
    assert_eq!(
        p.sql::<f64>("SELECT seconds FROM annotations WHERE seconds IS NOT NULL ORDER BY seconds"),
        [12.0, 30.0]
    );
}

#[test]
fn reviewers_become_adjudicators_and_back() {
    let p = project();
    p.ok(&["reviewer", "set", "ana", "--adjudicator", "on"]);
    let list = p.ok(&["reviewer", "list"]);
    assert!(list.lines().any(|l| l == "ana\tpl\tadjudicator"), "{list}");
    p.ok(&[
        "reviewer",
        "set",
        "ana",
        "--adjudicator",
        "off",
        "--languages",
        "pl,cs",
    ]);
    let all = json(&p, &["reviewer", "list", "--json"]);
    let ana = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "ana")
        .unwrap();
    assert_eq!(
        (ana["adjudicator"].as_bool(), ana["languages"].clone()),
        (Some(false), serde_json::json!(["pl", "cs"]))
    );
    let (ok, _, err) = p.run(&["reviewer", "set", "ana"]);
    assert!(!ok && err.contains("--languages"), "{err}");
}
