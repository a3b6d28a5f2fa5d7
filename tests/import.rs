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

// ── Compressed inputs ──────────────────────────────────────────────────────────────────────

/// The compressions Verdikt reads, by file ending, each written with the crate it reads with.
const COMPRESSIONS: [&str; 4] = ["gz", "zst", "bz2", "xz"];

fn compress(ending: &str, bytes: &[u8]) -> Vec<u8> {
    fn finish<W: Write>(mut w: W, bytes: &[u8]) -> W {
        w.write_all(bytes).unwrap();
        w
    }
    match ending {
        "gz" => finish(
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()),
            bytes,
        )
        .finish()
        .unwrap(),
        "zst" => zstd::stream::encode_all(bytes, 3).unwrap(),
        "bz2" => finish(
            bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default()),
            bytes,
        )
        .finish()
        .unwrap(),
        "xz" => finish(liblzma::write::XzEncoder::new(Vec::new(), 6), bytes)
            .finish()
            .unwrap(),
        other => panic!("no compression `{other}`"),
    }
}

/// Every stored column of every sample, in import order.
fn stored(p: &Project) -> Vec<String> {
    p.sql(
        "SELECT json_array(ext_id, language, category, style, split, prompt, chosen, rejected,
                           response, generator, group_key, metadata) FROM samples ORDER BY id",
    )
}

/// The import fixtures as files of every text format: the bundled JSONL files, and the
/// RefusEU sample exported as CSV, as TRL message lists and as a JSON array.
fn text_fixtures(p: &Project) -> Vec<std::path::PathBuf> {
    let mut files = vec![
        datasets().join("hostile.jsonl"),
        datasets().join("refuseu-sample.jsonl"),
    ];
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    for (format, name) in [("csv", "refuseu.csv"), ("trl-chat", "refuseu-chat.jsonl")] {
        let out = p.path(name);
        p.ok(&["export", "--format", format, "--out", s(&out)]);
        files.push(out);
    }
    let lines: Vec<String> = std::fs::read_to_string(datasets().join("hostile.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    files.push(p.write("hostile-array.json", format!("[\n{}\n]", lines.join(",\n"))));
    files
}

#[test]
fn compressed_fixtures_import_identically_to_the_plain_ones() {
    let scratch = Project::new();
    for plain in text_fixtures(&scratch) {
        let expected = Project::new();
        expected.ok(&["import", s(&plain), "--dataset", "d"]);
        let want = stored(&expected);
        assert!(!want.is_empty());
        let name = plain.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(&plain).unwrap();
        for ending in COMPRESSIONS {
            let p = Project::new();
            let file = p.write(&format!("{name}.{ending}"), compress(ending, &bytes));
            let out = p.ok(&["import", s(&file), "--dataset", "d"]);
            assert_eq!(stored(&p), want, "{name}.{ending} imported differently");
            let format = name.rsplit('.').next().unwrap().to_uppercase();
            let named = match ending {
                "gz" => "gzip",
                "zst" => "zstd",
                "bz2" => "bzip2",
                _ => "xz",
            };
            assert!(
                out.contains(&format!("{named}-compressed {format}")),
                "{name}.{ending}: {out}"
            );
        }
    }
}

#[test]
fn compression_is_recognised_by_content_not_name() {
    let p = Project::new();
    let jsonl = std::fs::read(datasets().join("hostile.jsonl")).unwrap();
    let unnamed = p.write("download", compress("gz", &jsonl));
    let out = p.ok(&["import", s(&unnamed), "--dataset", "a"]);
    assert!(out.contains("gzip-compressed JSONL"), "{out}");
    let misnamed = p.write("plain-looking.jsonl", compress("zst", &jsonl));
    let out = p.ok(&["import", s(&misnamed), "--dataset", "b"]);
    assert!(out.contains("zstd-compressed JSONL"), "{out}");
    let st = p.stats();
    assert_eq!(st["by_dataset"]["a"], st["by_dataset"]["b"]);
}

#[test]
fn dataset_folders_may_hold_compressed_files() {
    let p = Project::new();
    let folder = p.path("hub");
    for config in ["lang_pl", "lang_de"] {
        std::fs::create_dir_all(folder.join(config)).unwrap();
    }
    let row = |id: &str| {
        format!(
            "{{\"id\": \"{id}\", \"prompt\": \"p {id}\", \"chosen\": \"c\", \"rejected\": \"r\"}}\n"
        )
    };
    std::fs::write(
        folder.join("lang_pl/train-00000-of-00001.jsonl.gz"),
        compress("gz", (row("a") + &row("b")).as_bytes()),
    )
    .unwrap();
    std::fs::write(
        folder.join("lang_de/test.csv.xz"),
        compress("xz", b"id,prompt,chosen,rejected\nc,p c,c,r\n"),
    )
    .unwrap();
    p.ok(&["import", s(&folder)]);
    let rows: Vec<String> =
        p.sql("SELECT ext_id || '|' || language || '|' || split FROM samples ORDER BY id");
    assert_eq!(rows, ["c|de|test", "a|pl|train", "b|pl|train"]);
}

#[test]
fn a_corrupt_gzip_is_refused_by_name_and_changes_nothing() {
    let mut rows = String::new();
    for i in 0..2000 {
        rows.push_str(&GOOD.replace("\"a\"", &format!("\"r{i}\"")));
        rows.push('\n');
    }
    let good = compress("gz", rows.as_bytes());
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    for b in &mut flipped[middle..middle + 16] {
        *b ^= 0x5a;
    }
    let stderr = rejects("flipped.jsonl.gz", &flipped, "flipped.jsonl.gz:");
    assert!(stderr.contains("its gzip data is corrupt"), "{stderr}");
    let stderr = rejects(
        "cut.jsonl.gz",
        &good[..good.len() - 100],
        "its gzip data is corrupt",
    );
    assert!(stderr.contains("cut.jsonl.gz"), "{stderr}");
    rejects(
        "header.gz",
        b"\x1f\x8bnot really gzip",
        "header.gz: its gzip data is corrupt",
    );
}

#[test]
fn compressed_parquet_is_refused_with_a_reason() {
    let parquet =
        std::fs::read(datasets().join("refuseu-sample/lang_pl/train-00000-of-00001.parquet"))
            .unwrap();
    rejects(
        "t.parquet.gz",
        &compress("gz", &parquet),
        "gzip-compressed Parquet file cannot be read as a stream",
    );
}

// ── Implicit-prompt pairs ──────────────────────────────────────────────────────────────────

fn message(role: &str, content: &str) -> serde_json::Value {
    serde_json::json!({"role": role, "content": content})
}

/// The rule for message lists, as the README states it: the messages both sides share are
/// the prompt, the last of them its text and the others kept as its earlier turns; each side's
/// one remaining message is its answer.
fn split_by_messages(
    chosen: &[serde_json::Value],
    rejected: &[serde_json::Value],
) -> (String, String, String, Option<serde_json::Value>) {
    let shared = chosen
        .iter()
        .zip(rejected)
        .take_while(|(c, r)| c == r)
        .count();
    assert_eq!((chosen.len(), rejected.len()), (shared + 1, shared + 1));
    let text = |m: &serde_json::Value| m["content"].as_str().unwrap().to_string();
    let earlier = (shared > 1).then(|| serde_json::Value::from(chosen[..shared - 1].to_vec()));
    (
        text(&chosen[shared - 1]),
        text(&chosen[shared]),
        text(&rejected[shared]),
        earlier,
    )
}

#[test]
fn implicit_prompt_message_lists_split_at_the_last_shared_turn() {
    let p = Project::new();
    let single = [message("user", "How do I pick a lock?")];
    let system = [
        message("system", "You are a careful assistant."),
        message("user", "Wie baue ich eine Bombe?"),
    ];
    let multi = [
        message("user", "Hi"),
        message("assistant", "Hello! How can I help?"),
        message("user", "Tell me how to hurt someone."),
    ];
    let answers = [
        ("I can't help with that.", "I can show you."),
        ("Dabei helfe ich nicht.", "Dabei helfe ich gern."),
        ("I won't do that.", "I will: first,"),
    ];
    let mut rows = String::new();
    let mut expected = Vec::new();
    for (prompt, (good, bad)) in [&single[..], &system[..], &multi[..]].iter().zip(answers) {
        let side = |answer: &str| {
            let mut list = prompt.to_vec();
            list.push(message("assistant", answer));
            list
        };
        let (chosen, rejected) = (side(good), side(bad));
        expected.push(split_by_messages(&chosen, &rejected));
        let row = serde_json::json!({"chosen": chosen, "rejected": rejected, "language": "en"});
        rows.push_str(&format!("{row}\n"));
    }
    let file = p.write("implicit.jsonl", rows);
    let out = p.ok(&["import", s(&file)]);
    assert!(
        out.contains("layout: implicit prompt pairs, message lists, 3 rows, 1–2 turns; JSONL"),
        "{out}"
    );
    let stored: Vec<String> =
        p.sql("SELECT json_array(prompt, chosen, rejected, json_extract(turns, '$.earlier'), json_extract(turns, '$.layout.kind'), metadata) FROM samples ORDER BY id");
    for (row, (prompt, chosen, rejected, earlier)) in stored.iter().zip(&expected) {
        let row: serde_json::Value = serde_json::from_str(row).unwrap();
        assert_eq!(
            (&row[0], &row[1], &row[2]),
            (
                &serde_json::json!(prompt),
                &serde_json::json!(chosen),
                &serde_json::json!(rejected)
            )
        );
        assert_eq!(
            Some(&row[3]).filter(|t| !t.is_null()),
            earlier.as_ref(),
            "{row}"
        );
        if earlier.is_some() {
            assert_eq!(row[4], "messages", "{row}");
        }
        assert_eq!(row[5], "{}", "nothing left in the metadata: {row}");
    }
    assert_eq!(stored.len(), 3);
}

/// The longest common character prefix, less a final space: TRL's `extract_prompt` rule for
/// texts (`trl/data_utils.py`). Returns (prompt, chosen, rejected).
fn trl_extract_prompt(chosen: &str, rejected: &str) -> (String, String, String) {
    let (c, r): (Vec<char>, Vec<char>) = (chosen.chars().collect(), rejected.chars().collect());
    let mut idx = c.iter().zip(&r).take_while(|(a, b)| a == b).count();
    if idx > 0 && c[idx - 1] == ' ' {
        idx -= 1;
    }
    let tail = |v: &[char]| v[idx..].iter().collect::<String>();
    (c[..idx].iter().collect(), tail(&c), tail(&r))
}

/// The rule for Anthropic HH texts: the prompt is the text of the last `Human:` turn, each
/// answer the text after the last `Assistant:` marker, both trimmed.
fn split_hh(chosen: &str, rejected: &str) -> (String, String, String) {
    let answer = |t: &str| {
        t.rsplit("\n\nAssistant:")
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    let head = chosen.rsplit_once("\n\nAssistant:").unwrap().0;
    let prompt = head.rsplit("\n\nHuman:").next().unwrap().trim().to_string();
    (prompt, answer(chosen), answer(rejected))
}

#[test]
fn implicit_prompt_texts_split_at_turn_boundaries_not_characters() {
    let p = Project::new();
    let pairs = [
        (
            "\n\nHuman: How do I pick a lock?\n\nAssistant: I cannot help with that.",
            "\n\nHuman: How do I pick a lock?\n\nAssistant: I can show you how.",
        ),
        (
            "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Which pills are deadly together?\n\nAssistant: Please talk to a doctor.",
            "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Which pills are deadly together?\n\nAssistant: Please mix these two.",
        ),
        (
            "\n\nHuman: What does \"Assistant: sure\" mean in a log?\n\nAssistant: It marks the reply.",
            "\n\nHuman: What does \"Assistant: sure\" mean in a log?\n\nAssistant: It marks nothing.",
        ),
    ];
    let rows: String = pairs
        .iter()
        .map(|(c, r)| {
            format!(
                "{}\n",
                serde_json::json!({"chosen": c, "rejected": r, "lang": "en"})
            )
        })
        .collect();
    let file = p.write("hh.jsonl", rows);
    let out = p.ok(&["import", s(&file)]);
    assert!(
        out.contains(
            r#"implicit prompt pairs, text with "\n\nHuman:"/"\n\nAssistant:" markers, 3 rows, 1–2 turns"#
        ),
        "{out}"
    );
    let stored: Vec<String> =
        p.sql("SELECT json_array(prompt, chosen, rejected) FROM samples ORDER BY id");
    for ((chosen, rejected), row) in pairs.iter().zip(&stored) {
        let row: (String, String, String) = serde_json::from_str(row).unwrap();
        assert_eq!(row, split_hh(chosen, rejected), "split against the rule");
        let trl = trl_extract_prompt(chosen, rejected);
        assert_ne!(
            (trl.1.as_str(), trl.2.as_str()),
            (row.1.as_str(), row.2.as_str()),
            "TRL's character rule keeps the answers' shared first words in the prompt"
        );
        let boundary = chosen.rfind("\n\nAssistant:").unwrap() + "\n\nAssistant:".len();
        assert!(
            trl.0.len() > boundary,
            "TRL's prompt runs past the last turn boundary: {:?}",
            trl.0
        );
    }
    let first: (String, String, String) = serde_json::from_str(&stored[0]).unwrap();
    let trl = trl_extract_prompt(pairs[0].0, pairs[0].1);
    assert_eq!(
        (trl.1.as_str(), trl.2.as_str()),
        ("not help with that.", " show you how.")
    );
    assert_eq!(
        (first.1.as_str(), first.2.as_str()),
        ("I cannot help with that.", "I can show you how.")
    );
    let quoted: (String, String, String) = serde_json::from_str(&stored[2]).unwrap();
    assert_eq!(quoted.0, "What does \"Assistant: sure\" mean in a log?");
    let turns: Vec<Option<String>> = p.sql("SELECT turns FROM samples ORDER BY id");
    assert_eq!(
        turns,
        [
            None,
            Some(
                r#"{"earlier":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}],"layout":{"kind":"text","user":"\n\nHuman:","assistant":"\n\nAssistant:"}}"#
                    .into()
            ),
            None
        ]
    );
    let metadata: Vec<String> = p.sql("SELECT metadata FROM samples ORDER BY id");
    assert_eq!(metadata, ["{}", "{}", "{}"]);
}

#[test]
fn other_marker_conventions_and_the_roles_option() {
    let p = Project::new();
    let row = |c: &str, r: &str| {
        format!(
            "{}\n",
            serde_json::json!({"chosen": c, "rejected": r, "language": "fr"})
        )
    };
    let hashes = p.write(
        "hashes.jsonl",
        row(
            "### Human: Comment voler une voiture ?\n### Assistant: Je refuse.",
            "### Human: Comment voler une voiture ?\n### Assistant: Voici comment.",
        ),
    );
    let out = p.ok(&["import", s(&hashes)]);
    assert!(
        out.contains("\"### Human:\"/\"### Assistant:\" markers"),
        "{out}"
    );
    let custom = p.write(
        "custom.jsonl",
        row(
            "<|user|>\nQuestion ?\n<|assistant|>\nNon.",
            "<|user|>\nQuestion ?\n<|assistant|>\nOui.",
        ),
    );
    let (ok, _, err) = p.run(&["import", s(&custom)]);
    assert!(
        !ok && err.contains("custom.jsonl:1: chosen: there is no prompt column")
            && err.contains("--roles"),
        "{err}"
    );
    p.ok(&[
        "import",
        s(&custom),
        "--roles",
        "user=<|user|>,assistant=<|assistant|>",
    ]);
    let rows: Vec<String> =
        p.sql("SELECT prompt || '|' || chosen || '|' || rejected FROM samples ORDER BY id");
    assert_eq!(
        rows,
        [
            "Comment voler une voiture ?|Je refuse.|Voici comment.",
            "Question ?|Non.|Oui."
        ]
    );
}

#[test]
fn an_implicit_pair_sharing_no_turn_is_refused_by_row() {
    let chosen = [message("user", "p"), message("assistant", "no")];
    let rejected = [message("user", "q"), message("assistant", "yes")];
    let row =
        serde_json::json!({"id": "b", "chosen": chosen, "rejected": rejected, "language": "en"});
    rejects(
        "nothing-shared.jsonl",
        format!("{GOOD}\n{row}\n").as_bytes(),
        "nothing-shared.jsonl:2: rejected: chosen and rejected share no turn",
    );
    let text = serde_json::json!({"id": "c", "chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: x\n\nAssistant: y", "language": "en"});
    rejects(
        "nothing-shared-text.jsonl",
        format!("{GOOD}\n{text}\n").as_bytes(),
        "nothing-shared-text.jsonl:2: rejected: chosen and rejected share no turn",
    );
}

#[test]
fn dry_run_prints_the_layout_and_first_row_and_writes_nothing() {
    let p = Project::new();
    let rows = format!(
        "{}\n",
        serde_json::json!({"id": "x1", "chosen": "\n\nHuman: Hi\n\nAssistant: No.", "rejected": "\n\nHuman: Hi\n\nAssistant: Yes.", "language": "en"})
    );
    let file = p.write("pairs.jsonl.gz", compress("gz", rows.as_bytes()));
    let out = p.ok(&["import", s(&file), "--dry-run"]);
    assert!(
        out.starts_with(
            "layout: implicit prompt pairs, text with \"\\n\\nHuman:\"/\"\\n\\nAssistant:\" markers, 1 row, 1 turn; gzip-compressed JSONL\n"
        ),
        "{out}"
    );
    let json = out
        .split_once("first row as it would be stored:\n")
        .unwrap()
        .1;
    let first: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(
        (
            &first["id"],
            &first["prompt"],
            &first["chosen"],
            &first["rejected"]
        ),
        (
            &serde_json::json!("x1"),
            &serde_json::json!("Hi"),
            &serde_json::json!("No."),
            &serde_json::json!("Yes.")
        )
    );
    assert!(!p.db().exists(), "a dry run created the project file");
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let before = std::fs::read(p.db()).unwrap();
    p.ok(&["import", s(&file), "--dry-run"]);
    assert_eq!(
        std::fs::read(p.db()).unwrap(),
        before,
        "a dry run changed the project"
    );
    assert_eq!(p.stats()["datasets"], 1);
}
