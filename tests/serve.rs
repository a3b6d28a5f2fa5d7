//! `verdikt serve` over real HTTPS on 127.0.0.1: the server is the real binary, the client is
//! ureq on rustls trusting only the project's own certificate. Each refusal the issue lists is
//! a test: no, wrong, expired or revoked session → 401; a curator command → no such route; a
//! sample outside the reviewer's languages → 403; others' answers hidden before one's own (blind);
//! a used, expired or revoked invite → 401; an oversized body → 413; too many bad codes and a
//! session over its request rate → 429.
//! Also: a retried submit stores once; answers are served while the CLI imports; plain HTTP
//! behind a reverse proxy on loopback only, its client address from `X-Forwarded-For`; the UI
//! bundle built into the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Project, datasets, s};
use serde_json::{Value, json};

/// The window's command list (`src-tauri/src/command_names.rs`), for the routes test.
mod window {
    include!("../src-tauri/src/command_names.rs");
}

/// The bundled sample with four Polish and two German samples queued; ana and ola read Polish,
/// adam adjudicates Polish, eva reads German.
fn project() -> Project {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    p.ok(&["reviewer", "add", "ana", "--languages", "pl"]);
    p.ok(&["reviewer", "add", "ola", "--languages", "pl"]);
    p.ok(&[
        "reviewer",
        "add",
        "adam",
        "--languages",
        "pl",
        "--adjudicator",
    ]);
    p.ok(&["reviewer", "add", "eva", "--languages", "de"]);
    p.ok(&["config", "answers-per-sample", "2"]);
    rusqlite::Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "INSERT INTO triage_reasons (sample_id, reason)
             SELECT id, 'audit_sample' FROM samples WHERE language = 'pl' ORDER BY id LIMIT 4;
             INSERT INTO triage_reasons (sample_id, reason)
             SELECT id, 'audit_sample' FROM samples WHERE language = 'de' ORDER BY id LIMIT 2;",
        )
        .unwrap();
    p
}

struct Server {
    child: Child,
    base: String,
    agent: ureq::Agent,
    /// What `verdikt serve` printed before it listened.
    printed: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Server {
    /// `verdikt serve` on a free port of 127.0.0.1, with a stand-in UI bundle.
    fn start(p: &Project, extra: &[&str]) -> Server {
        let ui = p.path("ui");
        std::fs::create_dir_all(ui.join("assets")).unwrap();
        std::fs::write(
            ui.join("index.html"),
            r#"<!doctype html><script type="module" src="/assets/app.js"></script>"#,
        )
        .unwrap();
        std::fs::write(ui.join("assets/app.js"), "export {};").unwrap();
        Server::launch(p, &[&["--ui", s(&ui)], extra].concat())
    }

    /// `verdikt serve` with the UI bundle built into the binary.
    fn launch(p: &Project, extra: &[&str]) -> Server {
        let mut child = p
            .cmd()
            .env_remove("VERDIKT_UI_DIR")
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut base = None;
        let mut cert = None;
        let mut printed = String::new();
        // Its last line tells how to invite.
        while !printed.contains("invite a reviewer") {
            let line = lines
                .next()
                .expect("serve printed where it listens")
                .unwrap();
            printed.push_str(&line);
            printed.push('\n');
            if let Some(url) = line.strip_prefix("serving the review at ") {
                base = Some(url.trim_end_matches('/').to_string());
            }
            if let Some(rest) = line.strip_prefix("certificate ") {
                cert = Some(rest.split(" SHA-256 ").next().unwrap().to_string());
            }
        }
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(cert) = cert {
            let pem = std::fs::read(cert).unwrap();
            let trusted = ureq::tls::Certificate::from_pem(&pem).unwrap().to_owned();
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![trusted])));
        }
        let agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .build()
            .new_agent();
        Server {
            child,
            base: base.unwrap(),
            agent,
            printed,
        }
    }

    fn reply(response: ureq::http::Response<ureq::Body>) -> Reply {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = response.into_body().read_to_string().unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    fn post_raw(&self, path: &str, cookie: Option<&str>, content_type: &str, body: &str) -> Reply {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type);
        if let Some(c) = cookie {
            request = request.header("Cookie", c);
        }
        Server::reply(request.send(body).unwrap())
    }

    fn post(&self, path: &str, cookie: Option<&str>, body: Value) -> Reply {
        self.post_raw(path, cookie, "application/json", &body.to_string())
    }

    fn get(&self, path: &str) -> Reply {
        Server::reply(
            self.agent
                .get(format!("{}{path}", self.base))
                .call()
                .unwrap(),
        )
    }

    /// A review command as `who` (a session cookie).
    fn call(&self, who: &str, command: &str, args: Value) -> Reply {
        self.post(&format!("/api/{command}"), Some(who), args)
    }

    /// Opens a session with an invite code; the cookie to send back.
    fn open(&self, code: &str) -> Reply {
        self.post("/api/session", None, json!({ "code": code }))
    }

    /// Opens a session as a reverse proxy would pass it on, for the client `forwarded_for`.
    fn open_forwarded(&self, code: &str, forwarded_for: &str) -> Reply {
        Server::reply(
            self.agent
                .post(format!("{}/api/session", self.base))
                .header("Content-Type", "application/json")
                .header("X-Forwarded-For", forwarded_for)
                .send(json!({ "code": code }).to_string())
                .unwrap(),
        )
    }

    /// A fresh invite for `name`, opened: the session cookie.
    fn session(&self, p: &Project, name: &str) -> String {
        let r = self.open(&invite(p, name, "1h"));
        assert_eq!(r.status, 200, "{}", r.body);
        let set = r.header("set-cookie").unwrap().to_string();
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
            assert!(set.contains(attribute), "{set}");
        }
        set.split(';').next().unwrap().to_string()
    }
}

fn invite(p: &Project, name: &str, expires: &str) -> String {
    let out: Value =
        serde_json::from_str(&p.ok(&["reviewer", "invite", name, "--expires", expires, "--json"]))
            .unwrap();
    let link = out["link"].as_str().unwrap();
    let code = link.split_once("/invite#").unwrap().1.to_string();
    assert!(code.len() >= 32, "at least 128 bits: {code}");
    assert_eq!(
        p.sql::<i64>(&format!(
            "SELECT count(*) FROM serve_invites WHERE code_sha256 = '{code}'"
        )),
        [0],
        "never stored in the clear"
    );
    code
}

fn queue() -> Value {
    json!({ "query": { "adjudicate": false }, "after": null })
}

fn answer(note: &str) -> Value {
    json!({ "q1": "yes", "q2": "yes", "q3": "na", "note": note })
}

/// The id of the first sample in `name`'s queue.
fn first_waiting(server: &Server, who: &str) -> i64 {
    let r = server.call(who, "review_next", queue());
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["view"]["id"].as_i64().unwrap()
}

#[test]
fn only_the_review_commands_have_routes() {
    assert_eq!(
        verdikt_serve::COMMANDS,
        [
            "review_setup",
            "review_counts",
            "review_next",
            "review_sample_get",
            "review_resolve",
            "review_submit",
            "review_adjudicate",
            "review_undo",
            "reviewer_reveals_get",
            "reviewer_reveal_set",
        ]
    );
    let p = project();
    let server = Server::start(&p, &[]);
    let adam = server.session(&p, "adam");
    for command in window::COMMANDS {
        let r = server.call(&adam, command, json!({}));
        if verdikt_serve::COMMANDS.contains(command) {
            assert_ne!(r.status, 404, "{command}: {}", r.body);
        } else {
            assert_eq!(r.status, 404, "{command} is a curator command: {}", r.body);
            assert!(r.body["message"].is_string(), "{command}: {}", r.body);
        }
    }
    let setup = server.call(&adam, "review_setup", json!({}));
    let names: Vec<&str> = setup.body["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["adam"], "a session sees itself only");
    assert_eq!(setup.body["languages"], json!(["pl"]));
}

#[test]
fn no_wrong_expired_or_revoked_session_is_401() {
    let p = project();
    let server = Server::start(&p, &["--session-lasts", "2s"]);
    let ana = server.session(&p, "ana");
    let opened = Instant::now();
    let ola = server.session(&p, "ola");
    assert_eq!(server.call(&ana, "review_setup", json!({})).status, 200);
    assert_eq!(server.call(&ola, "review_setup", json!({})).status, 200);

    let none = server.post("/api/review_setup", None, json!({}));
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(none.body["message"].as_str().unwrap().contains("session"));
    let wrong = server.call("verdikt_session=00112233", "review_setup", json!({}));
    assert_eq!(wrong.status, 401);

    let revoked = p.ok(&["reviewer", "revoke", "ola"]);
    assert!(revoked.contains("ended 1 session"), "{revoked}");
    assert_eq!(server.call(&ola, "review_setup", json!({})).status, 401);
    assert_eq!(
        server.call(&ana, "review_setup", json!({})).status,
        200,
        "ana's stays"
    );

    std::thread::sleep(Duration::from_millis(2100).saturating_sub(opened.elapsed()));
    assert_eq!(
        server.call(&ana, "review_setup", json!({})).status,
        401,
        "expired"
    );
}

#[test]
fn a_used_expired_or_revoked_invite_is_refused() {
    let p = project();
    let server = Server::start(&p, &[]);
    let code = invite(&p, "ana", "1h");
    assert_eq!(server.open(&code).status, 200);
    let again = server.open(&code);
    assert_eq!(again.status, 401, "used once: {}", again.body);
    assert!(again.header("set-cookie").is_none());
    let expired = invite(&p, "ana", "0s");
    assert_eq!(server.open(&expired).status, 401);
    let revoked = invite(&p, "ola", "1h");
    p.ok(&["reviewer", "revoke", "ola"]);
    assert_eq!(server.open(&revoked).status, 401);
}

#[test]
fn a_sample_outside_the_reviewers_languages_is_refused() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let eva = server.session(&p, "eva");
    let polish = first_waiting(&server, &ana);
    let german = first_waiting(&server, &eva);
    assert_ne!(polish, german);
    let r = server.call(&eva, "review_sample_get", json!({ "id": polish }));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("does not review")
    );
    let r = server.call(
        &eva,
        "review_submit",
        json!({ "id": polish, "answer": answer("") }),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let ext: String =
        p.sql::<String>(&format!("SELECT ext_id FROM samples WHERE id = {polish}"))[0].clone();
    let r = server.call(&eva, "review_resolve", json!({ "sample": ext }));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        server
            .call(&eva, "review_sample_get", json!({ "id": german }))
            .status,
        200
    );
    // Eva's queue is German only.
    let counts = server.call(&eva, "review_counts", queue());
    assert!(
        counts.body.to_string().contains("\"de\"") && !counts.body.to_string().contains("\"pl\""),
        "{}",
        counts.body
    );
    assert_eq!(p.sql::<i64>("SELECT count(*) FROM annotations"), [0]);
}

#[test]
fn others_answers_are_absent_until_ones_own_blind() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let ola = server.session(&p, "ola");
    let id = first_waiting(&server, &ana);
    let r = server.call(
        &ana,
        "review_submit",
        json!({ "id": id, "answer": answer("ana-private-note") }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let before = server.call(&ola, "review_sample_get", json!({ "id": id }));
    assert_eq!(before.status, 200);
    assert_eq!(before.body["others_hidden"], true);
    assert_eq!(before.body["others"], json!([]));
    assert!(!before.body.to_string().contains("ana-private-note"));
    let r = server.call(
        &ola,
        "review_submit",
        json!({ "id": id, "answer": answer("") }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let after = server.call(&ola, "review_sample_get", json!({ "id": id }));
    assert!(
        after.body.to_string().contains("ana-private-note"),
        "{}",
        after.body
    );
}

#[test]
fn a_retried_submit_stores_once_as_the_sessions_reviewer() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let id = first_waiting(&server, &ana);
    let args = json!({
        "id": id,
        "reviewer": "ola",
        "answer": answer("once"),
        "answerId": "0b5e2c1e-1111-4c3a-9a57-5b6f1e0c2d3f",
    });
    let first = server.call(&ana, "review_submit", args.clone());
    let again = server.call(&ana, "review_submit", args);
    assert_eq!((first.status, again.status), (200, 200), "{}", again.body);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(
        first.body["reviewer"], "ana",
        "who comes from the session, not the body"
    );
    let source = first.body["source"].as_str().unwrap();
    assert!(source.starts_with("session:"), "{source}");
    assert_eq!(p.sql::<i64>("SELECT count(*) FROM annotations"), [1]);
    let open: Value = serde_json::from_str(&p.ok(&["reviewer", "sessions", "--json"])).unwrap();
    assert_eq!(open[0]["reviewer"], "ana");
    assert_eq!(open[0]["answers"], 1);
    assert_eq!(format!("session:{}", open[0]["id"]), source);
    assert!(
        open[0]["last_seen_at"].is_string(),
        "the server's session lookup notes it seen: {open}"
    );
    let listed = p.ok(&["reviewer", "sessions"]);
    assert!(
        listed.contains("\tseen 20"),
        "the plain listing says when: {listed}"
    );
    // Undo with its own id, retried: one new version.
    server.call(
        &ana,
        "review_submit",
        json!({ "id": id, "answer": answer("twice") }),
    );
    let undo = json!({ "id": id, "answerId": "undo-1" });
    assert_eq!(server.call(&ana, "review_undo", undo.clone()).status, 200);
    assert_eq!(server.call(&ana, "review_undo", undo).status, 200);
    assert_eq!(p.sql::<i64>("SELECT count(*) FROM annotations"), [3]);
}

/// A browser's answer whose acknowledgement was lost as the server died (kill -9): sent again
/// under its answer id to the restarted server, it is stored once; the session and the
/// project's identity, which the browser keys its kept drafts by, outlive the restart.
#[test]
fn a_resend_after_the_server_restarted_stores_once() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let project = server.call(&ana, "review_setup", json!({})).body["project"].clone();
    assert_eq!(
        project.as_str(),
        p.sql::<String>("SELECT value FROM project WHERE key = 'project_id'")
            .first()
            .map(String::as_str)
    );
    let id = first_waiting(&server, &ana);
    let args = json!({
        "id": id,
        "answer": answer("sent before the crash"),
        "answerId": "5d0c7a52-2222-4b1e-8c0f-0a9e3f6b7c81",
    });
    let first = server.call(&ana, "review_submit", args.clone());
    assert_eq!(first.status, 200, "{}", first.body);
    drop(server);
    let restarted = Server::start(&p, &[]);
    assert_eq!(
        restarted.call(&ana, "review_setup", json!({})).body["project"],
        project
    );
    let again = restarted.call(&ana, "review_submit", args);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(p.sql::<i64>("SELECT count(*) FROM annotations"), [1]);
    assert_ne!(
        first_waiting(&restarted, &ana),
        id,
        "answered: out of the queue"
    );
}

#[test]
fn a_sessions_always_reveal_is_its_own_reviewers() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let set = json!({ "reviewer": "ola", "category": "S11", "always": true });
    let r = server.call(&ana, "reviewer_reveal_set", set);
    assert_eq!((r.status, &r.body), (200, &json!(["S11"])));
    let shown = server.call(&ana, "reviewer_reveals_get", json!({ "reviewer": "ola" }));
    assert_eq!(shown.body, json!(["S11"]));
    assert!(p.ok(&["reviewer", "reveal", "ana"]).contains("S11"));
    assert!(!p.ok(&["reviewer", "reveal", "ola"]).contains("S11"));
}

#[test]
fn adjudication_is_for_adjudicators() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let id = first_waiting(&server, &ana);
    let r = server.call(
        &ana,
        "review_adjudicate",
        json!({ "id": id, "answer": answer("") }),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let q = json!({ "query": { "adjudicate": true } });
    assert_eq!(server.call(&ana, "review_next", q.clone()).status, 400);
    let adam = server.session(&p, "adam");
    assert_eq!(server.call(&adam, "review_next", q).status, 200);
}

#[test]
fn an_oversized_body_is_413_and_every_answer_is_hardened_json() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let big = json!({ "id": 1, "answer": answer(&"x".repeat(verdikt_serve::BODY_LIMIT)) });
    let r = server.call(&ana, "review_submit", big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("KiB"));
    let plain = server.post_raw("/api/review_setup", Some(&ana), "text/plain", "{}");
    assert_eq!(plain.status, 415, "a cross-site form cannot call the API");
    let page = server.get("/");
    assert_eq!(page.status, 200);
    for reply in [&page, &r, &plain] {
        let csp = reply.header("content-security-policy").unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        assert!(
            reply
                .headers
                .iter()
                .all(|(n, _)| !n.to_ascii_lowercase().starts_with("access-control-"))
        );
    }
    let bad = server.call(&ana, "review_next", json!({ "query": "not a query" }));
    assert_eq!(bad.status, 400);
    assert!(bad.body["message"].is_string(), "{}", bad.body);
}

#[test]
fn too_many_bad_codes_are_slowed_down() {
    let p = project();
    let server = Server::start(&p, &[]);
    for _ in 0..5 {
        assert_eq!(server.open(BAD_CODE).status, 401);
    }
    let good = invite(&p, "ana", "1h");
    let slowed = server.open(&good);
    assert_eq!(slowed.status, 429, "{}", slowed.body);
    let wait: u64 = slowed.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0);
}

/// One session's requests are bounded (a burst, then a steady rate); another session is not
/// slowed by it.
#[test]
fn a_session_over_its_rate_is_slowed_down() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let ola = server.session(&p, "ola");
    let limits = verdikt_serve::Limits::default();
    // The burst, plus what the steady rate refills while these requests are made.
    let most = (limits.burst + 10.0 * limits.per_second) as usize;
    let slowed = (0..most)
        .map(|_| server.call(&ana, "reviewer_reveals_get", json!({})))
        .find(|r| r.status != 200)
        .expect("a 429 before the burst and ten seconds' rate were spent");
    assert_eq!(slowed.status, 429, "{}", slowed.body);
    assert!(slowed.body["message"].is_string(), "{}", slowed.body);
    let wait: u64 = slowed.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0);
    assert_eq!(
        server.call(&ola, "reviewer_reveals_get", json!({})).status,
        200,
        "another session keeps its own bound"
    );
}

const BAD_CODE: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn plain_http_is_refused_off_loopback() {
    let p = project();
    for bind in ["0.0.0.0:0", "192.0.2.1:8080", "[::]:0"] {
        let (ok, _, err) = p.run(&["serve", "--behind-proxy", "--bind", bind]);
        assert!(!ok, "{bind}");
        assert!(
            err.contains("loopback address only") && err.contains("HTTPS"),
            "{bind}: {err}"
        );
    }
    assert!(
        !tls_files(&p).0.exists(),
        "refused before anything was made"
    );
}

fn tls_files(p: &Project) -> (std::path::PathBuf, std::path::PathBuf) {
    verdikt_serve::project_files(&p.db())
}

#[test]
fn behind_a_reverse_proxy_it_serves_plain_http_and_limits_the_forwarded_client() {
    let p = project();
    let server = Server::start(&p, &["--behind-proxy"]);
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    assert!(
        server.printed.contains("reverse proxy"),
        "{}",
        server.printed
    );
    assert!(!tls_files(&p).0.exists(), "no certificate is made");
    // The browser talks HTTPS to the proxy: the cookie stays Secure.
    let ana = server.session(&p, "ana");
    first_waiting(&server, &ana);
    let r = server.get("/");
    assert_eq!(
        r.header("content-security-policy"),
        Some(verdikt_serve::CSP)
    );
    // Bad codes count against the client the proxy names (the last address it forwards).
    for _ in 0..5 {
        assert_eq!(server.open_forwarded(BAD_CODE, "203.0.113.7").status, 401);
    }
    assert_eq!(server.open_forwarded(BAD_CODE, "203.0.113.7").status, 429);
    let forged = server.open_forwarded(BAD_CODE, "203.0.113.7, 198.51.100.9");
    assert_eq!(forged.status, 401, "only the proxy's own entry counts");
    let ola = invite(&p, "ola", "1h");
    assert_eq!(server.open_forwarded(&ola, "198.51.100.10").status, 200);
}

#[test]
fn over_https_x_forwarded_for_is_not_trusted() {
    let p = project();
    let server = Server::start(&p, &[]);
    for i in 0..5 {
        let from = format!("203.0.113.{i}");
        assert_eq!(server.open_forwarded(BAD_CODE, &from).status, 401);
    }
    let good = invite(&p, "ana", "1h");
    let r = server.open_forwarded(&good, "198.51.100.10");
    assert_eq!(
        r.status, 429,
        "the connection's own address counted: {}",
        r.body
    );
}

#[test]
fn answers_are_served_while_the_cli_imports() {
    let p = project();
    let server = Server::start(&p, &[]);
    let ana = server.session(&p, "ana");
    let id = first_waiting(&server, &ana);
    let big: String = (0..20_000)
        .map(|i| {
            format!(
                "{{\"id\":\"bulk-{i}\",\"lang\":\"pl\",\"prompt\":\"prompt {i} with some words to store\",\"chosen\":\"no\",\"rejected\":\"yes {i}\"}}\n"
            )
        })
        .collect();
    let file = p.write("bulk.jsonl", big);
    let mut import = p
        .cmd()
        .args(["import", s(&file)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the import holds the project's write lock (its one transaction).
    let probe = rusqlite::Connection::open(p.db()).unwrap();
    probe.busy_timeout(Duration::ZERO).unwrap();
    let locked = loop {
        if import.try_wait().unwrap().is_some() {
            break false;
        }
        if probe.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_err() {
            break true;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        locked,
        "the import finished before it was seen holding the lock"
    );
    let asked = Instant::now();
    let r = server.call(
        &ana,
        "review_submit",
        json!({ "id": id, "answer": answer("") }),
    );
    assert_eq!(r.status, 200, "busy is retried, never shown: {}", r.body);
    eprintln!(
        "a submit during the import was acknowledged after {:?}",
        asked.elapsed()
    );
    assert!(import.wait().unwrap().success());
    assert_eq!(
        p.sql::<i64>("SELECT count(*) FROM samples WHERE ext_id LIKE 'bulk-%'"),
        [20_000]
    );
    assert_eq!(p.sql::<i64>("SELECT count(*) FROM annotations"), [1]);
}

#[test]
fn the_certificate_is_made_once_and_kept_beside_the_project() {
    let p = project();
    let fingerprint = |printed: &str| {
        printed
            .split(" SHA-256 ")
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    let first = Server::start(&p, &[]);
    let made = fingerprint(&first.printed);
    assert_eq!(made.len(), 32 * 3 - 1, "{made}");
    drop(first);
    let again = Server::start(&p, &[]);
    assert_eq!(
        fingerprint(&again.printed),
        made,
        "the same certificate next time"
    );
    drop(again);
    let (cert, key) = verdikt_serve::project_files(&p.db());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is its owner's only: {mode:o}");
    }
    // Half a pair (here the user's own file at the key's place) is refused, never replaced.
    std::fs::remove_file(&cert).unwrap();
    std::fs::write(&key, "mine").unwrap();
    let (ok, _, err) = p.run(&["serve", "--bind", "127.0.0.1:0"]);
    assert!(!ok && err.contains("only one of"), "{err}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "mine");
}

#[test]
fn the_ui_bundle_is_built_into_the_binary() {
    let p = project();
    let server = Server::launch(&p, &[]);
    let built = std::fs::read_to_string(common::repo().join("ui/dist/index.html"))
        .expect("build the UI first (scripts/setup), then this binary");
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, Value::String(built));
    assert_eq!(
        r.header("content-security-policy"),
        Some(verdikt_serve::CSP)
    );
    assert!(
        !server.printed.contains("only the API"),
        "{}",
        server.printed
    );
}

#[test]
fn the_ui_bundle_has_no_inline_script() {
    let index = common::repo().join("ui/dist/index.html");
    let html = std::fs::read_to_string(&index).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the UI first (scripts/setup)",
            index.display()
        )
    });
    assert!(html.contains("<script"), "{html}");
    let lower = html.to_ascii_lowercase();
    for (at, _) in lower.match_indices("<script") {
        let tag = &lower[at..at + lower[at..].find('>').unwrap()];
        assert!(
            tag.contains("src="),
            "inline script in {}: {tag}",
            index.display()
        );
    }
}
