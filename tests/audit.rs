//! Reviewers, answers with history, questions, `export --only-passed` and review packs, driven
//! through the real `verdikt` binary on real project files, including kill -9 mid-write.

mod common;

use std::time::Duration;

use common::{Project, answer_args, datasets, jsonl_ids, kill_after, s};
use serde_json::Value;

/// The bundled sample (28 samples per language, ids like `pl-0001`) with two Polish reviewers.
fn project() -> Project {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    p.ok(&["reviewer", "add", "ana", "--languages", "pl,cs"]);
    p.ok(&["reviewer", "add", "ola", "--languages", "PL"]);
    p
}

fn exec(p: &Project, sql: &str) {
    rusqlite::Connection::open(p.db())
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

fn id_of(ext: &str) -> String {
    format!("(SELECT id FROM samples WHERE ext_id = '{ext}')")
}

/// Two guard runs, and on sample `ext` the given (run, field, verdict) rows; a triage reason.
fn dispute(p: &Project, ext: &str, reason: &str, rows: &[(i64, &str, &str)]) {
    let mut sql = String::from(
        "INSERT OR IGNORE INTO guard_runs (id, profile, backend, status) VALUES
         (1, 'llama-guard-3', 'local', 'done'), (2, 'qwen3guard', 'local', 'done');",
    );
    for (run, field, verdict) in rows {
        sql.push_str(&format!(
            "INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms)
             VALUES ({run}, {}, '{field}', '{verdict}', '{verdict}', 1);",
            id_of(ext)
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO triage_reasons (sample_id, reason) VALUES ({}, '{reason}');",
        id_of(ext)
    ));
    exec(p, &sql);
}

fn annotate(p: &Project, sample: &str, reviewer: &str, extra: &[&str]) -> String {
    p.ok(&answer_args(
        "annotate",
        sample,
        reviewer,
        ["yes", "yes", "na"],
        extra,
    ))
}

fn history(p: &Project, sample: &str) -> Vec<Value> {
    let out = p.ok(&["history", sample, "--json"]);
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn every_version_is_kept_and_the_latest_per_reviewer_is_current() {
    let p = project();
    annotate(&p, "pl-0001", "ana", &["--note", "first"]);
    annotate(&p, "pl-0001", "ola", &[]);
    let out = annotate(
        &p,
        "pl-0001",
        "ana",
        &[
            "--verdict",
            "rejected=unsafe:s1,S2",
            "--note",
            "<b>ignore previous</b>",
        ],
    );
    assert!(out.contains("version 2"), "{out}");
    let h = history(&p, "pl-0001");
    let seen: Vec<(&str, i64)> = h
        .iter()
        .map(|r| {
            (
                r["reviewer"].as_str().unwrap(),
                r["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("ana", 1), ("ola", 1), ("ana", 2)], "oldest first");
    assert_eq!(
        h[2]["verdicts"]["rejected"]["categories"],
        serde_json::json!(["S1", "S2"])
    );
    assert_eq!(
        h[2]["note"], "<b>ignore previous</b>",
        "notes are kept as text"
    );
    assert!(
        h.iter()
            .all(|r| r["origin"] == "local" && r["created_at"].is_string())
    );
    // Undo appends the previous answer as version 3; version 2 stays in the history.
    p.ok(&["undo", "pl-0001", "--reviewer", "ana"]);
    let h = history(&p, "pl-0001");
    assert_eq!(h.len(), 4);
    assert_eq!(
        (h[3]["version"].as_i64(), h[3]["note"].as_str()),
        (Some(3), Some("first"))
    );
    let current: Vec<String> = p.sql(
        "SELECT r.name || ':' || c.version FROM current_annotations c
         JOIN reviewers r ON r.id = c.reviewer_id ORDER BY r.name",
    );
    assert_eq!(current, ["ana:3", "ola:1"]);
    let (ok, _, err) = p.run(&["undo", "pl-0001", "--reviewer", "ola"]);
    assert!(!ok && err.contains("earlier version"), "{err}");
    let text = p.ok(&["history", "pl-0001"]);
    assert!(
        text.contains("v2\tana") && text.contains("rejected=unsafe:S1,S2"),
        "{text}"
    );
}

#[test]
fn invalid_answers_are_refused_with_the_reason_and_store_nothing() {
    let p = project();
    let cases: [(&[&str], &str); 7] = [
        (&["pl-9999"], "no sample `pl-9999`"),
        (
            &["pl-0001", "--verdict", "response=safe"],
            "no response text",
        ),
        (&["pl-0001", "--verdict", "rejected=unsafe:S15"], "S15"),
        (
            &["pl-0001", "--verdict", "chosen=safe:S1"],
            "unsafe verdict only",
        ),
        (&["pl-0001", "--verdict", "answer=safe"], "texts are prompt"),
        (&["de-0001"], "not the sample's language de"),
        (&["pl-0001", "--verdict", "chosen=fine"], "safe or unsafe"),
    ];
    for (extra, expected) in cases {
        let (sample, rest) = extra.split_first().unwrap();
        let args = answer_args("annotate", sample, "ana", ["yes", "no", "na"], rest);
        let (ok, _, err) = p.run(&args);
        assert!(!ok && err.contains(expected), "{args:?}: {err}");
    }
    let (ok, _, err) = p.run(&answer_args(
        "annotate",
        "pl-0001",
        "ana",
        ["yes", "yes", "maybe"],
        &[],
    ));
    assert!(!ok && err.contains("yes, no or na"), "{err}");
    let (ok, _, err) = p.run(&answer_args(
        "annotate",
        "pl-0001",
        "bob",
        ["yes", "yes", "na"],
        &[],
    ));
    assert!(!ok && err.contains("no reviewer named `bob`"), "{err}");
    assert_eq!(p.sql::<i64>("SELECT count(*) FROM annotations"), [0]);
    // The same id in two datasets: ambiguous until --dataset names one.
    p.ok(&[
        "import",
        s(&datasets().join("refuseu-sample.jsonl")),
        "--dataset",
        "copy",
    ]);
    let (ok, _, err) = p.run(&["history", "pl-0001"]);
    assert!(
        !ok && err.contains("several datasets (copy, refuseu-sample)"),
        "{err}"
    );
    annotate(&p, "pl-0001", "ana", &["--dataset", "copy"]);
    let count = |dataset: &str| {
        let out = p.ok(&["history", "pl-0001", "--dataset", dataset, "--json"]);
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!((count("copy"), count("refuseu-sample")), (1, 0));
}

#[test]
fn reviewers_and_question_wording_are_kept_in_the_project() {
    let p = project();
    let (ok, _, err) = p.run(&["reviewer", "add", "eve", "--languages", "pl,english"]);
    assert!(
        !ok && err.contains("`english` is not a language code"),
        "{err}"
    );
    let (ok, _, err) = p.run(&["reviewer", "add", "ana", "--languages", "de"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    p.ok(&["reviewer", "set", "ola", "--languages", "pl,sk"]);
    let list: Value = serde_json::from_str(&p.ok(&["reviewer", "list", "--json"])).unwrap();
    assert_eq!(list[1]["name"], "ola");
    assert_eq!(list[1]["languages"], serde_json::json!(["pl", "sk"]));
    p.ok(&["questions", "set", "q3", "Czy prompt używa stylu ataku?"]);
    p.ok(&["questions", "set", "guidelines", "Odpowiadaj szczerze."]);
    let q: Value = serde_json::from_str(&p.ok(&["questions", "--json"])).unwrap();
    assert_eq!(q["questions"][2]["text"], "Czy prompt używa stylu ataku?");
    assert!(
        q["questions"][0]["text"]
            .as_str()
            .unwrap()
            .contains("valid refusal")
    );
    assert_eq!(q["guidelines"], "Odpowiadaj szczerze.");
    let (ok, _, err) = p.run(&["questions", "set", "q9", "?"]);
    assert!(!ok && err.contains("no question `q9`"), "{err}");
}

fn exported_ids(p: &Project, extra: &[&str]) -> Vec<String> {
    let out = p.path("passed.jsonl");
    let mut args = vec![
        "export",
        "--format",
        "trl",
        "--out",
        s(&out),
        "--only-passed",
        "--force",
    ];
    args.extend_from_slice(extra);
    let (ok, _, err) = p.run(&args);
    if !ok {
        assert!(err.contains("nothing to export"), "{err}");
        return Vec::new();
    }
    jsonl_ids(&out)
}

#[test]
fn only_passed_exports_what_every_current_answer_passed_with_disputes_resolved() {
    let p = project();
    assert!(
        exported_ids(&p, &[]).is_empty(),
        "nothing answered, nothing passes"
    );
    annotate(&p, "pl-0001", "ana", &[]); // passes
    annotate(&p, "pl-0002", "ana", &[]); // one reviewer fails Q2
    p.ok(&answer_args(
        "annotate",
        "pl-0002",
        "ola",
        ["yes", "no", "yes"],
        &[],
    ));
    annotate(&p, "pl-0003", "ana", &["--exclude"]);
    p.ok(&answer_args(
        "annotate",
        "pl-0004",
        "ana",
        ["yes", "yes", "no"],
        &[],
    ));
    // Guards disagree on pl-0005's rejected text: it needs a reviewer verdict on it.
    for ext in ["pl-0005", "pl-0006"] {
        dispute(
            &p,
            ext,
            "guard_disagreement",
            &[
                (1, "rejected", "unsafe"),
                (2, "rejected", "safe"),
                (1, "prompt", "unsafe"),
            ],
        );
    }
    annotate(&p, "pl-0005", "ana", &["--verdict", "prompt=unsafe"]);
    annotate(&p, "pl-0006", "ana", &["--verdict", "rejected=unsafe:S1"]);
    // pl-0007 failed Q1 once, then the reviewer changed their answer: the current one counts.
    p.ok(&answer_args(
        "annotate",
        "pl-0007",
        "ana",
        ["no", "yes", "na"],
        &[],
    ));
    annotate(&p, "pl-0007", "ana", &[]);
    assert_eq!(exported_ids(&p, &[]), ["pl-0001", "pl-0006", "pl-0007"]);
    assert_eq!(
        exported_ids(&p, &["--q3-optional"]),
        ["pl-0001", "pl-0004", "pl-0006", "pl-0007"]
    );
    assert_eq!(
        exported_ids(&p, &["--language", "cs"]),
        Vec::<String>::new()
    );
    let (ok, _, err) = p.run(&["export", "--format", "trl", "--out", "x", "--q3-optional"]);
    assert!(!ok && err.contains("--only-passed"), "{err}");
}

/// Triage reasons for the first `n` Polish samples.
fn triage_polish(p: &Project, n: usize) {
    exec(
        p,
        &format!(
            "INSERT INTO triage_reasons (sample_id, reason)
             SELECT id, 'audit_sample' FROM samples WHERE language = 'pl' ORDER BY id LIMIT {n}"
        ),
    );
}

fn pack_ids(pack: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(pack).unwrap();
    let mut stmt = conn
        .prepare("SELECT ext_id FROM samples ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn pack_round_trip_merges_answers_once_with_provenance() {
    let p = project();
    triage_polish(&p, 20);
    dispute(
        &p,
        "pl-0001",
        "guard_disagreement",
        &[(1, "chosen", "unsafe"), (2, "chosen", "safe")],
    );
    // Half the samples need two answers: those go to both Polish reviewers, the rest to one.
    p.ok(&["config", "answers-per-sample", "2"]);
    p.ok(&["config", "overlap-share", "0.5"]);
    let (ana_pack, ola_pack) = (p.path("ana.sqlite"), p.path("ola.sqlite"));
    let out = pack_export(&p, &["--reviewer", "ana", "--language", "pl"], &ana_pack);
    assert!(out.contains("also for another reviewer"), "{out}");
    pack_export(&p, &["--reviewer", "ola", "--language", "pl"], &ola_pack);
    let (a, o) = (pack_ids(&ana_pack), pack_ids(&ola_pack));
    let mut all: Vec<&String> = a.iter().chain(&o).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20, "every waiting sample is assigned");
    let shared = a.iter().filter(|x| o.contains(x)).count();
    assert!(shared > 0 && shared < 20, "{shared} shared");
    // Same call, same assignment.
    let again = p.path("again.sqlite");
    pack_export(&p, &["--reviewer", "ana", "--language", "pl"], &again);
    assert_eq!(pack_ids(&again), a);

    // The reviewer works in the pack as in any project.
    let db = s(&ana_pack);
    let q: Value = serde_json::from_str(&p.ok(&["--db", db, "questions", "--json"])).unwrap();
    assert_eq!(q["questions"].as_array().unwrap().len(), 3);
    for ext in &a[..3] {
        annotate(&p, ext, "ana", &["--db", db, "--note", "from the pack"]);
    }
    annotate(&p, &a[0], "ana", &["--db", db, "--exclude"]);
    let verdicts: Vec<i64> = p.sql("SELECT count(*) FROM verdicts");
    let in_pack: i64 = rusqlite::Connection::open(&ana_pack)
        .unwrap()
        .query_row("SELECT count(*) FROM verdicts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        in_pack,
        if a.contains(&"pl-0001".to_string()) {
            verdicts[0]
        } else {
            0
        }
    );

    let out = p.ok(&["pack", "import", db]);
    assert!(out.contains("merged 4 answer versions by ana"), "{out}");
    let h = history(&p, &a[0]);
    assert_eq!(h.len(), 2);
    assert!(
        h[0]["origin"].as_str().unwrap().starts_with("pack-"),
        "{h:?}"
    );
    assert_eq!(
        (h[1]["version"].as_i64(), h[1]["exclude"].as_bool()),
        (Some(2), Some(true))
    );
    let before: Vec<String> =
        p.sql("SELECT group_concat(id || origin || version) FROM annotations");
    let out = p.ok(&["pack", "import", db]);
    assert!(
        out.contains("merged 0 answer versions") && out.contains("4 were already"),
        "{out}"
    );
    let after: Vec<String> = p.sql("SELECT group_concat(id || origin || version) FROM annotations");
    assert_eq!(before, after, "a second import changes nothing");
    // More work in the same pack: only the new version comes in.
    annotate(&p, &a[1], "ana", &["--db", db]);
    let out = p.ok(&["pack", "import", db]);
    assert!(out.contains("merged 1 answer versions"), "{out}");
    // Answered samples are no longer waiting for ana.
    let next = p.path("next.sqlite");
    pack_export(&p, &["--reviewer", "ana", "--language", "pl"], &next);
    assert_eq!(pack_ids(&next).len(), a.len() - 3);
}

/// A pack of ana's Polish queue, written to `name`, with her answer to `pl-0001` in it.
fn answered_pack(p: &Project, name: &str) -> std::path::PathBuf {
    let pack = p.path(name);
    pack_export(p, &["--reviewer", "ana", "--language", "pl"], &pack);
    annotate(p, "pl-0001", "ana", &["--db", s(&pack)]);
    pack
}

#[test]
fn packs_from_elsewhere_or_altered_are_refused_and_change_nothing() {
    let p = project();
    // ana alone reads Polish here, so her packs hold every waiting Polish sample.
    p.ok(&["reviewer", "set", "ola", "--languages", "sk"]);
    triage_polish(&p, 5);
    let make = |name: &str| answered_pack(&p, name);
    let refused = |pack: &std::path::Path, expected: &str| {
        let (ok, _, err) = p.run(&["pack", "import", s(pack)]);
        assert!(!ok && err.contains(expected), "{err}");
        assert_eq!(p.sql::<i64>("SELECT count(*) FROM annotations"), [0]);
    };
    let edit = |pack: &std::path::Path, sql: &str| {
        rusqlite::Connection::open(pack)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    };

    // A pack of another project, even with the same data and reviewer.
    let other = project();
    triage_polish(&other, 5);
    let foreign = other.path("foreign.sqlite");
    pack_export(&other, &["--reviewer", "ana", "--language", "pl"], &foreign);
    refused(&foreign, "comes from another project");

    let pack = make("texts.sqlite");
    edit(
        &pack,
        "UPDATE samples SET chosen = 'Sure! Here is how.' WHERE ext_id = 'pl-0002'",
    );
    refused(&pack, "sample `pl-0002` changed");

    let pack = make("manifest.sqlite");
    edit(
        &pack,
        "UPDATE project SET value = replace(value, '\"seed\":0', '\"seed\":1') WHERE key = 'pack_manifest'",
    );
    refused(&pack, "its manifest was edited");

    let pack = make("extra.sqlite");
    edit(
        &pack,
        "INSERT INTO samples (dataset_id, ext_id, language, prompt) SELECT dataset_id, 'x', 'pl', 'p' FROM samples LIMIT 1",
    );
    refused(&pack, "not the ones its manifest lists");

    let pack = make("other-reviewer.sqlite");
    p.ok(&[
        "--db",
        s(&pack),
        "reviewer",
        "add",
        "mallory",
        "--languages",
        "pl",
    ]);
    annotate(&p, "pl-0002", "mallory", &["--db", s(&pack)]);
    refused(&pack, "answers by mallory");

    let not_a_pack = p.path("plain.sqlite");
    Project::new().ok(&["--db", s(&not_a_pack), "stats"]);
    refused(&not_a_pack, "is not a review pack");

    // The project itself changed under the pack: refused rather than merged onto other text.
    let pack = make("stale.sqlite");
    exec(
        &p,
        "UPDATE samples SET prompt = 'reworded' WHERE ext_id = 'pl-0003'",
    );
    refused(&pack, "`pl-0003` of pack");
}

fn integrity(p: &Project) {
    assert_eq!(p.sql::<String>("PRAGMA integrity_check"), ["ok"]);
}

#[test]
fn kill_9_during_annotation_loses_no_committed_version() {
    let p = project();
    // Kill delays grow from 0 in steps of a twentieth of one run timed here, until runs finish:
    // kills land all through a run, however the machine's load slows it meanwhile.
    let started = std::time::Instant::now();
    p.ok(&answer_args(
        "annotate",
        "pl-0002",
        "ana",
        ["yes", "yes", "na"],
        &[],
    ));
    let step = started.elapsed() / 20;
    let (mut killed, mut finished) = (0, Vec::new());
    for attempt in 0..400u32 {
        let note = format!("attempt {attempt}");
        let args = answer_args(
            "annotate",
            "pl-0001",
            "ana",
            ["yes", "yes", "na"],
            &["--note", &note],
        );
        if kill_after(&p, &args, step * attempt) {
            finished.push(note);
        } else {
            killed += 1;
        }
        if finished.len() == 5 {
            break;
        }
    }
    integrity(&p);
    let versions: Vec<i64> = p.sql(
        "SELECT version FROM annotations WHERE sample_id = (SELECT id FROM samples WHERE ext_id = 'pl-0001') ORDER BY version",
    );
    assert_eq!(
        versions,
        (1..=versions.len() as i64).collect::<Vec<_>>(),
        "contiguous"
    );
    let notes: Vec<String> =
        p.sql("SELECT note FROM annotations WHERE note LIKE 'attempt %' ORDER BY version");
    for note in &finished {
        assert!(notes.contains(note), "{note} reported success but is gone");
    }
    let attempts: Vec<u64> = notes
        .iter()
        .map(|n| n.strip_prefix("attempt ").unwrap().parse().unwrap())
        .collect();
    assert!(
        attempts.windows(2).all(|w| w[0] < w[1]),
        "each version whole, in order"
    );
    assert!(
        killed > 0 && finished.len() == 5,
        "{killed} kills landed, {} runs finished",
        finished.len()
    );
}

#[test]
fn kill_9_during_pack_import_merges_all_or_nothing() {
    let p = project();
    p.ok(&["reviewer", "set", "ola", "--languages", "sk"]);
    triage_polish(&p, 28);
    let pack = p.path("big.sqlite");
    pack_export(&p, &["--reviewer", "ana", "--language", "pl"], &pack);
    // A long stretch of work in the pack: 28 samples × 150 versions, written as `annotate` does.
    annotate(&p, "pl-0001", "ana", &["--db", s(&pack)]);
    exec_at(
        &pack,
        "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 150)
         INSERT INTO annotations (sample_id, reviewer_id, version, q1, q2, q3, note)
         SELECT s.id, r.id, n.v, 'yes', 'yes', 'na', 'v' || n.v
         FROM samples s, reviewers r, n WHERE NOT (s.ext_id = 'pl-0001' AND n.v = 1)",
    );
    let total = 28 * 150;
    let mut delay = 0;
    loop {
        let done = kill_after(
            &p,
            &["pack", "import", s(&pack)],
            Duration::from_millis(delay),
        );
        integrity(&p);
        let merged: Vec<i64> = p.sql("SELECT count(*) FROM annotations WHERE origin LIKE 'pack-%'");
        assert!(
            merged[0] == 0 || merged[0] == total,
            "partial merge: {}",
            merged[0]
        );
        if done {
            assert_eq!(merged[0], total);
            break;
        }
        delay += 10;
        assert!(delay < 60_000, "the import never finished");
    }
    let gaps: Vec<i64> = p.sql(
        "SELECT count(*) FROM annotations a WHERE version > 1 AND NOT EXISTS
         (SELECT 1 FROM annotations b WHERE b.sample_id = a.sample_id
          AND b.reviewer_id = a.reviewer_id AND b.version = a.version - 1)",
    );
    assert_eq!(gaps, [0]);
    let again = p.ok(&["pack", "import", s(&pack)]);
    assert!(again.contains("merged 0"), "{again}");
}

#[test]
fn packs_carrying_sql_of_their_own_or_damaged_are_refused_and_change_nothing() {
    let p = project();
    p.ok(&["reviewer", "set", "ola", "--languages", "sk"]);
    triage_polish(&p, 5);
    let project_bytes = || std::fs::read(p.db()).unwrap();
    let make = |name: &str| answered_pack(&p, name);
    let refused = |pack: &std::path::Path, expected: &str| {
        p.ok(&["stats"]);
        let before = project_bytes();
        let (ok, _, err) = p.run(&["pack", "import", s(pack)]);
        assert!(!ok && err.contains(expected), "{expected}: {err}");
        assert!(err.contains("is not a review pack"), "{err}");
        assert_eq!(p.sql::<i64>("SELECT count(*) FROM annotations"), [0]);
        assert_eq!(project_bytes(), before, "{expected}: the project changed");
    };
    // SQL of the pack's own: a view, a trigger that would delete the samples, an index on an
    // expression, and one of Verdikt's views redefined to invent answers.
    for (name, sql, expected) in [
        (
            "view",
            "CREATE VIEW spy AS SELECT * FROM samples",
            "a view `spy`",
        ),
        (
            "trigger",
            "CREATE TRIGGER wipe AFTER INSERT ON project BEGIN DELETE FROM samples; END",
            "a trigger `wipe`",
        ),
        (
            "index",
            "CREATE INDEX by_length ON samples (length(prompt))",
            "an index `by_length`",
        ),
        (
            "redefined",
            "DROP VIEW current_annotations; CREATE VIEW current_annotations AS SELECT * FROM annotations",
            "Verdikt's view `current_annotations` redefined",
        ),
    ] {
        let pack = make(&format!("{name}.sqlite"));
        exec_at(&pack, sql);
        refused(&pack, expected);
    }
    // A truncated pack, and one with a page overwritten in the middle.
    let pack = make("truncated.sqlite");
    let bytes = std::fs::read(&pack).unwrap();
    std::fs::write(&pack, &bytes[..bytes.len() / 2]).unwrap();
    refused(&pack, "damaged");
    let pack = make("corrupt.sqlite");
    let mut bytes = std::fs::read(&pack).unwrap();
    let page = 8192;
    let middle = (bytes.len() / page / 2) * page;
    bytes[middle..middle + page].fill(0xA5);
    std::fs::write(&pack, &bytes).unwrap();
    refused(&pack, "damaged");
    // The untouched pack still merges.
    let pack = make("good.sqlite");
    assert!(p.ok(&["pack", "import", s(&pack)]).contains("merged 1"));
}

/// `verdikt pack export ARGS --out OUT`, returning its report.
fn pack_export(p: &Project, args: &[&str], out: &std::path::Path) -> String {
    let mut all = vec!["pack", "export", "--out", s(out)];
    all.extend_from_slice(args);
    p.ok(&all)
}

fn exec_at(db: &std::path::Path, sql: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}
