//! `verdikt import` on real files: every input shape, every malformed case, atomicity.

mod common;

use common::{Project, datasets, s};
use std::io::Write;

#[test]
fn hf_folder_takes_language_and_split_from_the_path() {
    let p = Project::new();
    let out = p.ok(&["import", s(&datasets().join("refuseu-sample"))]);
    assert!(
        out.contains("396 samples (336 triples, 60 prompt-only)"),
        "{out}"
    );
    let st = p.stats();
    assert_eq!(st["by_language"].as_object().unwrap().len(), 12);
    assert_eq!(st["by_language"]["pl"], 33);
    assert_eq!(st["by_split"]["eval"], 60);
    assert_eq!(
        st["by_split"]["test"].as_u64().unwrap() + st["by_split"]["train"].as_u64().unwrap(),
        336
    );
    assert_eq!(
        st["by_category"].as_object().unwrap().len(),
        15,
        "S1..S14 and `none` for eval prompts"
    );
    assert_eq!(
        st["by_style"].as_object().unwrap().len(),
        11,
        "10 styles and `unknown` for eval prompts"
    );
    let meta: Vec<String> = p.sql("SELECT metadata FROM samples WHERE ext_id = 'pl-0007'");
    assert_eq!(
        meta,
        [r#"{"row_id":7}"#],
        "row_id is kept as metadata, not as the id"
    );
}

#[test]
fn config_folder_alone_and_eval_prompts() {
    let p = Project::new();
    p.ok(&[
        "import",
        s(&datasets().join("refuseu-sample/lang_cs")),
        "--dataset",
        "cs",
    ]);
    p.ok(&[
        "import",
        s(&datasets().join("refuseu-sample/evaluation")),
        "--dataset",
        "eval",
    ]);
    let st = p.stats();
    assert_eq!(st["by_dataset"]["cs"], 28);
    assert_eq!(st["prompt_only"], 60);
    assert_eq!(st["by_language"]["cs"], 28 + 5);
}

#[test]
fn text_is_stored_byte_for_byte() {
    let p = Project::new();
    let src = datasets().join("hostile.jsonl");
    p.ok(&["import", s(&src)]);
    let stored: Vec<String> =
        p.sql("SELECT prompt || '|' || chosen || '|' || rejected FROM samples ORDER BY id");
    let expected: Vec<String> = std::fs::read_to_string(&src)
        .unwrap()
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{}|{}|{}",
                v["prompt"].as_str().unwrap(),
                v["chosen"].as_str().unwrap(),
                v["rejected"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(stored.len(), expected.len());
    let conn = rusqlite::Connection::open(p.db()).unwrap();
    let texts: Vec<Vec<u8>> = {
        let mut st = conn
            .prepare("SELECT CAST(prompt AS BLOB) FROM samples ORDER BY id")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for (i, line) in std::fs::read_to_string(&src)
        .unwrap()
        .split('\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            texts[i],
            v["prompt"].as_str().unwrap().as_bytes(),
            "row {i} changed on the way in"
        );
    }
    let nul: Vec<i64> = p.sql("SELECT count(*) FROM samples WHERE instr(CAST(prompt || chosen || rejected AS BLOB), x'00') > 0");
    assert_eq!(nul, [1], "the NUL character survives");
}

/// Writes `content` as FILE, imports it, and expects a failure that names `needle` and stores nothing.
fn rejects(name: &str, content: &[u8], needle: &str) -> String {
    let p = Project::new();
    p.ok(&[
        "import",
        s(&datasets().join("refuseu-sample.jsonl")),
        "--dataset",
        "before",
    ]);
    let file = p.write(name, content);
    let (ok, _, stderr) = p.run(&["import", s(&file), "--dataset", "bad"]);
    assert!(!ok, "{name} was accepted");
    assert!(
        stderr.contains(needle),
        "{name}: expected `{needle}` in:\n{stderr}"
    );
    let st = p.stats();
    assert_eq!(
        (st["datasets"].as_u64(), st["samples"].as_u64()),
        (Some(1), Some(336)),
        "{name} changed the project"
    );
    stderr
}

const GOOD: &str = r#"{"id": "a", "prompt": "p", "chosen": "c", "rejected": "r", "language": "en", "category": "S1"}"#;

#[test]
fn malformed_jsonl_rows_name_file_line_and_field() {
    let cases: [(&str, &str, &str); 10] = [
        ("invalid json", "{\"prompt\": ", ":2: row: invalid JSON"),
        ("not an object", "[1, 2]", ":2: row: expected a JSON object"),
        (
            "no prompt",
            r#"{"id": "b", "language": "en"}"#,
            ":2: prompt: missing",
        ),
        (
            "half pair",
            r#"{"id": "b", "prompt": "p", "chosen": "c", "language": "en"}"#,
            ":2: rejected: missing",
        ),
        (
            "bad language",
            r#"{"id": "b", "prompt": "p", "language": "english"}"#,
            ":2: language: `english` is not a language code",
        ),
        (
            "bad category",
            r#"{"id": "b", "prompt": "p", "language": "en", "category": "S15"}"#,
            ":2: category: `S15`",
        ),
        (
            "bad split",
            r#"{"id": "b", "prompt": "p", "language": "en", "split": "../x"}"#,
            ":2: split:",
        ),
        (
            "duplicate id",
            r#"{"id": "a", "prompt": "q", "language": "en"}"#,
            ":2: id: `a` is already used at",
        ),
        (
            "prompt not text",
            r#"{"id": "b", "prompt": 5, "language": "en"}"#,
            ":2: prompt: must be text",
        ),
        (
            "bad messages",
            r#"{"id": "b", "chosen": [{"role": "system", "content": "x"}], "rejected": "r", "language": "en"}"#,
            ":2: chosen: only a user turn",
        ),
    ];
    for (what, line, needle) in cases {
        let stderr = rejects("bad.jsonl", format!("{GOOD}\n{line}\n").as_bytes(), needle);
        assert!(stderr.contains("bad.jsonl:2:"), "{what}: {stderr}");
    }
}

#[test]
fn invalid_utf8_and_empty_files() {
    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend_from_slice(b"{\"id\": \"b\", \"prompt\": \"\xff\xfe\", \"language\": \"en\"}\n");
    rejects("utf8.jsonl", &bytes, "utf8.jsonl:2: row: not valid UTF-8");
    rejects("empty.jsonl", b"", "the file has no rows");
    rejects("blank.jsonl", b"\n\n  \n", "the file has no rows");
    rejects("empty.csv", b"prompt,language\n", "the file has no rows");
}

#[test]
fn malformed_json_csv_and_parquet() {
    rejects(
        "broken.json",
        format!("[\n{GOOD},\n{{\"id\": \n]").as_bytes(),
        "broken.json:4:",
    );
    rejects(
        "element.json",
        format!("[\n{GOOD},\n  \"text\"\n]").as_bytes(),
        "element.json:3: row: expected a JSON object",
    );
    rejects(
        "cells.csv",
        b"id,prompt,language\na,p,en\nb,q\n",
        "cells.csv:3: row: expected 3 cells",
    );
    rejects(
        "cellutf8.csv",
        b"id,prompt,language\na,p\xff,en\n",
        "cellutf8.csv:2: prompt: not valid UTF-8",
    );
    rejects(
        "lang.csv",
        b"id,prompt,language\r\na,\"multi\r\nline\",en\r\nb,q,xx\r\n",
        "lang.csv:4: language:",
    );
    let parquet =
        std::fs::read(datasets().join("refuseu-sample/lang_pl/train-00000-of-00001.parquet"))
            .unwrap();
    rejects(
        "cut.parquet",
        &parquet[..parquet.len() / 2],
        "cut.parquet: not a readable Parquet file",
    );
}

#[test]
fn at_most_twenty_problems_are_listed() {
    let mut content = String::new();
    for i in 0..30 {
        content.push_str(&format!(
            "{{\"id\": \"{i}\", \"prompt\": \"p{i}\", \"language\": \"zz\"}}\n"
        ));
    }
    let stderr = rejects("many.jsonl", content.as_bytes(), "… and 10 more");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("many.jsonl:")).count(),
        20
    );
    assert!(stderr.contains("30 problem(s)"));
}

#[test]
fn skip_invalid_stores_the_rest_and_explains_the_rejects() {
    let p = Project::new();
    let file = p.write(
        "mixed.jsonl",
        format!(
            "{GOOD}\n{{\"id\": \"b\", \"prompt\": \"p\", \"language\": \"xx\"}}\nnot json\n{}\n",
            GOOD.replace("\"a\"", "\"c\"")
        ),
    );
    let out = p.ok(&[
        "import",
        s(&file),
        "--skip-invalid",
        "--rejects",
        "rej.jsonl",
    ]);
    assert!(
        out.contains("imported 2 samples") && out.contains("rejected 2 rows"),
        "{out}"
    );
    let rejects: Vec<serde_json::Value> = std::fs::read_to_string(p.path("rej.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0]["line"], 2);
    assert_eq!(rejects[0]["errors"][0]["field"], "language");
    assert_eq!(
        rejects[0]["row"]["id"], "b",
        "the rejected row is written whole"
    );
    assert_eq!(rejects[1]["line"], 3);
    assert_eq!(rejects[1]["row"], serde_json::Value::Null);
}

#[test]
fn a_dataset_name_is_taken_once_unless_replaced() {
    let p = Project::new();
    let f = p.write("d.jsonl", format!("{GOOD}\n"));
    p.ok(&["import", s(&f)]);
    let (ok, _, err) = p.run(&["import", s(&f)]);
    assert!(
        !ok && err.contains("exists already; pass --replace"),
        "{err}"
    );
    let f2 = p.write(
        "d2.jsonl",
        format!("{GOOD}\n{}\n", GOOD.replace("\"a\"", "\"b\"")),
    );
    let out = p.ok(&["import", s(&f2), "--dataset", "d", "--replace"]);
    assert!(out.contains("(replaced)"));
    assert_eq!(p.samples(), 2);
}

#[test]
fn csv_with_bom_crlf_multiline_and_aliases() {
    let p = Project::new();
    let f = p.write(
        "t.csv",
        "\u{feff}question,locale,hazard,attack_style,chosen,rejected,source\r\n\"line one\r\nline two, with comma\",PT-br,Hate,role_play,\"No \"\"thanks\"\"\",Sure,web\r\n",
    );
    p.ok(&["import", s(&f)]);
    let row: Vec<String> = p.sql("SELECT prompt || '|' || language || '|' || category || '|' || style || '|' || chosen || '|' || metadata FROM samples");
    assert_eq!(
        row,
        ["line one\r\nline two, with comma|pt-BR|S10|role play|No \"thanks\"|{\"source\":\"web\"}"]
    );
}

#[test]
fn map_flag_and_defaults() {
    let p = Project::new();
    let f = p.write(
        "g.jsonl",
        "{\"text\": \"do x\", \"target\": \"Sure\", \"behavior_id\": 3}\n",
    );
    let (ok, _, err) = p.run(&["import", s(&f)]);
    assert!(!ok && err.contains("g.jsonl:1: prompt: missing"), "{err}");
    p.ok(&[
        "import",
        s(&f),
        "--map",
        "prompt=text",
        "--map",
        "id=behavior_id",
        "--language",
        "de",
        "--split",
        "eval",
    ]);
    let row: Vec<String> = p.sql("SELECT ext_id || '|' || prompt || '|' || language || '|' || split || '|' || metadata FROM samples");
    assert_eq!(row, ["3|do x|de|eval|{\"target\":\"Sure\"}"]);
    let (ok, _, err) = p.run(&["import", s(&f), "--map", "colour=x"]);
    assert!(!ok && err.contains("unknown field `colour`"), "{err}");
}

#[test]
fn wide_multilingual_tables_give_one_sample_per_language() {
    let p = Project::new();
    let f = p.write(
        "wide.csv",
        "id,category,en,de,pl\n1,S1,Hello,Hallo,\n2,S2,Bye,Tschüss,Pa\n",
    );
    let out = p.ok(&["import", s(&f)]);
    assert!(out.contains("imported 5 samples"), "{out}");
    let rows: Vec<String> = p.sql("SELECT ext_id || '|' || language || '|' || prompt || '|' || group_key FROM samples ORDER BY id");
    assert_eq!(
        rows,
        [
            "1-en|en|Hello|1",
            "1-de|de|Hallo|1",
            "2-en|en|Bye|2",
            "2-de|de|Tschüss|2",
            "2-pl|pl|Pa|2"
        ]
    );
}

#[test]
fn json_arrays_and_content_ids() {
    let p = Project::new();
    let f = p.write(
        "a.json",
        "[\n {\"prompt\": \"p\", \"lang\": \"fr\"},\n {\"prompt\": \"q\", \"lang\": \"fr\"}\n]",
    );
    p.ok(&["import", s(&f)]);
    let ids: Vec<String> = p.sql("SELECT ext_id FROM samples ORDER BY id");
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(|i| i.len() == 16));
    let p2 = Project::new();
    let f2 = p2.write("a.json", std::fs::read(&f).unwrap());
    p2.ok(&["import", s(&f2)]);
    assert_eq!(
        p2.sql::<String>("SELECT ext_id FROM samples ORDER BY id"),
        ids,
        "content ids are stable"
    );
    let dup = p.write(
        "dup.jsonl",
        "{\"prompt\": \"p\", \"lang\": \"fr\"}\n{\"prompt\": \"p\", \"lang\": \"fr\"}\n",
    );
    let (ok, _, err) = p.run(&["import", s(&dup)]);
    assert!(
        !ok && err.contains("dup.jsonl:2: id:"),
        "identical rows are duplicates: {err}"
    );
}

#[test]
fn killed_import_leaves_the_project_as_it_was() {
    let p = Project::new();
    p.ok(&[
        "import",
        s(&datasets().join("refuseu-sample.jsonl")),
        "--dataset",
        "before",
    ]);
    let big = p.path("big.jsonl");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let filler = "x".repeat(400);
        for i in 0..400_000 {
            writeln!(w, r#"{{"id": "{i}", "prompt": "p{i} {filler}", "chosen": "c", "rejected": "r", "language": "en"}}"#).unwrap();
        }
    }
    let mut child = p
        .cmd()
        .args(["import", s(&big), "--dataset", "big"])
        .spawn()
        .unwrap();
    // Wait until the import has written pages of its transaction to disk (into the WAL, or,
    // in bulk mode, into the project file once the page cache spills), then kill it.
    let (db, wal) = (p.db(), p.dir.path().join("project.sqlite-wal"));
    let on_disk = || {
        [&db, &wal]
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .sum::<u64>()
    };
    let before = on_disk();
    let start = std::time::Instant::now();
    while on_disk() < before + (8 << 20) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished before it could be killed"
        );
        assert!(
            start.elapsed().as_secs() < 120,
            "the import never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let st = p.stats();
    assert_eq!(
        (st["datasets"].as_u64(), st["samples"].as_u64()),
        (Some(1), Some(336))
    );
    let check: Vec<String> = p.sql("PRAGMA integrity_check");
    assert_eq!(check, ["ok"]);
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    assert_eq!(p.samples(), 348, "the project works after the kill");
}

#[test]
fn bad_paths_and_formats() {
    let p = Project::new();
    let (ok, _, err) = p.run(&["import", "missing.jsonl"]);
    assert!(!ok && err.contains("missing.jsonl: No such file"), "{err}");
    let f = p.write("notes.txt", "hello");
    let (ok, _, err) = p.run(&["import", s(&f)]);
    assert!(!ok && err.contains("pass --format"), "{err}");
    let (ok, _, err) = p.run(&["import", s(&datasets()), "--format", "csv"]);
    assert!(!ok && err.contains("is a folder"), "{err}");
    let (ok, _, err) = p.run(&[
        "import",
        s(&datasets().join("hostile.jsonl")),
        "--language",
        "klingon",
    ]);
    assert!(!ok && err.contains("--language"), "{err}");
    assert_eq!(p.samples(), 0);
}
