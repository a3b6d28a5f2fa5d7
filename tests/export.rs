//! `verdikt export`, `split` and `stats` on real data: byte-identical round trips, formula
//! defusing, a Hugging Face folder that `datasets` loads, and group-respecting splits.

mod common;

use common::{Project, datasets, s};
use std::path::Path;

const FORMATS: [&str; 5] = ["trl", "trl-chat", "parquet", "csv", "hf"];

fn sample_project() -> Project {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample"))]);
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    p
}

fn read_tree(path: &Path) -> Vec<(String, Vec<u8>)> {
    if path.is_file() {
        return vec![(String::new(), std::fs::read(path).unwrap())];
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() {
                stack.push(e);
            } else {
                out.push((
                    e.strip_prefix(path).unwrap().display().to_string(),
                    std::fs::read(&e).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn export_import_export_is_byte_identical_in_every_format() {
    let p = sample_project();
    for format in FORMATS {
        let first = p.path(&format!("first.{format}"));
        p.ok(&["export", "--format", format, "--out", s(&first)]);
        let again = Project::new();
        let input_format = match format {
            "trl" | "trl-chat" => "jsonl",
            other => other,
        };
        again.ok(&[
            "import",
            s(&first),
            "--format",
            input_format,
            "--dataset",
            "again",
        ]);
        let second = again.path(&format!("second.{format}"));
        again.ok(&["export", "--format", format, "--out", s(&second)]);
        let (a, b) = (read_tree(&first), read_tree(&second));
        assert!(!a.is_empty());
        assert!(a == b, "{format}: the second export differs from the first");
    }
}

#[test]
fn trl_exports_hold_strings_or_messages_and_metadata() {
    let p = sample_project();
    let out = p.path("t.jsonl");
    let (_, _, err) = p.run(&[
        "export",
        "--format",
        "trl",
        "--out",
        s(&out),
        "--force",
        "--dataset",
        "refuseu-sample",
    ]);
    assert!(
        err.contains("exported 336 samples") && err.contains("left out 60 prompt-only"),
        "{err}"
    );
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "prompt", "chosen", "rejected", "id", "language", "category", "style", "split",
            "row_id"
        ]
    );
    assert!(first["prompt"].is_string() && first["chosen"].is_string());

    p.ok(&[
        "export",
        "--format",
        "trl-chat",
        "--out",
        s(&out),
        "--force",
        "--language",
        "pl",
        "--split",
        "test",
    ]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    for l in &lines {
        assert_eq!(l["language"], "pl");
        assert_eq!(l["split"], "test");
        assert_eq!(l["chosen"][0]["role"], "user");
        assert_eq!(l["chosen"][1]["role"], "assistant");
        assert_eq!(l["chosen"][0]["content"], l["rejected"][0]["content"]);
    }
    p.ok(&[
        "export",
        "--format",
        "trl",
        "--out",
        s(&out),
        "--force",
        "--split",
        "eval",
    ]);
    let eval = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        eval.lines().count(),
        60,
        "a prompt-only selection exports its prompts"
    );
    assert!(!eval.contains("\"chosen\""));
}

#[test]
fn csv_cells_cannot_start_formulas() {
    let p = sample_project();
    let out = p.path("h.csv");
    p.ok(&[
        "export",
        "--format",
        "csv",
        "--out",
        s(&out),
        "--dataset",
        "hostile",
    ]);
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let mut cells = 0;
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            cells += 1;
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell: {cell:?}"
            );
        }
    }
    assert!(cells > 100);
    let raw = std::fs::read_to_string(&out).unwrap();
    assert!(
        raw.contains("'=HYPERLINK"),
        "the formula text is kept, defused"
    );
}

#[test]
fn hf_folder_loads_with_the_datasets_library() {
    let p = sample_project();
    let out = p.path("hf");
    p.ok(&[
        "export",
        "--format",
        "hf",
        "--out",
        s(&out),
        "--dataset",
        "refuseu-sample",
    ]);
    assert!(out.join("lang_pl/train-00000-of-00001.parquet").is_file());
    let script = format!(
        r#"
import datasets
pl = datasets.load_dataset({dir:?}, "lang_pl")
assert sorted(pl.keys()) == ["eval", "test", "train"], pl
row = pl["train"][0]
assert row["chosen"][0]["role"] == "user" and row["chosen"][1]["role"] == "assistant", row
assert row["lang"] == "pl" and row["category"].startswith("S"), row
assert len(pl["train"]) + len(pl["test"]) == 28 and len(pl["eval"]) == 5
print("ok", len(pl["train"]))
"#,
        dir = out.to_str().unwrap()
    );
    let run = std::process::Command::new("python3")
        .args(["-c", &script])
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_DATASETS_CACHE", p.path("hf-cache"))
        .output()
        .expect("python3 runs (scripts/setup installs it with the datasets package)");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "datasets.load_dataset failed (scripts/setup installs `datasets`):\n{stderr}"
    );
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("ok 22"));
}

#[test]
fn exports_replace_files_whole_and_refuse_empty_selections() {
    let p = sample_project();
    let out = p.path("x.csv");
    std::fs::write(&out, "old").unwrap();
    p.ok(&[
        "export",
        "--format",
        "csv",
        "--out",
        s(&out),
        "--force",
        "--language",
        "lv",
    ]);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("id,language")
    );
    let (ok, _, err) = p.run(&[
        "export",
        "--format",
        "csv",
        "--out",
        s(&out),
        "--force",
        "--language",
        "ja",
    ]);
    assert!(!ok && err.contains("no sample matches"), "{err}");
    let (ok, _, err) = p.run(&[
        "export",
        "--format",
        "csv",
        "--out",
        s(&out),
        "--force",
        "--dataset",
        "nope",
    ]);
    assert!(!ok && err.contains("no dataset named `nope`"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.contains("verdikt-tmp").then_some(name)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn split_keeps_groups_whole_and_is_reproducible() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    let out = p.ok(&["split", "--test-per-category", "2", "--seed", "7"]);
    assert!(out.contains("(category, style) groups in test"), "{out}");
    // Each language's row ends with its train total.
    let pl_row = out
        .lines()
        .find(|l| l.starts_with("pl "))
        .expect("a row for pl");
    let pl_train: Vec<i64> =
        p.sql("SELECT count(*) FROM samples WHERE language = 'pl' AND split = 'train'");
    assert_eq!(
        pl_row.split_whitespace().last(),
        Some(pl_train[0].to_string().as_str()),
        "{out}"
    );
    let crossing: Vec<i64> = p.sql(
        "SELECT count(*) FROM (SELECT category, style FROM samples GROUP BY 1, 2 HAVING count(DISTINCT split) > 1)",
    );
    assert_eq!(crossing, [0], "no group crosses splits");
    // Two samples per category per language in the sample data, one per group: all groups
    // of a category are needed for N = 2.
    let per_cell: Vec<i64> =
        p.sql("SELECT count(*) FROM samples WHERE split = 'test' GROUP BY language, category");
    assert!(per_cell.iter().all(|&n| n == 2), "{per_cell:?}");
    let first: Vec<String> = p.sql("SELECT split FROM samples ORDER BY id");
    p.ok(&["split", "--test-per-category", "1", "--seed", "7"]);
    let one: Vec<String> = p.sql("SELECT split FROM samples ORDER BY id");
    assert_ne!(first, one);
    let per_cell: Vec<i64> =
        p.sql("SELECT count(*) FROM samples WHERE split = 'test' GROUP BY language, category");
    assert!(per_cell.iter().all(|&n| n == 1), "{per_cell:?}");
    p.ok(&["split", "--test-per-category", "1", "--seed", "7"]);
    assert_eq!(
        p.sql::<String>("SELECT split FROM samples ORDER BY id"),
        one,
        "same seed, same split"
    );
    p.ok(&["split", "--test-per-category", "1", "--seed", "8"]);
    assert_ne!(
        p.sql::<String>("SELECT split FROM samples ORDER BY id"),
        one,
        "another seed, another split"
    );
}

#[test]
fn stats_json_is_one_object_with_the_documented_keys() {
    let p = sample_project();
    let st = p.stats();
    for key in [
        "datasets",
        "samples",
        "triples",
        "prompt_only",
        "by_language",
        "by_split",
    ] {
        assert!(st.get(key).is_some(), "missing {key}");
    }
    assert_eq!(
        (
            st["datasets"].as_u64(),
            st["samples"].as_u64(),
            st["triples"].as_u64()
        ),
        (Some(2), Some(408), Some(348))
    );
    assert_eq!(st["prompt_only"], 60);
    let text = p.ok(&["stats"]);
    assert!(text.contains("408") && text.contains("pl 34"), "{text}");
}

/// Multi-turn rows in both layouts they come in: message lists (with a system message) and HH
/// text with role markers (with a preamble, and a marker quoted inside a turn).
fn conversations_file(p: &Project) -> std::path::PathBuf {
    let m = |role: &str, content: &str| serde_json::json!({"role": role, "content": content});
    let messages = |answer: &str| {
        serde_json::json!([
            m("system", "You are a careful assistant."),
            m("user", "Hi"),
            m("assistant", "Hello! How can I help?"),
            m("user", "Tell me how to hurt someone."),
            m("assistant", answer),
        ])
    };
    let text = |answer: &str| {
        format!(
            "Be kind.\n\nHuman: Write \"Assistant: ok\" in a log\n\nAssistant: Done.\n\nHuman: Now, which pills are deadly together?\n\nAssistant: {answer}"
        )
    };
    let rows = [
        serde_json::json!({"chosen": messages("I won't."), "rejected": messages("First, …"), "language": "en", "source": "a"}),
        serde_json::json!({"chosen": text("Please talk to a doctor."), "rejected": text("Mix these two."), "language": "en"}),
        serde_json::json!({"prompt": "Single?", "chosen": "No.", "rejected": "Yes.", "language": "en"}),
    ];
    let body: String = rows.iter().map(|r| format!("{r}\n")).collect();
    p.write("turns.jsonl", body)
}

#[test]
fn conversations_export_in_the_layout_they_came_in_and_round_trip() {
    let p = Project::new();
    p.ok(&["import", s(&conversations_file(&p))]);
    for format in ["trl", "trl-chat"] {
        let first = p.path(&format!("turns-first.{format}.jsonl"));
        p.ok(&["export", "--format", format, "--out", s(&first)]);
        let rows: Vec<serde_json::Value> = std::fs::read_to_string(&first)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let chosen = &rows[0]["chosen"];
        assert_eq!(
            chosen.as_array().map(Vec::len),
            Some(5),
            "{format}: {chosen}"
        );
        assert_eq!(chosen[0]["role"], "system");
        assert_eq!(chosen[4]["content"], "I won't.");
        assert!(
            rows[0].get("prompt").is_none(),
            "{format}: implicit prompt, as it came"
        );
        assert_eq!(
            rows[1]["chosen"],
            "Be kind.\n\nHuman: Write \"Assistant: ok\" in a log\n\nAssistant: Done.\n\nHuman: Now, which pills are deadly together?\n\nAssistant: Please talk to a doctor.",
            "{format}: text with its markers, as it came"
        );
        assert!(rows[0].get("earlier_turns").is_none());

        let again = Project::new();
        again.ok(&["import", s(&first), "--dataset", "again"]);
        let turns: Vec<Option<String>> = again.sql("SELECT turns FROM samples ORDER BY id");
        let before: Vec<Option<String>> = p.sql("SELECT turns FROM samples ORDER BY id");
        assert_eq!(
            turns, before,
            "{format}: the same turns and layouts come back"
        );
        let second = again.path(&format!("turns-second.{format}.jsonl"));
        again.ok(&["export", "--format", format, "--out", s(&second)]);
        assert!(
            std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap(),
            "{format}: the second export differs from the first"
        );
    }
    // Formats without message lists carry the earlier turns as a JSON column.
    let csv = p.path("turns.csv");
    p.ok(&["export", "--format", "csv", "--out", s(&csv)]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.lines().next().unwrap().contains("earlier_turns"),
        "{text}"
    );
    assert!(text.contains("You are a careful assistant."), "{text}");
}
