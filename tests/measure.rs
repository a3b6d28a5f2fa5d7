//! `verdikt agreement`, `results`, `asr` and `audit-plan` on generated projects, checked against
//! independent reference implementations (scikit-learn, the `krippendorff` package, statsmodels,
//! `ppi_py`; run by `tests/reference/agreement.py` and `tests/reference/estimates.py`) and
//! against counts the test derives itself.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};

use common::{Project, repo};
use rusqlite::{Connection, params};
use serde_json::{Value, json};

/// splitmix64: reproducible data without depending on a random crate's API.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

const LANGS: [&str; 3] = ["pl", "de", "en"];
const CATS: [&str; 2] = ["S1", "S10"];
const FIELDS: [&str; 4] = ["prompt", "chosen", "rejected", "response"];

/// One sample's scope columns.
struct SampleInfo {
    language: &'static str,
    category: &'static str,
    style: &'static str,
}

/// The ground truth the test wrote: what → item (sample, field index) → rater → class label.
type Truth = HashMap<&'static str, BTreeMap<(i64, usize), BTreeMap<String, String>>>;

fn labels(what: &str) -> Vec<&'static str> {
    match what {
        "q3" => vec!["yes", "no", "na"],
        "verdict" => vec!["safe", "unsafe"],
        _ => vec!["yes", "no"],
    }
}

/// A project with 4 reviewers (with superseded answer versions), 3 guard runs (run 1 is
/// replaced by run 3: same profile and model) and noisy, partly missing ratings.
fn generate(p: &Project, samples: i64, seed: u64) -> (HashMap<i64, SampleInfo>, Truth) {
    let store = verdikt_core::store::Store::open(&p.db()).unwrap();
    let conn: &Connection = store.conn();
    let mut rng = Rng(seed);
    conn.execute_batch(
        "BEGIN;
         INSERT INTO datasets (id, name, format, sources) VALUES (1, 'gen', 'jsonl', '[]');
         INSERT INTO reviewers (id, name) VALUES (1, 'ana'), (2, 'ben'), (3, 'cy'), (4, 'dan');
         INSERT INTO guard_runs (id, profile, backend, model_path, status) VALUES
           (1, 'llama-guard-3-8b', 'local', 'lg.gguf', 'done'),
           (2, 'qwen3guard-gen', 'local', 'qg.gguf', 'done'),
           (3, 'llama-guard-3-8b', 'local', 'lg.gguf', 'done');",
    )
    .unwrap();
    let mut info = HashMap::new();
    let mut truth: Truth = HashMap::new();
    for id in 1..=samples {
        let s = SampleInfo {
            language: LANGS[rng.below(3) as usize],
            category: CATS[rng.below(2) as usize],
            style: ["slang", "role play", "unknown"][rng.below(3) as usize],
        };
        conn.execute(
            "INSERT INTO samples (id, dataset_id, ext_id, language, category, style, prompt, chosen, rejected, response)
             VALUES (?1, 1, ?1, ?2, ?3, nullif(?4, 'unknown'), 'p', 'c', 'r', 'x')",
            params![id, s.language, s.category, s.style],
        )
        .unwrap();
        // A latent truth per item so that raters agree more than chance.
        let base: Vec<bool> = (0..7).map(|_| rng.chance(0.6)).collect();
        for (rid, name) in [(1, "ana"), (2, "ben"), (3, "cy"), (4, "dan")] {
            if !rng.chance(0.75) {
                continue;
            }
            let versions = 1 + rng.below(2) as i64;
            for version in 1..=versions {
                let flip = |rng: &mut Rng, b: bool| if rng.chance(0.2) { !b } else { b };
                let yn = |b: bool| if b { "yes" } else { "no" };
                let q1 = yn(flip(&mut rng, base[0]));
                let q2 = rng.chance(0.9).then(|| yn(flip(&mut rng, base[1])));
                let q3 = if rng.chance(0.15) {
                    "na"
                } else {
                    yn(flip(&mut rng, base[2]))
                };
                let mut verdicts = serde_json::Map::new();
                for (f, field) in FIELDS.iter().enumerate() {
                    if rng.chance(0.5) {
                        let v = if flip(&mut rng, base[3 + f]) {
                            "unsafe"
                        } else {
                            "safe"
                        };
                        verdicts.insert(field.to_string(), json!({"verdict": v, "categories": []}));
                    }
                }
                conn.execute(
                    "INSERT INTO annotations (sample_id, reviewer_id, version, q1, q2, q3, verdicts)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, rid, version, q1, q2, q3, Value::Object(verdicts.clone()).to_string()],
                )
                .unwrap();
                if version == versions {
                    let mut put = |what: &'static str, f: usize, v: &str| {
                        truth
                            .entry(what)
                            .or_default()
                            .entry((id, f))
                            .or_default()
                            .insert(name.to_string(), v.to_string());
                    };
                    put("q1", 0, q1);
                    if let Some(q2) = q2 {
                        put("q2", 0, q2);
                    }
                    put("q3", 0, q3);
                    for (field, v) in &verdicts {
                        let f = FIELDS.iter().position(|x| x == field).unwrap();
                        put("verdict", f, v["verdict"].as_str().unwrap());
                    }
                }
            }
        }
        for run in 1..=3 {
            for (f, field) in FIELDS.iter().enumerate() {
                if !rng.chance(0.85) {
                    continue;
                }
                let v = match rng.below(20) {
                    0 => "controversial",
                    1 => "unparsed",
                    _ if rng.chance(0.8) == base[3 + f] => "unsafe",
                    _ => "safe",
                };
                conn.execute(
                    "INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms)
                     VALUES (?1, ?2, ?3, ?4, '', 1.0)",
                    params![run, id, field, v],
                )
                .unwrap();
                if run != 1 && (v == "safe" || v == "unsafe") {
                    truth
                        .entry("verdict")
                        .or_default()
                        .entry((id, f))
                        .or_default()
                        .insert(format!("guard:{run}"), v.to_string());
                }
            }
        }
        info.insert(id, s);
    }
    conn.execute_batch("COMMIT").unwrap();
    (info, truth)
}

fn in_scope(scope: &Value, s: &SampleInfo) -> bool {
    let want = |key: &str, have: &str| scope.get(key).is_none_or(|v| v == have);
    want("language", s.language) && want("category", s.category) && want("style", s.style)
}

fn python(cases: &[Value]) -> Vec<Value> {
    reference("agreement.py", cases)
}

/// Runs a script of `tests/reference/` on `cases`.
fn reference(script: &str, cases: &[Value]) -> Vec<Value> {
    let script = repo().join("tests/reference").join(script);
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = json!({ "cases": cases }).to_string();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the reference script failed (scripts/setup --deps installs scikit-learn, krippendorff, statsmodels, ppi-python):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(ours: &Value, reference: &Value, what: &str) {
    match (ours.as_f64(), reference.as_f64()) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{what}: ours {a}, reference {b}"),
        _ => assert_eq!(ours, reference, "{what}: one is undefined"),
    }
}

#[test]
fn agreement_matches_reference_implementations() {
    let p = Project::new();
    let (info, truth) = generate(&p, 400, 7);
    let rows: Vec<Value> = serde_json::from_str(&p.ok(&["agreement", "--json"])).unwrap();
    let mut cases = Vec::new();
    let mut checks = Vec::new();
    for row in &rows {
        let what = row["what"].as_str().unwrap();
        let raters: Vec<String> = row["raters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        assert!(
            !raters.contains(&"guard:1".to_string()),
            "run 1 was superseded by run 3"
        );
        if what != "verdict" {
            assert!(
                raters.iter().all(|r| !r.starts_with("guard:")),
                "guards do not answer Q1–Q3"
            );
        }
        let classes = labels(what);
        let class = |v: &String| classes.iter().position(|c| c == v).unwrap() as i64;
        let items: Vec<&BTreeMap<String, String>> = truth[what]
            .iter()
            .filter(|((id, _), _)| in_scope(&row["scope"], &info[id]))
            .map(|(_, r)| r)
            .collect();
        let label_ids: Vec<i64> = (0..classes.len() as i64).collect();
        if raters.len() == 2 {
            let both: Vec<(i64, i64)> = items
                .iter()
                .filter_map(|r| Some((class(r.get(&raters[0])?), class(r.get(&raters[1])?))))
                .collect();
            assert_eq!(row["n"], both.len(), "{row}");
            let agree = both.iter().filter(|(a, b)| a == b).count() as f64 / both.len() as f64;
            close(
                &row["percent_agreement"],
                &json!(agree),
                "percent agreement",
            );
            let (a, b): (Vec<i64>, Vec<i64>) = both.into_iter().unzip();
            cases.push(json!({"kind": "pair", "a": a, "b": b, "labels": label_ids}));
        } else {
            assert!(raters.len() >= 3);
            let data: Vec<Vec<Option<i64>>> = items
                .iter()
                .map(|r| raters.iter().map(|n| r.get(n).map(class)).collect())
                .filter(|row: &Vec<Option<i64>>| row.iter().any(Option::is_some))
                .collect();
            let pairable = data
                .iter()
                .filter(|r| r.iter().flatten().count() >= 2)
                .count();
            let full = data
                .iter()
                .filter(|r| r.iter().all(Option::is_some))
                .count();
            assert_eq!(
                (row["n"].as_u64(), row["n_all_raters"].as_u64()),
                (Some(pairable as u64), Some(full as u64))
            );
            cases.push(json!({"kind": "group", "data": data, "labels": label_ids}));
        }
        checks.push(row);
    }
    let whats: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["what"].as_str().unwrap()).collect();
    assert_eq!(whats.len(), 4, "q1, q2, q3 and verdict are all measured");
    assert!(
        checks
            .iter()
            .any(|r| r["raters"].as_array().unwrap().len() == 6),
        "all six verdict raters form a group"
    );
    let reference = python(&cases);
    let (mut pairs, mut groups) = (0, 0);
    for (row, r) in checks.iter().zip(&reference) {
        if row.get("cohen_kappa").is_some() {
            close(
                &row["cohen_kappa"],
                &r["cohen_kappa"],
                &format!("Cohen κ {row}"),
            );
            pairs += 1;
        } else {
            close(
                &row["krippendorff_alpha"],
                &r["krippendorff_alpha"],
                &format!("α {row}"),
            );
            close(
                &row["fleiss_kappa"],
                &r["fleiss_kappa"],
                &format!("Fleiss κ {row}"),
            );
            groups += 1;
        }
    }
    assert!(
        pairs > 100 && groups > 20,
        "{pairs} pairs, {groups} groups compared"
    );
}

#[test]
fn results_match_counts_and_wilson_reference() {
    let p = Project::new();
    let (info, truth) = generate(&p, 300, 11);
    let results: Value = serde_json::from_str(&p.ok(&["results", "--json"])).unwrap();
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for row in results["questions"].as_array().unwrap() {
        let language = row["language"].as_str();
        for q in ["q1", "q2", "q3"] {
            // The final answer (no adjudications here): what every current answer says when
            // they agree; reviewers who differ leave the question pending, `na` leaves it out.
            let (mut pass, mut n) = (0u64, 0u64);
            for ((id, _), answers) in &truth[q] {
                if language.is_some_and(|l| l != info[id].language) {
                    continue;
                }
                let mut values = answers.values();
                let Some(first) = values.next() else {
                    continue;
                };
                if first == "na" || values.any(|v| v != first) {
                    continue;
                }
                n += 1;
                pass += u64::from(first == "yes");
            }
            assert_eq!(
                (row[q]["successes"].as_u64(), row[q]["n"].as_u64()),
                (Some(pass), Some(n)),
                "{q} {language:?}"
            );
            cases.push(json!({"kind": "wilson", "successes": pass, "n": n}));
            ours.push(row[q].clone());
        }
    }
    assert_eq!(ours.len(), 12, "three languages and overall");
    for (o, r) in ours.iter().zip(python(&cases)) {
        close(&o["low"], &r["low"], "Wilson low");
        close(&o["high"], &r["high"], "Wilson high");
    }
    let guards: Vec<&str> = results["guard_accuracy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["guard"].as_str().unwrap())
        .collect();
    assert!(
        guards.contains(&"guard:2") && guards.contains(&"guard:3") && !guards.contains(&"guard:1")
    );
}

/// ASR rules on hand-made responses whose outcome is known.
#[test]
fn asr_rules_and_separate_counts() {
    let p = Project::new();
    let store = verdikt_core::store::Store::open(&p.db()).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'gen', 'jsonl', '[]');
             INSERT INTO reviewers (id, name) VALUES (1, 'ana');
             INSERT INTO guard_runs (id, profile, backend, model_path, status) VALUES
               (1, 'a', 'local', 'a.gguf', 'done'), (2, 'b', 'local', 'b.gguf', 'done');
             INSERT INTO samples (id, dataset_id, ext_id, language, prompt, response, generator) VALUES
               (1, 1, '1', 'pl', 'p', 'odp', 'm1'),      -- both unsafe
               (2, 1, '2', 'pl', 'p', 'odp', 'm1'),      -- both safe
               (3, 1, '3', 'pl', 'p', 'odp', 'm1'),      -- disagree, reviewer: unsafe
               (4, 1, '4', 'pl', 'p', 'odp', 'm1'),      -- disagree, no reviewer yet
               (5, 1, '5', 'pl', 'p', '  ', 'm1'),       -- empty
               (6, 1, '6', 'pl', 'p', 'answer', 'm1'),   -- detected English
               (7, 1, '7', 'pl', 'p', 'odp', 'm1'),      -- one guard unparsed
               (8, 1, '8', 'de', 'p', 'antw', NULL);     -- unknown generator, both unsafe
             INSERT INTO text_languages (sample_id, field, detected, confidence) VALUES
               (1, 'response', 'pl', 0.9), (2, 'response', NULL, NULL), (6, 'response', 'en', 0.9);
             INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms) VALUES
               (1, 1, 'response', 'unsafe', '', 1), (2, 1, 'response', 'unsafe', '', 1),
               (1, 2, 'response', 'safe', '', 1), (2, 2, 'response', 'safe', '', 1),
               (1, 3, 'response', 'unsafe', '', 1), (2, 3, 'response', 'safe', '', 1),
               (1, 4, 'response', 'safe', '', 1), (2, 4, 'response', 'unsafe', '', 1),
               (1, 5, 'response', 'safe', '', 1), (2, 5, 'response', 'safe', '', 1),
               (1, 6, 'response', 'safe', '', 1), (2, 6, 'response', 'safe', '', 1),
               (1, 7, 'response', 'unsafe', '', 1), (2, 7, 'response', 'unparsed', '', 1),
               (1, 8, 'response', 'unsafe', '', 1), (2, 8, 'response', 'unsafe', '', 1);
             INSERT INTO annotations (sample_id, reviewer_id, version, verdicts) VALUES
               (3, 1, 1, '{\"response\": {\"verdict\": \"unsafe\", \"categories\": [\"S1\"]}}');",
        )
        .unwrap();
    let rows: Vec<Value> = serde_json::from_str(&p.ok(&["asr", "--json"])).unwrap();
    let m1 = rows
        .iter()
        .find(|r| r["generator"] == "m1" && r["language"].is_null())
        .unwrap();
    let counts: Vec<u64> = [
        "responses",
        "empty",
        "wrong_language",
        "unjudged",
        "pending",
    ]
    .iter()
    .map(|k| m1[k].as_u64().unwrap())
    .collect();
    assert_eq!(counts, vec![7, 1, 1, 1, 1]);
    let share = |rule: &str| {
        (
            m1["asr"][rule]["successes"].as_u64().unwrap(),
            m1["asr"][rule]["n"].as_u64().unwrap(),
        )
    };
    assert_eq!(share("both"), (1, 4));
    assert_eq!(share("any"), (3, 4));
    assert_eq!(share("majority"), (1, 4));
    assert_eq!(
        share("human_adjudicated"),
        (2, 3),
        "1 and 3 unsafe, 2 safe, 4 pending"
    );
    assert_eq!(m1["language_consistency"]["successes"], 1);
    assert_eq!(m1["language_consistency"]["n"], 2);
    assert!(
        rows.iter()
            .any(|r| r["generator"] == "unknown" && r["language"] == "de")
    );
}

#[test]
fn a_three_class_guard_is_read_strict_and_loose() {
    let p = Project::new();
    let store = verdikt_core::store::Store::open(&p.db()).unwrap();
    // Run 2 is Qwen3Guard-like (its profile reads strictly); its `controversial` on sample 2
    // is unsafe under the strict reading and safe under the loose one.
    store
        .conn()
        .execute_batch(
            "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'gen', 'jsonl', '[]');
             INSERT INTO reviewers (id, name) VALUES (1, 'ana');
             INSERT INTO guard_runs (id, profile, backend, model_path, status, params) VALUES
               (1, 'a', 'local', 'a.gguf', 'done', '{}'),
               (2, 'qwen3guard-gen', 'local', 'b.gguf', 'done', '{\"reading\": \"strict\"}');
             INSERT INTO samples (id, dataset_id, ext_id, language, prompt, response, generator) VALUES
               (1, 1, '1', 'pl', 'p', 'odp', 'm1'), (2, 1, '2', 'pl', 'p', 'odp', 'm1');
             INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms) VALUES
               (1, 1, 'response', 'safe', '', 1), (2, 1, 'response', 'safe', '', 1),
               (1, 2, 'response', 'unsafe', '', 1), (2, 2, 'response', 'controversial', '', 1);
             INSERT INTO annotations (sample_id, reviewer_id, version, verdicts) VALUES
               (2, 1, 1, '{\"response\": {\"verdict\": \"unsafe\", \"categories\": []}}');",
        )
        .unwrap();
    let rows: Vec<Value> = serde_json::from_str(&p.ok(&["asr", "--json"])).unwrap();
    let overall: Vec<(String, u64, u64, u64)> = rows
        .iter()
        .filter(|r| r["language"].is_null())
        .map(|r| {
            (
                r["reading"].as_str().unwrap().to_string(),
                r["asr"]["both"]["successes"].as_u64().unwrap(),
                r["asr"]["any"]["successes"].as_u64().unwrap(),
                r["asr"]["both"]["n"].as_u64().unwrap(),
            )
        })
        .collect();
    // The profile's own reading first; neither leaves sample 2 unjudged.
    assert_eq!(
        overall,
        [("strict".into(), 1, 1, 2), ("loose".into(), 0, 1, 2)]
    );
    let results: Value = serde_json::from_str(&p.ok(&["results", "--json"])).unwrap();
    let accuracy: Vec<(Value, u64, u64)> = results["guard_accuracy"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["language"].is_null())
        .map(|g| {
            (
                g["reading"].clone(),
                g["accuracy"]["successes"].as_u64().unwrap(),
                g["accuracy"]["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        accuracy,
        [
            (Value::Null, 1, 1),
            ("strict".into(), 1, 1),
            ("loose".into(), 0, 1)
        ]
    );
    let text = p.ok(&["asr"]);
    assert!(text.contains("controversial read loose"), "{text}");
}

/// The paper's protocol from the command line: a judge set with `verdikt guards judge` leaves
/// the guards, adds the judge-adjudicated rule to `verdikt asr` and the report under its name,
/// and brings the adjudicated keep rule.
#[test]
fn a_judge_set_from_the_cli_decides_what_the_guards_dispute() {
    let p = Project::new();
    let store = verdikt_core::store::Store::open(&p.db()).unwrap();
    // Run 3 is an ordinary finished run, so a default guard until it is made the judge.
    store
        .conn()
        .execute_batch(
            "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'gen', 'jsonl', '[]');
             INSERT INTO guard_runs (id, profile, backend, model_path, status) VALUES
               (1, 'a', 'local', 'a.gguf', 'done'), (2, 'b', 'local', 'b.gguf', 'done'),
               (3, 'refuseu-judge', 'local', 'j.gguf', 'done');
             INSERT INTO samples (id, dataset_id, ext_id, language, prompt, response, generator) VALUES
               (1, 1, '1', 'pl', 'p', 'odp', 'm1'), (2, 1, '2', 'pl', 'p', 'odp', 'm1'),
               (3, 1, '3', 'pl', 'p', 'odp', 'm1'), (4, 1, '4', 'pl', 'p', 'odp', 'm1');
             INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms) VALUES
               (1, 1, 'response', 'unsafe', '', 1), (2, 1, 'response', 'unsafe', '', 1),
               (1, 2, 'response', 'safe', '', 1), (2, 2, 'response', 'safe', '', 1),
               (1, 3, 'response', 'unsafe', '', 1), (2, 3, 'response', 'safe', '', 1),
               (3, 3, 'response', 'unsafe', '', 1),
               (1, 4, 'response', 'safe', '', 1), (2, 4, 'response', 'unsafe', '', 1);",
        )
        .unwrap();
    let before = p.ok(&["guards", "list"]);
    assert!(
        before.contains("run 1, run 2, run 3") && before.contains("judge: none"),
        "{before}"
    );
    assert!(!p.ok(&["asr"]).contains("judge-adjudicated"));

    let set = p.ok(&["guards", "judge", "3"]);
    assert!(set.contains("guards: run 1, run 2 (default"), "{set}");
    assert!(
        set.contains("judge: run 3 (chosen with `verdikt guards judge`)"),
        "{set}"
    );
    assert!(set.contains("keep rule: adjudicated (default"), "{set}");

    let text = p.ok(&["asr"]);
    assert!(
        text.contains("judge-adjudicated  the guards' verdict where they agree")
            && text.contains("awaiting the judge (judge: run 3)"),
        "{text}"
    );
    assert!(text.contains("1 awaiting the judge"), "{text}");
    assert!(
        text.contains("judge-adjudicated 66.7% [") && text.contains("human-adjudicated"),
        "{text}"
    );
    let rows: Vec<Value> = serde_json::from_str(&p.ok(&["asr", "--json"])).unwrap();
    let m1 = rows.iter().find(|r| r["language"].is_null()).unwrap();
    assert_eq!(m1["asr"]["judge_adjudicated"]["successes"], 2, "1 and 3");
    assert_eq!(m1["asr"]["judge_adjudicated"]["n"], 3);
    assert_eq!(
        m1["awaiting_judge"], 1,
        "4: no judge verdict, never guessed"
    );

    let out = p.path("report");
    p.ok(&["report", "--out", out.to_str().unwrap()]);
    let csv = std::fs::read_to_string(out.join("asr.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.contains("awaiting_judge") && header.contains("judge_adjudicated_share"),
        "{header}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        html.contains(
            "judge-adjudicated (the paper&#39;s protocol) <code>judge_adjudicated</code>"
        ),
        "the rule explained beside the table"
    );
    assert!(out.join("asr_judge_adjudicated.svg").exists());

    let (ok, _, err) = p.run(&["guards", "use", "1", "3"]);
    assert!(!ok && err.contains("cannot be both"), "{err}");
    let chosen = p.ok(&["guards", "keep-rule", "unanimous"]);
    assert!(chosen.contains("keep rule: unanimous (chosen"), "{chosen}");
    let (ok, _, err) = p.run(&["guards", "keep-rule", "most"]);
    assert!(!ok && err.contains("unknown keep rule `most`"), "{err}");

    let off = p.ok(&["guards", "judge", "--none"]);
    assert!(off.contains("judge: none (chosen"), "{off}");
    assert!(!p.ok(&["asr"]).contains("judge-adjudicated"));
}

#[test]
fn a_broken_answer_is_named() {
    let p = Project::new();
    let store = verdikt_core::store::Store::open(&p.db()).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'gen', 'jsonl', '[]');
             INSERT INTO reviewers (id, name) VALUES (1, 'ana');
             INSERT INTO samples (id, dataset_id, ext_id, language, prompt) VALUES (1, 1, '1', 'pl', 'p');
             INSERT INTO annotations (id, sample_id, reviewer_id, version, verdicts) VALUES (42, 1, 1, 1, '[1');",
        )
        .unwrap();
    let (ok, _, err) = p.run(&["agreement"]);
    assert!(!ok);
    assert!(
        err.contains("annotation 42") && err.contains("verdicts"),
        "{err}"
    );
}

const SCRIPT: &str = "<script>alert(1)</script>";
const QUOTES: &str = "\"&'<img src=x onerror=alert(1)>";

/// A generated project whose names are hostile: a reviewer, a model and a language.
fn hostile_project() -> Project {
    let p = Project::new();
    generate(&p, 120, 3);
    let store = verdikt_core::store::Store::open(&p.db()).unwrap();
    let conn = store.conn();
    conn.execute("UPDATE reviewers SET name = ?1 WHERE id = 1", [SCRIPT])
        .unwrap();
    conn.execute(
        "UPDATE samples SET response = 'r', generator = ?1 WHERE id <= 10",
        [QUOTES],
    )
    .unwrap();
    conn.execute("UPDATE samples SET language = ?1 WHERE id > 110", [QUOTES])
        .unwrap();
    p
}

/// The chart files of a report folder (name without extension), sorted.
fn charts_in(dir: &std::path::Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The names in `dir`, sorted.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Hidden names in `dir`: where a staging folder left behind would show.
fn hidden(dir: &std::path::Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn report_writes_html_csv_svg_and_png_with_data_escaped() {
    let p = hostile_project();
    let out = p.path("report");
    let stdout = p.ok(&["report", "--out", &format!("{}/", out.display())]);
    let charts = [
        "questions",
        "kappa_verdict",
        "kappa_q1",
        "asr",
        "asr_corrected",
        "asr_corrected_2",
        "progress",
        "guard_confusion_2",
        "guard_confusion_3",
    ];
    let tables = [
        "agreement",
        "results",
        "guard_accuracy",
        "language_consistency",
        "asr",
        "asr_corrected",
        "guard_error",
        "calibration",
        "calibration_bins",
        "progress",
        "time_per_item",
    ];
    let mut expected: Vec<String> = vec![".verdikt-output".into(), "index.html".into()];
    expected.extend(tables.iter().map(|t| format!("{t}.csv")));
    for c in charts {
        expected.extend([format!("{c}.svg"), format!("{c}.png")]);
    }
    expected.sort();
    assert_eq!(listing(&out), expected);
    assert!(
        stdout.contains(&format!("wrote {} files", expected.len() - 1)),
        "{stdout}"
    );
    assert_eq!(charts_in(&out, "svg"), charts_in(&out, "png"));
    assert_eq!(hidden(p.dir.path()), Vec::<String>::new());

    let mut labels = Vec::new();
    for c in charts {
        let svg = std::fs::read_to_string(out.join(format!("{c}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{c}.svg: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{c}");
        assert!(!svg.contains("<script") && !svg.contains("<img"), "{c}.svg");
        labels.extend(
            doc.descendants()
                .filter(|n| n.tag_name().name() == "text")
                .filter_map(|n| n.text().map(|t| (c, t.trim().to_string()))),
        );
        let size = |attr: &str| root.attribute(attr).unwrap().parse::<u32>().unwrap();
        let png = std::fs::read(out.join(format!("{c}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{c}.png signature");
        let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
        assert_eq!(
            (be(16), be(20)),
            (size("width"), size("height")),
            "{c}.png size"
        );
    }
    let has = |chart: &str, text: &str| labels.iter().any(|(c, t)| *c == chart && t.contains(text));
    assert!(has("kappa_verdict", SCRIPT), "a reviewer named as data");
    assert!(has("asr", QUOTES), "a model named as data");
    assert!(
        has("progress", QUOTES) && has("questions", QUOTES),
        "a language as data"
    );
    assert!(has("questions", "Q3 style") && has("progress", "pl"));
    assert!(has("guard_confusion_2", "guard:2") && has("guard_confusion_2", "reviewers unsafe"));

    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!html.contains("<img") && html.contains("&lt;img src=x"));
    // Every chart inline but the two models' `asr_corrected`: without an audit sample they say
    // so in words.
    assert_eq!(
        html.matches("<svg").count(),
        charts.len() - 2,
        "charts inline"
    );
    assert!(html.contains("random audit sample (verdikt audit-sample)"));
    assert!(
        html.matches("http").count()
            == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "no remote URLs"
    );
    assert!(!html.contains("<script"), "no scripts: works offline");
    let csv = std::fs::read_to_string(out.join("asr.csv")).unwrap();
    assert!(
        csv.contains("<img src=x onerror=alert(1)>"),
        "CSV keeps the data as text"
    );
}

#[test]
fn report_replaces_the_previous_report() {
    let p = hostile_project();
    let out = p.path("report");
    p.ok(&["report", "--out", out.to_str().unwrap()]);
    // A chart of a guard run that is gone by the second report.
    std::fs::write(out.join("guard_confusion_9.svg"), "<svg/>").unwrap();
    std::fs::write(out.join("guard_confusion_9.png"), "").unwrap();
    let first = std::fs::read(out.join("questions.png")).unwrap();
    p.ok(&["report", "--out", out.to_str().unwrap()]);
    assert!(
        !out.join("guard_confusion_9.svg").exists(),
        "the old report is replaced whole"
    );
    assert_eq!(
        std::fs::read(out.join("questions.png")).unwrap(),
        first,
        "same data, same chart"
    );
    assert!(out.join("index.html").is_file());
    assert_eq!(hidden(p.dir.path()), Vec::<String>::new());
}

#[test]
fn report_never_replaces_a_folder_that_is_not_a_report() {
    let p = hostile_project();
    let out = p.path("notes");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let (ok, _, err) = p.run(&["report", "--out", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains(&out.display().to_string()) && err.contains("not a Verdikt report"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(listing(&out), ["notes.txt"]);

    let file = p.write("file", "x");
    let (ok, _, err) = p.run(&["report", "--out", file.to_str().unwrap()]);
    assert!(!ok && err.contains("not a Verdikt report"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    assert_eq!(hidden(p.dir.path()), Vec::<String>::new());
}

#[test]
fn report_says_in_words_which_charts_have_no_data() {
    let p = Project::new();
    p.ok(&[
        "import",
        common::s(&common::datasets().join("refuseu-sample.jsonl")),
    ]);
    let out = p.path("report");
    p.ok(&["report", "--out", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    // Nothing is answered and no guard ran: only progress (samples per language) has data.
    for chart in ["questions", "kappa_verdict", "kappa_q1", "asr"] {
        assert!(
            html.contains(&format!(
                "<figure class=\"empty\"><figcaption>{chart}</figcaption><p>No data to draw"
            )),
            "{chart}: {html}"
        );
    }
    assert!(html.contains("this chart needs two raters' answers on the same samples"));
    assert_eq!(html.matches("No data to draw").count(), 4);
    assert_eq!(
        html.matches("<svg").count(),
        1,
        "only the progress chart is drawn"
    );
}

/// `ours` within `tolerance` of `reference`, relative (absolute below 1e-15, where both are 0).
fn near(ours: f64, reference: &Value, tolerance: f64, what: &str) {
    let want = reference
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: reference undefined"));
    let diff = (ours - want).abs();
    assert!(
        diff <= tolerance * want.abs() || diff <= 1e-15,
        "{what}: ours {ours}, reference {want}"
    );
}

/// Binary labels with a given rate, and a guard that calls unsafe with `hit` on unsafe texts
/// and `false_alarm` on safe ones.
fn labels_and_guard(
    rng: &mut Rng,
    n: usize,
    rate: f64,
    hit: f64,
    false_alarm: f64,
) -> (Vec<f64>, Vec<f64>) {
    (0..n)
        .map(|_| {
            let y = rng.chance(rate);
            let g = if y {
                rng.chance(hit)
            } else {
                rng.chance(false_alarm)
            };
            (f64::from(u8::from(y)), f64::from(u8::from(g)))
        })
        .unzip()
}

#[test]
fn estimators_match_ppi_py_and_statsmodels() {
    use verdikt_core::measure::estimate::{
        Labeled, Sums, clopper_pearson, cohen_kappa, ppi_mean, stratified, upper_bound,
    };
    use verdikt_core::measure::results::Proportion;
    let mut rng = Rng(32);
    let mut cases = Vec::new();
    let mut ours: Vec<(String, Vec<f64>)> = Vec::new();
    let sums = |y: &[f64], yhat: &[f64], unl: &[f64]| {
        let mut l = Labeled::default();
        y.iter().zip(yhat).for_each(|(&a, &b)| l.add(a, b));
        let mut u = Sums::default();
        unl.iter().for_each(|&v| u.add(v));
        (l, u)
    };
    // PPI: several n, N, rates, guard qualities; λ tuned and fixed.
    let mut strata = Vec::new();
    let mut strata_ours = Vec::new();
    for (i, &(n, big_n, rate, hit, false_alarm)) in [
        (30, 300, 0.3, 0.8, 0.05),
        (100, 1400, 0.45, 0.6, 0.2),
        (100, 5000, 0.1, 0.95, 0.01),
        (250, 2000, 0.7, 0.5, 0.4),
        (1200, 35000, 0.25, 0.9, 0.1),
        (50, 60, 0.5, 0.99, 0.3),
    ]
    .iter()
    .enumerate()
    {
        let (y, yhat) = labels_and_guard(&mut rng, n, rate, hit, false_alarm);
        let (_, unl) = labels_and_guard(&mut rng, big_n, rate, hit, false_alarm);
        let (l, u) = sums(&y, &yhat, &unl);
        for lam in [None, Some(0.0), Some(0.5), Some(1.0)] {
            let p = ppi_mean(&l, &u, lam, 0.95);
            cases.push(
                json!({"kind": "ppi", "y": y, "yhat": yhat, "yhat_unlabeled": unl, "lam": lam}),
            );
            ours.push((
                format!("ppi case {i} λ {lam:?}"),
                vec![p.estimate, p.low, p.high],
            ));
        }
        let weight = big_n as f64;
        strata.push(json!({"weight": weight, "y": y, "yhat": yhat, "yhat_unlabeled": unl}));
        strata_ours.push((weight, ppi_mean(&l, &u, None, 0.95)));
    }
    let total: f64 = strata_ours.iter().map(|s| s.0).sum();
    for (s, o) in strata.iter_mut().zip(strata_ours.iter_mut()) {
        s["weight"] = json!(o.0 / total);
        o.0 /= total;
    }
    let st = stratified(&strata_ours, 0.95);
    cases.push(json!({"kind": "stratified", "strata": strata}));
    ours.push(("stratified".into(), vec![st.estimate, st.low, st.high]));
    let ppi_cases = ours.len();

    // Clopper–Pearson and Wilson for every x of n ∈ {1, 10, 100, 1200}.
    for n in [1u64, 10, 100, 1200] {
        for x in 0..=n {
            let (low, high) = clopper_pearson(x, n, 0.95).unwrap();
            cases.push(json!({"kind": "confint", "count": x, "nobs": n, "method": "beta"}));
            ours.push((format!("beta {x}/{n}"), vec![low, high]));
            // The one-sided 95% bound is the upper end of the two-sided 90% interval.
            let up = upper_bound(x, n, 0.95).unwrap();
            cases.push(
                json!({"kind": "confint", "count": x, "nobs": n, "method": "beta", "alpha": 0.1}),
            );
            ours.push((format!("upper bound {x}/{n}"), vec![f64::NAN, up]));
            let w = Proportion::wilson(x, n);
            cases.push(json!({"kind": "confint", "count": x, "nobs": n, "method": "wilson"}));
            ours.push((
                format!("wilson {x}/{n}"),
                vec![w.low.unwrap(), w.high.unwrap()],
            ));
        }
    }
    let confint_end = ours.len();

    // Cohen's κ on random 2×2 and 3×3 tables, perfect agreement among them.
    let mut tables: Vec<Vec<Vec<u64>>> = vec![
        vec![vec![30, 0], vec![0, 12]],
        vec![vec![7, 0, 0], vec![0, 5, 0], vec![0, 0, 9]],
        vec![vec![20, 5], vec![10, 15]],
    ];
    for k in [2usize, 3] {
        for _ in 0..20 {
            tables.push(
                (0..k)
                    .map(|i| {
                        (0..k)
                            .map(|j| rng.below(if i == j { 200 } else { 40 }) + 1)
                            .collect()
                    })
                    .collect(),
            );
        }
    }
    for t in &tables {
        let kappa = cohen_kappa(t, 0.95).unwrap();
        cases.push(json!({"kind": "kappa", "table": t}));
        ours.push((
            format!("kappa {t:?}"),
            vec![kappa.kappa, kappa.std_err, kappa.low, kappa.high],
        ));
    }

    let reference = reference("estimates.py", &cases);
    assert_eq!(reference.len(), ours.len());
    for (i, ((what, values), want)) in ours.iter().zip(&reference).enumerate() {
        let (keys, tolerance): (&[&str], f64) = if i < ppi_cases {
            (&["estimate", "low", "high"], 1e-10)
        } else if i < confint_end {
            (&["low", "high"], 1e-10)
        } else {
            (&["kappa", "std_kappa", "kappa_low", "kappa_upp"], 1e-12)
        };
        // NaN: a value the case does not check.
        for (v, key) in values.iter().zip(keys).filter(|(v, _)| !v.is_nan()) {
            near(*v, &want[key], tolerance, &format!("{what} {key}"));
        }
    }
}

#[test]
fn calibration_matches_scikit_learn() {
    use verdikt_core::measure::calibration::reliability;
    let mut rng = Rng(4);
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    // A calibrated guard, an over-confident one, one with P(unsafe) on the bin edges and on 0
    // and 1, and a tiny set with empty bins.
    for (n, kind) in [(1200, 0), (400, 1), (300, 2), (7, 0)] {
        let points: Vec<(f64, bool)> = (0..n)
            .map(|_| {
                let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                let p = match kind {
                    2 => rng.below(11) as f64 / 10.0,
                    _ => u,
                };
                let truth = if kind == 1 { 0.5 + (p - 0.5) * 0.4 } else { p };
                (p, rng.chance(truth))
            })
            .collect();
        let (p, y): (Vec<f64>, Vec<u8>) = points.iter().map(|&(p, y)| (p, u8::from(y))).unzip();
        cases.push(json!({"kind": "calibration", "p": p, "y": y}));
        ours.push(reliability(&points));
    }
    let reference = reference("estimates.py", &cases);
    for (i, (r, want)) in ours.iter().zip(&reference).enumerate() {
        near(
            r.brier.unwrap(),
            &want["brier"],
            1e-10,
            &format!("case {i} Brier"),
        );
        near(
            r.ece.unwrap(),
            &want["ece"],
            1e-10,
            &format!("case {i} ECE"),
        );
        let counts: Vec<u64> = r.bins.iter().map(|b| b.n).collect();
        let want_counts: Vec<u64> = serde_json::from_value(want["counts"].clone()).unwrap();
        assert_eq!(counts, want_counts, "case {i} bin counts");
        let filled: Vec<_> = r.bins.iter().filter(|b| b.n > 0).collect();
        for (k, b) in filled.iter().enumerate() {
            let what = format!("case {i} bin {k}");
            near(b.observed.unwrap(), &want["prob_true"][k], 1e-10, &what);
            near(b.mean_p.unwrap(), &want["prob_pred"][k], 1e-10, &what);
        }
        assert_eq!(filled.len(), want["prob_true"].as_array().unwrap().len());
    }
}

/// Languages of the end-to-end project, each with its true ASR and its guard's sensitivity
/// and false-alarm rate: the guard misses much in `pl`, little in `de`, over-calls in `en`.
const PLANTED: [(&str, f64, f64, f64); 3] = [
    ("pl", 0.40, 0.55, 0.02),
    ("de", 0.30, 0.95, 0.02),
    ("en", 0.20, 0.90, 0.25),
];

#[test]
fn corrected_asr_moves_toward_the_truth_and_plans_the_audit() {
    let p = Project::new();
    let store = verdikt_core::store::Store::open(&p.db()).unwrap();
    let conn = store.conn();
    conn.execute_batch(
        "BEGIN;
         INSERT INTO datasets (id, name, format, sources) VALUES (1, 'eval', 'jsonl', '[]');
         INSERT INTO reviewers (id, name) VALUES (1, 'ana'), (2, 'ben');
         INSERT INTO guard_runs (id, profile, backend, model_path, status) VALUES
           (1, 'llama-guard-3-8b', 'local', 'lg.gguf', 'done');",
    )
    .unwrap();
    let mut rng = Rng(2026);
    let per_language = 1500i64;
    let mut truth: HashMap<i64, bool> = HashMap::new();
    let mut true_asr = BTreeMap::new();
    for (k, &(language, asr, hit, false_alarm)) in PLANTED.iter().enumerate() {
        let mut unsafe_ = 0;
        for i in 0..per_language {
            let id = k as i64 * per_language + i + 1;
            let y = rng.chance(asr);
            let g = if y {
                rng.chance(hit)
            } else {
                rng.chance(false_alarm)
            };
            unsafe_ += i64::from(y);
            truth.insert(id, y);
            conn.execute(
                "INSERT INTO samples (id, dataset_id, ext_id, language, prompt, response, generator)
                 VALUES (?1, 1, ?1, ?2, 'p', 'r', 'model-a')",
                params![id, language],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO verdicts (run_id, sample_id, field, verdict, p_unsafe, raw_answer, latency_ms)
                 VALUES (1, ?1, 'response', ?2, ?3, '', 1.0)",
                params![id, if g { "unsafe" } else { "safe" }, if g { 0.85 } else { 0.1 }],
            )
            .unwrap();
        }
        true_asr.insert(language, unsafe_ as f64 / per_language as f64);
    }
    conn.execute_batch("COMMIT").unwrap();

    // Before any label: the plan rests on the prior.
    let plan: Vec<Value> =
        serde_json::from_str(&p.ok(&["audit-plan", "--width", "0.05", "--json"])).unwrap();
    assert_eq!(plan.len(), 3);
    for row in &plan {
        assert_eq!(row["basis"], "prior");
        assert_eq!(row["audited"], 0);
        let needed = row["needed"].as_u64().unwrap();
        assert!((100..400).contains(&needed), "{row}");
        assert_eq!(row["more"], needed);
    }

    p.ok(&["audit-sample", "--per-language", "200", "--seed", "7"]);
    let audited: Vec<i64> = conn
        .prepare("SELECT sample_id FROM triage_reasons WHERE reason = 'audit_sample'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(audited.len(), 600);
    let audited: std::collections::HashSet<i64> = audited.into_iter().collect();
    let answer = |id: i64, reviewer: i64, unsafe_: bool| {
        let v = if unsafe_ { "unsafe" } else { "safe" };
        conn.execute(
            "INSERT INTO annotations (sample_id, reviewer_id, version, verdicts) VALUES (?1, ?2, 1, ?3)",
            params![id, reviewer, json!({"response": {"verdict": v, "categories": []}}).to_string()],
        )
        .unwrap();
    };
    for &id in &audited {
        answer(id, 1, truth[&id]);
    }
    // Texts reviewed for another reason (chosen because the guard looked wrong) must not enter:
    // 100 responses the guard called safe that reviewers found unsafe, outside the sample.
    let mut planted = 0;
    for (&id, &y) in &truth {
        if planted < 100 && y && !audited.contains(&id) {
            answer(id, 2, true);
            planted += 1;
        }
    }

    let rows: Vec<Value> = serde_json::from_str(&p.ok(&["asr", "--json"])).unwrap();
    let mut moved = 0;
    for (language, want) in &true_asr {
        let row = rows
            .iter()
            .find(|r| r["generator"] == "model-a" && r["language"] == *language)
            .unwrap();
        let c = row["corrected"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["rule"] == "both")
            .unwrap();
        assert_eq!(c["audited"], 200, "only the random sample is labelled");
        assert_eq!(
            c["unequal_chances"], false,
            "one stratum: a simple random sample"
        );
        assert_eq!(c["method"], "ppi", "{c}");
        let corrected = &c["corrected"];
        let (est, low, high) = (
            corrected["estimate"].as_f64().unwrap(),
            corrected["low"].as_f64().unwrap(),
            corrected["high"].as_f64().unwrap(),
        );
        assert!(
            low <= *want && *want <= high,
            "{language}: {want} outside {c}"
        );
        let guard = c["guard_only"]["share"].as_f64().unwrap();
        if (est - want).abs() < (guard - want).abs() {
            moved += 1;
        }
        let lambda = c["lambda"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&lambda));
    }
    assert!(
        moved >= 2,
        "the correction moves toward the truth: {rows:?}"
    );
    let pooled = rows
        .iter()
        .find(|r| r["generator"] == "model-a" && r["language"].is_null())
        .unwrap();
    let c = &pooled["corrected"][0];
    assert_eq!(c["method"], "stratified_ppi");
    let want = true_asr.values().sum::<f64>() / 3.0;
    let (low, high) = (
        c["corrected"]["low"].as_f64().unwrap(),
        c["corrected"]["high"].as_f64().unwrap(),
    );
    assert!(low <= want && want <= high, "pooled {want} outside {c}");
    let human = c["human_only_weighted"]["estimate"].as_f64().unwrap();
    let per_language: f64 = rows
        .iter()
        .filter(|r| r["generator"] == "model-a" && !r["language"].is_null())
        .map(|r| r["corrected"][0]["human_only"]["share"].as_f64().unwrap())
        .sum();
    assert!(
        (human - per_language / 3.0).abs() < 1e-12,
        "equal N: the mean of the languages"
    );
    let text = p.ok(&["asr"]);
    assert!(
        text.contains("corrected") && text.contains("PPI++"),
        "{text}"
    );

    // Guard error: on the 200 random texts per language only, the planted bias visible.
    let results: Value = serde_json::from_str(&p.ok(&["results", "--json"])).unwrap();
    let errors = results["guard_error"].as_array().unwrap();
    let pl = errors
        .iter()
        .find(|g| g["rater"] == "guard:1" && g["language"] == "pl" && g["field"] == "response")
        .unwrap();
    assert_eq!(pl["n"], 200);
    let sensitivity = pl["sensitivity"]["share"].as_f64().unwrap();
    assert!((0.35..0.75).contains(&sensitivity), "{pl}");
    let de = errors
        .iter()
        .find(|g| g["rater"] == "guard:1" && g["language"] == "de" && g["field"] == "response")
        .unwrap();
    assert!(
        de["sensitivity"]["low"].as_f64().unwrap() > pl["sensitivity"]["high"].as_f64().unwrap()
    );
    assert!(pl["kappa"]["std_err"].as_f64().unwrap() > 0.0);
    assert!(
        p.ok(&["results"])
            .contains("guard error on the random audit sample")
    );
    // Calibration on the same 200 texts per language: P(unsafe) 0.1 or 0.85, two bins.
    let calibration = results["calibration"].as_array().unwrap();
    let pl = calibration
        .iter()
        .find(|c| c["guard"] == "guard:1" && c["language"] == "pl")
        .unwrap();
    assert_eq!(pl["n"], 200);
    let counts: Vec<u64> = pl["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["n"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 200);
    assert_eq!(counts[1..8], [0; 7], "{pl}");
    assert!(pl["brier"].as_f64().unwrap() > 0.0 && pl["ece"].as_f64().unwrap() > 0.0);
    // The report shows them: the corrected ASR and calibration charts, the error bound.
    let out = p.path("report");
    p.ok(&["report", "--out", out.to_str().unwrap()]);
    for file in ["asr_corrected.svg", "calibration_1.png", "guard_error.csv"] {
        assert!(out.join(file).exists(), "{file}");
    }
    let csv = std::fs::read_to_string(out.join("guard_error.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("error_upper95"));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("100% accuracy"), "the bound's legend");

    // After labels: measured, and the bad guard of `pl` needs more than the good one of `de`.
    let plan: Vec<Value> =
        serde_json::from_str(&p.ok(&["audit-plan", "--width", "0.05", "--rule", "both", "--json"]))
            .unwrap();
    let of = |l: &str| plan.iter().find(|r| r["language"] == l).unwrap();
    assert!(
        plan.iter()
            .all(|r| r["basis"] == "measured" && r["audited"] == 200)
    );
    let (need_pl, need_de) = (
        of("pl")["needed"].as_u64().unwrap(),
        of("de")["needed"].as_u64().unwrap(),
    );
    assert!(need_pl > need_de, "{plan:?}");
    assert_eq!(
        of("pl")["more"].as_u64().unwrap(),
        need_pl.saturating_sub(200)
    );
    let text = p.ok(&["audit-plan", "--width", "0.05"]);
    assert!(
        text.contains("model-a") && text.contains("measured"),
        "{text}"
    );
    // Top up to what `pl` needs: the 600 drawn stay, the new ones come from the rest.
    let target = need_pl.to_string();
    p.ok(&[
        "audit-sample",
        "--per-language",
        &target,
        "--seed",
        "8",
        "--top-up",
        "--language",
        "pl",
    ]);
    let marked: Vec<(i64, String)> = conn
        .prepare(
            "SELECT t.sample_id, s.language FROM triage_reasons t JOIN samples s ON s.id = t.sample_id
             WHERE t.reason = 'audit_sample'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        audited.iter().all(|id| marked.iter().any(|m| m.0 == *id)),
        "kept"
    );
    let count = |l: &str| marked.iter().filter(|m| m.1 == l).count() as u64;
    assert_eq!((count("pl"), count("de")), (need_pl, 200));
    let plan: Vec<Value> =
        serde_json::from_str(&p.ok(&["audit-plan", "--width", "0.05", "--json"])).unwrap();
    let pl = plan.iter().find(|r| r["language"] == "pl").unwrap();
    // The new ones await their review, but for those reviewed before for another reason: drawn
    // at random now, their verdicts count.
    let audited_pl = pl["audited"].as_u64().unwrap();
    let reviewed_before: i64 = conn
        .query_row(
            "SELECT count(*) FROM annotations a JOIN samples s ON s.id = a.sample_id
             WHERE a.reviewer_id = 2 AND s.language = 'pl' AND a.sample_id IN
                   (SELECT sample_id FROM triage_reasons WHERE reason = 'audit_sample')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited_pl, 200 + reviewed_before as u64, "{pl}");
    let (ok, _, err) = p.run(&[
        "audit-plan",
        "--width",
        "0.05",
        "--rule",
        "human-adjudicated",
    ]);
    assert!(!ok && err.contains("human_adjudicated"), "{err}");
}
