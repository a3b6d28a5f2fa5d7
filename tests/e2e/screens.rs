//! Every screen deliberate at every width, light and dark (issue 31). The seven screens at
//! 1024 × 700, 1366 × 768 and 1920 × 1080, in both themes (set with the Start screen's theme
//! setting, as a user does), with an empty project, the bundled sample (with a guard run and
//! answers, so verdicts, tables and a sample under review show) and 100,000 samples (one with
//! a right-to-left prompt and a 20,000-character answer, open on the Review screen). In each
//! of the 126 states the checks of `layout.js` (nothing scrolls sideways, no control cut off
//! or on another, labels beside their controls, verdicts said in words, long and right-to-left
//! texts folded and set right to left) and axe-core (pinned in ui/package.json, run inside the
//! window; contrast included) must find nothing critical or serious. Tab walks every screen of
//! the sample project in both themes with the focus drawn on every stop, in document order.
//! The bar, the Alt shortcuts, the Start screen's hint and the Review help name the same
//! screens. Every state of the sample project is saved as a screenshot, with a contact sheet of
//! them all and axe's findings per state, under `screens/` in the artefacts folder.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use serde_json::{Value, json};
use verdikt_core::audit::Provenance;
use verdikt_core::store::Store;

use crate::webdriver::{ALT, Frame, Rgb, Session, TAB};
use crate::{Desk, repo, sheet};

pub(crate) const SIZES: [(u32, u32); 3] = [(1024, 700), (1366, 768), (1920, 1080)];
const THEMES: [&str; 2] = ["light", "dark"];
const LAYOUT: &str = include_str!("layout.js");
/// The contact sheet shows each screenshot at a quarter of its size.
const SHRINK: usize = 4;

/// The projects every screen is seen with; `shots`: the screens saved as screenshots at every
/// width and theme.
struct Project {
    name: &'static str,
    shots: &'static [&'static str],
    /// Fills the project file (before the window opens it); the window's extra arguments.
    make: fn(&Path) -> Vec<String>,
}

const PROJECTS: [Project; 3] = [
    Project {
        name: "empty",
        shots: &["review"],
        make: |_| Vec::new(),
    },
    Project {
        name: "sample",
        shots: &[
            "start", "import", "guards", "curator", "review", "results", "export",
        ],
        make: sample_project,
    },
    Project {
        name: "100k",
        shots: &["review"],
        make: big_project,
    },
];

/// What the checks found, gathered over every state so one run shows every defect.
#[derive(Default)]
pub(crate) struct Findings {
    problems: Vec<String>,
    axe: Vec<Value>,
    /// Seconds spent opening screens, in the layout checks, in axe-core, taking screenshots.
    seconds: [f64; 4],
}

impl Findings {
    /// Every defect: the layout problems, then axe-core's critical and serious violations.
    pub(crate) fn defects(&self) -> Vec<String> {
        let serious = self.axe.iter().flat_map(|state| {
            state["violations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v["impact"] == "critical" || v["impact"] == "serious")
                .map(|v| {
                    format!(
                        "{}: axe {} ({}): {}",
                        state["state"], v["id"], v["impact"], v["nodes"]
                    )
                })
                .collect::<Vec<_>>()
        });
        self.problems.iter().cloned().chain(serious).collect()
    }
}

#[test]
#[ignore = "drives the real window: needs Xvfb, tauri-driver and ui/node_modules (scripts/test runs it)"]
fn every_screen_at_every_width_and_theme_is_laid_out_and_accessible() {
    let began = Instant::now();
    let out = crate::artifacts().join("screens");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let axe = axe_source();
    let mut found = Findings::default();
    let mut timings = String::new();
    let (shots, saving) = saver(out.clone());
    for project in &PROJECTS {
        let start = Instant::now();
        let desk = Desk::sized(1920, 1080);
        let args = (project.make)(&desk.db);
        let made = start.elapsed().as_secs_f64();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let s = desk.open_args(&args);
        let version = s.exec(&format!("{axe}\nreturn axe.version;"), json!([]));
        assert_eq!(version, json!(pinned_axe_version()), "the pinned axe-core");
        let screens = bar(&s);
        if project.name == "sample" {
            one_list_of_screens(&s, &screens, &mut found);
        }
        for theme in THEMES {
            set_theme(&s, theme);
            for (width, height) in SIZES {
                s.resize(width, height);
                for (i, (id, _)) in screens.iter().enumerate() {
                    let state = format!("{} {theme} {width}×{height} {id}", project.name);
                    let t = Instant::now();
                    go(&s, i, id);
                    found.seconds[0] += t.elapsed().as_secs_f64();
                    check(&s, &state, &mut found);
                    if project.shots.contains(&id.as_str()) {
                        let t = Instant::now();
                        let row = format!("{} {id}", project.name);
                        shots.send((row, state, s.window_frame())).unwrap();
                        found.seconds[3] += t.elapsed().as_secs_f64();
                    }
                }
            }
            if project.name == "sample" {
                s.resize(1366, 768);
                for (i, (id, _)) in screens.iter().enumerate() {
                    go(&s, i, id);
                    focus_walk(&s, &format!("sample {theme} {id}"), &mut found);
                }
            }
        }
        s.close();
        let _ = writeln!(
            timings,
            "{}: made in {made:.1} s, checked in {:.1} s",
            project.name,
            start.elapsed().as_secs_f64() - made
        );
    }
    let checked = began.elapsed().as_secs_f64();
    let [opening, layout, axe_run, shooting] = found.seconds;
    let _ = writeln!(
        timings,
        "of which opening screens {opening:.1} s, layout checks {layout:.1} s, axe-core {axe_run:.1} s, screenshots {shooting:.1} s"
    );
    drop(shots);
    save(&out, &found, saving.join().unwrap());
    let _ = writeln!(
        timings,
        "screenshots and sheet saved in {:.1} s; {:.1} s in all",
        began.elapsed().as_secs_f64() - checked,
        began.elapsed().as_secs_f64()
    );
    eprint!("{timings}");
    std::fs::write(out.join("timings.txt"), &timings).unwrap();
    let defects = found.defects();
    assert!(
        defects.is_empty(),
        "{} problems (screenshots and axe's findings in {}):\n{}",
        defects.len(),
        out.display(),
        defects.join("\n")
    );
}

/// axe-core as installed from ui/package.json.
pub(crate) fn axe_source() -> String {
    let path = repo().join("ui/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (cd ui && npm install)", path.display()))
}

pub(crate) fn pinned_axe_version() -> String {
    let package: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("ui/package.json")).unwrap())
            .unwrap();
    let pinned = package["devDependencies"]["axe-core"].as_str().unwrap();
    assert!(
        pinned.chars().all(|c| c.is_ascii_digit() || c == '.'),
        "axe-core is pinned to one version, not {pinned}"
    );
    pinned.to_string()
}

/// The screens of the bar, in order: (id, label); one for each file in ui/src/screens/.
fn bar(s: &Session) -> Vec<(String, String)> {
    let v = s.exec(
        "return [...document.querySelectorAll('nav button[data-screen]')]
           .map(b => [b.dataset.screen, b.textContent.trim()]);",
        json!([]),
    );
    let screens: Vec<(String, String)> = serde_json::from_value(v).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(repo().join("ui/src/screens"))
        .unwrap()
        .filter_map(|f| {
            let name = f.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".svelte").map(str::to_lowercase)
        })
        .collect();
    files.sort();
    let mut shown: Vec<String> = screens.iter().map(|(id, _)| id.clone()).collect();
    shown.sort();
    assert_eq!(shown, files, "the bar shows every screen");
    screens
}

/// Opens the bar's `i`th screen with its Alt shortcut (so every shortcut is tried in every
/// state) and waits until it has shown what it loads.
fn go(s: &Session, i: usize, id: &str) {
    s.chord(&[ALT, &(i + 1).to_string()]);
    s.wait_for(&format!("[data-testid='screen-{id}']"), 10);
    let loaded = match id {
        "start" => "document.querySelector(\"[data-testid='screens-hint']\")",
        "guards" => "document.querySelector(\"[data-testid='guard-profile'] option\")",
        "curator" => {
            "!document.querySelector(\"[data-testid='curator-keep-rule-in-force']\")?.textContent.includes('…')"
        }
        "review" => {
            "document.querySelector(\"[data-testid='review-sample'], [data-testid='reviewer-add-form']\")"
        }
        "results" => "document.querySelector(\"[data-testid='results-shown-with']\")",
        _ => "true",
    };
    s.exec_async(
        &format!(
            "const done = arguments[arguments.length - 1];
             const until = performance.now() + 30000;
             const ready = () => {{
               if (!({loaded}) && performance.now() < until) return setTimeout(ready, 50);
               // Then quiet: nothing changed on the page for 120 ms.
               let timer;
               const observer = new MutationObserver(() => {{ clearTimeout(timer); timer = setTimeout(finish, 120); }});
               const finish = () => {{ observer.disconnect(); done(null); }};
               observer.observe(document.body, {{ subtree: true, childList: true, attributes: true, characterData: true }});
               timer = setTimeout(finish, 120);
             }};
             ready();"
        ),
        json!([]),
    );
}

/// The Start screen's theme setting, as a user sets it.
fn set_theme(s: &Session, theme: &str) {
    go(s, 0, "start");
    s.wait_for("[data-testid='theme']", 5).select(theme);
    let shown = s.exec("return document.documentElement.dataset.theme", json!([]));
    assert_eq!(shown, json!(theme), "the theme setting shows {theme}");
}

/// The layout checks and axe-core in the state on screen.
pub(crate) fn check(s: &Session, state: &str, found: &mut Findings) {
    let t = Instant::now();
    let layout = s.exec(LAYOUT, json!([]));
    found.seconds[1] += t.elapsed().as_secs_f64();
    let t = Instant::now();
    for p in layout["problems"].as_array().unwrap() {
        found
            .problems
            .push(format!("{state}: {}", p.as_str().unwrap()));
    }
    let violations = s.exec_async(
        "const done = arguments[arguments.length - 1];
         axe.run(document, { resultTypes: ['violations'] }).then(
           (r) => done(r.violations.map((v) => ({
             id: v.id, impact: v.impact, help: v.help,
             nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 6),
             count: v.nodes.length,
           }))),
           (e) => done({ error: String(e) }),
         );",
        json!([]),
    );
    found.seconds[2] += t.elapsed().as_secs_f64();
    assert!(
        violations.is_array(),
        "{state}: axe-core did not run: {violations}"
    );
    found
        .axe
        .push(json!({"state": state, "violations": violations}));
}

/// Tab from the top of the screen to its end: every stop draws the focus (an outline or a
/// shadow) and stops come in document order, none skipped back, no positive tabindex.
fn focus_walk(s: &Session, state: &str, found: &mut Findings) {
    let stops = s.exec(
        "document.activeElement?.blur();
         window.__stops = [];
         const all = [...document.querySelectorAll('*')];
         window.__onFocus = (e) => {
           const el = e.target, cs = getComputedStyle(el), r = el.getBoundingClientRect();
           window.__stops.push({
             name: `<${el.tagName.toLowerCase()}> ${(el.getAttribute('data-testid') || el.textContent || '').trim().slice(0, 30)}`,
             drawn: (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none',
             shown: r.width > 0 && r.height > 0,
             index: all.indexOf(el),
           });
         };
         document.addEventListener('focusin', window.__onFocus);
         if (document.querySelector('[tabindex]:not([tabindex=\"-1\"]):not([tabindex=\"0\"])')) return -1;
         return [...document.querySelectorAll('button, input, select, textarea, a[href], [tabindex=\"0\"]')]
           .filter((el) => !el.disabled && el.getClientRects().length > 0).length;",
        json!([]),
    );
    let stops = stops.as_i64().unwrap();
    if stops < 0 {
        found.problems.push(format!(
            "{state}: a positive tabindex changes the focus order"
        ));
    }
    s.keys(&vec![TAB; stops.clamp(1, 80) as usize]);
    let walked = s.exec(
        "document.removeEventListener('focusin', window.__onFocus); return window.__stops;",
        json!([]),
    );
    let walked = walked.as_array().unwrap();
    // Tab starts where the focus was, so the stops are the document's order turned once round
    // (ending where Tab comes back to the first stop): one step back at most, to the top.
    let first = walked.first().map(|w| w["index"].as_i64().unwrap());
    let (mut last, mut turned) = (-1, false);
    for (n, stop) in walked.iter().enumerate() {
        let name = stop["name"].as_str().unwrap();
        let index = stop["index"].as_i64().unwrap();
        if n > 0 && Some(index) == first {
            break;
        }
        if stop["drawn"] != json!(true) {
            found
                .problems
                .push(format!("{state}: focus not drawn on {name}"));
        }
        if stop["shown"] != json!(true) {
            found
                .problems
                .push(format!("{state}: focus on something not shown: {name}"));
        }
        if index <= last && (turned || first.is_some_and(|f| index >= f)) {
            found
                .problems
                .push(format!("{state}: focus goes back to {name}"));
            break;
        }
        turned |= index <= last;
        last = index;
    }
    if walked.len() < (stops as usize).min(80) / 2 {
        found.problems.push(format!(
            "{state}: Tab reached {} of {stops} controls",
            walked.len()
        ));
    }
}

/// The bar, the Start screen's hint and the Review help name the same screens with the same
/// shortcuts (the Alt shortcuts themselves open every screen in `go`).
fn one_list_of_screens(s: &Session, screens: &[(String, String)], found: &mut Findings) {
    go(s, 0, "start");
    let hint = s.wait_for("[data-testid='screens-hint']", 5).text();
    go(s, 4, "review");
    s.keys(&["?"]);
    s.wait_for("[data-testid='help-screens']", 5);
    let help = s.exec(
        "return [...document.querySelectorAll(\"[data-testid='help-screens'] tr\")]
           .map(r => [...r.cells].map(c => c.textContent).join(' ')).join('\\n');",
        json!([]),
    );
    let help = help.as_str().unwrap().to_string();
    s.keys(&["\u{E00C}"]);
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let (hint, help) = (words(&hint), words(&help));
    for (i, (_, label)) in screens.iter().enumerate() {
        let named = format!("Alt+{} {label}", i + 1);
        if !hint.contains(&named) {
            found
                .problems
                .push(format!("the Start screen's hint lacks {named}: {hint}"));
        }
        if !help.contains(&named) {
            found
                .problems
                .push(format!("the Review help lacks {named}: {help}"));
        }
    }
    for (words, text) in [("hint", &hint), ("help", &help)] {
        let n = text.matches("Alt+").count();
        if n != screens.len() {
            found.problems.push(format!(
                "the {words} names {n} shortcuts for {} screens",
                screens.len()
            ));
        }
    }
}

/// A screenshot on its way to the saver: its row on the contact sheet, its state, the screen.
type Shot = (String, String, Frame);

/// Writes each screenshot as a PNG on a thread of its own while the checks go on (a copy of
/// the screen is quick, turning it into a PNG is not); gives back the contact sheet's rows,
/// each screenshot shrunk.
fn saver(out: PathBuf) -> (mpsc::Sender<Shot>, JoinHandle<Vec<Vec<Rgb>>>) {
    let (send, shots) = mpsc::channel::<Shot>();
    let thread = std::thread::spawn(move || {
        let mut rows: Vec<(String, Vec<Rgb>)> = Vec::new();
        for (row, state, frame) in shots {
            let shot = frame.rgb();
            let file = state.replace(['×', ' '], "-");
            std::fs::write(out.join(format!("{file}.png")), shot.png()).unwrap();
            let shrunk = sheet::shrink(&shot, SHRINK);
            match rows.iter_mut().find(|(r, _)| *r == row) {
                Some((_, shots)) => shots.push(shrunk),
                None => rows.push((row, vec![shrunk])),
            }
        }
        rows.into_iter().map(|(_, shots)| shots).collect()
    });
    (send, thread)
}

/// The contact sheet (a row per project and screen, in the order they were seen; columns:
/// light at each width, then dark) and axe's findings.
fn save(out: &Path, found: &Findings, rows: Vec<Vec<Rgb>>) {
    if !rows.is_empty() {
        std::fs::write(out.join("contact-sheet.png"), sheet::grid(&rows).png()).unwrap();
    }
    std::fs::write(
        out.join("axe.json"),
        serde_json::to_string_pretty(&found.axe).unwrap(),
    )
    .unwrap();
    let mut summary = std::fs::File::create(out.join("axe.txt")).unwrap();
    for state in &found.axe {
        let violations = state["violations"].as_array().unwrap();
        let words: Vec<String> = violations
            .iter()
            .map(|v| {
                format!(
                    "{} {} ×{}",
                    v["impact"].as_str().unwrap_or("?"),
                    v["id"].as_str().unwrap(),
                    v["count"]
                )
            })
            .collect();
        writeln!(
            summary,
            "{}: {}",
            state["state"].as_str().unwrap(),
            if words.is_empty() {
                "no violations".to_string()
            } else {
                words.join(", ")
            }
        )
        .unwrap();
    }
}

/// The bundled sample, one reviewer, a finished guard run on its first 12 samples and the
/// reviewer's answers to them; the window opens Review on the first.
fn sample_project(db: &Path) -> Vec<String> {
    let mut store = Store::open(db).unwrap();
    import(&mut store, &repo().join("datasets/refuseu-sample.jsonl"));
    reviewer(&store);
    let conn = store.conn();
    conn.execute_batch(
        "INSERT INTO guard_runs (profile, backend, model_path, status, texts_total, finished_at)
           VALUES ('llama-guard-3-1b', 'local', '/models/a/rather/long/path/to/the/guard/Llama-Guard-3-1B.Q8_0.gguf', 'done', 36, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
         INSERT INTO verdicts (run_id, sample_id, field, verdict, categories, p_unsafe, raw_answer, latency_ms)
           SELECT 1, s.id, f.field, CASE WHEN f.field = 'chosen' THEN 'safe' ELSE 'unsafe' END,
                  CASE WHEN f.field = 'chosen' THEN '[]' ELSE '[\"S1\"]' END, 0.5, 'unsafe', 10
           FROM (SELECT id FROM samples ORDER BY id LIMIT 12) s,
                (SELECT 'prompt' AS field UNION ALL SELECT 'chosen' UNION ALL SELECT 'rejected') f;",
    )
    .unwrap();
    let first: Vec<(i64, String)> = conn
        .prepare("SELECT id, ext_id FROM samples ORDER BY id LIMIT 12")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let answer: verdikt_core::audit::Answer =
        serde_json::from_value(json!({"q1": "yes", "q2": "no", "q3": "yes"})).unwrap();
    for (id, _) in &first[1..] {
        verdikt_core::audit::annotate(&mut store, *id, "e2e", &answer, &Provenance::CLI).unwrap();
    }
    vec!["--open-sample".into(), first[0].1.clone()]
}

/// 100,000 samples in the twelve languages, one of them (open on the Review screen) with a
/// right-to-left prompt, a 20,000-character answer and a 300-character word.
fn big_project(db: &Path) -> Vec<String> {
    let jsonl = db.with_extension("jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&jsonl).unwrap());
    let long: String = "A refusal that goes on and on, as some do. "
        .repeat(20_000 / 43 + 1)
        .chars()
        .take(20_000)
        .collect();
    let row = json!({
        "id": "long-rtl", "language": "ar", "category": "S1", "style": "slang",
        "prompt": "كيف يمكنني صنع شيء خطير في المنزل؟ أريد تعليمات مفصلة خطوة بخطوة.",
        "chosen": long,
        "rejected": format!("Sure: {}", "x".repeat(300)),
    });
    writeln!(file, "{row}").unwrap();
    let languages = "en de fr it es pt pl cs sk sl lt lv"
        .split(' ')
        .collect::<Vec<_>>();
    // Written as text: plain words need no escaping, and a JSON value per row is slow here.
    for n in 1..100_000 {
        let language = languages[n % languages.len()];
        let category = n % 14 + 1;
        writeln!(
            file,
            r#"{{"id": "{language}-{n:06}", "language": "{language}", "category": "S{category}", "style": "role play", "prompt": "Prompt {n}: how would one do the harmful thing?", "chosen": "I cannot help with that ({n}).", "rejected": "Here is how, step by step ({n})."}}"#
        )
        .unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let mut store = Store::open(db).unwrap();
    import(&mut store, &jsonl);
    reviewer(&store);
    vec!["--open-sample".into(), "long-rtl".into()]
}

fn import(store: &mut Store, path: &Path) {
    verdikt_core::import::import(
        store,
        &[PathBuf::from(path)],
        &Default::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
}

fn reviewer(store: &Store) {
    verdikt_core::audit::add_reviewer(store, "e2e", "en,de,fr,it,es,pt,pl,cs,sk,sl,lt,lv,ar")
        .unwrap();
}
