//! `verdikt guard` with a real model (SmolLM2-135M, not a guard: the mechanics are tested,
//! never its verdicts): stored rows, skipping what is done, resuming after kill -9.

mod common;

use common::{Project, datasets, s};
use std::path::PathBuf;

fn model() -> PathBuf {
    let path = std::env::var_os("VERDIKT_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs_cache().join("verdikt/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(
        path.is_file(),
        "the test model is missing at {}: run scripts/setup --deps",
        path.display()
    );
    path
}

fn dirs_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"))
}

fn guard_run(p: &Project, extra: &[&str]) -> (bool, String, String) {
    let model = model();
    let mut args = vec![
        "guard",
        "run",
        "--profile",
        "llama-guard-3-8b",
        "--model",
        s(&model),
        "--threads",
        "2",
    ];
    args.extend_from_slice(extra);
    p.run(&args)
}

#[test]
fn profiles_are_listed_by_name() {
    let p = Project::new();
    let out = p.ok(&["guard", "profiles"]);
    for name in [
        "llama-guard-3-8b",
        "llama-guard-3-1b",
        "qwen3guard-gen",
        "polyguard",
        "refuseu-judge",
    ] {
        assert!(
            out.lines().any(|l| l == name),
            "{name} missing from:\n{out}"
        );
    }
}

#[test]
fn a_run_stores_every_verdict_and_skips_what_is_done() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    let (ok, out, err) = guard_run(&p, &["--limit", "6", "--language", "pl"]);
    assert!(ok, "{err}");
    assert!(out.contains("checked 6 texts"), "{out}");
    let rows: Vec<String> = p.sql(
        "SELECT field || '|' || verdict || '|' || (p_unsafe BETWEEN 0 AND 1) || '|' || (latency_ms > 0) || '|' || truncated
         FROM verdicts ORDER BY sample_id, field",
    );
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.ends_with("|1|1|0")), "{rows:?}");
    let fields: Vec<String> = p.sql("SELECT DISTINCT field FROM verdicts ORDER BY 1");
    assert_eq!(fields, ["chosen", "prompt", "rejected"]);
    let answers: Vec<String> = p.sql("SELECT raw_answer FROM verdicts");
    assert!(
        answers.iter().all(|a| a.starts_with("\n\n")),
        "answers keep the prefill"
    );

    let (ok, out, _) = guard_run(&p, &["--limit", "6", "--language", "pl"]);
    assert!(
        ok && out.contains("checked 6 texts") && out.contains("6 already done"),
        "{out}"
    );
    let runs: serde_json::Value =
        serde_json::from_str(&p.ok(&["guard", "runs", "--json"])).unwrap();
    let run = &runs[0];
    assert_eq!(
        runs.as_array().unwrap().len(),
        1,
        "the same profile and model continue one run"
    );
    for key in [
        "id",
        "profile",
        "model",
        "status",
        "texts_total",
        "texts_done",
        "texts_per_second",
    ] {
        assert!(run.get(key).is_some(), "{key} missing in {run}");
    }
    assert_eq!(
        (run["status"].as_str(), run["texts_done"].as_u64()),
        (Some("done"), Some(12))
    );
    let sha: Vec<String> = p.sql("SELECT model_sha256 FROM guard_runs");
    assert_eq!(sha[0].len(), 64);
}

#[test]
fn a_killed_run_resumes_where_it_stopped() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let model = model();
    let mut child = p
        .cmd()
        .args([
            "guard",
            "run",
            "--profile",
            "llama-guard-3-8b",
            "--model",
            s(&model),
            "--threads",
            "2",
            "--wave",
            "2",
        ])
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let n: Vec<i64> = p.sql("SELECT count(*) FROM verdicts");
        if n[0] > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(start.elapsed().as_secs() < 300, "no verdict was stored");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before: Vec<i64> = p.sql("SELECT count(*) FROM verdicts");
    assert!(before[0] < 36, "killed before the end");
    let (ok, _, err) = guard_run(&p, &[]);
    assert!(!ok && err.contains("--resume"), "{err}");
    let (ok, out, err) = guard_run(&p, &["--resume"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("{} already done", before[0])),
        "{out}"
    );
    let rows: Vec<i64> = p.sql("SELECT count(*) FROM verdicts");
    assert_eq!(rows, [36], "12 triples, three texts each, none twice");
    let truncated: Vec<String> = p.sql(
        "SELECT v.field FROM verdicts v JOIN samples s ON s.id = v.sample_id WHERE v.truncated = 1 ORDER BY 1",
    );
    let long: Vec<String> = p.sql("SELECT 'rejected' FROM samples WHERE length(rejected) > 15000");
    assert_eq!(
        truncated, long,
        "only the 20,000-character answer is shortened, and it says so"
    );
}
