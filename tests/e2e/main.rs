//! End to end in the real window: the app binary (UI embedded) under Xvfb, driven through
//! tauri-driver and WebKitWebDriver. Imports the sample, runs a guard with the test model,
//! reviews three samples with the keyboard only, exports, checks the hostile sample shows as
//! text, closes the window while a job runs (it asks first), runs a guard on two llama-servers
//! that want an API key, runs the judge on the disputed texts and sets it and the keep rule on
//! the Curator screen, blurs a self-harm sample's harmful text until the reviewer reveals it
//! (`care.rs`, with `pixels.rs` to read the screenshots), and saves a screenshot of each screen
//! in `target/e2e-artifacts/`. `screens.rs` sees every screen at three widths, light and dark,
//! with three projects, and checks its layout (`layout.js`), accessibility (axe-core) and focus
//! order. `browser.rs` drives the review served to Chromium by `verdikt serve`.
//!
//! Needs Xvfb, WebKitWebDriver and tauri-driver (scripts/setup installs them), the test
//! model and llama-server (`scripts/llama-tools`); `scripts/test` runs it with `--ignored`.

mod browser;
mod care;
mod llama;
mod pixels;
mod screens;
mod sheet;
mod webdriver;
mod x11;

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use webdriver::{ARROW_LEFT, Display, ENTER, Proc, Session, artifacts, tauri_driver, xvfb_sized};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn test_model() -> PathBuf {
    std::env::var_os("VERDIKT_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap())
                .join(".cache/verdikt/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        })
}

const APP: &str = env!("CARGO_BIN_EXE_verdikt-app");

/// One test's own X display, tauri-driver and folder: the app's home is `home/`, the web
/// view's storage `xdg-data/`, and its project is `project.sqlite` unless the test is about the
/// first launch, which makes its own in the home. Fields drop in order: the driver before the
/// display, the folder last.
struct Desk {
    url: String,
    _driver: Proc,
    display: Display,
    tmp: tempfile::TempDir,
    db: PathBuf,
}

impl Desk {
    fn new() -> Desk {
        Desk::with_project(true, (1280, 800))
    }

    fn first_launch() -> Desk {
        Desk::with_project(false, (1280, 800))
    }

    /// On a screen of `width` × `height`, for windows of any size up to it.
    fn sized(width: u32, height: u32) -> Desk {
        Desk::with_project(true, (width, height))
    }

    fn with_project(own: bool, (width, height): (u32, u32)) -> Desk {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        // The web view's own storage (localStorage: theme, font size, a review draft) too, so
        // no test starts with what another left there.
        let web = tmp.path().join("xdg-data");
        let display = xvfb_sized(width, height);
        let mut env = vec![("VERDIKT_HOME", home.as_path()), ("XDG_DATA_HOME", &web)];
        let db = if own {
            tmp.path().join("project.sqlite")
        } else {
            home.join("verdikt.sqlite")
        };
        if own {
            env.push(("VERDIKT_DB", &db));
        }
        let (driver, url) = tauri_driver(&display, &env);
        Desk {
            url,
            _driver: driver,
            display,
            tmp,
            db,
        }
    }

    /// Starts the app and waits until it is ready. The files it is opened with count as the
    /// user's choice, like picked or dropped ones (WebDriver cannot drive the native dialog);
    /// other typed paths are refused.
    fn open(&self, chosen: &[&Path]) -> Session<'_> {
        let args: Vec<&str> = chosen.iter().map(|p| s_(p)).collect();
        self.open_args(&args)
    }

    /// Starts the app with these command-line arguments and waits until it is ready.
    fn open_args(&self, args: &[&str]) -> Session<'_> {
        let s = Session::start(&self.url, &self.display, Path::new(APP), args);
        s.wait_for("[data-ready]", 20);
        s
    }

    fn x(&self) -> x11::X {
        x11::X::open(&self.display.name)
    }
}

fn nav(s: &Session, screen: &str) {
    s.wait_for(&format!("nav button[data-screen='{screen}']"), 10)
        .click();
    s.wait_for(&format!("[data-testid='screen-{screen}']"), 10);
}

fn s_(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
#[ignore = "drives the real window: needs Xvfb, tauri-driver and the test model (scripts/test runs it)"]
fn the_whole_workflow_in_the_real_window() {
    let desk = Desk::new();
    let (tmp, db) = (&desk.tmp, &desk.db);
    let sample = repo().join("datasets/refuseu-sample.jsonl");
    let hostile = repo().join("datasets/hostile.jsonl");
    let model = test_model();
    let s = desk.open(&[&sample, &hostile, &model]);
    s.wait_for("[data-testid='screen-start']", 5);
    s.shot("01-start");

    // Import: the sample dataset and the hostile one, through the Import screen.
    nav(&s, "import");
    s.wait_for("[data-testid='import-paths']", 5)
        .fill(sample.to_str().unwrap());
    s.wait_for("[data-testid='import-preview']", 5).click();
    s.wait_for("table.preview", 20);
    s.shot("02-import-preview");
    s.wait_for("[data-testid='import-run']", 5).click();
    let report = s.wait_for("[data-testid='import-report']", 60).text();
    assert!(report.contains("Imported 336 samples"), "{report}");
    s.shot("03-import-done");
    assert_eq!(count(db, "SELECT count(*) FROM samples"), 336);

    s.wait_for("[data-testid='import-paths']", 5)
        .fill(hostile.to_str().unwrap());
    s.wait_for("[data-testid='import-run']", 5).click();
    s.wait_for("[data-testid='import-report']", 60);
    assert_eq!(count(db, "SELECT count(*) FROM samples"), 348);

    // A bad path gives a readable error naming it, not a silent nothing.
    s.wait_for("[data-testid='import-paths']", 5)
        .fill("/nonexistent/file.jsonl");
    s.wait_for("[data-testid='import-run']", 5).click();
    let err = s.wait_for("[data-testid='error']", 20).text();
    assert!(err.contains("/nonexistent/file.jsonl"), "{err}");

    // Guards: the test model on a few texts.
    nav(&s, "guards");
    start_guard_run(&s, &model, Some("6"));
    let report = s.wait_for("[data-testid='guard-report']", 300).text();
    assert!(report.contains("done"), "{report}");
    s.shot("04-guards");
    assert!(count(db, "SELECT count(*) FROM verdicts") >= 6);
    assert_eq!(
        count(db, "SELECT count(*) FROM guard_runs WHERE status = 'done'"),
        1
    );

    review_three_samples_with_the_keyboard(&s, db);

    // A new train/test split of one language: no (category, style) group in both splits, and
    // the screen's count is the database's.
    nav(&s, "export");
    s.wait_for("[data-testid='export-language']", 5).fill("de");
    s.wait_for("[data-testid='split-test-per-category']", 5)
        .fill("1");
    s.wait_for("[data-testid='split-seed']", 5).fill("7");
    s.wait_for("[data-testid='split-run']", 5).click();
    s.wait_for("[data-testid='split-report']", 30);
    let shown: i64 = s
        .wait_for("[data-testid='split-de']", 5)
        .attr("data-test")
        .parse()
        .unwrap();
    let de_test = "SELECT count(*) FROM samples WHERE language = 'de' AND split = 'test'";
    assert!(shown > 0);
    assert_eq!(count(db, de_test), shown);
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM (SELECT 1 FROM samples WHERE language = 'de'
             GROUP BY category, style HAVING count(DISTINCT split) > 1)"
        ),
        0
    );

    // Export: TRL JSONL of that language, checked line by line.
    let out = tmp.path().join("de.jsonl");
    s.wait_for("[data-testid='export-out']", 5)
        .fill(out.to_str().unwrap());
    s.wait_for("[data-testid='export-run']", 5).click();
    let report = s.wait_for("[data-testid='export-report']", 60).text();
    s.shot("06-export");
    let text = std::fs::read_to_string(&out).expect("the exported file");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected = count(
        db,
        "SELECT count(*) FROM samples WHERE language = 'de' AND chosen IS NOT NULL",
    );
    assert_eq!(rows.len() as i64, expected, "{report}");
    assert!(
        rows.iter().all(|r| r["prompt"].is_string()
            && r["chosen"].is_string()
            && r["rejected"].is_string())
    );

    nav(&s, "results");
    s.shot("07-results");
    s.close();
}

/// Starts a guard run on the Guards screen with the test model, on `limit` texts or all.
fn start_guard_run(s: &Session, model: &Path, limit: Option<&str>) {
    s.wait_for("[data-testid='guard-profile']", 10)
        .select("llama-guard-3-1b");
    s.wait_for("[data-testid='guard-model']", 5).fill(s_(model));
    if let Some(limit) = limit {
        s.wait_for("[data-testid='guard-limit']", 5).fill(limit);
    }
    // SmolLM2 stands in for Llama Guard, whose header tokens its vocabulary lacks.
    s.wait_for("[data-testid='guard-allow-mismatch']", 5)
        .click();
    s.wait_for("[data-testid='guard-start']", 5).click();
}

/// The current answer (highest version) of reviewer `e2e` to a sample, as `q1 q2 q3 exclude`.
fn answer(db: &Path, ext_id: &str) -> (String, i64) {
    Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT a.q1 || ' ' || a.q2 || ' ' || a.q3 || ' ' || a.exclude, a.version
             FROM annotations a JOIN samples s ON s.id = a.sample_id
             JOIN reviewers r ON r.id = a.reviewer_id
             WHERE s.ext_id = ?1 AND r.name = 'e2e' ORDER BY a.version DESC LIMIT 1",
            [ext_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// The sample on screen, once a word before it (the session's first sample of a blurred
/// category, `care.rs`) has been read and passed with Space, as a reviewer does.
fn sample_on_screen(s: &Session) -> String {
    let id = s
        .wait_for("[data-testid='review-sample']", 10)
        .attr("data-sample");
    let word = "[data-testid='care-notice'][data-kind='word']";
    let shown = || {
        s.exec(
            "return !!document.querySelector(arguments[0])",
            serde_json::json!([word]),
        )
    };
    if shown() == serde_json::Value::Bool(true) {
        s.keys(&[" "]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while shown() == serde_json::Value::Bool(true) {
            assert!(
                std::time::Instant::now() < deadline,
                "the word before {id} stays"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    id
}

/// Waits until the Review screen shows another sample than `before`.
fn next_sample(s: &Session, before: &str) -> String {
    let next = next_or_done(s, before);
    assert!(!next.is_empty(), "the queue ended after {before}");
    next
}

/// The Curator screen fills the queue: triage, then the stratified audit sample (the screen's
/// count is the database's).
fn fill_the_queue(s: &Session, db: &Path, per_language: &str, languages: &str) -> i64 {
    nav(s, "curator");
    s.wait_for("[data-testid='review-triage']", 10).click();
    s.wait_for("[data-testid='triage-report']", 120);
    s.wait_for("[data-testid='audit-sample-per-language']", 5)
        .fill(per_language);
    if !languages.is_empty() {
        s.wait_for("[data-testid='audit-sample-languages']", 5)
            .fill(languages);
    }
    s.wait_for("[data-testid='audit-sample-draw']", 5).click();
    let drawn: i64 = s
        .wait_for("[data-testid='audit-sample-report']", 30)
        .attr("data-drawn")
        .parse()
        .unwrap();
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM triage_reasons WHERE reason = 'audit_sample'"
        ),
        drawn
    );
    drawn
}

/// Adds a reviewer on the Curator screen.
fn add_reviewer(s: &Session, name: &str, languages: &str) {
    nav(s, "curator");
    s.wait_for("[data-testid='curator-reviewer-name']", 5)
        .fill(name);
    s.wait_for("[data-testid='curator-reviewer-languages']", 5)
        .fill(languages);
    s.wait_for("[data-testid='curator-reviewer-add']", 5)
        .click();
    s.wait_for(
        &format!("[data-testid='curator-reviewers'] tr[data-reviewer='{name}']"),
        10,
    );
}

/// Opens Review as `name` and starts the queue.
fn review_as(s: &Session, name: &str) {
    nav(s, "review");
    s.wait_for(
        &format!("[data-testid='review-reviewer'] option[value='{name}']"),
        10,
    );
    s.wait_for("[data-testid='review-reviewer']", 5)
        .select(name);
    s.wait_for("[data-testid='review-start']", 5).click();
}

/// Triage, a reviewer, then three answers, back, a changed answer and undo, all with keys.
fn review_three_samples_with_the_keyboard(s: &Session, db: &Path) {
    let drawn = fill_the_queue(s, db, "2", "");
    assert!(drawn >= 24, "two per language in 12 languages: {drawn}");
    s.shot("04b-curator");
    add_reviewer(s, "e2e", "en,de,fr,it,es,pt,pl,cs,sk,sl,lt,lv");
    review_as(s, "e2e");

    // From here on the keyboard only.
    let first = sample_on_screen(s);
    s.shot("05-review");
    let second = answer_and_next(s, &["y", "y", "n"]);
    let third = answer_and_next(s, &["y", "n", "a"]);
    let fourth = answer_and_next(s, &["n", "y", "y", "e"]);
    assert_eq!(answer(db, &first), ("yes yes no 0".to_string(), 1));
    assert_eq!(answer(db, &second), ("yes no na 0".to_string(), 1));
    assert_eq!(answer(db, &third), ("no yes yes 1".to_string(), 1));

    // Back to the third, change Q1, submit (version 2), then undo it (version 3 = version 1).
    s.keys(&[ARROW_LEFT]);
    assert_eq!(next_sample(s, &fourth), third);
    assert_eq!(answer_and_next(s, &["k", "k", "y"]), fourth);
    assert_eq!(answer(db, &third), ("yes yes yes 1".to_string(), 2));
    s.keys(&["u"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while answer(db, &third).1 < 3 {
        assert!(std::time::Instant::now() < deadline, "undo stored nothing");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(answer(db, &third), ("no yes yes 1".to_string(), 3));
    assert_eq!(
        next_sample(s, &fourth),
        third,
        "undo shows the sample it reverted"
    );
    s.shot("05b-review-after-undo");
}

/// The first start without a project opens the default one with the bundled sample in it.
#[test]
#[ignore = "drives the real window: needs Xvfb and tauri-driver (scripts/test runs it)"]
fn first_launch_opens_the_bundled_sample() {
    let desk = Desk::first_launch();
    let s = desk.open(&[]);
    let start = s.wait_for("[data-testid='screen-start']", 5).text();
    assert!(start.contains("refuseu-sample"), "{start}");
    s.shot("00-first-launch");
    s.close();
    assert_eq!(count(&desk.db, "SELECT count(*) FROM samples"), 336);
}

/// Hostile sample text (script tags, event handlers, closing tags, bidi overrides) is shown
/// as the characters it is: no element is made of it, no script runs, no dialog opens.
fn assert_shown_as_text(s: &Session, container_css: &str, expected: &[&str]) {
    let report = s.exec(
        "const els = [...document.querySelectorAll(arguments[0])];
         return {
           text: els.map(e => e.textContent).join('\\n'),
           childElements: els.reduce((n, e) => n + e.children.length, 0),
           injectedImages: document.querySelectorAll('img[src=\"x\"]').length,
           scriptsWithAlert: [...document.scripts].filter(x => x.textContent.includes('alert(1)')).length,
           pwned: typeof window.__pwned,
         };",
        serde_json::json!([container_css]),
    );
    let text = report["text"].as_str().unwrap();
    for e in expected {
        assert!(
            text.contains(e),
            "`{e}` not shown as text in {container_css}"
        );
    }
    assert_eq!(report["childElements"], 0, "markup in data became elements");
    assert_eq!(report["injectedImages"], 0);
    assert_eq!(report["scriptsWithAlert"], 0);
    assert_eq!(s.alert_text(), None, "a script in the data opened an alert");
}

#[test]
#[ignore = "drives the real window: needs Xvfb and tauri-driver (scripts/test runs it)"]
fn hostile_text_shows_as_text_and_runs_nothing() {
    let desk = Desk::new();
    let hostile = repo().join("datasets/hostile.jsonl");
    let s = desk.open(&[&hostile]);
    nav(&s, "import");
    s.wait_for("[data-testid='import-paths']", 5)
        .fill(hostile.to_str().unwrap());
    s.wait_for("[data-testid='import-preview']", 5).click();
    s.wait_for("table.preview", 20);
    assert_shown_as_text(
        &s,
        "table.preview .cell",
        &[
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "</textarea><b>bold</b>",
            "\u{202e}txt.exe\u{202c}",
        ],
    );
    s.shot("05-hostile-preview");
    s.close();
}

/// Waits until the element `css` shows text containing `part`.
fn wait_text(s: &Session, css: &str, part: &str) {
    wait_text_for(s, css, part, 10);
}

/// Waits up to `secs` until the element `css` shows text containing `part`.
fn wait_text_for(s: &Session, css: &str, part: &str, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !s.wait_for(css, secs).text().contains(part) {
        assert!(
            std::time::Instant::now() < deadline,
            "{css} never said “{part}”"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A cell of a Results table as shown: the row whose first cell is `first`, column `column`.
fn shown_cell(s: &Session, table: &str, first: &str, column: &str) -> String {
    s.exec(
        "const [table, first, column] = arguments;
         const t = document.querySelector(`[data-testid='table-${table}']`);
         if (!t || !t.tHead) return null;
         const head = [...t.tHead.rows[0].cells].map(c => c.textContent.trim());
         const i = head.indexOf(column);
         const row = [...t.tBodies[0].rows].find(r => r.cells[0].textContent.trim() === first);
         return row && i >= 0 ? row.cells[i].textContent.trim() : null;",
        serde_json::json!([table, first, column]),
    )
    .as_str()
    .unwrap_or_else(|| panic!("no {table} cell ({first}, {column}) on screen"))
    .to_string()
}

/// Answers the sample on screen with `keys`, then Enter, and returns the next sample's id.
/// Types `keys` and Enter on the sample on screen; returns the next sample's id ("" when the
/// queue is done). A sample of the random audit sample first asks for a verdict on each of its
/// texts; these flows store their answers without them (Enter again), as a reviewer may.
fn answer_and_next(s: &Session, keys: &[&str]) -> String {
    let before = sample_on_screen(s);
    let mut all = keys.to_vec();
    all.push(ENTER);
    s.keys(&all);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut again = true;
    while again {
        let warned = s.exec(
            "const m = document.querySelector(\"[data-testid='review-message']\");
             return !!m && m.textContent.includes('press Enter again');",
            serde_json::json!([]),
        );
        if warned.as_bool() == Some(true) {
            s.keys(&[ENTER]);
            again = false;
        } else if next_shown(s, &before).is_some() || std::time::Instant::now() > deadline {
            again = false;
        } else {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    next_or_done(s, &before)
}

/// The sample on screen if it is no longer `before` ("" when the queue is done).
fn next_shown(s: &Session, before: &str) -> Option<String> {
    let now = s.exec(
        "const el = document.querySelector(\"[data-testid='review-sample']\");
         return el ? el.dataset.sample : (document.querySelector(\"[data-testid='review-finished'], [data-testid='review-empty']\") ? '' : null);",
        serde_json::json!([]),
    );
    now.as_str().filter(|id| *id != before).map(String::from)
}

/// The next sample's id, or "" when the queue is done.
fn next_or_done(s: &Session, before: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(id) = next_shown(s, before) {
            return id;
        }
        assert!(std::time::Instant::now() < deadline, "still on {before}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The current individual answer of `reviewer` to sample `ext_id` as `q1 q2 q3`.
fn answer_of(db: &Path, ext_id: &str, reviewer: &str) -> String {
    Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT a.q1 || ' ' || a.q2 || ' ' || a.q3 FROM annotations a
             JOIN samples s ON s.id = a.sample_id JOIN reviewers r ON r.id = a.reviewer_id
             WHERE s.ext_id = ?1 AND r.name = ?2 ORDER BY a.version DESC LIMIT 1",
            [ext_id, reviewer],
            |r| r.get(0),
        )
        .unwrap()
}

/// Two Polish reviewers answer the same samples differently, the adjudicator resolves the
/// disagreements in the window, and Results show agreement from the individual answers and
/// pass rates from the final ones (both checked against the database). A screen switch in the
/// middle of a sample keeps its draft.
#[test]
#[ignore = "drives the real window: needs Xvfb and tauri-driver (scripts/test runs it)"]
fn team_audit_with_adjudication_in_the_real_window() {
    let desk = Desk::new();
    let db = &desk.db;
    let sample = repo().join("datasets/refuseu-sample.jsonl");
    let s = desk.open(&[&sample]);
    nav(&s, "import");
    s.wait_for("[data-testid='import-paths']", 5)
        .fill(s_(&sample));
    s.wait_for("[data-testid='import-run']", 5).click();
    s.wait_for("[data-testid='import-report']", 60);

    // The curator: three Polish samples, two answers each, two reviewers and an adjudicator.
    assert_eq!(fill_the_queue(&s, db, "3", "pl"), 3);
    s.wait_for("[data-testid='curator-answers-per-sample']", 5)
        .fill("2");
    s.wait_for("[data-testid='curator-config-save']", 5).click();
    wait_text(&s, "[data-testid='curator-saved']", "Settings saved");
    add_reviewer(&s, "ana", "pl");
    add_reviewer(&s, "ola", "pl");
    add_reviewer(&s, "zofia", "pl");
    s.wait_for("[data-testid='curator-adjudicator-zofia']", 5)
        .click();
    wait_text(&s, "[data-testid='curator-saved']", "zofia now adjudicates");
    assert_eq!(
        count(db, "SELECT adjudicator FROM reviewers WHERE name = 'zofia'"),
        1
    );
    s.shot("10-curator-team");

    // ana: the draft of the first sample survives a visit to Results.
    review_as(&s, "ana");
    let first = sample_on_screen(&s);
    s.keys(&["y"]);
    nav(&s, "results");
    nav(&s, "review");
    assert_eq!(
        sample_on_screen(&s),
        first,
        "the same sample after a screen switch"
    );
    let q1 = s.wait_for("[data-testid='question-q1'] .ans", 5).text();
    assert_eq!(q1, "yes", "the draft survived the screen switch");
    let second = answer_and_next(&s, &["y", "y"]);
    let third = answer_and_next(&s, &["y", "y", "y"]);
    assert_eq!(answer_and_next(&s, &["y", "n", "a"]), "");
    let samples = [first.clone(), second.clone(), third.clone()];

    // ola: the same samples (two answers wanted), with two disagreements.
    review_as(&s, "ola");
    let mut seen = Vec::new();
    loop {
        let id = sample_on_screen(&s);
        seen.push(id.clone());
        let keys: &[&str] = if id == first {
            &["n", "y", "y"]
        } else if id == third {
            &["y", "y", "a"]
        } else {
            &["y", "y", "y"]
        };
        if answer_and_next(&s, keys).is_empty() {
            break;
        }
    }
    seen.sort();
    let mut expected = samples.to_vec();
    expected.sort();
    assert_eq!(seen, expected, "ola's queue holds the samples ana answered");
    assert_eq!(answer_of(db, &first, "ola"), "no yes yes");
    let disagree = "SELECT count(*) FROM triage_reasons WHERE reason = 'reviewers_disagree'";
    assert_eq!(count(db, disagree), 2);

    // zofia adjudicates: both answers side by side, then the final answer.
    nav(&s, "review");
    s.wait_for("[data-testid='review-reviewer'] option[value='zofia']", 10);
    s.wait_for("[data-testid='review-reviewer']", 5)
        .select("zofia");
    s.wait_for("[data-testid='review-adjudicate']", 5).click();
    s.wait_for("[data-testid='review-start']", 5).click();
    let mut adjudicated = Vec::new();
    loop {
        let id = sample_on_screen(&s);
        let others = s.wait_for("[data-testid='others']", 5).text();
        assert!(others.contains("ana") && others.contains("ola"), "{others}");
        if adjudicated.is_empty() {
            s.shot("11-adjudicate");
        }
        adjudicated.push(id.clone());
        let keys: &[&str] = if id == third {
            &["y", "y", "a"]
        } else {
            &["y", "y", "y"]
        };
        if answer_and_next(&s, keys).is_empty() {
            break;
        }
    }
    adjudicated.sort();
    let mut disputed = vec![first.clone(), third.clone()];
    disputed.sort();
    assert_eq!(adjudicated, disputed);
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM current_final_answers WHERE q1 = 'yes' AND q2 = 'yes'"
        ),
        2
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM final_answers f JOIN reviewers r ON r.id = f.adjudicator_id WHERE r.name = 'zofia'"
        ),
        2
    );

    // Results for Polish: κ from the individual answers, pass rates from the final ones.
    nav(&s, "results");
    s.wait_for("[data-testid='results-language']", 5).fill("pl");
    s.wait_for("[data-testid='results-refresh']", 5).click();
    s.wait_for("[data-testid='results-shown-with']", 10);
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Individual Q2 answers: ana yes yes no, ola yes yes yes: 2 of 3 agree.
    let pct = shown_cell(&s, "agreement", "q2", "percent_agreement");
    let agree: f64 = pct.parse().unwrap();
    assert!((agree - 2.0 / 3.0).abs() < 1e-6, "{pct}");
    // Individual Q1 answers: ana yes yes yes, ola no yes yes: κ = (2/3 − 2/3) / (1 − 2/3) = 0.
    let kappa: f64 = shown_cell(&s, "agreement", "q1", "cohen_kappa")
        .parse()
        .unwrap();
    assert!(kappa.abs() < 1e-6, "{kappa}");
    assert_eq!(answer_of(db, &first, "ana"), "yes yes yes");
    // Final answers: Q1 and Q2 yes on all three (individual answers would give 5 of 6).
    assert_eq!(shown_cell(&s, "results", "pl", "q1_successes"), "3");
    assert_eq!(shown_cell(&s, "results", "pl", "q1_n"), "3");
    assert_eq!(shown_cell(&s, "results", "pl", "q2_successes"), "3");
    // Time per item: the window timed every answer (shown → submitted); the median per
    // reviewer is the database's.
    let timed = "SELECT count(*) FROM annotations a JOIN reviewers r ON r.id = a.reviewer_id
                 WHERE r.name = 'ana' AND a.seconds > 0";
    assert_eq!(count(db, timed), 3);
    assert_eq!(shown_cell(&s, "time_per_item", "ana", "answers"), "3");
    s.shot("12-results-team");
    s.close();
}

/// Closing the window while a guard run works asks first and closes nothing; the question is
/// a native window, so it is found on the X display, and the close is sent as a window
/// manager sends it. Once nothing runs, the same request closes the window at once.
#[test]
#[ignore = "drives the real window: needs Xvfb, tauri-driver and the test model (scripts/test runs it)"]
fn closing_the_window_while_a_job_runs_asks_first() {
    let desk = Desk::first_launch();
    let model = test_model();
    // The first launch opens the bundled sample.
    let s = desk.open(&[&model]);
    let x = desk.x();
    let window = x.wait_for("Verdikt", 10).expect("the app's window");

    // A guard run over every text of the sample: long enough to close the window during it.
    nav(&s, "guards");
    start_guard_run(&s, &model, None);
    s.wait_for("[data-testid='job-guard']", 10);
    let db = &desk.db;
    let running = "SELECT count(*) FROM guard_runs WHERE status = 'running'";
    // The job is listed at once; its run is stored once the model has loaded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !db.exists() || count(db, running) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    x.request_close(window);
    let question = "Verdikt is still working";
    let asked = x
        .wait_for(question, 10)
        .expect("closing during a guard run asks first");
    s.shot("13-close-asks");
    assert_eq!(x.windows("Verdikt"), [window], "the window stays open");
    // The user closes the question: that is "keep working".
    x.request_close(asked);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !x.windows(question).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the question stayed");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(x.windows("Verdikt"), [window], "the window stays open");
    s.wait_for("[data-testid='job-guard']", 5);
    assert_eq!(
        count(db, running),
        1,
        "the run goes on while the window asks"
    );

    // Nothing running: the window closes without a second question.
    s.wait_for("[data-testid='job-cancel-guard']", 5).click();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let listed = || {
        s.exec(
            "return document.querySelector(\"[data-testid='job-guard']\") !== null",
            serde_json::json!([]),
        ) == serde_json::Value::Bool(true)
    };
    while listed() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(count(db, running), 0);
    x.request_close(window);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !x.windows("Verdikt").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the window did not close"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(x.windows(question).is_empty(), "no second question");
}

/// Sets the checkbox `css` to `on` by clicking it as a user would (only when it is not so
/// already: a screen keeps its choices between runs).
fn tick(s: &Session, css: &str, on: bool) {
    let checked = s.exec(
        "return document.querySelector(arguments[0]).checked",
        serde_json::json!([css]),
    );
    if checked != serde_json::Value::Bool(on) {
        s.wait_for(css, 5).click();
    }
}

/// Imports the hostile dataset (12 small triples) through the Import screen.
fn import_hostile(s: &Session, db: &Path) {
    import(s, &repo().join("datasets/hostile.jsonl"));
    assert_eq!(count(db, "SELECT count(*) FROM samples"), 12);
}

/// Imports a file the app was opened with through the Import screen.
fn import(s: &Session, path: &Path) {
    nav(s, "import");
    s.wait_for("[data-testid='import-paths']", 5).fill(s_(path));
    s.wait_for("[data-testid='import-run']", 5).click();
    s.wait_for("[data-testid='import-report']", 60);
}

/// Every file under `dir`, read as text: what a key left behind would be found in.
fn files_text(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_text(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// The Guards screen sends a run to two llama-servers that want an API key: the server rows
/// (URL and concurrency each), the model name, the GGUF as tokenizer and the key typed for the
/// session. Each server is confirmed in its own native question (answered on the X display),
/// the run finishes with every text checked, the screen shows each server's share, and the
/// stored run names both servers while the key is nowhere in the project's files.
#[test]
#[ignore = "drives the real window: needs Xvfb, tauri-driver, the test model and llama-server (scripts/test runs it)"]
fn a_guard_run_on_two_servers_that_want_a_key() {
    let model = test_model();
    let key = "vk-e2e-4f1d9a7c3b";
    let servers = [
        llama::start(&repo(), &model, key),
        llama::start(&repo(), &model, key),
    ];
    let desk = Desk::new();
    let (tmp, db) = (&desk.tmp, &desk.db);
    let hostile = repo().join("datasets/hostile.jsonl");
    let s = desk.open(&[&hostile, &model]);
    let x = desk.x();
    import_hostile(&s, db);

    nav(&s, "guards");
    s.wait_for("[data-testid='guard-profile']", 10)
        .select("llama-guard-3-1b");
    s.wait_for("[data-testid='guard-backend-server']", 5)
        .click();
    s.wait_for("[data-testid='guard-server-url-0']", 5)
        .fill(&servers[0].url);
    s.wait_for("[data-testid='guard-server-add']", 5).click();
    s.wait_for("[data-testid='guard-server-url-1']", 5)
        .fill(&format!("{}/", servers[1].url));
    s.wait_for("[data-testid='guard-server-concurrency-1']", 5)
        .fill("2");
    // A third row, removed again: the run goes to the two that stay.
    s.wait_for("[data-testid='guard-server-add']", 5).click();
    s.wait_for("[data-testid='guard-server-url-2']", 5)
        .fill("http://127.0.0.1:9");
    s.wait_for("[data-testid='guard-server-remove-2']", 5)
        .click();
    s.wait_for("[data-testid='guard-server-model']", 5)
        .fill("smollm2");
    s.wait_for("[data-testid='guard-server-tokenizer']", 5)
        .fill(s_(&model));
    s.wait_for("[data-testid='guard-server-key']", 5).fill(key);
    s.wait_for("[data-testid='guard-limit']", 5).fill("6");
    tick(&s, "[data-testid='guard-allow-mismatch']", true);
    s.shot("20-guards-servers");
    s.wait_for("[data-testid='guard-start']", 5).click();

    // One native question per server, in the order of the rows.
    let question = "Use this guard server?";
    for n in 0..2 {
        let asked = x
            .wait_for(question, 10)
            .unwrap_or_else(|| panic!("server {n} is confirmed first"));
        if n == 0 {
            s.shot("21-guards-confirm-server");
        }
        x.press_enter(asked);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while x.windows(question).contains(&asked) {
            assert!(std::time::Instant::now() < deadline, "the question stayed");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let report = s.wait_for("[data-testid='guard-report']", 180).text();
    assert!(
        report.contains("done") && report.contains("6 texts checked"),
        "{report}"
    );
    s.exec(
        "document.querySelector(\"[data-testid='guard-servers']\").scrollIntoView()",
        serde_json::json!([]),
    );
    s.shot("22-guards-servers-done");

    // What the screen shows of each server is what each one did.
    let shown = s.exec(
        "return [...document.querySelectorAll(\"[data-testid='guard-servers'] tr[data-url]\")]
           .map(r => [r.dataset.url, Number(r.dataset.done), r.textContent]);",
        serde_json::json!([]),
    );
    let shown = shown.as_array().unwrap();
    let urls: Vec<&str> = shown.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(urls, [servers[0].url.as_str(), servers[1].url.as_str()]);
    let done: i64 = shown.iter().map(|r| r[1].as_i64().unwrap()).sum();
    assert_eq!(done, 6, "the servers' shares add up to the run: {shown:?}");
    assert!(
        shown
            .iter()
            .all(|r| r[2].as_str().unwrap().contains("in use")),
        "neither server was taken out: {shown:?}"
    );

    let stored = Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT status, server_url, server_model, (SELECT count(*) FROM verdicts v
               WHERE v.run_id = r.id AND v.verdict <> 'error') FROM guard_runs r",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        stored,
        (
            "done".to_string(),
            format!("{} {}", servers[0].url, servers[1].url),
            "smollm2".to_string(),
            6
        )
    );
    s.close();
    for (path, text) in files_text(tmp.path()) {
        assert!(!text.contains(key), "the key is in {}", path.display());
    }
}

/// The paper's protocol in the window: two guards run on six texts (their verdicts set here,
/// since SmolLM2 is no guard, so the disputes are known), the judge is counted on the Guards
/// screen before it runs and then checks just the disputed texts, the Review screen marks its
/// verdict “judge”, and the Curator screen's judge and keep-rule controls change what the
/// project stores and what the screen says is in force.
#[test]
#[ignore = "drives the real window: needs Xvfb, tauri-driver and the test model (scripts/test runs it)"]
fn the_judge_on_disputed_texts_and_the_curators_judge_and_keep_rule() {
    let model = test_model();
    let desk = Desk::new();
    let db = &desk.db;
    let hostile = repo().join("datasets/hostile.jsonl");
    let s = desk.open(&[&hostile, &model]);
    import_hostile(&s, db);

    nav(&s, "guards");
    for (n, profile) in ["llama-guard-3-1b", "polyguard"].into_iter().enumerate() {
        s.wait_for("[data-testid='guard-profile']", 10)
            .select(profile);
        s.wait_for("[data-testid='guard-model']", 5)
            .fill(s_(&model));
        s.wait_for("[data-testid='guard-limit']", 5).fill("6");
        tick(&s, "[data-testid='guard-allow-mismatch']", true);
        s.wait_for("[data-testid='guard-start']", 5).click();
        let done = format!("Run {} done", n + 1);
        wait_text_for(&s, "[data-testid='guard-report']", &done, 300);
    }
    let sql = |q: &str| Connection::open(db).unwrap().execute_batch(q).unwrap();
    // Sample A's three texts: its chosen answer the guards differ on, its rejected one the
    // second guard calls controversial; everything else both call safe.
    let a = count(db, "SELECT min(sample_id) FROM verdicts");
    sql(&format!(
        "UPDATE verdicts SET verdict = 'safe', error = NULL;
         UPDATE verdicts SET verdict = 'unsafe' WHERE run_id = 1 AND sample_id = {a} AND field = 'chosen';
         UPDATE verdicts SET verdict = 'controversial' WHERE run_id = 2 AND sample_id = {a} AND field = 'rejected';"
    ));

    // The judge: counted first, nothing opened until the user says so.
    s.wait_for("[data-testid='guard-profile']", 10)
        .select("refuseu-judge");
    // The limit of six stays: it counts the texts the judge is given, two here.
    tick(&s, "[data-testid='guard-only-disputed']", true);
    s.wait_for("[data-testid='guard-start']", 5).click();
    let plan = s.wait_for("[data-testid='guard-plan']", 30);
    assert_eq!(plan.attr("data-texts"), "2");
    let tokens: i64 = plan.attr("data-prompt-tokens").parse().unwrap();
    assert!(tokens > 0, "{}", plan.text());
    assert!(
        plan.text().contains(&format!(
            "The judge will check 2 disputed texts: {tokens} prompt tokens"
        )),
        "{}",
        plan.text()
    );
    s.shot("23-guards-judge-plan");
    assert_eq!(
        count(db, "SELECT count(*) FROM guard_runs"),
        2,
        "counting opens no run"
    );
    s.wait_for("[data-testid='guard-plan-run']", 5).click();
    wait_text_for(&s, "[data-testid='guard-report']", "Run 3 done", 300);
    let judged = Connection::open(db)
        .unwrap()
        .prepare("SELECT sample_id || ' ' || field FROM verdicts WHERE run_id = 3 ORDER BY field")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(judged, [format!("{a} chosen"), format!("{a} rejected")]);

    // Review: the judge's reading is marked, the guards' are not.
    nav(&s, "curator");
    s.wait_for("[data-testid='review-triage']", 10).click();
    s.wait_for("[data-testid='triage-report']", 120);
    add_reviewer(&s, "e2e", "en,de,fr,it,es,pt,pl,cs,lt");
    let ext_a: String = Connection::open(db)
        .unwrap()
        .query_row("SELECT ext_id FROM samples WHERE id = ?1", [a], |r| {
            r.get(0)
        })
        .unwrap();
    let judge_marks = || {
        s.exec(
            "return [...document.querySelectorAll(\"[data-testid='review-sample'] [data-run]\")]
               .filter(g => g.querySelector(\"[data-testid='judge-badge']\"))
               .map(g => g.closest('[data-field]').dataset.field + ' ' + g.dataset.run);",
            serde_json::json!([]),
        )
    };
    nav(&s, "review");
    s.wait_for("[data-testid='review-reviewer'] option[value='e2e']", 10);
    s.wait_for("[data-testid='review-reviewer']", 5)
        .select("e2e");
    s.wait_for("[data-testid='review-reason']", 5)
        .select("guard_disagreement");
    s.wait_for("[data-testid='review-start']", 5).click();
    assert_eq!(sample_on_screen(&s), ext_a, "the disputed sample is queued");
    assert_eq!(
        judge_marks(),
        serde_json::json!(["chosen 3", "rejected 3"]),
        "the judge's readings, and only they, are marked"
    );
    s.shot("24-review-judge");

    // The Curator screen: the judge in force by default, then none, a chosen keep rule, and
    // the judge chosen by run.
    let setting = |key: &str| -> Option<String> {
        Connection::open(db)
            .unwrap()
            .query_row("SELECT value FROM project WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .ok()
    };
    let judge_row = || {
        s.exec(
            "return [...document.querySelectorAll(\"[data-testid='curator-guards'] tr[data-run]\")]
               .filter(r => r.querySelector(\"[data-testid='curator-judge-mark']\"))
               .map(r => Number(r.dataset.run));",
            serde_json::json!([]),
        )
    };
    nav(&s, "curator");
    wait_text(
        &s,
        "[data-testid='curator-keep-rule-in-force']",
        "In force: adjudicated",
    );
    assert_eq!(
        judge_row(),
        serde_json::json!([3]),
        "the default judge is the judge run"
    );
    assert_eq!(setting("judge"), None);

    s.wait_for("[data-testid='curator-judge']", 5)
        .select("none");
    s.wait_for("[data-testid='curator-judge-use']", 5).click();
    wait_text(&s, "[data-testid='curator-saved']", "No judge");
    wait_text(
        &s,
        "[data-testid='curator-keep-rule-in-force']",
        "In force: unanimous",
    );
    assert_eq!(judge_row(), serde_json::json!([]));
    assert_eq!(setting("judge").as_deref(), Some("null"));
    assert_eq!(
        setting("keep_rule"),
        None,
        "the keep rule follows the judge by default"
    );

    s.wait_for("[data-testid='curator-keep-rule']", 5)
        .select("adjudicated");
    s.wait_for("[data-testid='curator-keep-rule-use']", 5)
        .click();
    wait_text(&s, "[data-testid='curator-saved']", "Keep rule saved");
    wait_text(
        &s,
        "[data-testid='curator-keep-rule-in-force']",
        "In force: adjudicated",
    );
    assert_eq!(setting("keep_rule").as_deref(), Some("adjudicated"));
    s.shot("25-curator-no-judge");

    // Without a judge the Review screen marks nothing (once it has read who the judge is).
    nav(&s, "review");
    s.wait_for("[data-testid='review-reviewer'] option[value='e2e']", 10);
    assert_eq!(sample_on_screen(&s), ext_a);
    assert_eq!(judge_marks(), serde_json::json!([]));

    nav(&s, "curator");
    // The controls are usable once the screen has read what is in force.
    wait_text(
        &s,
        "[data-testid='curator-keep-rule-in-force']",
        "In force: adjudicated",
    );
    s.wait_for("[data-testid='curator-judge']", 5).select("3");
    s.wait_for("[data-testid='curator-judge-use']", 5).click();
    wait_text(&s, "[data-testid='curator-saved']", "Judge saved");
    assert_eq!(judge_row(), serde_json::json!([3]));
    assert_eq!(setting("judge").as_deref(), Some("3"));
    wait_text(
        &s,
        "[data-testid='curator-keep-rule-in-force']",
        "In force: adjudicated",
    );
    s.shot("26-curator-judge");
    s.close();
}
