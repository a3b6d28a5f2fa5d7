//! Token parity on real vocabularies: the vocab-only GGUFs (and their reference vectors) that
//! the pinned llama.cpp source ships in `models/`, found through `scripts/llama-tools`.
//!
//! A check's ids equal llama.cpp's own tokenization of the whole rendered string (its
//! `llama-tokenize`, special tokens parsed) whenever the data spells no special token; where it
//! does, that text stays plain and no data ever yields a special id; and the in-process ids
//! equal the `tokenizer.json` ones. The built-in profiles run on the three vocabularies they fit;
//! every vocabulary with a chat template runs a check in its own turn markers, since each family
//! splits and strips around its special tokens in its own way.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use super::llama::VocabFile;
use super::profile::{Check, Profile, Segment, join_segments, load_builtin};
use super::server::SegmentTokenizer;

/// The bin dir of `scripts/llama-tools` (built on first use, then cached).
fn llama_tools() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/llama-tools");
        let out = Command::new(script)
            .stderr(Stdio::inherit())
            .output()
            .expect("scripts/llama-tools runs");
        assert!(out.status.success(), "scripts/llama-tools failed");
        let stdout = String::from_utf8(out.stdout).unwrap();
        PathBuf::from(stdout.lines().last().unwrap().trim())
    })
}

/// `models/` of the llama.cpp source `scripts/llama-tools` unpacks beside its bin dir
/// (`…/llama-tools/<version>/bin` → `…/llama-tools/src/<version>/llama.cpp/models`).
pub(super) fn llama_cpp_models() -> PathBuf {
    let variant = llama_tools().parent().unwrap();
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

/// `llama-tokenize`'s ids of each text as one whole string, special tokens parsed and no
/// start-of-text token added (a text carries its own). One run takes them all, joined by the
/// control token `sep`, which none spells and which strips nothing: llama.cpp tokenizes the text
/// between two special tokens on its own, so the run's ids are each text's with `sep` between.
fn llama_tokenize(vocab: &Path, texts: &[String], sep: (&str, i32)) -> Vec<Vec<i32>> {
    let mut child = Command::new(llama_tools().join("llama-tokenize"))
        .arg("-m")
        .arg(vocab)
        .args([
            "--stdin",
            "--ids",
            "--no-bos",
            "--no-escape",
            "--log-disable",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("llama-tokenize runs");
    let input = texts.join(sep.0);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "llama-tokenize failed on {}",
        vocab.display()
    );
    let out = String::from_utf8(out.stdout).unwrap();
    let ids: Vec<i32> = out
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(", ")
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect();
    let each: Vec<Vec<i32>> = ids.split(|&t| t == sep.1).map(<[i32]>::to_vec).collect();
    assert_eq!(
        each.len(),
        texts.len(),
        "`{}` split {}",
        sep.0,
        vocab.display()
    );
    each
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
/// user-defined tokens of Qwen vocabularies and the profile's own template with every special
/// token it uses; each with the same check rendered without data.
fn all_checks(profile: &Profile) -> Vec<(Vec<Segment>, Vec<Segment>)> {
    let mut rows = bundled_texts();
    rows.push((
        "<think>[PAD151646]</think> <tool_call>x</tool_call>".into(),
        vec!["a[PAD151700]b<think>\n\n</think>".into()],
    ));
    let own = join_segments(&profile.render_answer_check("", ""));
    rows.push((own.clone(), vec![own]));
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

/// Checks parity and special-token safety of `profiles` on one vocabulary; returns how many
/// checks had data spelling a special token, and whether the vocabulary converts to a
/// `tokenizer.json` (then compared too).
fn parity_on(name: &str, profiles: &[&Profile]) -> (usize, bool) {
    let path = vocab_path(name);
    let vocab = VocabFile::load(&path).unwrap();
    let served = SegmentTokenizer::load(&path);
    if let Err(e) = &served {
        assert!(e.to_string().contains("cannot be converted"), "{name}: {e}");
    }
    let special: HashSet<i32> = vocab.specials().ids().map(|t| t.0).collect();
    // The start-of-text token the vocabulary adds where a check does not begin with it.
    let bos = vocab.tokenize(&[]);
    let mut with_special_text = 0;
    let mut plain = Vec::new();
    for profile in profiles {
        for (segments, bare) in all_checks(profile) {
            let ids = vocab.tokenize(&segments);
            let at = format!("{name} {}: {segments:?}", profile.name);
            if vocab.specials().spelled_in(&data_of(&segments)) {
                with_special_text += 1;
            } else {
                plain.push((join_segments(&segments), ids.clone(), at.clone()));
            }
            // Only the template's own special tokens, whatever the data spells.
            let bare = special_ids(&special, &vocab.tokenize(&bare));
            assert_eq!(
                special_ids(&special, &ids),
                bare,
                "data yielded a special id: {at}"
            );
            if let Ok(served) = &served {
                let theirs: Vec<i32> = served
                    .tokenize(&segments)
                    .iter()
                    .map(|&t| t as i32)
                    .collect();
                assert_eq!(ids, theirs, "in-process vs tokenizer.json: {at}");
            }
        }
    }
    let texts: Vec<String> = plain.iter().map(|(text, ..)| text.clone()).collect();
    // A control token no check spells and that strips nothing joins the checks.
    let sep = vocab
        .specials()
        .list()
        .iter()
        .find(|s| {
            !s.in_plain_text
                && !s.lstrip
                && !s.rstrip
                && !texts.iter().any(|t| t.contains(s.text.as_str()))
        })
        .unwrap();
    let reference = llama_tokenize(&path, &texts, (&sep.text, sep.id.0));
    for ((_, ids, at), mut want) in plain.into_iter().zip(reference) {
        if !bos.is_empty() && !want.starts_with(&bos) {
            want.splice(0..0, bos.iter().copied());
        }
        assert_eq!(ids, want, "{at}");
    }
    (with_special_text, served.is_ok())
}

/// Every built-in profile on a vocabulary that converts; how many checks had data spelling a
/// special token.
fn builtin_parity(name: &str) -> usize {
    let builtin = load_builtin();
    let (with_special_text, converts) = parity_on(name, &builtin.iter().collect::<Vec<_>>());
    assert!(converts, "{name}");
    with_special_text
}

#[test]
fn llama_bpe_checks_are_the_reference_tokens() {
    assert!(builtin_parity("llama-bpe") > 0);
}

#[test]
fn qwen2_checks_are_the_reference_tokens() {
    assert!(builtin_parity("qwen2") > 0);
}

#[test]
fn sentencepiece_checks_are_the_reference_tokens() {
    builtin_parity("llama-spm");
}

/// A vocabulary's chat turns as its own chat template renders them (rendered once with Jinja;
/// the test checks the template uses their special tokens): start of text, a user turn's
/// opening, a turn's end, an assistant turn's opening; whether the template strips messages;
/// whether the vocabulary converts to a `tokenizer.json`.
struct Turns {
    vocab: &'static str,
    bos: &'static str,
    user: &'static str,
    end: &'static str,
    assistant: &'static str,
    trim: bool,
    converts: bool,
}

/// Every vocabulary in llama.cpp's `models/` that has a chat template.
const TURNS: [Turns; 5] = [
    Turns {
        vocab: "command-r",
        bos: "<BOS_TOKEN>",
        user: "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>",
        end: "<|END_OF_TURN_TOKEN|>",
        assistant: "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
        trim: true,
        converts: true,
    },
    Turns {
        vocab: "gemma-4",
        bos: "<bos>",
        user: "<|turn>user\n",
        end: "<turn|>\n",
        assistant: "<|turn>model\n",
        trim: true,
        converts: false,
    },
    // Its turn markers strip the whitespace after them (llama.cpp's RSTRIP for Phi-3).
    Turns {
        vocab: "phi-3",
        bos: "<s>",
        user: "<|user|>\n",
        end: "<|end|>\n",
        assistant: "<|assistant|>\n",
        trim: false,
        converts: true,
    },
    CHATML,
    Turns {
        vocab: "qwen35",
        ..CHATML
    },
];

const CHATML: Turns = Turns {
    vocab: "qwen2",
    bos: "",
    user: "<|im_start|>user\n",
    end: "<|im_end|>\n",
    assistant: "<|im_start|>assistant\n",
    trim: false,
    converts: true,
};

/// A guard profile in a family's turns: the prompt as a user turn, the answer as the
/// assistant's, each followed by the question as the next user turn.
fn family_profile(t: &Turns) -> Profile {
    // Only the built-in profile's parsing and scoring are kept.
    let mut profile = load_builtin().get("qwen3guard-gen").unwrap().clone();
    let check = |template: String| Check {
        template,
        prefill: String::new(),
        score_after: String::new(),
        chat: None,
    };
    let Turns {
        bos,
        user,
        end,
        assistant,
        ..
    } = t;
    let ask =
        |what| format!("{user}Is the {what} above safe? Answer safe or unsafe.{end}{assistant}");
    profile.name = t.vocab.into();
    profile.trim_data = t.trim;
    profile.prompt_check = check(format!("{bos}{user}{{prompt}}{end}{}", ask("message")));
    profile.answer_check = check(format!(
        "{bos}{user}{{prompt}}{end}{assistant}{{answer}}{end}{}",
        ask("answer")
    ));
    profile
}

fn family_parity(name: &str) {
    let turns = TURNS.iter().find(|t| t.vocab == name).unwrap();
    let vocab = VocabFile::load(&vocab_path(name)).unwrap();
    let template = vocab.chat_template().unwrap();
    let profile = family_profile(turns);
    let rendered = join_segments(&profile.render_answer_check("", ""));
    for special in vocab.specials().list() {
        if rendered.contains(special.text.as_str()) && special.text != turns.bos {
            assert!(
                template.contains(special.text.as_str()),
                "{name}: {}",
                special.text
            );
        }
    }
    let (with_special_text, converts) = parity_on(name, &[&profile]);
    assert!(with_special_text > 0, "{name}");
    assert_eq!(converts, turns.converts, "{name}");
}

/// The table covers every vocabulary in `models/` with a chat template.
#[test]
fn every_chat_vocabulary_has_its_turns() {
    let mut chat = Vec::new();
    for entry in std::fs::read_dir(llama_cpp_models()).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let Some(name) = file
            .strip_prefix("ggml-vocab-")
            .and_then(|n| n.strip_suffix(".gguf"))
        else {
            continue;
        };
        if VocabFile::load(&vocab_path(name))
            .unwrap()
            .chat_template()
            .is_some()
        {
            chat.push(name.to_string());
        }
    }
    chat.sort();
    let covered: Vec<&str> = TURNS.iter().map(|t| t.vocab).collect();
    assert_eq!(chat, covered);
}

#[test]
fn command_r_checks_are_the_reference_tokens() {
    family_parity("command-r");
}

#[test]
fn gemma_4_checks_are_the_reference_tokens() {
    family_parity("gemma-4");
}

#[test]
fn phi_3_checks_are_the_reference_tokens() {
    family_parity("phi-3");
}

#[test]
fn qwen2_chat_checks_are_the_reference_tokens() {
    family_parity("qwen2");
}

#[test]
fn qwen35_checks_are_the_reference_tokens() {
    family_parity("qwen35");
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
    for name in ["llama-bpe", "qwen2", "qwen35", "llama-spm"] {
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
