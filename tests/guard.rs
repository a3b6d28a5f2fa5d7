//! `verdikt guard` with a real model (SmolLM2-135M, not a guard: the mechanics are tested,
//! never its verdicts): stored rows, skipping what is done, resuming after kill -9.

mod common;
mod proxy;

use common::{Project, datasets, guard_run, guard_run_args, model, outcome, s};
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
    // One triple per invocation: its three fields, then the next triple after the done one.
    let (ok, out, err) = guard_run(&p, &["--limit", "3", "--language", "pl"]);
    assert!(ok, "{err}");
    assert!(out.contains("checked 3 texts"), "{out}");
    let rows: Vec<String> = p.sql(
        "SELECT field || '|' || verdict || '|' || (p_unsafe BETWEEN 0 AND 1) || '|' || (latency_ms > 0) || '|' || truncated
         FROM verdicts ORDER BY sample_id, field",
    );
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.ends_with("|1|1|0")), "{rows:?}");
    let fields: Vec<String> = p.sql("SELECT DISTINCT field FROM verdicts ORDER BY 1");
    assert_eq!(fields, ["chosen", "prompt", "rejected"]);
    let answers: Vec<String> = p.sql("SELECT raw_answer FROM verdicts");
    assert!(
        answers.iter().all(|a| a.starts_with("\n\n")),
        "answers keep the prefill"
    );

    let (ok, out, _) = guard_run(&p, &["--limit", "3", "--language", "pl"]);
    assert!(
        ok && out.contains("checked 3 texts") && out.contains("3 already done"),
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
        (Some("done"), Some(6))
    );
    let sha: Vec<String> = p.sql("SELECT model_sha256 FROM guard_runs");
    assert_eq!(sha[0].len(), 64);

    // While the file is unchanged, the hash comes from the earlier run (no re-reading).
    let _: Vec<i64> = p.sql("UPDATE guard_runs SET model_sha256 = 'remembered' RETURNING id");
    let (ok, _, err) = guard_run(&p, &["--limit", "3", "--language", "pl"]);
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
    // Four hostile triples, the 20,000-character answer (hostile-10) among them: two waves of
    // two, killed after the first.
    let hostile = std::fs::read_to_string(datasets().join("hostile.jsonl")).unwrap();
    let four: String = hostile
        .lines()
        .filter(|l| {
            ["01", "05", "10", "12"]
                .iter()
                .any(|n| l.contains(&format!("\"hostile-{n}\"")))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    p.ok(&["import", s(&p.write("four.jsonl", four))]);
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
    assert!(before[0] < 12, "killed before the end");
    let (ok, _, err) = guard_run(&p, &[]);
    assert!(!ok && err.contains("--resume"), "{err}");
    let (ok, out, err) = guard_run(&p, &["--resume"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("{} already done", before[0])),
        "{out}"
    );
    let rows: Vec<i64> = p.sql("SELECT count(*) FROM verdicts");
    assert_eq!(rows, [12], "4 triples, three texts each, none twice");
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
    start_server_with(port, ctx, &[])
}

fn start_server_with(port: u16, ctx: u32, extra: &[&str]) -> Server {
    let child = std::process::Command::new(llama_server())
        .args(["-m", s(&model()), "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .args(["-c", &ctx.to_string(), "-np", "1", "-t", "2", "--no-webui"])
        .args(extra)
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
        "--allow-profile-mismatch",
    ];
    args.extend_from_slice(extra);
    p.run(&args)
}

/// The number a command wrote just before the first `marker` in `out`.
fn number_before<T: std::str::FromStr>(out: &str, marker: &str) -> Option<T> {
    out.split_once(marker)?.0.rsplit(' ').next()?.parse().ok()
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
        // SmolLM2 is no guard: its safe/unsafe tokens are far down the list. Only this test
        // reads P(unsafe) from the server; 1000 log-probabilities for every answer token make
        // each answer megabytes of JSON.
        args.extend_from_slice(&["--top-logprobs", "1000"]);
        let (ok, out, err) = server_run(&p, &server.url, &args);
        assert!(ok, "{err}");
        assert!(out.contains("checked 3 texts"), "{out}");
        // The server's own account: its prompt cache holds the template the checks share, so
        // it computed less than it was sent, and in measured time.
        let sent: u64 = number_before(&out, " prompt tokens").unwrap();
        let computed: u64 = number_before(&out, " computed in").unwrap();
        let seconds: f64 = number_before(&out, " s\n").unwrap();
        assert!(computed > 0 && computed < sent && seconds > 0.0, "{out}");
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
    let quick = ["--limit", "6", "--max-tries", "2", "--max-retry-wait", "5"];
    let (ok, _, err) = server_run(&p, &url, &quick);
    assert!(
        !ok && err.contains(&url) && err.contains("refused") && err.contains("taken out"),
        "{err}"
    );
    let status: Vec<String> = p.sql("SELECT status FROM guard_runs");
    assert_eq!(status, ["failed"]);

    // A context that cannot hold the template and the answer: refused before any check.
    let small = start_server(port, 128);
    let (ok, _, err) = server_run(&p, &small.url, &quick);
    assert!(!ok && err.contains("--resume"), "{err}");
    let mut resume = quick.to_vec();
    resume.push("--resume");
    let (ok, _, err) = server_run(&p, &small.url, &resume);
    assert!(
        // llama-server raises a context below 256 to 256; the run names what the server reports.
        !ok && err.contains("has a context of 256 tokens") && err.contains("no check fits"),
        "{err}"
    );
    let answered: Vec<i64> = p.sql("SELECT count(*) FROM verdicts WHERE verdict <> 'error'");
    assert_eq!(answered, [0]);
    drop(small);

    let server = start_server(port, 8192);
    let (ok, out, err) = server_run(
        &p,
        &server.url,
        &["--limit", "6", "--wave", "1", "--resume"],
    );
    assert!(ok && out.contains("checked 6 texts"), "{out}{err}");
    let rows: Vec<String> = p.sql("SELECT verdict FROM verdicts");
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|v| v != "error"), "{rows:?}");
}

#[test]
fn a_server_run_rides_out_rate_limits_errors_and_cut_connections() {
    use proxy::{Act, Proxy};
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let server = start_server(free_port(), 8192);
    let proxy = Proxy::start(&server.url);
    proxy.script([
        Act::Status(429, vec![("Retry-After", "1")]),
        Act::Cut,
        Act::Status(503, vec![("retry-after-ms", "300")]),
        Act::Status(500, vec![]),
        Act::Cut,
        Act::Status(408, vec![]),
    ]);
    let started = std::time::Instant::now();
    // Enough tries that no check runs out, whichever gets which refusal.
    let args = ["--limit", "9", "--wave", "3", "--max-tries", "8"];
    let (ok, out, err) = server_run(&p, &proxy.url, &args);
    assert!(ok && out.contains("checked 9 texts"), "{out}{err}");
    assert!(
        started.elapsed().as_secs_f64() >= 1.0,
        "the server's Retry-After is waited for"
    );
    let (seen, passed) = proxy.seen();
    assert_eq!(
        (seen, passed),
        (15, 9),
        "each check answered once, after 6 refusals"
    );
    let verdicts: Vec<String> = p.sql("SELECT verdict FROM verdicts");
    assert_eq!(verdicts.len(), 9);
    assert!(verdicts.iter().all(|v| v != "error"), "{verdicts:?}");
}

/// One of two servers dies after the first wave: the triples routed to it move to the other
/// (its breaker takes it out once enough fail), and the run ends with one verdict per text,
/// none an error and none twice.
#[test]
fn a_run_on_two_servers_finishes_on_one_when_the_other_is_killed() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    let mut doomed = start_server(free_port(), 8192);
    let survivor = start_server(free_port(), 8192);
    // `--wave 2` is two triples: the first wave's 6 texts are stored together, some of them
    // answered by the server killed then, so the survivor's 9 after it make its majority.
    let texts = 15;
    let mut run = p
        .cmd()
        .args([
            "guard",
            "run",
            "--profile",
            "llama-guard-3-8b",
            "--server-model",
            "smollm2",
            "--tokenizer",
            s(&model()),
            "--allow-profile-mismatch",
            "--server",
            &format!("{}=1", doomed.url),
            "--server",
            &format!("{}=1", survivor.url),
            "--wave",
            "2",
            "--max-tries",
            "2",
            "--max-retry-wait",
            "5",
            "--language",
            "pl",
        ])
        .args(["--limit", &texts.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while p.sql::<i64>("SELECT count(*) FROM verdicts")[0] < 6 {
        assert!(
            run.try_wait().unwrap().is_none(),
            "the run ended before a server could be killed"
        );
        assert!(start.elapsed().as_secs() < 600, "no verdict was stored");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();
    let out = run.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("checked {texts} texts")),
        "{stdout}{stderr}"
    );
    // `servers: URL N texts (…); URL M texts (…)`: what each server answered.
    let answered = |url: &str| -> usize {
        let line = stdout.lines().find(|l| l.starts_with("servers: ")).unwrap();
        let after = &line[line.find(&format!("{url} ")).unwrap() + url.len() + 1..];
        after.split(' ').next().unwrap().parse().unwrap()
    };
    let (dead, alive) = (answered(&doomed.url), answered(&survivor.url));
    assert_eq!(dead + alive, texts, "{stdout}");
    assert!(
        alive > texts / 2,
        "the run went on on the server left: {stdout}"
    );
    let per_text: Vec<i64> =
        p.sql("SELECT count(*) FROM verdicts GROUP BY sample_id, field ORDER BY 1 DESC");
    assert_eq!(per_text.len(), texts, "every text has a verdict");
    assert_eq!(per_text[0], 1, "no text was checked twice");
    let errors: Vec<i64> = p.sql("SELECT count(*) FROM verdicts WHERE verdict = 'error'");
    assert_eq!(
        errors,
        [0],
        "the dead server's checks were done on the other"
    );
}

#[test]
fn a_check_that_keeps_failing_is_an_error_verdict_and_only_it_is_tried_again() {
    use proxy::{Act, Proxy};
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let server = start_server(free_port(), 8192);
    let proxy = Proxy::start(&server.url);
    // One request in flight: the first check gets both 503s and gives up; the rest of its
    // triple passes.
    proxy.script([Act::Status(503, vec![]), Act::Status(503, vec![])]);
    let args = ["--limit", "3", "--max-tries", "2"];
    let url = format!("{}=1", proxy.url);
    let (ok, out, err) = server_run(&p, &url, &args);
    assert!(ok, "{err}");
    assert!(out.contains("checked 2 texts"), "{out}");
    assert!(err.contains("1 checks failed"), "{err}");
    let failed: Vec<String> =
        p.sql("SELECT field || ' ' || error FROM verdicts WHERE verdict = 'error'");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].starts_with("prompt ")
            && failed[0].contains("HTTP 503")
            && failed[0].contains("2 tries"),
        "{failed:?}"
    );
    let runs: serde_json::Value =
        serde_json::from_str(&p.ok(&["guard", "runs", "--json"])).unwrap();
    assert_eq!(
        (
            runs[0]["texts_done"].as_u64(),
            runs[0]["texts_failed"].as_u64()
        ),
        (Some(2), Some(1)),
        "an error is neither safe nor unsafe, and not done"
    );
    let before = proxy.seen().0;
    // `--limit` counts the texts this invocation checks: one, the failed one.
    let again = ["--limit", "1", "--max-tries", "2", "--resume"];
    let (ok, out, err) = server_run(&p, &url, &again);
    assert!(
        ok && out.contains("checked 1 texts") && out.contains("2 already done"),
        "{out}{err}"
    );
    assert_eq!(
        proxy.seen().0 - before,
        1,
        "exactly the failed check is sent again"
    );
    let errors: Vec<i64> =
        p.sql("SELECT count(*) FROM verdicts WHERE verdict = 'error' OR error IS NOT NULL");
    assert_eq!(errors, [0]);
}

#[test]
fn checks_are_shortened_to_the_servers_context_and_a_foreign_tokenizer_is_refused() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    // 1024 tokens: the 20,000-character answer must be cut to leave room for the answer.
    let server = start_server(free_port(), 1024);
    let (ok, out, err) = server_run(&p, &server.url, &["--fields", "rejected"]);
    assert!(ok && out.contains("checked 12 texts"), "{out}{err}");
    let rows: Vec<String> = p.sql(
        "SELECT v.verdict || ' ' || v.truncated FROM verdicts v JOIN samples s ON s.id = v.sample_id
         WHERE length(s.rejected) > 15000",
    );
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].ends_with(" 1") && !rows[0].starts_with("error"),
        "{rows:?}"
    );

    // Another model's tokenizer: the server's own ids of a test text differ, and it says so.
    let qwen = llama_server()
        .parent()
        .and_then(|bin| bin.parent())
        .map(|variant| {
            let version = variant.file_name().unwrap().to_str().unwrap();
            let version = version.trim_end_matches("-native").to_string();
            variant.parent().unwrap().join("src").join(version)
        })
        .unwrap()
        .join("llama.cpp/models/ggml-vocab-qwen2.gguf");
    let (ok, _, err) = p.run(&[
        "guard",
        "run",
        "--profile",
        "llama-guard-3-8b",
        "--allow-profile-mismatch",
        "--server",
        &server.url,
        "--server-model",
        "smollm2",
        "--tokenizer",
        s(&qwen),
        "--limit",
        "3",
    ]);
    assert!(!ok && err.contains("is not the one of the model"), "{err}");
    assert!(
        err.contains("it makes ") && err.contains(" tokens of a test text where the server makes "),
        "{err}"
    );
    let from_qwen: Vec<i64> = p.sql(
        "SELECT count(*) FROM verdicts v JOIN guard_runs r ON r.id = v.run_id WHERE r.params LIKE '%qwen2%'",
    );
    assert_eq!(from_qwen, [0], "nothing was checked with the wrong ids");
}

#[test]
fn an_api_key_from_the_environment_opens_the_server_and_stays_out_of_everything() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let key = "vk-test-7d41c9e0b2";
    let server = start_server_with(free_port(), 8192, &["--api-key", key]);
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let model = model();
        let mut cmd = p.cmd();
        cmd.args([
            "guard",
            "run",
            "--profile",
            "llama-guard-3-8b",
            "--allow-profile-mismatch",
        ])
        .args([
            "--server",
            &server.url,
            "--server-model",
            "smollm2",
            "--tokenizer",
            s(&model),
        ])
        .args(["--limit", "3", "--top-logprobs", "20"])
        .args(extra)
        // The deepest logging there is: the key must not show up in it either.
        .env("RUST_LOG", "trace")
        .env_remove("VERDIKT_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (ok, text) = outcome(&mut cmd);
        assert!(!text.contains(key) && !text.contains("vk-wrong"), "{text}");
        (ok, text)
    };
    // No key: the server refuses us, so it is taken out at once and nothing is stored.
    let (ok, text) = run(&[], &[]);
    assert!(
        !ok && text.contains("HTTP 401") && text.contains("taken out"),
        "{text}"
    );
    let (ok, text) = run(&[], &["--api-key-env", "VERDIKT_KEY", "--resume"]);
    assert!(
        !ok && text.contains("VERDIKT_KEY") && text.contains("not set"),
        "{text}"
    );
    let (ok, text) = run(
        &[("VERDIKT_KEY", "vk-wrong-key")],
        &["--api-key-env", "VERDIKT_KEY", "--resume"],
    );
    assert!(!ok && text.contains("HTTP 401"), "{text}");
    let stored: Vec<i64> = p.sql("SELECT count(*) FROM verdicts");
    assert_eq!(stored, [0]);
    let (ok, text) = run(
        &[("VERDIKT_KEY", key)],
        &[
            "--api-key-env",
            "VERDIKT_KEY",
            "--header",
            "X-Trace:run-7",
            "--resume",
        ],
    );
    assert!(ok && text.contains("checked 3 texts"), "{text}");
    let recorded: Vec<String> = p.sql(
        "SELECT json_extract(params, '$.api_key_env') || ' ' || json_extract(params, '$.headers') FROM guard_runs",
    );
    assert_eq!(recorded, [r#"VERDIKT_KEY ["X-Trace"]"#]);
    drop(p.sql::<i64>("PRAGMA wal_checkpoint(TRUNCATE)"));
    for file in std::fs::read_dir(p.db().parent().unwrap()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(key) && !text.contains("run-7"),
            "a secret in the project's files"
        );
    }
}

#[test]
fn only_disputed_texts_go_to_the_judge_and_the_count_is_told_first() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let model = model();
    for profile in ["llama-guard-3-8b", "polyguard"] {
        let (ok, _, err) = p.run(&[
            "guard",
            "run",
            "--profile",
            profile,
            "--model",
            s(&model),
            "--threads",
            "2",
            "--allow-profile-mismatch",
            "--limit",
            "6",
        ]);
        assert!(ok, "{err}");
    }
    // SmolLM2 is no guard: its verdicts are set here, so which texts are disputed is known.
    let _: Vec<i64> = p.sql("UPDATE verdicts SET verdict = 'safe', error = NULL RETURNING 1");
    let texts: Vec<String> =
        p.sql("SELECT DISTINCT sample_id || ' ' || field FROM verdicts ORDER BY sample_id, field");
    assert_eq!(texts.len(), 6);
    let set = |run: i64, text: &str, verdict: &str| {
        let (sample, field) = text.split_once(' ').unwrap();
        let error = if verdict == "error" {
            "'timeout'"
        } else {
            "NULL"
        };
        let _: Vec<i64> = p.sql(&format!(
            "UPDATE verdicts SET verdict = '{verdict}', error = {error}
             WHERE run_id = {run} AND sample_id = {sample} AND field = '{field}' RETURNING 1"
        ));
    };
    set(1, &texts[0], "unsafe"); // the guards differ
    set(2, &texts[2], "controversial");
    set(1, &texts[3], "unparsed");
    set(2, &texts[5], "error"); // no verdict is no dispute
    let judge = |extra: &[&str]| {
        let mut args = vec![
            "guard",
            "run",
            "--profile",
            "refuseu-judge",
            "--model",
            s(&model),
            "--threads",
            "2",
            "--allow-profile-mismatch",
            "--only-disputed",
        ];
        args.extend_from_slice(extra);
        p.run(&args)
    };
    let (ok, out, err) = judge(&["--dry-run"]);
    assert!(ok, "{err}");
    let planned: u64 = number_before(&out, " prompt tokens").unwrap_or(0);
    assert!(
        out.starts_with("3 texts to check, ") && planned > 0,
        "{out}"
    );
    let runs: Vec<i64> = p.sql("SELECT count(*) FROM guard_runs");
    assert_eq!(runs, [2], "a dry run opens no run");

    let (ok, out, err) = judge(&[]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("3 texts to check") && out.contains("checked 3 texts"),
        "{out}"
    );
    assert!(
        out.contains(&format!("; {planned} prompt tokens")),
        "planned {planned}: {out}"
    );
    let judged: Vec<String> = p.sql(
        "SELECT v.sample_id || ' ' || v.field FROM verdicts v JOIN guard_runs r ON r.id = v.run_id
         WHERE r.profile = 'refuseu-judge' ORDER BY v.sample_id, v.field",
    );
    assert_eq!(
        judged,
        [texts[0].clone(), texts[2].clone(), texts[3].clone()]
    );
    // The finished run is the project's judge, not a third guard.
    assert!(out.contains("run 3 is the project's judge"), "{out}");
    let list = p.ok(&["guards", "list"]);
    assert!(
        list.contains("guards: run 1, run 2 (default") && list.contains("judge: run 3 (default"),
        "{list}"
    );
}

/// A judge served only through `/v1/chat/completions`: the profile's chat messages go to a real
/// llama-server (behind its API key) without a tokenizer, the dataset text inside them as text,
/// and every text gets its verdict. A profile without a chat form is refused first.
#[test]
fn a_chat_run_sends_the_judges_messages_and_needs_no_tokenizer() {
    use proxy::Proxy;
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let key = "vk-chat-51f0";
    let server = start_server_with(free_port(), 8192, &["--api-key", key]);
    let proxy = Proxy::start(&server.url);
    let chat_run = |profile: &str| {
        outcome(
            p.cmd()
                .args(["guard", "run", "--profile", profile, "--chat"])
                .args(["--server", &proxy.url, "--server-model", "smollm2"])
                .args(["--api-key-env", "VERDIKT_KEY", "--top-logprobs", "50"])
                .args(["--fields", "prompt,rejected", "--limit", "4"])
                .env("VERDIKT_KEY", key),
        )
    };
    let (ok, text) = chat_run("llama-guard-3-8b");
    assert!(
        !ok && text.contains("no chat form") && text.contains("refuseu-judge"),
        "{text}"
    );
    let (ok, text) = chat_run("refuseu-judge");
    assert!(ok && text.contains("checked 4 texts"), "{text}");

    let requests = proxy.requests();
    assert_eq!(requests.len(), 4, "one request per text, none retried");
    let prompts: Vec<String> = p.sql("SELECT prompt FROM samples ORDER BY id LIMIT 2");
    for (path, body) in &requests {
        assert_eq!(path, "/v1/chat/completions");
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2, "{body}");
        assert_eq!(messages[0]["role"], "system");
        let system = messages[0]["content"].as_str().unwrap();
        assert!(system.starts_with("First line must read 'safe' or 'unsafe'."));
        assert!(system.contains("S14: Code Interpreter Abuse."));
        assert_eq!(messages[1]["role"], "user");
        // OpenAI's limit, whatever was asked for.
        assert_eq!(
            (body["logprobs"].as_bool(), body["top_logprobs"].as_u64()),
            (Some(true), Some(20))
        );
        assert!(
            body.get("prompt").is_none() && body.get("stop").is_none(),
            "{body}"
        );
    }
    // The hostile prompts (special-token spellings among them) travel verbatim as text.
    for prompt in &prompts {
        assert!(
            requests.iter().any(|(_, b)| b["messages"][1]["content"]
                .as_str()
                .unwrap()
                .contains(prompt.trim())),
            "{prompt:?} not sent as text"
        );
    }
    let rows: Vec<String> =
        p.sql("SELECT v.verdict || '|' || length(v.raw_answer) FROM verdicts v ORDER BY v.sample_id, v.field");
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| !r.starts_with("error|") && !r.ends_with("|0")),
        "{rows:?}"
    );
    let recorded: Vec<String> = p.sql(
        "SELECT json_extract(params, '$.api') || ' ' || coalesce(json_extract(params, '$.tokenizer'), 'none') FROM guard_runs",
    );
    assert_eq!(recorded, ["chat none"]);
    let in_range: Vec<i64> = p.sql(
        "SELECT count(*) FROM verdicts WHERE p_unsafe IS NOT NULL AND (p_unsafe < 0 OR p_unsafe > 1)",
    );
    assert_eq!(in_range, [0]);
}

/// A `VERDIKT_HOME` with `hello-judge`: the RefusEU judge scoring the first token of OpenAI's
/// recorded chat answer, "Hello" (taken as unsafe) against "Hi" (safe).
fn hello_judge(p: &Project) -> PathBuf {
    let home = p.path("home");
    std::fs::create_dir_all(home.join("guards")).unwrap();
    let judge = include_str!("../assets/guards/refuseu-judge.toml")
        .replace("name = \"refuseu-judge\"", "name = \"hello-judge\"")
        .replace(
            "unsafe = [\"unsafe\", \"Unsafe\"]\nsafe = [\"safe\", \"Safe\"]",
            "unsafe = [\"Hello\"]\nsafe = [\"Hi\"]",
        );
    assert!(judge.contains("[\"Hello\"]"));
    std::fs::write(home.join("guards/hello-judge.toml"), judge).unwrap();
    home
}

/// P(unsafe) of OpenAI's recorded answer under `hello-judge`.
fn hello_p_unsafe() -> f64 {
    let (a, b) = ((-0.31725305f64).exp(), (-1.3190403f64).exp());
    a / (a + b)
}

/// OpenAI's chat answers, replayed on 127.0.0.1 from recorded real bodies (not the live
/// service; see tests/fixtures/responses/SOURCES.md): a 429 with OpenAI's headers is tried
/// again, and P(unsafe) is read from `logprobs.content[0].top_logprobs` by token text. The
/// recording's first token is "Hello" (-0.317) or "Hi" (-1.319), so a profile scoring those
/// two words must give e^-0.317 / (e^-0.317 + e^-1.319).
#[test]
fn openai_chat_recordings_are_retried_and_scored_by_token_text() {
    use proxy::{Act, Proxy};
    let fixtures = common::repo().join("tests/fixtures/responses");
    let read = |name: &str| std::fs::read_to_string(fixtures.join(name)).unwrap();
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let home = hello_judge(&p);
    // No server behind the proxy: every answer is a recording.
    let proxy = Proxy::start(&format!("127.0.0.1:{}", free_port()));
    let headers = read("openai-error-429.headers.txt")
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| !["content-length", "content-type", "connection"].contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    proxy.script([
        Act::Reply(429, headers, read("openai-error-429.json")),
        Act::Reply(200, Vec::new(), read("openai-chat-logprobs.json")),
    ]);
    let (ok, text) = outcome(
        p.cmd()
            .args(["guard", "run", "--profile", "hello-judge", "--chat"])
            .args(["--server", &proxy.url, "--server-model", "gpt-4o-mini"])
            .args([
                "--fields",
                "prompt",
                "--limit",
                "1",
                "--max-retry-wait",
                "5",
            ])
            .env("VERDIKT_HOME", &home),
    );
    assert!(ok && text.contains("checked 1 texts"), "{text}");
    assert_eq!(proxy.seen().0, 2, "the 429 was tried again");
    let stored: Vec<String> =
        p.sql("SELECT verdict || '|' || raw_answer || '|' || p_unsafe FROM verdicts");
    let want = hello_p_unsafe();
    let parts: Vec<&str> = stored[0].split('|').collect();
    assert_eq!(
        &parts[..2],
        ["unparsed", "Hello! How can I assist you today?"]
    );
    let got: f64 = parts[2].parse().unwrap();
    assert!((got - want).abs() < 1e-6, "P(unsafe) {got}, want {want}");
}

/// `--openai-batch` against OpenAI's Batch API replayed from recorded bodies on 127.0.0.1 (not
/// the live service): the checks go up as one JSONL file of chat requests, the batch id is in the
/// project before the first poll, a run killed while the batch runs resumes by polling that
/// batch (nothing uploaded twice), the answers land as verdicts and the one the batch answered
/// with a 429 is an `error` that the next `--resume` sends again, alone, in a new batch.
#[test]
fn an_openai_batch_run_survives_a_kill_and_resumes_by_batch_id() {
    use proxy::BatchReplay;
    let p = Project::new();
    // Four prompts, so that every run checks what is left of them and nothing new.
    let hostile = std::fs::read_to_string(datasets().join("hostile.jsonl")).unwrap();
    let four: String = hostile.lines().take(4).map(|l| format!("{l}\n")).collect();
    p.ok(&["import", s(&p.write("four.jsonl", four))]);
    let home = hello_judge(&p);
    let replay = BatchReplay::start(common::repo().join("tests/fixtures/responses"));
    replay.state().hold = true;
    let batch_run = |resume: bool| {
        let mut cmd = p.cmd();
        cmd.args([
            "guard",
            "run",
            "--profile",
            "hello-judge",
            "--chat",
            "--openai-batch",
        ])
        .args(["--server", &replay.url, "--server-model", "gpt-4o-mini"])
        .args(["--fields", "prompt", "--batch-poll", "0.2"])
        .env("VERDIKT_HOME", &home);
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    let mut child = batch_run(false)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while replay.state().polls < 2 {
        assert!(
            started.elapsed().as_secs() < 60,
            "the batch was never polled"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its batch did"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    {
        let s = replay.state();
        assert_eq!((s.uploads.len(), s.batches_created), (1, 1));
        let requests = &s.uploads[0];
        assert_eq!(requests.len(), 4);
        for r in requests {
            assert_eq!(
                (r["method"].as_str(), r["url"].as_str()),
                (Some("POST"), Some("/v1/chat/completions"))
            );
            assert_eq!(r["body"]["model"], "gpt-4o-mini");
            assert_eq!(r["body"]["messages"][0]["role"], "system");
        }
    }
    let journal: Vec<String> = p.sql("SELECT batch_id || ' ' || requests FROM guard_batches");
    assert_eq!(
        journal,
        ["batch_abc123 4"],
        "the batch is recorded before it is polled"
    );
    assert_eq!(p.sql::<i64>("SELECT count(*) FROM verdicts"), [0]);

    replay.state().hold = false;
    let (ok, text) = outcome(&mut batch_run(true));
    assert!(ok && text.contains("checked 3 texts"), "{text}");
    let sent = {
        let s = replay.state();
        (s.uploads.len(), s.batches_created)
    };
    assert_eq!(
        sent,
        (1, 1),
        "resumed by polling the recorded batch, nothing sent again"
    );
    let rows: Vec<String> = p.sql("SELECT verdict || '|' || coalesce(p_unsafe, -1) || '|' || coalesce(error, '') FROM verdicts ORDER BY sample_id");
    assert_eq!(rows.len(), 4);
    for row in &rows[..3] {
        let parts: Vec<&str> = row.split('|').collect();
        assert_eq!(parts[0], "unparsed", "{row}");
        assert!(
            (parts[1].parse::<f64>().unwrap() - hello_p_unsafe()).abs() < 1e-6,
            "{row}"
        );
    }
    assert!(
        rows[3]
            .starts_with("error|-1|the batch answered HTTP 429: You exceeded your current quota"),
        "{}",
        rows[3]
    );

    let (ok, text) = outcome(&mut batch_run(true));
    assert!(ok && text.contains("checked 1 texts"), "{text}");
    let s = replay.state();
    assert_eq!((s.uploads.len(), s.batches_created), (2, 2));
    assert_eq!(s.uploads[1].len(), 1, "only the error is sent again");
    assert_eq!(
        p.sql::<i64>("SELECT count(*) FROM verdicts WHERE verdict = 'error'"),
        [0]
    );
}
