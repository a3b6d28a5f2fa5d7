//! Reviewer care in the real window: a self-harm (S11) sample is announced by a word before
//! it, then shows its rejected answer blurred — different pixels from the revealed text and no
//! legible detail in the screenshot — until `v` reveals it; `V` reveals the category for this
//! reviewer on every later sample (kept in the project); and a suggested break, dismissed,
//! leaves the sample's time per item at the time it was on screen.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::pixels::{Rect, gray, mean_difference, sharp_edges};
use crate::webdriver::Session;
use crate::{Desk, add_reviewer, answer_and_next, count, import, nav, review_as, wait_text};

const ESCAPE: &str = "\u{E00C}";

/// Stands in for a harmful answer: long, plain, legible text.
fn rejected_text(id: &str) -> String {
    format!("The rejected answer of {id}. ")
        + &"This paragraph stands in for a text the reviewer should not have to read unless they choose to. "
            .repeat(5)
}

/// Three English samples of S11 and one of S1, in this order.
fn fixture(path: &Path) {
    let rows: Vec<String> = [
        ("care-1", "S11"),
        ("care-2", "S11"),
        ("care-3", "S11"),
        ("care-4", "S1"),
    ]
    .iter()
    .map(|(id, category)| {
        json!({
            "id": id, "lang": "en", "category": category, "style": "role play", "split": "train",
            "prompt": format!("The prompt of {id}, asking for something."),
            "chosen": "I can't help with that, but here is where to find support.",
            "rejected": rejected_text(id),
        })
        .to_string()
    })
    .collect();
    std::fs::write(path, rows.join("\n")).unwrap();
}

/// The rejected text's pixels as the screen shows them (the screen saved as `name` too).
fn rejected_pixels(s: &Session, name: &str) -> Vec<Vec<f64>> {
    let r = s.exec(
        "const el = document.querySelector(\"[data-testid='text-rejected']\");
         el.scrollIntoView({block: 'center'});
         const b = el.getBoundingClientRect();
         return [b.x + window.screenX, b.y + window.screenY, b.width, b.height];",
        json!([]),
    );
    let r: Vec<f64> = serde_json::from_value(r).unwrap();
    let screen = s.screen();
    std::fs::write(s.artifact_dir().join(format!("{name}.png")), screen.png()).unwrap();
    // Two pixels inside the box: its text, not what borders it.
    let rect = Rect {
        x: r[0].ceil() as usize + 2,
        y: r[1].ceil() as usize + 2,
        width: r[2] as usize - 4,
        height: r[3] as usize - 4,
    };
    gray(&screen, rect)
}

/// How the Review screen shows a text (blurred, revealed, always revealed, or none: not a
/// blurred text), and whether it is hidden from screen readers.
fn veil(s: &Session, field: &str) -> serde_json::Value {
    s.exec(
        "const v = document.querySelector(`[data-testid='veil-${arguments[0]}']`);
         return [v.dataset.veil, v.querySelector('.content').getAttribute('aria-hidden')];",
        json!([field]),
    )
}

fn wait_until(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn notice(s: &Session) -> Option<String> {
    s.exec(
        "const n = document.querySelector(\"[data-testid='care-notice']\");
         return n ? n.dataset.kind : null;",
        json!([]),
    )
    .as_str()
    .map(String::from)
}

fn sample_hidden(s: &Session) -> bool {
    s.exec(
        "return document.querySelector(\"[data-testid='review-sample']\").hidden",
        json!([]),
    ) == json!(true)
}

#[test]
#[ignore = "drives the real window: needs Xvfb and tauri-driver (scripts/test runs it)"]
fn harmful_text_shows_only_when_the_reviewer_chooses() {
    let desk = Desk::new();
    let db = &desk.db;
    let data = desk.tmp.path().join("care.jsonl");
    fixture(&data);
    let s = desk.open(&[&data]);
    import(&s, &data);
    assert_eq!(count(db, "SELECT count(*) FROM samples"), 4);
    // All four in the queue, in import order (one reason each, the same).
    nav(&s, "curator");
    s.wait_for("[data-testid='audit-sample-per-language']", 5)
        .fill("4");
    s.wait_for("[data-testid='audit-sample-draw']", 5).click();
    let drawn = s.wait_for("[data-testid='audit-sample-report']", 30);
    assert_eq!(drawn.attr("data-drawn"), "4");
    add_reviewer(&s, "e2e", "en");
    review_as(&s, "e2e");

    // The session's first S11 sample: a word first, the sample hidden and taking no answer.
    let word = s
        .wait_for("[data-testid='care-notice'][data-kind='word']", 10)
        .text();
    assert!(
        word.contains("S11 Self-Harm") && word.contains("Its rejected text is blurred"),
        "{word}"
    );
    assert!(sample_hidden(&s));
    s.shot("30-care-word-before");
    s.keys(&["y", " "]);
    wait_until("the word stays", || notice(&s).is_none());
    let sample = s.wait_for("[data-testid='review-sample']", 5);
    assert_eq!(sample.attr("data-sample"), "care-1");
    let errors = s.exec(
        "return [...document.querySelectorAll(\"[data-testid='error']\")].map(e => e.textContent)",
        json!([]),
    );
    assert_eq!(errors, json!([]), "nothing went wrong on the way");
    assert_eq!(
        s.wait_for("[data-testid='question-q1'] .ans", 5).text(),
        "—",
        "the word took no answer"
    );

    // The rejected text blurred (not the prompt or the chosen one), hidden from screen readers,
    // the same text in the page, and a button naming the category.
    assert_eq!(veil(&s, "rejected"), json!(["blurred", "true"]));
    assert_eq!(veil(&s, "prompt"), json!(["none", null]));
    assert_eq!(veil(&s, "chosen"), json!(["none", null]));
    let shown = s.exec(
        "return document.querySelector(\"[data-testid='text-rejected']\").textContent",
        json!([]),
    );
    assert_eq!(shown, json!(rejected_text("care-1")));
    let button = s
        .wait_for("[data-testid='reveal-rejected']", 5)
        .attr("aria-label");
    assert!(button.contains("S11 Self-Harm"), "{button}");

    // What the screen shows: no legible detail while blurred, the text once `v` reveals it.
    let blurred = rejected_pixels(&s, "31-care-blurred");
    s.keys(&["v"]);
    wait_until("v did not reveal", || {
        veil(&s, "rejected") == json!(["revealed", null])
    });
    let revealed = rejected_pixels(&s, "32-care-revealed");
    let (sharp_blurred, sharp_revealed) = (sharp_edges(&blurred), sharp_edges(&revealed));
    assert!(
        sharp_revealed > 2000,
        "the revealed text shows as text: {sharp_revealed} sharp edges"
    );
    assert!(
        sharp_blurred * 50 < sharp_revealed,
        "the blurred text keeps legible detail: {sharp_blurred} sharp edges, {sharp_revealed} revealed"
    );
    let differ = mean_difference(&blurred, &revealed);
    assert!(
        differ > 5.0,
        "blurred and revealed differ by {differ:.1} on average"
    );
    eprintln!(
        "sharp edges blurred {sharp_blurred}, revealed {sharp_revealed}; mean difference {differ:.1}"
    );

    // The next S11 sample: no second word, blurred again; `V` reveals S11 for e2e from now on.
    assert_eq!(answer_and_next(&s, &["y", "y", "n"]), "care-2");
    assert_eq!(notice(&s), None, "the word is said once a session");
    assert_eq!(veil(&s, "rejected"), json!(["blurred", "true"]));
    s.keys(&["V"]);
    wait_until("V did not reveal", || {
        veil(&s, "rejected") == json!(["always", null])
    });
    let always = "SELECT count(*) FROM reviewer_reveals v JOIN reviewers r ON r.id = v.reviewer_id
                  WHERE r.name = 'e2e' AND v.category = 'S11'";
    assert_eq!(count(db, always), 1);
    assert_eq!(answer_and_next(&s, &["y", "y", "n"]), "care-3");
    assert_eq!(
        veil(&s, "rejected"),
        json!(["always", null]),
        "always revealed"
    );

    // A break after 1.2 s of review (a real setting, in minutes), suggested before the next
    // sample and dismissed: the sample's time is the time it was on screen.
    nav(&s, "curator");
    s.wait_for("[data-testid='curator-break-minutes']", 5)
        .fill("0.02");
    s.wait_for("[data-testid='curator-care-save']", 5).click();
    wait_text(&s, "[data-testid='curator-saved']", "Reviewer care saved");
    s.exec(
        "document.querySelector(\"[data-testid='curator-care']\").scrollIntoView({block: 'center'})",
        json!([]),
    );
    s.shot("33-care-curator");
    assert_eq!(
        count(
            db,
            "SELECT value = '0.02' FROM project WHERE key = 'config.break-minutes'"
        ),
        1
    );
    nav(&s, "review");
    assert_eq!(answer_and_next(&s, &["y", "y", "n"]), "care-4");
    s.wait_for("[data-testid='care-notice'][data-kind='break']", 5);
    assert!(sample_hidden(&s));
    std::thread::sleep(Duration::from_secs(3));
    let dismissed = Instant::now();
    s.keys(&[ESCAPE]);
    wait_until("the break stays", || notice(&s).is_none());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(answer_and_next(&s, &["y", "y", "n"]), "");
    let on_screen = dismissed.elapsed().as_secs_f64();
    let timed = "SELECT count(*) FROM annotations a JOIN samples s ON s.id = a.sample_id
                 WHERE s.ext_id = 'care-4'";
    wait_until("the answer was not stored", || count(db, timed) == 1);
    let seconds: f64 = rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT a.seconds FROM annotations a JOIN samples s ON s.id = a.sample_id
             WHERE s.ext_id = 'care-4'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        (0.3..=on_screen).contains(&seconds),
        "time per item {seconds:.2} s; the sample was on screen at most {on_screen:.2} s after 3 s under the break"
    );
    s.close();
}
