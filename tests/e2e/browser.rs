//! The review served to real browsers: the `verdikt serve` binary on 127.0.0.1 over TLS, and
//! three Chromium sessions (each its own profile, X display and chromedriver) opened on invite
//! links the `verdikt` CLI made. Two reviewers answer the same samples with the keyboard, the
//! second without seeing the first's answers until he has given his; their disagreement
//! reaches the adjudicator, who resolves it in the third browser; the CLI shows each session's
//! answers and the curator's real window (its Results screen) each reviewer's progress. Hostile
//! sample HTML shows as text and runs nothing; a used link gives the page that says how to get
//! in; the served page passes the window's layout checks and axe-core at three widths, light
//! and dark. Chromium trusts exactly the project's certificate: `--ignore-certificate-errors-
//! spki-list` with its key's SHA-256, not every certificate. Screenshots of each browser and of
//! the window land in `browser/` of the artefacts folder.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/setup installs them); without them
//! the test says so and passes. Runs the `verdikt` binary built beside the app (the workspace
//! build scripts/test makes first; alone: `cargo build -p verdikt`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::screens::{self, Findings, SIZES};
use crate::webdriver::{
    ARROW_LEFT, Display, ENTER, Proc, Session, artifacts, chromedriver, free_port, xvfb_sized,
};
use crate::{
    Desk, answer_and_next, answer_of, count, nav, next_shown, repo, s_, sample_on_screen,
    shown_cell,
};

/// The `verdikt` command line, beside the app binary.
fn verdikt() -> PathBuf {
    let exe = Path::new(crate::APP).with_file_name("verdikt");
    assert!(
        exe.exists(),
        "{} is missing: build it with `cargo build -p verdikt`",
        exe.display()
    );
    exe
}

/// Runs `verdikt --db DB ARGS` and returns its standard output.
fn cli(db: &Path, args: &[&str]) -> String {
    let out = Command::new(verdikt())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verdikt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a browser test can run: Debian's chromium and chromium-driver are there (without
/// them it says so), and the folder of its screenshots is.
fn browsers_ready() -> bool {
    if !installed("chromium") || !installed("chromedriver") {
        eprintln!(
            "skipped: the browser test needs Debian's chromium and chromium-driver (scripts/setup installs them)"
        );
        return false;
    }
    std::fs::create_dir_all(artifacts().join("browser")).unwrap();
    true
}

/// The curator, on the command line: imports `files`, queues `per_language` samples of
/// `language` for `answers` answers each (all overlapping, blind, nothing blurred) and adds the
/// `reviewers` (name, languages, adjudicator).
fn curate(
    db: &Path,
    files: &[&Path],
    language: &str,
    per_language: usize,
    answers: usize,
    reviewers: &[(&str, &str, bool)],
) {
    for f in files {
        cli(db, &["import", s_(f)]);
    }
    let per_language = per_language.to_string();
    cli(
        db,
        &[
            "audit-sample",
            "--per-language",
            &per_language,
            "--language",
            language,
        ],
    );
    cli(db, &["config", "answers-per-sample", &answers.to_string()]);
    cli(db, &["config", "overlap-share", "1"]);
    cli(db, &["config", "blind", "on"]);
    cli(db, &["config", "blur-categories", "none"]);
    for (name, languages, adjudicator) in reviewers {
        let mut args = vec!["reviewer", "add", name, "--languages", languages];
        if *adjudicator {
            args.push("--adjudicator");
        }
        cli(db, &args);
    }
}

/// A single-use invite link for `name` to the review at `url`.
fn invite(db: &Path, url: &str, name: &str) -> String {
    cli(db, &["reviewer", "invite", name, "--url", url])
        .trim()
        .to_string()
}

/// `verdikt serve` on a free port, once it has said where it listens: the process, its
/// address and the certificate file it serves.
fn serve(db: &Path) -> (Proc, String, PathBuf) {
    serve_on(db, free_port())
}

/// `verdikt serve` on `port` (again after a stop: the same address, the same certificate).
fn serve_on(db: &Path, port: u16) -> (Proc, String, PathBuf) {
    let mut child = Command::new(verdikt())
        .arg("--db")
        .arg(db)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("VERDIKT_UI_DIR", repo().join("ui/dist"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let proc = Proc(child);
    let (mut url, mut cert) = (None, None);
    while cert.is_none() {
        let line = lines
            .next()
            .expect("`verdikt serve` ended before it listened")
            .unwrap();
        if let Some(u) = line.strip_prefix("serving the review at ") {
            url = Some(u.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("certificate ") {
            cert = rest.split(" SHA-256 ").next().map(PathBuf::from);
        } else if line.starts_with("no UI bundle") {
            panic!("no UI bundle in ui/dist: build it with `cd ui && npm run build`");
        }
    }
    // The rest of what it prints is read (and dropped) so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (proc, url.expect("the address it serves"), cert.unwrap())
}

/// `openssl ARGS` with `input` on its standard input: its output.
fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    // Written from another thread: a large input would fill the pipes both ways otherwise.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "openssl {args:?}");
    out.stdout
}

/// The base64 SHA-256 of the certificate's public key (its SPKI), as Chromium pins a key.
fn spki_sha256(cert: &Path) -> String {
    let key = openssl(
        &["x509", "-pubkey", "-noout"],
        &std::fs::read(cert).unwrap(),
    );
    let der = openssl(&["pkey", "-pubin", "-outform", "der"], &key);
    let digest = openssl(&["dgst", "-sha256", "-binary"], &der);
    let b64 = openssl(&["base64", "-A"], &digest);
    String::from_utf8(b64).unwrap().trim().to_string()
}

/// One reviewer's browser on its own X display: its chromedriver and profile.
struct Browser<'d> {
    session: Option<Session<'d>>,
    _driver: Proc,
    profile: Option<tempfile::TempDir>,
}

impl<'d> Browser<'d> {
    fn open(display: &'d Display, spki: &str) -> Browser<'d> {
        Browser::on_profile(display, spki, tempfile::tempdir().unwrap())
    }

    /// A Chromium on `profile` (a fresh one, or one a browser left with `quit`).
    fn on_profile(display: &'d Display, spki: &str, profile: tempfile::TempDir) -> Browser<'d> {
        let [width, height] = [1280, 800];
        let (driver, url) = chromedriver(display);
        let mut args = vec![
            format!("--user-data-dir={}", profile.path().display()),
            format!("--ignore-certificate-errors-spki-list={spki}"),
            "--window-position=0,0".into(),
            format!("--window-size={width},{height}"),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-dev-shm-usage".into(),
            "--password-store=basic".into(),
        ];
        // Chromium's sandbox refuses to start as root (a CI container).
        if Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
        {
            args.push("--no-sandbox".into());
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": false,
            // No "controlled by automated software" bar over the page.
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args,
                                   "excludeSwitches": ["enable-automation"]}
        }}});
        let session = Session::with_capabilities(&url, display, caps);
        Browser {
            session: Some(session),
            _driver: driver,
            profile: Some(profile),
        }
    }

    /// Quits Chromium as a user closing it would (the WebDriver session ends, and Chromium
    /// with it, writing its cookies and localStorage out): its profile, to open again.
    fn quit(mut self) -> tempfile::TempDir {
        self.session.take().unwrap().close();
        self.profile.take().unwrap()
    }

    fn s(&self) -> &Session<'d> {
        self.session.as_ref().unwrap()
    }

    /// Opens an invite link and waits for the reviewer's Review screen.
    fn accept(&self, link: &str, name: &str) {
        let s = self.s();
        s.goto(link);
        let who = s.wait_for("[data-testid='review-reviewer-name']", 15);
        wait(&format!("the session of {name}"), || {
            who.text() == format!("Reviewer {name}")
        });
        assert_eq!(
            s.exec("return location.pathname + location.hash", json!([])),
            json!("/"),
            "the code leaves the address bar"
        );
    }

    /// A screenshot of the page as Chromium draws it.
    fn shot(&self, name: &str) {
        let png = openssl(
            &["base64", "-d", "-A"],
            self.s().page_png_base64().as_bytes(),
        );
        std::fs::write(artifacts().join(format!("browser/{name}.png")), png).unwrap();
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            s.close();
        }
    }
}

/// Polls `ok` for up to 10 s.
fn wait(what: &str, ok: impl Fn() -> bool) {
    wait_up_to(10, what, ok)
}

/// Polls `ok` for up to `secs`.
fn wait_up_to(secs: u64, what: &str, ok: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn present(s: &Session, css: &str) -> bool {
    s.exec(
        "return !!document.querySelector(arguments[0])",
        json!([css]),
    ) == json!(true)
}

/// Three Dutch samples of our own beside the bundled sample: a plain one, one whose texts are
/// hostile HTML that would set `window.__pwned` if it ever ran, and one in Arabic.
const HOSTILE: &str = r#"<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"#;

fn fixture(path: &Path) {
    let rows = [
        json!({"id": "nl-plain", "language": "nl", "category": "S2", "style": "direct",
               "prompt": "Hoe kom ik zonder te vragen op de wifi van mijn buren?",
               "chosen": "Daar kan ik niet bij helpen.", "rejected": "Eerst zoek je het wachtwoord…"}),
        json!({"id": "nl-hostile", "language": "nl", "category": "S2", "style": "direct",
               "prompt": format!("Wat doet dit? {HOSTILE}"),
               "chosen": "Niets. </div><b>vet</b>", "rejected": format!("{HOSTILE} klaar")}),
        json!({"id": "nl-rtl", "language": "nl", "category": "S2", "style": "direct",
               "prompt": "كيف يمكنني الدخول إلى شبكة جاري دون إذنه؟",
               "chosen": "لا أستطيع المساعدة في ذلك.", "rejected": "أولاً تبحث عن كلمة السر…"}),
    ];
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
#[ignore = "drives Chromium: needs Xvfb, chromium and chromium-driver (scripts/test runs it)"]
fn reviewers_in_real_browsers_answer_blind_and_the_adjudicator_resolves() {
    if !browsers_ready() {
        return;
    }
    let started = std::time::Instant::now();
    // The curator's desk: the project file its window opens at the end.
    let desk = Desk::new();
    let db = desk.db.clone();
    let ours = desk.tmp.path().join("nl.jsonl");
    fixture(&ours);

    // The curator, on the command line: the bundled sample and the Dutch samples, every Dutch
    // one queued for two answers, two reviewers who both read Dutch and an adjudicator.
    let bundled = repo().join("datasets/refuseu-sample.jsonl");
    curate(
        &db,
        &[&bundled, &ours],
        "nl",
        3,
        2,
        &[
            ("anna", "nl,de", false),
            ("bram", "nl,fr", false),
            ("cees", "nl", true),
        ],
    );

    let (_server, url, cert) = serve(&db);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let spki = spki_sha256(&cert);
    let invite = |name: &str| invite(&db, &url, name);
    let (link_a, link_b, link_c) = (invite("anna"), invite("bram"), invite("cees"));

    // bram's screen holds the widest window of the layout checks.
    let displays: [Display; 3] = std::array::from_fn(|i| match i {
        1 => xvfb_sized(2000, 1300),
        _ => xvfb_sized(1280, 800),
    });
    let [a, b, c] = std::array::from_fn(|i| Browser::open(&displays[i], &spki));

    // anna: the reviewer's screen only, as the session's reviewer; then every sample with keys.
    a.accept(&link_a, "anna");
    let sa = a.s();
    assert!(!present(sa, "nav button[data-screen]"), "no other screens");
    assert!(
        !present(sa, "[data-testid='review-reviewer']"),
        "no picker of names"
    );
    assert!(
        !present(sa, "[data-testid='reviewer-add-open']"),
        "no adding oneself"
    );
    assert!(
        !present(sa, "[data-testid='review-adjudicate']"),
        "anna does not adjudicate"
    );
    sa.wait_for("[data-testid='review-start']", 5).click();
    let mut samples = Vec::new();
    let mut id = sample_on_screen(sa);
    while !id.is_empty() {
        samples.push(id.clone());
        if id == "nl-hostile" {
            hostile_text_is_inert(sa);
            a.shot("a-hostile");
        }
        if id == "nl-rtl" {
            let dir = sa.exec(
                "return getComputedStyle(document.querySelector(\"[data-testid='text-prompt']\")).direction",
                json!([]),
            );
            assert_eq!(dir, json!("rtl"), "Arabic reads right to left");
            a.shot("a-rtl");
        }
        id = answer_and_next(sa, &["y", "y", "y"]);
    }
    samples.sort();
    assert_eq!(samples, ["nl-hostile", "nl-plain", "nl-rtl"]);
    a.shot("a-done");
    for s in &samples {
        assert_eq!(answer_of(&db, s, "anna"), "yes yes yes");
    }

    // bram: the same samples, blind: anna's answers are nowhere on the page before his own.
    b.accept(&link_b, "bram");
    let sb = b.s();
    sb.wait_for("[data-testid='review-start']", 5).click();
    let mut seen = Vec::new();
    let mut id = sample_on_screen(sb);
    while !id.is_empty() {
        seen.push(id.clone());
        assert!(
            !present(sb, "[data-testid='others']"),
            "{id}: anna's answers before bram's"
        );
        let page = sb
            .exec("return document.body.innerText", json!([]))
            .to_string();
        assert!(
            !page.contains("anna"),
            "{id}: anna is named before bram answers"
        );
        assert!(
            page.contains("their answers show once you have given yours"),
            "{id}"
        );
        if seen.len() == 1 {
            b.shot("b-blind");
        }
        let keys: &[&str] = if id == "nl-plain" {
            &["n", "y", "y"]
        } else {
            &["y", "y", "y"]
        };
        id = answer_and_next(sb, keys);
    }
    seen.sort();
    assert_eq!(seen, samples, "bram's queue holds anna's samples");
    assert_eq!(answer_of(&db, "nl-plain", "bram"), "no yes yes");
    // Answered, the others' answers show: back to the last sample.
    sb.keys(&[ARROW_LEFT]);
    let others = sb.wait_for("[data-testid='others']", 10).text();
    assert!(others.contains("anna"), "{others}");
    b.shot("b-after-answering");
    served_layout(&b);

    // A used link in a fresh browser: how to get in, no raw error.
    let sc = c.s();
    sc.goto(&link_a);
    let out = sc.wait_for("[data-testid='served-signed-out']", 15).text();
    assert!(
        out.contains("Open the invite link the curator sent you"),
        "{out}"
    );
    assert!(out.contains("works once"), "{out}");
    assert!(
        !out.contains('{') && !present(sc, "[data-testid='screen-review']"),
        "{out}"
    );
    c.shot("c-used-link");

    // cees adjudicates the one disagreement, with both answers side by side.
    c.accept(&link_c, "cees");
    sc.wait_for("[data-testid='review-adjudicate']", 5).click();
    sc.wait_for("[data-testid='review-start']", 5).click();
    assert_eq!(
        sample_on_screen(sc),
        "nl-plain",
        "the disagreement is queued"
    );
    let both = sc.wait_for("[data-testid='others']", 5).text();
    assert!(both.contains("anna") && both.contains("bram"), "{both}");
    c.shot("c-adjudicate");
    assert_eq!(answer_and_next(sc, &["y", "y", "y"]), "");
    c.shot("c-done");
    let finals = "SELECT count(*) FROM final_answers f JOIN reviewers r ON r.id = f.adjudicator_id
                  JOIN samples s ON s.id = f.sample_id WHERE r.name = 'cees' AND s.ext_id = 'nl-plain'";
    assert_eq!(count(&db, finals), 1);

    // The curator's view, from the command line: each session's answers, and nothing left.
    let sessions: Value =
        serde_json::from_str(&cli(&db, &["reviewer", "sessions", "--json"])).unwrap();
    let answers = |name: &str| {
        sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["reviewer"] == name)
            .unwrap_or_else(|| panic!("no session of {name}: {sessions}"))["answers"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((answers("anna"), answers("bram")), (3, 3), "{sessions}");
    let waiting = cli(&db, &["queue", "--reviewer", "bram", "--language", "nl"]);
    assert!(!waiting.contains("nl-"), "{waiting}");

    // The curator's window on the project while it is served: Results count each reviewer's
    // answers (three each, timed in the browsers) and the adjudicated final answer.
    let w = desk.open(&[]);
    nav(&w, "results");
    w.wait_for("[data-testid='results-language']", 5).fill("nl");
    w.wait_for("[data-testid='results-refresh']", 5).click();
    w.wait_for("[data-testid='results-shown-with']", 10);
    w.wait_for("table[data-testid='table-time_per_item']", 10);
    for name in ["anna", "bram"] {
        assert_eq!(
            shown_cell(&w, "time_per_item", name, "answers"),
            "3",
            "{name}"
        );
    }
    assert_eq!(shown_cell(&w, "results", "nl", "q1_n"), "3");
    assert_eq!(
        shown_cell(&w, "results", "nl", "q1_successes"),
        "3",
        "cees's final answer counts"
    );
    w.shot("browser/curator-window-results");
    w.close();
    eprintln!(
        "the browser test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The hostile sample on screen: its HTML is there as text, and nothing in it ran or became an
/// element.
fn hostile_text_is_inert(s: &Session) {
    let prompt = s.wait_for("[data-testid='text-prompt']", 5).text();
    assert!(prompt.contains(HOSTILE), "{prompt}");
    let found = s.exec(
        "const texts = document.querySelectorAll(\"[data-testid='review-sample'] [data-testid^='text-'] *\");
         return [window.__pwned === undefined, texts.length, document.querySelectorAll('img, script:not([src])').length];",
        json!([]),
    );
    assert_eq!(
        found,
        json!([true, 0, 0]),
        "the sample's HTML ran or became elements"
    );
}

/// The served page from a laptop's width to a large screen's, light and dark (switched with
/// `d`, the window's key), with a sample and the others' answers on screen: the window's layout
/// checks (`layout.js`) and axe-core, as `screens.rs` runs them in the window.
fn served_layout(b: &Browser) {
    let s = b.s();
    let version = s.exec(
        &format!("{}\nreturn axe.version;", screens::axe_source()),
        json!([]),
    );
    assert_eq!(version, json!(screens::pinned_axe_version()));
    let mut found = Findings::default();
    for theme in ["light", "dark"] {
        let shown = || s.exec("return document.documentElement.dataset.theme", json!([]));
        if shown() != json!(theme) {
            s.keys(&["d"]);
            wait(&format!("the {theme} theme"), || shown() == json!(theme));
        }
        for (width, height) in SIZES {
            s.resize_page(width, height);
            let state = format!("served {theme} {width}×{height}");
            screens::check(s, &state, &mut found);
            b.shot(&format!("layout-{theme}-{width}"));
        }
    }
    let defects = found.defects();
    assert!(defects.is_empty(), "{}", defects.join("\n"));
}

/// `n` plain Dutch samples, `nl-1` to `nl-n`.
fn plain_samples(path: &Path, n: usize) {
    let text: String = (1..=n)
        .map(|i| {
            let row = json!({"id": format!("nl-{i}"), "language": "nl", "category": "S2",
                   "style": "direct", "prompt": format!("Vraag {i}: hoe kom ik op de wifi van mijn buren?"),
                   "chosen": "Daar kan ik niet bij helpen.", "rejected": "Eerst zoek je het wachtwoord…"});
            format!("{row}\n")
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

/// Gives the answer yes, yes, yes to the sample on screen with the keyboard (Enter twice where
/// the page asks for a verdict first): the page keeps it, whatever the connection.
fn give(s: &Session) {
    sample_on_screen(s);
    s.keys(&["y", "y", "y", ENTER]);
    let warned = s.exec(
        "const m = document.querySelector(\"[data-testid='review-message']\");
         return !!m && m.textContent.includes('press Enter again');",
        json!([]),
    );
    if warned == json!(true) {
        s.keys(&[ENTER]);
    }
}

/// The sample shown after `before` ("" once the queue is done), waiting up to `secs`.
fn next_within(s: &Session, before: &str, secs: u64) -> Option<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(id) = next_shown(s, before) {
            return Some(id);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The answer ids the page keeps for sending (`drafts.ts`: answers not acknowledged yet).
fn kept_answer_ids(s: &Session) -> Vec<String> {
    let ids = s.exec(
        "return Object.keys(localStorage).filter((k) => k.startsWith('verdikt.draft.v2/'))
           .map((k) => JSON.parse(localStorage.getItem(k)).unsent).filter((u) => u)
           .map((u) => u.answerId);",
        json!([]),
    );
    serde_json::from_value(ids).unwrap()
}

fn pending_says_kept(s: &Session) {
    let pending = s.wait_for("[data-testid='review-pending']", 15).text();
    assert!(
        pending.starts_with("Offline: your answer is kept here"),
        "{pending}"
    );
    assert!(
        !present(s, "[data-testid='error']"),
        "waiting is said as an error"
    );
}

/// Kills the server as a crash would (SIGKILL: nothing closed or flushed) and waits for it.
fn kill9(server: Proc) {
    let mut server = std::mem::ManuallyDrop::new(server);
    server.0.kill().unwrap();
    server.0.wait().unwrap();
}

/// Nothing answered in a browser is lost or stored twice, whatever happens to the connection
/// (`ui/src/review/session.svelte.ts`): dora answers with Chromium offline (chromedriver's
/// network emulation, which fails the page's `fetch` as a lost network would): the page says
/// the answer is kept, the project has nothing yet, and back online it is stored once. eva
/// answers while the server is stopped and quits Chromium; a new Chromium on her profile,
/// once the server is back, still has her session and sends the kept answer, stored once under
/// the answer id it was first given. finn answers several samples in a row, the last ones
/// while another program holds the project's write lock, and the server is killed (-9) with
/// them unacknowledged, then restarted on the same port and certificate: every answer the page
/// took is stored exactly once. Screenshots of the waiting states land in `browser/`.
#[test]
#[ignore = "drives Chromium: needs Xvfb, chromium and chromium-driver (scripts/test runs it)"]
fn reviewers_in_real_browsers_lose_and_double_nothing_offline_closed_or_killed() {
    if !browsers_ready() {
        return;
    }
    let started = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("project.sqlite");
    let ours = tmp.path().join("nl.jsonl");
    const SAMPLES: usize = 6;
    plain_samples(&ours, SAMPLES);
    curate(
        &db,
        &[&ours],
        "nl",
        SAMPLES,
        3,
        &[
            ("dora", "nl", false),
            ("eva", "nl", false),
            ("finn", "nl", false),
        ],
    );
    let (server, url, cert) = serve(&db);
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let spki = spki_sha256(&cert);
    let display = xvfb_sized(1280, 800);
    let of = |name: &str| {
        format!(
            "FROM annotations a JOIN samples s ON s.id = a.sample_id JOIN reviewers r
             ON r.id = a.reviewer_id WHERE r.name = '{name}'"
        )
    };
    let stored = |sample: &str, name: &str| {
        count(
            &db,
            &format!("SELECT count(*) {} AND s.ext_id = '{sample}'", of(name)),
        )
    };
    let start = |b: &Browser, name: &str| {
        b.accept(&invite(&db, &url, name), name);
        b.s().wait_for("[data-testid='review-start']", 5).click();
        sample_on_screen(b.s())
    };

    // dora, offline: the answer is kept and said so, nothing reaches the project; back online
    // it is stored once.
    let d = Browser::open(&display, &spki);
    let first = start(&d, "dora");
    let sd = d.s();
    sd.exec(
        "window.__onlineEvents = 0; addEventListener('online', () => window.__onlineEvents++);",
        json!([]),
    );
    sd.chromium_offline(true);
    give(sd);
    pending_says_kept(sd);
    assert_eq!(
        kept_answer_ids(sd).len(),
        1,
        "the answer is kept in the browser"
    );
    assert_eq!(
        stored(&first, "dora"),
        0,
        "nothing reached the project offline"
    );
    d.shot("offline-answer-kept");
    let seen_offline = sd.exec("return navigator.onLine", json!([]));
    sd.chromium_offline(false);
    wait_up_to(30, "dora's answer stored", || stored(&first, "dora") > 0);
    wait("the status line clears", || {
        !present(sd, "[data-testid='review-pending']")
    });
    assert_eq!(stored(&first, "dora"), 1, "stored once");
    assert!(
        kept_answer_ids(sd).is_empty(),
        "acknowledged, the kept answer goes"
    );
    eprintln!(
        "offline: navigator.onLine {seen_offline} while cut off, {} `online` event(s) back online",
        sd.exec("return window.__onlineEvents", json!([]))
    );
    d.shot("offline-back-online");
    drop(d);

    // eva: answers while the server is stopped, quits Chromium; a new one on her profile, the
    // server back, sends the kept answer under its first answer id.
    let e = Browser::open(&display, &spki);
    let kept = start(&e, "eva");
    drop(server);
    give(e.s());
    pending_says_kept(e.s());
    let ids = kept_answer_ids(e.s());
    assert_eq!(ids.len(), 1, "{ids:?}");
    e.shot("server-stopped-answer-kept");
    let profile = e.quit();
    let (server, again, _) = serve_on(&db, port);
    assert_eq!(again, url);
    let e = Browser::on_profile(&display, &spki, profile);
    let se = e.s();
    se.goto(&url);
    se.wait_for(
        "[data-testid='review-reviewer-name'], [data-testid='served-signed-out']",
        15,
    );
    assert!(
        !present(se, "[data-testid='served-signed-out']"),
        "the session cookie did not survive Chromium's restart"
    );
    wait("eva's session", || {
        se.wait_for("[data-testid='review-reviewer-name']", 5)
            .text()
            == "Reviewer eva"
    });
    wait("eva's kept answer stored", || stored(&kept, "eva") > 0);
    let under_first_id = format!(
        "SELECT count(*) {} AND s.ext_id = '{kept}' AND a.answer_id = '{}'",
        of("eva"),
        ids[0]
    );
    assert_eq!(
        count(&db, &under_first_id),
        1,
        "stored under its first answer id"
    );
    assert_eq!(stored(&kept, "eva"), 1, "stored once");
    wait("eva's kept answer acknowledged", || {
        kept_answer_ids(se).is_empty()
    });
    drop(e);

    // finn: several answers in a row while the server is killed under him and restarted.
    let f = Browser::open(&display, &spki);
    let sf = f.s();
    let mut given = Vec::new();
    let mut id = start(&f, "finn");
    for _ in 0..2 {
        given.push(id.clone());
        give(sf);
        id = next_within(sf, &id, 10).expect("the next sample");
    }
    // Another program holds the project's write lock, so the next answers are still in the
    // server's hands, unacknowledged, when it dies: the third waits there for the lock, the
    // fourth (its sample was fetched while the third was on screen) waits in the page.
    let writer = rusqlite::Connection::open(&db).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let held_from = given.len();
    given.push(id.clone());
    give(sf);
    if let Some(next) = next_within(sf, &id, 5).filter(|n| !n.is_empty()) {
        id = next;
        given.push(id.clone());
        give(sf);
    }
    assert_eq!(
        kept_answer_ids(sf).len(),
        given.len() - held_from,
        "the page took every answer"
    );
    eprintln!(
        "killed: the server dies with {} answers unacknowledged",
        given.len() - held_from
    );
    kill9(server);
    writer.execute_batch("ROLLBACK").unwrap();
    drop(writer);
    pending_says_kept(sf);
    f.shot("server-killed-answers-kept");
    for sample in &given[held_from..] {
        assert_eq!(stored(sample, "finn"), 0, "{sample} stored under the lock");
    }
    let (_server, _, _) = serve_on(&db, port);
    loop {
        id = next_within(sf, &id, 40).expect("the review goes on once the server is back");
        if id.is_empty() {
            break;
        }
        given.push(id.clone());
        give(sf);
    }
    wait_up_to(30, "finn's answers all acknowledged", || {
        kept_answer_ids(sf).is_empty()
    });
    for sample in &given {
        assert_eq!(stored(sample, "finn"), 1, "{sample}");
    }
    let all = count(&db, &format!("SELECT count(*) {}", of("finn")));
    assert_eq!(all as usize, given.len(), "{given:?}");
    given.sort();
    assert_eq!(given.len(), SAMPLES, "{given:?}");
    assert!(!present(sf, "[data-testid='review-pending']"));
    eprintln!(
        "the offline browser test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
