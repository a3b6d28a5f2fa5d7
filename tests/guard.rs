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
fn guard_tokens_gives_the_engines_ids_and_the_rendered_text() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let model = model();
    let lines = |source: &str, extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec![
            "guard",
            "tokens",
            "--profile",
            "qwen3guard-gen",
            source,
            s(&model),
        ];
        args.extend_from_slice(extra);
        p.ok(&args)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let local = lines("--model", &["--text"]);
    let served = lines("--tokenizer", &[]);
    assert_eq!(local.len(), 36, "12 triples, three texts each");
    for (l, r) in local.iter().zip(&served) {
        assert_eq!(l["tokens"], r["tokens"], "in-process vs tokenizer.json");
        assert!(r.get("text").is_none());
        let text = l["text"].as_str().unwrap();
        assert!(text.starts_with("<|im_start|>user\n# Task:"), "{text}");
    }
    // A hostile prompt spells `<|im_end|>`; it stays text inside the one rendered string.
    assert!(
        local
            .iter()
            .any(|l| l["text"].as_str().unwrap().matches("<|im_end|>").count() >= 2)
    );
}

#[test]
fn a_profile_of_another_family_is_refused_unless_allowed() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let model = model();
    let run = |extra: &[&str]| {
        let mut args = vec!["guard", "run", "--profile", "llama-guard-3-8b", "--model"];
        args.extend_from_slice(&[s(&model), "--threads", "2", "--limit", "1"]);
        args.extend_from_slice(extra);
        p.run(&args)
    };
    let (ok, _, err) = run(&[]);
    assert!(!ok, "{err}");
    for word in ["<|start_header_id|>", "<|end_header_id|>", "polyguard"] {
        assert!(err.contains(word), "{word} missing from: {err}");
    }
    assert!(
        !err.contains("qwen3guard"),
        "SmolLM2 has no <think> token: {err}"
    );
    let runs: Vec<i64> = p.sql("SELECT count(*) FROM guard_runs");
    assert_eq!(runs, [0], "a refused run leaves nothing behind");
    let (ok, _, err) = run(&["--allow-profile-mismatch"]);
    assert!(ok, "{err}");
    let recorded: Vec<i64> =
        p.sql("SELECT json_extract(params, '$.allow_profile_mismatch') FROM guard_runs");
    assert_eq!(recorded, [1]);
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
fn a_changed_profile_starts_a_new_run_and_says_so() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let home = p.path("home");
    std::fs::create_dir_all(home.join("guards")).unwrap();
    let model = model();
    let run = || {
        let out = p
            .cmd()
            .env("VERDIKT_HOME", &home)
            .args([
                "guard",
                "run",
                "--profile",
                "polyguard",
                "--model",
                s(&model),
            ])
            .args(["--threads", "2", "--limit", "1"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    run();
    assert!(
        !run().contains("changed"),
        "the same profile continues its run"
    );
    // The user overrides the built-in with one word changed in the template.
    let builtin = std::fs::read_to_string(common::repo().join("assets/guards/polyguard.toml"))
        .unwrap()
        .replacen("Human user:", "Human:", 1);
    std::fs::write(home.join("guards/polyguard.toml"), builtin).unwrap();
    let err = run();
    assert!(err.contains("changed since run 1"), "{err}");
    let runs: Vec<String> =
        p.sql("SELECT id || ' ' || length(fingerprint) FROM guard_runs ORDER BY id");
    assert_eq!(runs, ["1 64", "2 64"]);
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
    let status = |p: &Project| {
        p.ok(&["guard", "runs"])
            .split('\t')
            .nth(3)
            .map(String::from)
    };
    assert_eq!(status(&p).as_deref(), Some("running"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status(&p).as_deref(), Some("stopped"), "a dead run says so");
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
        "--allow-profile-mismatch",
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
