//! First-triage speed (issue 15): a RefusEU-size project, 34,668 triples and 16,800 prompts
//! (≈121k texts), triaged once from scratch; almost all of it is language identification.
//! Run with `scripts/bench-triage [TRIPLES] [PROMPTS]`.
//!
//! Texts take their language's words and a length from the same field of the bundled sample
//! (`datasets/refuseu-sample.jsonl`), so the detector sees real words at real lengths. Language
//! identification uses every core, so the figure is noisy while other work shares them.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use verdikt_core::import::{ImportOptions, import};
use verdikt_core::store::Store;
use verdikt_core::triage::{TriageOptions, triage};

const LANGUAGES: [&str; 12] = [
    "en", "de", "fr", "it", "es", "pt", "pl", "cs", "sk", "sl", "lt", "lv",
];
const FIELDS: [&str; 3] = ["prompt", "chosen", "rejected"];

/// (language, field) → (words, character lengths) of the bundled sample.
type Shape = HashMap<(String, &'static str), (Vec<String>, Vec<usize>)>;

fn sample_shape() -> Shape {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../datasets/refuseu-sample.jsonl"
    );
    let mut shape = Shape::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        for field in FIELDS {
            let text = row[field].as_str().unwrap();
            let entry = shape
                .entry((row["lang"].as_str().unwrap().to_string(), field))
                .or_default();
            entry.0.extend(text.split_whitespace().map(String::from));
            entry.1.push(text.chars().count());
        }
    }
    shape
}

fn text(rng: &mut ChaCha8Rng, (words, lengths): &(Vec<String>, Vec<usize>)) -> String {
    let target = lengths[rng.random_range(0..lengths.len())];
    let mut out = String::new();
    while out.chars().count() < target {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&words[rng.random_range(0..words.len())]);
    }
    out
}

fn write_rows(path: &std::path::Path, n: usize, fields: &[&'static str], shape: &Shape, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let language = LANGUAGES[i % 12];
        let mut row = serde_json::json!({"id": format!("{language}-{i:06}"), "lang": language});
        for &field in fields {
            row[field] = text(&mut rng, &shape[&(language.to_string(), field)]).into();
        }
        writeln!(out, "{row}").unwrap();
    }
}

fn import_file(store: &mut Store, path: std::path::PathBuf, dataset: &str) {
    import(
        store,
        &[path],
        &ImportOptions {
            dataset: Some(dataset.into()),
            ..ImportOptions::default()
        },
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
}

fn main() {
    let mut numbers = std::env::args().skip(1).filter_map(|a| a.parse().ok());
    let triples: usize = numbers.next().unwrap_or(34_668);
    let prompts: usize = numbers.next().unwrap_or(16_800);
    let dir = tempfile::tempdir().unwrap();
    let shape = sample_shape();
    write_rows(
        &dir.path().join("triples.jsonl"),
        triples,
        &FIELDS,
        &shape,
        1,
    );
    write_rows(
        &dir.path().join("prompts.jsonl"),
        prompts,
        &FIELDS[..1],
        &shape,
        2,
    );
    let mut store = Store::open(&dir.path().join("bench.sqlite")).unwrap();
    import_file(&mut store, dir.path().join("triples.jsonl"), "triples");
    import_file(&mut store, dir.path().join("prompts.jsonl"), "prompts");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    let report = triage(
        &mut store,
        &TriageOptions::default(),
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(report.langid.identified as usize, 3 * triples + prompts);
    println!(
        "first triage of {} texts ({triples} triples + {prompts} prompts; {} unsure) on {cores} cores: {seconds:.2} s ({:.0} texts/s)",
        report.langid.identified,
        report.langid.unsure,
        report.langid.identified as f64 / seconds
    );
}
