//! Token parity on real vocabularies: the vocab-only GGUFs (and their reference vectors) that
//! the pinned llama.cpp source ships in `models/`, found through `scripts/llama-tools`.
//!
//! For every built-in profile and every text of the bundled sample and hostile set, a check's
//! ids equal llama.cpp's own tokenization of the whole rendered string (special tokens parsed)
//! whenever the data spells no special token; where it does, that text stays plain and no data
//! ever yields a special id; and the in-process ids equal the `tokenizer.json` ones.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::llama::VocabFile;
use super::profile::{Profile, Segment, join_segments, load_builtin};
use super::server::SegmentTokenizer;

/// `models/` of the llama.cpp source `scripts/llama-tools` unpacks beside its bin dir
/// (`…/llama-tools/<version>/bin` → `…/llama-tools/src/<version>/llama.cpp/models`).
pub fn llama_cpp_models() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/llama-tools");
    let out = std::process::Command::new(script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("scripts/llama-tools runs");
    assert!(out.status.success(), "scripts/llama-tools failed");
    let bin = PathBuf::from(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim(),
    );
    let variant = bin.parent().unwrap();
    let version = variant.file_name().unwrap().to_str().unwrap();
    let version = version.trim_end_matches("-native");
    let models = variant
        .parent()
        .unwrap()
        .join("src")
        .join(version)
        .join("llama.cpp/models");
    assert!(models.is_dir(), "no {}", models.display());
    models
}

fn vocab_path(name: &str) -> PathBuf {
    llama_cpp_models().join(format!("ggml-vocab-{name}.gguf"))
}

/// (prompt, answers) of every row of the bundled sample and hostile set.
fn bundled_texts() -> Vec<(String, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets");
    let mut rows = Vec::new();
    for file in ["refuseu-sample.jsonl", "hostile.jsonl"] {
        for line in std::fs::read_to_string(root.join(file)).unwrap().lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            let answers = ["chosen", "rejected", "response"]
                .iter()
                .filter_map(|k| row[k].as_str().map(String::from))
                .collect();
            rows.push((row["prompt"].as_str().unwrap().to_string(), answers));
        }
    }
    assert!(rows.len() > 300, "{}", rows.len());
    rows
}

/// Every check a run of `profile` makes on the bundled texts, plus texts spelling the
/// user-defined tokens of Qwen vocabularies; each with the same check rendered without data.
fn all_checks(profile: &Profile) -> Vec<(Vec<Segment>, Vec<Segment>)> {
    let mut rows = bundled_texts();
    rows.push((
        "<think>[PAD151646]</think> <tool_call>x</tool_call>".into(),
        vec!["a[PAD151700]b<think>\n\n</think>".into()],
    ));
    let mut checks = Vec::new();
    for (prompt, answers) in rows {
        checks.push((
            profile.render_prompt_check(&prompt),
            profile.render_prompt_check(""),
        ));
        for a in answers {
            checks.push((
                profile.render_answer_check(&prompt, &a),
                profile.render_answer_check("", ""),
            ));
        }
    }
    checks
}

fn data_of(segments: &[Segment]) -> String {
    segments
        .iter()
        .filter_map(|s| match s {
            Segment::Data(d) => Some(d.as_str()),
            Segment::Template(_) => None,
        })
        .collect()
}

/// The special ids among `ids`, in order.
fn special_ids(special: &HashSet<i32>, ids: &[i32]) -> Vec<i32> {
    ids.iter()
        .copied()
        .filter(|t| special.contains(t))
        .collect()
}

/// Checks parity and special-token safety of every profile on one vocabulary; returns how
/// many checks had data spelling a special token.
fn parity_on(name: &str) -> usize {
    let vocab = VocabFile::load(&vocab_path(name)).unwrap();
    let served = SegmentTokenizer::load(&vocab_path(name)).unwrap();
    let special: HashSet<i32> = vocab.specials().ids().map(|t| t.0).collect();
    let mut with_special_text = 0;
    for profile in load_builtin().iter() {
        for (segments, bare) in all_checks(profile) {
            let ids = vocab.tokenize(&segments);
            let at = format!("{name} {}: {segments:?}", profile.name);
            if vocab.specials().spelled_in(&data_of(&segments)) {
                with_special_text += 1;
            } else {
                assert_eq!(ids, vocab.reference(&join_segments(&segments)), "{at}");
            }
            // Only the template's own special tokens, whatever the data spells.
            let bare = special_ids(&special, &vocab.tokenize(&bare));
            assert_eq!(
                special_ids(&special, &ids),
                bare,
                "data yielded a special id: {at}"
            );
            let theirs: Vec<i32> = served
                .tokenize(&segments)
                .iter()
                .map(|&t| t as i32)
                .collect();
            assert_eq!(ids, theirs, "in-process vs tokenizer.json: {at}");
        }
    }
    with_special_text
}

#[test]
fn llama_bpe_checks_are_the_reference_tokens() {
    assert!(parity_on("llama-bpe") > 0);
}

#[test]
fn qwen2_checks_are_the_reference_tokens() {
    assert!(parity_on("qwen2") > 0);
}

#[test]
fn sentencepiece_checks_are_the_reference_tokens() {
    parity_on("llama-spm");
}

/// llama.cpp's own vectors for a vocabulary: (text, ids), tokenized without special tokens.
fn reference_vectors(name: &str) -> Vec<(String, Vec<i32>)> {
    let path = vocab_path(name);
    let read = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", path.display())).unwrap();
    let inp = read("inp");
    // Every text ends with the separator; the empty text is one of the vectors.
    let inp = inp.strip_suffix("\n__ggml_vocab_test__\n").unwrap_or(&inp);
    let texts = inp.split("\n__ggml_vocab_test__\n");
    let ids = read("out");
    let ids = ids
        .lines()
        .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect());
    let vectors: Vec<_> = texts.map(String::from).zip(ids).collect();
    assert!(vectors.len() > 30, "{name}: {}", vectors.len());
    vectors
}

#[test]
fn both_tokenizers_reproduce_llama_cpp_vectors() {
    for name in ["llama-bpe", "qwen2", "llama-spm"] {
        let vocab = VocabFile::load(&vocab_path(name)).unwrap();
        let served = SegmentTokenizer::load(&vocab_path(name)).unwrap();
        // The start-of-text token the vocabulary adds, which the vectors leave out.
        let bos = vocab.tokenize(&[]);
        for (text, want) in reference_vectors(name) {
            let data = [Segment::Data(text.clone())];
            let mut expected = bos.clone();
            expected.extend(&want);
            assert_eq!(
                vocab.tokenize(&data),
                expected,
                "{name} in-process: {text:?}"
            );
            let theirs: Vec<i32> = served.tokenize(&data).iter().map(|&t| t as i32).collect();
            assert_eq!(theirs, expected, "{name} tokenizer.json: {text:?}");
        }
    }
}

/// A vocabulary of another kind (WordPiece) is not converted; the error says so.
#[test]
fn other_vocabularies_are_refused_with_a_reason() {
    let err = SegmentTokenizer::load(&vocab_path("bert-bge"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("`bert`") && err.contains("cannot be converted"),
        "{err}"
    );
}
