//! "Share with reviewers" on the Curator screen in the real window: Invite waits for the
//! server; Start serves the open project on 127.0.0.1 and shows the address and the
//! certificate's fingerprint; an invite link is shown once; "who is working" follows a
//! browser's answer on its timer, without leaving the screen; Revoke ends the session; Stop
//! closes the port.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::json;

use crate::webdriver::Session;
use crate::{Desk, add_reviewer, count, wait_text, wait_text_for};

/// What a browser's session leaves in the project (as `verdikt serve` writes it; tests/serve.rs
/// drives the server itself): the invite used, an open session seen now, and its answer to the
/// one queued sample.
fn a_browser_answers(db: &Path) {
    Connection::open(db)
        .unwrap()
        .execute_batch(
            "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
             INSERT INTO samples (id, dataset_id, ext_id, language, prompt) VALUES (1, 1, 's-1', 'pl', 'p');
             INSERT INTO triage_reasons (sample_id, reason) VALUES (1, 'audit_sample');
             UPDATE serve_invites SET used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
             INSERT INTO serve_sessions (id, reviewer_id, invite_id, token_sha256, expires_at, last_seen_at)
               SELECT 7, reviewer_id, id, 'x', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 hour'),
                      strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM serve_invites;
             INSERT INTO annotations (sample_id, reviewer_id, version, q1, source)
               SELECT 1, reviewer_id, 1, 'no', 'session:7' FROM serve_sessions;",
        )
        .unwrap();
}

fn value(s: &Session, css: &str) -> String {
    s.wait_for(css, 10);
    s.exec(
        "return document.querySelector(arguments[0]).value;",
        json!([css]),
    )
    .as_str()
    .unwrap_or_default()
    .to_string()
}

#[test]
#[ignore = "drives the real window: needs Xvfb and tauri-driver (scripts/test runs it)"]
fn sharing_from_the_curator_screen_starts_invites_shows_who_works_and_stops() {
    let desk = Desk::new();
    let s = desk.open(&[]);
    add_reviewer(&s, "ana", "pl");
    let invite = s.wait_for("[data-testid='share-invite-ana']", 5);
    assert_eq!(invite.attr("disabled"), "true", "no server, no link");

    // A port nobody uses, so that parallel tests and a running `verdikt serve` don't collide.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.wait_for("[data-testid='share-port']", 5)
        .fill(&port.to_string());
    s.wait_for("[data-testid='share-start']", 5).click();
    let url = format!("https://127.0.0.1:{port}/");
    wait_text_for(&s, "[data-testid='share-url']", &url, 30);
    let fingerprint = s.wait_for("[data-testid='share-fingerprint']", 5).text();
    assert_eq!(fingerprint.len(), 95, "{fingerprint}");
    TcpStream::connect(("127.0.0.1", port)).expect("served");

    invite.click();
    let link = value(&s, "[data-testid='share-invite-link']");
    assert!(link.starts_with(&format!("{url}invite#")), "{link}");
    assert_eq!(count(&desk.db, "SELECT count(*) FROM serve_invites"), 1);
    s.shot("share-1-serving-and-invite");

    a_browser_answers(&desk.db);
    wait_text(&s, "[data-testid='share-sources-ana']", "browser 1");
    wait_text(
        &s,
        "[data-testid='share-sessions-ana']",
        "1 open · seen just now",
    );
    wait_text(&s, "[data-testid='share-progress-ana']", "1 / 1 answered");
    s.exec(
        "document.querySelector(\"[data-testid='share-activity']\").scrollIntoView({block: 'end'});",
        json!([]),
    );
    s.shot("share-2-who-is-working");

    s.wait_for("[data-testid='share-revoke-ana']", 5).click();
    wait_text(
        &s,
        "[data-testid='curator-saved']",
        "Ended 1 browser session(s) and 0 unused invite(s) of ana.",
    );
    wait_text(&s, "[data-testid='share-sessions-ana']", "none");

    s.wait_for("[data-testid='share-stop']", 5).click();
    s.wait_for("[data-testid='share-start']", 10);
    let closed = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2));
    assert!(closed.is_err(), "the port is closed after Stop");
    s.shot("share-3-stopped");
}
