//! Queue speed on 100,000 samples (issue 4): next item for a reviewer (p99 < 10 ms) and counts
//! per reason × language (< 50 ms). Run with `scripts/bench-queue [N]`.
//!
//! Builds a real project: N RefusEU-shaped triples in 12 languages imported from generated
//! JSONL, two finished guard runs with verdicts on every text (some disagreeing, some
//! uncertain), detected languages (some mismatching), real triage, an audit sample, two answers
//! per sample wanted, and three reviewers per language who have each answered a third of their
//! queue (one in five of the second reviewer's answers differs, so triage finds
//! `reviewers_disagree`), and an adjudicator per language. Then times the queue calls
//! in-process and prints p50/p99.

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use verdikt_core::audit::set_config;
use verdikt_core::import::{ImportOptions, import};
use verdikt_core::queue::{self, QueueQuery};
use verdikt_core::review::review_view;
use verdikt_core::sample::STYLES;
use verdikt_core::store::Store;
use verdikt_core::triage::audit_sample::{AuditSampleOptions, draw};
use verdikt_core::triage::{TriageOptions, triage};

const LANGUAGES: [&str; 12] = [
    "en", "de", "fr", "it", "es", "pt", "pl", "cs", "sk", "sl", "lt", "lv",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn time_ms(calls: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let mut t: Vec<f64> = (0..calls)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (percentile(&t, 0.5), percentile(&t, 0.99))
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("bench.jsonl");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&jsonl).unwrap());
        for i in 0..n {
            let row = serde_json::json!({
                "id": format!("b{i}"),
                "lang": LANGUAGES[i % 12],
                "category": format!("S{}", 1 + (i / 12) % 14),
                "style": STYLES[(i / 168) % 10],
                "prompt": format!("Synthetic harmful prompt number {i} about a dangerous topic."),
                "chosen": format!("I cannot help with request {i}; it could hurt people."),
                "rejected": format!("Sure, here is how to do thing {i}, step by step."),
            });
            writeln!(out, "{row}").unwrap();
        }
    }
    let mut store = Store::open(&dir.path().join("bench.sqlite")).unwrap();
    let start = Instant::now();
    import(
        &mut store,
        &[jsonl],
        &ImportOptions {
            dataset: Some("bench".into()),
            ..ImportOptions::default()
        },
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    eprintln!(
        "imported {n} samples in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    // Synthetic guard verdicts and detected languages, written with plain SQL.
    store
        .conn()
        .execute_batch(
            "BEGIN;
             INSERT INTO guard_runs (id, profile, backend, model_sha256, status) VALUES
                 (1, 'llama-guard-3-8b', 'local', 'a', 'done'), (2, 'qwen3guard-gen', 'local', 'b', 'done');
             WITH f(field, expected) AS (VALUES ('prompt', 'unsafe'), ('chosen', 'safe'), ('rejected', 'unsafe'))
             INSERT INTO verdicts (run_id, sample_id, field, verdict, p_unsafe, refusal, raw_answer, latency_ms)
             SELECT r.id, s.id, f.field,
                    CASE WHEN (s.id * 7 + r.id) % 23 = 0 THEN (CASE f.expected WHEN 'safe' THEN 'unsafe' ELSE 'safe' END)
                         ELSE f.expected END,
                    CASE WHEN s.id % 31 = 0 THEN 0.5 WHEN f.expected = 'safe' THEN 0.05 ELSE 0.95 END,
                    CASE WHEN r.id = 2 AND f.field = 'chosen' THEN (s.id % 53 <> 0) END, '', 1
             FROM samples s, guard_runs r, f;
             WITH f(field) AS (VALUES ('prompt'), ('chosen'), ('rejected'))
             INSERT INTO text_languages (sample_id, field, detected, confidence)
             SELECT s.id, f.field, CASE WHEN s.id % 41 = 0 AND f.field = 'chosen' THEN 'en' ELSE s.language END, 0.9
             FROM samples s, f;
             COMMIT;",
        )
        .unwrap();
    let start = Instant::now();
    let report = triage(
        &mut store,
        &TriageOptions::default(),
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    eprintln!(
        "triage (reasons only; languages pre-identified) in {:.2} s: {} samples queued, {:?}",
        start.elapsed().as_secs_f64(),
        report.queued,
        report.reasons
    );
    let start = Instant::now();
    draw(
        &mut store,
        &AuditSampleOptions {
            per_language: 100,
            seed: 1,
            filter: Default::default(),
        },
    )
    .unwrap();
    eprintln!(
        "audit sample (100 per language) in {:.2} s",
        start.elapsed().as_secs_f64()
    );

    // Three reviewers per language, each with the first third of their queue answered, and
    // an adjudicator; written with plain SQL, then triage finds the disagreements.
    set_config(&store, "answers-per-sample", "2").unwrap();
    let start = Instant::now();
    for (i, l) in LANGUAGES.iter().enumerate() {
        let conn = store.conn();
        for k in 1..=3 {
            let id = (i * 4 + k) as i64;
            conn.execute(
                "INSERT INTO reviewers (id, name, languages) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, format!("r{k}-{l}"), format!("[\"{l}\"]")],
            )
            .unwrap();
            let q = QueueQuery {
                reviewer: Some(format!("r{k}-{l}")),
                ..Default::default()
            };
            let waiting = queue::list(conn, &q).unwrap();
            conn.execute_batch("BEGIN").unwrap();
            for (j, item) in waiting[..waiting.len() / 3].iter().enumerate() {
                let q1 = if k == 2 && j % 5 == 0 { "no" } else { "yes" };
                conn.execute(
                    "INSERT INTO annotations (sample_id, reviewer_id, version, q1, q2, q3, seconds)
                     VALUES (?1, ?2, 1, ?3, 'yes', 'yes', 20)",
                    rusqlite::params![item.id, id, q1],
                )
                .unwrap();
            }
            conn.execute_batch("COMMIT").unwrap();
        }
        conn.execute(
            "INSERT INTO reviewers (id, name, languages, adjudicator) VALUES (?1, ?2, ?3, 1)",
            rusqlite::params![(i * 4 + 4) as i64, format!("adj-{l}"), format!("[\"{l}\"]")],
        )
        .unwrap();
    }
    let report = triage(
        &mut store,
        &TriageOptions::default(),
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let conn = store.conn();
    let answers: i64 = conn
        .query_row("SELECT count(*) FROM annotations", [], |r| r.get(0))
        .unwrap();
    eprintln!(
        "3 reviewers per language gave {answers} answers; triage again in {:.2} s: {} samples where reviewers disagree",
        start.elapsed().as_secs_f64(),
        report.reasons["reviewers_disagree"]
    );
    let queued: Vec<i64> = queue::list(conn, &QueueQuery::default())
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    eprintln!("{} samples still need answers", queued.len());

    let reviewer_name = |i: usize| format!("r{}-{}", 1 + i % 3, LANGUAGES[(i / 3) % 12]);
    let reviewer = |i: usize| QueueQuery {
        reviewer: Some(reviewer_name(i)),
        ..Default::default()
    };
    let (p50, p99) = time_ms(2000, |i| {
        assert!(queue::next(conn, &reviewer(i), None).unwrap().is_some());
    });
    println!("next item for a reviewer (first waiting): p50 {p50:.3} ms, p99 {p99:.3} ms");
    let (p50, p99) = time_ms(2000, |i| {
        let after = queued[(i * 7919) % queued.len()];
        queue::next(conn, &reviewer(i), Some(after)).unwrap();
    });
    println!("next item for a reviewer after a given sample: p50 {p50:.3} ms, p99 {p99:.3} ms");
    let adjudicator = |i: usize| QueueQuery {
        reviewer: Some(format!("adj-{}", LANGUAGES[i % 12])),
        adjudicate: true,
        ..Default::default()
    };
    let (p50, p99) = time_ms(2000, |i| {
        assert!(queue::next(conn, &adjudicator(i), None).unwrap().is_some());
    });
    println!("next item for an adjudicator: p50 {p50:.3} ms, p99 {p99:.3} ms");
    let (p50, p99) = time_ms(200, |i| {
        queue::sample_view(conn, queued[(i * 7919) % queued.len()]).unwrap();
    });
    println!("sample view: p50 {p50:.3} ms, p99 {p99:.3} ms");
    let (p50, p99) = time_ms(200, |i| {
        let id = queue::next(conn, &reviewer(i), None).unwrap().unwrap().id;
        review_view(&store, id, &reviewer_name(i)).unwrap();
    });
    println!("next item and its review view: p50 {p50:.3} ms, p99 {p99:.3} ms");
    let (p50, p99) = time_ms(50, |_| {
        assert!(
            !queue::counts(conn, &QueueQuery::default())
                .unwrap()
                .is_empty()
        );
    });
    println!("counts per reason and language: p50 {p50:.3} ms, p99 {p99:.3} ms");
    let (p50, p99) = time_ms(50, |i| {
        queue::counts(conn, &reviewer(i)).unwrap();
    });
    println!("counts per reason and language for a reviewer: p50 {p50:.3} ms, p99 {p99:.3} ms");
    let (p50, p99) = time_ms(50, |i| {
        queue::progress(conn, &reviewer(i)).unwrap();
    });
    println!("progress in samples for a reviewer: p50 {p50:.3} ms, p99 {p99:.3} ms");
}
