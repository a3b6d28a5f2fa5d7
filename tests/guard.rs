//! `verdikt guard` with a real model (SmolLM2-135M, not a guard: the mechanics are tested,
//! never its verdicts): stored rows, skipping what is done, resuming after kill -9.

mod common;

use common::{Project, datasets, guard_run, guard_run_args, model, s};
use std::path::PathBuf;

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

    // While the file is unchanged, the hash comes from the earlier run (no re-reading).
    let _: Vec<i64> = p.sql("UPDATE guard_runs SET model_sha256 = 'remembered' RETURNING id");
    let (ok, _, err) = guard_run(&p, &["--limit", "6", "--language", "pl"]);
    assert!(ok, "{err}");
    let sha: Vec<String> = p.sql("SELECT model_sha256 FROM guard_runs");
    assert_eq!(sha, ["remembered"]);
}

#[test]
fn a_killed_run_resumes_where_it_stopped() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let mut child = p
        .cmd()
        .args(guard_run_args(&["--wave", "2"]))
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

/// A real llama-server on 127.0.0.1 serving the test model; killed when dropped.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `llama-server` from `scripts/llama-tools` (built on first use, then cached).
fn llama_server() -> PathBuf {
    if let Some(bin) = std::env::var_os("VERDIKT_LLAMA_SERVER") {
        return PathBuf::from(bin);
    }
    let out = std::process::Command::new(common::repo().join("scripts/llama-tools"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("scripts/llama-tools runs");
    assert!(out.status.success(), "scripts/llama-tools failed");
    let dir = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(dir.lines().last().unwrap().trim()).join("llama-server")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(port: u16, ctx: u32) -> Server {
    let child = std::process::Command::new(llama_server())
        .args(["-m", s(&model()), "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .args(["-c", &ctx.to_string(), "-np", "1", "-t", "2", "--no-webui"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let start = std::time::Instant::now();
    loop {
        let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut c| {
            use std::io::{Read, Write};
            let _ = c.write_all(b"GET /health HTTP/1.0\r\n\r\n");
            let mut reply = String::new();
            let _ = c.read_to_string(&mut reply);
            reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200")
        });
        if up {
            return server;
        }
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "llama-server exited"
        );
        assert!(
            start.elapsed().as_secs() < 120,
            "llama-server never became ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn server_run(p: &Project, url: &str, extra: &[&str]) -> (bool, String, String) {
    let model = model();
    let mut args = vec![
        "guard",
        "run",
        "--profile",
        "llama-guard-3-8b",
        "--server",
        url,
        "--server-model",
        "smollm2",
        "--tokenizer",
        s(&model),
        "--concurrency",
        "2",
        // SmolLM2 is no guard: its safe/unsafe tokens are far down the list.
        "--top-logprobs",
        "1000",
    ];
    args.extend_from_slice(extra);
    p.run(&args)
}

/// (`sample|field|verdict`, raw answer, P(unsafe) or -1) of one backend's run, in sample order.
fn verdicts_of(p: &Project, backend: &str) -> Vec<(String, String, f64)> {
    p.sql::<String>(&format!(
        "SELECT s.ext_id || '|' || v.field || '|' || v.verdict || '|' || v.raw_answer || '|' || coalesce(v.p_unsafe, -1)
         FROM verdicts v JOIN samples s ON s.id = v.sample_id JOIN guard_runs r ON r.id = v.run_id
         WHERE r.backend = '{backend}' ORDER BY s.id, v.field"
    ))
    .into_iter()
    .map(|row| {
        let (head, p) = row.rsplit_once('|').unwrap();
        let (key, answer) = head.split_at(head.match_indices('|').nth(2).unwrap().0);
        (key.to_string(), answer[1..].to_string(), p.parse().unwrap())
    })
    .collect()
}

#[test]
fn a_server_run_gives_the_local_verdicts() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    p.ok(&[
        "import",
        s(&datasets().join("hostile.jsonl")),
        "--dataset",
        "hostile",
    ]);
    let server = start_server(free_port(), 8192);
    // Polish sample triples, and hostile ones whose texts spell `<|im_end|>` and other markers.
    for filter in [["--language", "pl"], ["--dataset", "hostile"]] {
        let mut args = vec!["--limit", "3"];
        args.extend_from_slice(&filter);
        let (ok, _, err) = guard_run(&p, &args);
        assert!(ok, "{err}");
        let (ok, out, err) = server_run(&p, &server.url, &args);
        assert!(ok, "{err}");
        assert!(out.contains("checked 3 texts"), "{out}");
    }
    let (local, remote) = (verdicts_of(&p, "local"), verdicts_of(&p, "server"));
    assert_eq!(local.len(), 6);
    for (l, r) in local.iter().zip(&remote) {
        // Same token ids give the same verdict, first answer word and P(unsafe). llama.cpp's
        // kernels depend on batch shapes, so the rambling answers of a model that is no guard
        // may part ways after a few greedy tokens; a wrong token id would change all of it.
        // The local engine stops as soon as no verdict line can follow, so its first word may
        // be cut short of the server's.
        let first_word = |a: &str| a.split_whitespace().next().unwrap_or("").to_string();
        assert_eq!(l.0, r.0, "verdict differs");
        let (lw, rw) = (first_word(&l.1), first_word(&r.1));
        assert!(!lw.is_empty() && rw.starts_with(&lw), "{l:?} vs {r:?}");
        // SmolLM2 is no guard: its safe/unsafe tokens can fall outside even the top 1000, and
        // then the server reports no P(unsafe) (-1 here); where it does, it must agree.
        assert!(l.2 >= 0.0, "the local engine always has P(unsafe)");
        assert!(
            r.2 < 0.0 || (l.2 - r.2).abs() < 0.05,
            "P(unsafe) {} vs {} for {}",
            l.2,
            r.2,
            l.0
        );
    }
    let run: Vec<String> =
        p.sql("SELECT server_url || ' ' || server_model FROM guard_runs WHERE backend = 'server'");
    assert_eq!(run, [format!("{} smollm2", server.url)]);
}

#[test]
fn a_failed_server_run_says_why_and_resumes() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    // One address throughout: first nobody listens there, then a server too small for the
    // checks, then one that works (a run is identified by server address and model name).
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let (ok, _, err) = server_run(&p, &url, &["--limit", "6"]);
    assert!(
        !ok && err.contains(&url) && err.contains("refused"),
        "{err}"
    );

    let small = start_server(port, 128);
    let (ok, _, err) = server_run(&p, &small.url, &["--limit", "6", "--resume"]);
    assert!(!ok && err.contains("HTTP 400"), "{err}");
    let status: Vec<String> = p.sql("SELECT status FROM guard_runs");
    assert_eq!(status, ["failed"]);
    drop(small);

    let server = start_server(port, 8192);
    let (ok, _, err) = server_run(&p, &server.url, &["--limit", "6"]);
    assert!(!ok && err.contains("--resume"), "{err}");
    let (ok, out, err) = server_run(
        &p,
        &server.url,
        &["--limit", "6", "--wave", "1", "--resume"],
    );
    assert!(ok && out.contains("checked 6 texts"), "{out}{err}");
    let rows: Vec<i64> = p.sql("SELECT count(*) FROM verdicts");
    assert_eq!(rows, [6]);
}
