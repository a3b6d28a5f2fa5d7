//! A Hugging Face `tokenizer.json` built from a GGUF file's own vocabulary metadata.
//!
//! A server backend needs the remote model's tokenizer to send token ids (so dataset text is
//! never parsed for special tokens) and to shorten long texts. Users often have the model's
//! GGUF at hand but not its `tokenizer.json`; the GGUF carries the same vocabulary, merges and
//! token types, and llama.cpp names the pre-tokenizer. Byte-level BPE vocabularies
//! (`tokenizer.ggml.model = gpt2`: Llama 3, Qwen, SmolLM, GPT-2 style) get the pre-tokenizer
//! regexes of the models' own `tokenizer.json` files; SentencePiece vocabularies (`llama`:
//! Llama 2, Mistral, Gemma) get the BPE form Hugging Face's converter gives them, merges made
//! from the scores (see [`score_merges`]), which is also how llama.cpp's tokenizer merges.
//!
//! Only the key/value header is read (a small hand-written reader: the format is a flat list
//! of typed values, and GGUF crates bring whole tensor stacks for it).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a GGUF file ({message})", path.display())]
    Format { path: PathBuf, message: String },
    #[error("{}: metadata key `{key}` is missing or has the wrong type", path.display())]
    Missing { path: PathBuf, key: String },
    #[error(
        "{}: tokenizer `{model}` / pre-tokenizer `{pre}` cannot be converted (byte-level BPE: gpt2, smollm, llama-bpe, qwen2 and their kin; SentencePiece: llama); use the model's own tokenizer.json",
        path.display()
    )]
    Unsupported {
        path: PathBuf,
        model: String,
        pre: String,
    },
}

/// A metadata value; numbers are widened, since only their meaning matters here.
#[derive(Clone, Debug, PartialEq)]
enum Meta {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Meta>),
}

struct Reader<R> {
    inner: R,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        Ok(b)
    }

    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    fn string(&mut self) -> std::io::Result<String> {
        let len = self.u64()?;
        if len > 1 << 24 {
            return Err(std::io::Error::other(format!("string of {len} bytes")));
        }
        let mut buf = vec![0u8; len as usize];
        self.inner.read_exact(&mut buf)?;
        String::from_utf8(buf).map_err(std::io::Error::other)
    }

    fn value(&mut self, kind: u32) -> std::io::Result<Meta> {
        Ok(match kind {
            0 => Meta::Int(u8::from_le_bytes(self.bytes()?) as i64),
            1 => Meta::Int(i8::from_le_bytes(self.bytes()?) as i64),
            2 => Meta::Int(u16::from_le_bytes(self.bytes()?) as i64),
            3 => Meta::Int(i16::from_le_bytes(self.bytes()?) as i64),
            4 => Meta::Int(self.u32()? as i64),
            5 => Meta::Int(i32::from_le_bytes(self.bytes()?) as i64),
            6 => Meta::Float(f32::from_le_bytes(self.bytes()?) as f64),
            7 => Meta::Bool(self.bytes::<1>()?[0] != 0),
            8 => Meta::Str(self.string()?),
            9 => {
                let (item, count) = (self.u32()?, self.u64()?);
                if count > 1 << 26 {
                    return Err(std::io::Error::other(format!("array of {count} items")));
                }
                let mut items = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    items.push(self.value(item)?);
                }
                Meta::Array(items)
            }
            10 => Meta::Int(self.u64()? as i64),
            11 => Meta::Int(i64::from_le_bytes(self.bytes()?)),
            12 => Meta::Float(f64::from_le_bytes(self.bytes()?)),
            other => return Err(std::io::Error::other(format!("value type {other}"))),
        })
    }
}

/// The `tokenizer.*` metadata of a GGUF file and its `general.name` (other keys are skipped
/// after reading).
fn tokenizer_metadata(path: &Path) -> Result<Map<String, Value>, GgufError> {
    let file = File::open(path).map_err(|source| GgufError::Io {
        path: path.into(),
        source,
    })?;
    let mut r = Reader {
        inner: BufReader::with_capacity(1 << 20, file),
    };
    let format = |message: String| GgufError::Format {
        path: path.into(),
        message,
    };
    let mut read = || -> std::io::Result<Vec<(String, Meta)>> {
        if &r.bytes::<4>()? != b"GGUF" {
            return Err(std::io::Error::other("bad magic"));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(std::io::Error::other(format!("version {version}")));
        }
        let (_tensors, kv_count) = (r.u64()?, r.u64()?);
        let mut out = Vec::new();
        for _ in 0..kv_count {
            let key = r.string()?;
            let kind = r.u32()?;
            let value = r.value(kind)?;
            if key.starts_with("tokenizer.ggml.") || key == "general.name" {
                out.push((key, value));
            }
        }
        Ok(out)
    };
    let pairs = read().map_err(|e| format(e.to_string()))?;
    fn to_json(m: Meta) -> Value {
        match m {
            Meta::Int(i) => json!(i),
            Meta::Float(f) => json!(f),
            Meta::Bool(b) => json!(b),
            Meta::Str(s) => json!(s),
            Meta::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        }
    }
    Ok(pairs.into_iter().map(|(k, v)| (k, to_json(v))).collect())
}

/// llama.cpp's token type for control tokens (`<|im_end|>`, `<|eot_id|>`): special, so
/// never matched in data. User-defined tokens (type 4) are matched in any text, as llama.cpp does.
const UNKNOWN: i64 = 2;
const CONTROL: i64 = 3;
const USER_DEFINED: i64 = 4;

/// Whether llama.cpp strips the whitespace after a special token `text` (its RSTRIP attribute).
/// The file does not say: llama.cpp sets it per model family, by name (`llama-vocab.cpp`, "Handle
/// per token attributes"); of the families it names only Phi-3 has a vocabulary converted here
/// (the others mark a BERT-style `<mask>`).
fn rstrips(name: &str, text: &str) -> bool {
    let name = name.to_lowercase();
    (name.contains("phi-3") || name.contains("phi3"))
        && !matches!(text, "<unk>" | "<s>" | "<|endoftext|>")
}

/// Byte-level BPE's pre-tokenizer; `use_regex` applies GPT-2's split pattern.
fn byte_level(use_regex: bool) -> Value {
    json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex})
}

fn split_then_bytes(pattern: &str) -> Value {
    json!({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false},
        byte_level(false),
    ]})
}

/// The pre-tokenizer for llama.cpp's pre-tokenizer name, and whether merges are skipped for
/// whole-vocabulary words (Llama 3's `ignore_merges`).
fn pre_tokenizer(pre: &str) -> Option<(Value, bool)> {
    const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    // Qwen 3.5 keeps combining marks with the letters they mark.
    const QWEN35: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    Some(match pre {
        "gpt-2" | "gpt2" | "default" => (byte_level(true), false),
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva" => (
            json!({"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true},
                byte_level(true),
            ]}),
            false,
        ),
        "llama-bpe" | "llama3" => (split_then_bytes(LLAMA3), true),
        "qwen2" | "stablelm2" => (split_then_bytes(QWEN2), false),
        "qwen35" => (split_then_bytes(QWEN35), false),
        _ => return None,
    })
}

/// A post-processor putting the start-of-text token before a text when llama.cpp does: the
/// file says so (`add_bos_token`), or by default for Llama 3's pre-tokenizer.
fn bos_processor(meta: &Map<String, Value>, tokens: &[Value], pre: &str) -> Value {
    let add = meta
        .get("tokenizer.ggml.add_bos_token")
        .and_then(Value::as_bool)
        .unwrap_or(matches!(pre, "llama-bpe" | "llama3" | "llama-v3"));
    let bos = meta
        .get("tokenizer.ggml.bos_token_id")
        .and_then(Value::as_u64)
        .and_then(|id| Some((id, tokens.get(id as usize)?.as_str()?)));
    let Some((id, text)) = bos.filter(|_| add) else {
        return Value::Null;
    };
    let special = json!({"SpecialToken": {"id": text, "type_id": 0}});
    json!({
        "type": "TemplateProcessing",
        "single": [special, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [special, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {text: {"id": text, "ids": [id], "tokens": [text]}},
    })
}

/// SentencePiece's word-boundary mark, which stands for a space in its vocabularies.
const SPACE_MARK: &str = "\u{2581}";

/// Merges for a SentencePiece vocabulary, as Hugging Face's converter makes them: every split of
/// a token into two tokens, ranked by the merged token's score (highest first; ties keep
/// vocabulary order, the halves' ids ordering the splits of one token). llama.cpp's tokenizer
/// merges the adjacent pair whose joined text is the best-scored token, the same ranking.
fn score_merges(tokens: &[&str], scores: &[f64]) -> Vec<Value> {
    let mut ids: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (id, t) in tokens.iter().enumerate() {
        ids.entry(t).or_insert(id);
    }
    let mut merges: Vec<(f64, usize, usize, usize)> = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        let mut local: Vec<(usize, usize)> = token
            .char_indices()
            .skip(1)
            .filter_map(|(at, _)| Some((*ids.get(&token[..at])?, *ids.get(&token[at..])?)))
            .collect();
        local.sort_unstable();
        let score = scores.get(id).copied().unwrap_or(0.0);
        merges.extend(local.into_iter().map(|(l, r)| (score, id, l, r)));
    }
    // Stable: equal scores keep the vocabulary order.
    merges.sort_by(|a, b| b.0.total_cmp(&a.0));
    merges
        .into_iter()
        .map(|(_, _, l, r)| json!([tokens[l], tokens[r]]))
        .collect()
}

/// The `tokenizer.json` for a GGUF file's vocabulary.
pub fn tokenizer_json(path: &Path) -> Result<Value, GgufError> {
    let meta = tokenizer_metadata(path)?;
    let missing = |key: &str| GgufError::Missing {
        path: path.into(),
        key: key.into(),
    };
    let text = |key: &str| meta.get(key).and_then(Value::as_str).unwrap_or("");
    let (model, pre) = (text("tokenizer.ggml.model"), text("tokenizer.ggml.pre"));
    let sentencepiece = model == "llama";
    let pre_tokenizer = match model {
        "gpt2" => pre_tokenizer(pre),
        "llama" => Some((Value::Null, false)),
        _ => None,
    };
    let Some((pre_tokenizer, ignore_merges)) = pre_tokenizer else {
        return Err(GgufError::Unsupported {
            path: path.into(),
            model: model.into(),
            pre: pre.into(),
        });
    };
    let array = |key: &str| {
        meta.get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| missing(key))
    };
    let tokens = array("tokenizer.ggml.tokens")?;
    let types = array("tokenizer.ggml.token_type")?;
    let texts: Vec<&str> = tokens
        .iter()
        .map(|t| t.as_str().ok_or_else(|| missing("tokenizer.ggml.tokens")))
        .collect::<Result<_, _>>()?;
    let name = meta
        .get("general.name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut vocab = Map::new();
    let mut added = Vec::new();
    for (id, &token) in texts.iter().enumerate() {
        // The first id wins when a vocabulary repeats a token (padding entries do).
        if !vocab.contains_key(token) {
            vocab.insert(token.to_string(), json!(id));
        }
        let kind = types.get(id).and_then(Value::as_i64).unwrap_or(1);
        if kind == CONTROL || kind == USER_DEFINED || kind == UNKNOWN {
            added.push(json!({
                "id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": rstrips(name, token), "normalized": false, "special": kind != USER_DEFINED,
            }));
        }
    }
    let (normalizer, decoder, merges, unk) = if sentencepiece {
        let scores: Vec<f64> = array("tokenizer.ggml.scores")?
            .iter()
            .map(|s| s.as_f64().unwrap_or(0.0))
            .collect();
        // llama.cpp puts a space before each run of text when the vocabulary asks (Llama 2,
        // Mistral; not Gemma), and writes every space as the mark.
        let space_prefix = meta
            .get("tokenizer.ggml.add_space_prefix")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let replace = json!({"type": "Replace", "pattern": {"String": " "}, "content": SPACE_MARK});
        let normalizer = if space_prefix {
            json!({"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": SPACE_MARK}, replace,
            ]})
        } else {
            replace
        };
        let mut decoders = vec![
            json!({"type": "Replace", "pattern": {"String": SPACE_MARK}, "content": " "}),
            json!({"type": "ByteFallback"}),
            json!({"type": "Fuse"}),
        ];
        if space_prefix {
            decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
        }
        let unk = meta
            .get("tokenizer.ggml.unknown_token_id")
            .and_then(Value::as_u64)
            .and_then(|id| texts.get(id as usize))
            .map(|t| json!(t));
        (
            normalizer,
            json!({"type": "Sequence", "decoders": decoders}),
            Value::Array(score_merges(&texts, &scores)),
            unk.unwrap_or(Value::Null),
        )
    } else {
        (
            Value::Null,
            json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}),
            array("tokenizer.ggml.merges")?.clone().into(),
            Value::Null,
        )
    };
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": bos_processor(&meta, tokens, pre),
        "decoder": decoder,
        "model": {
            "type": "BPE", "dropout": null, "unk_token": unk, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": sentencepiece, "byte_fallback": sentencepiece,
            "ignore_merges": ignore_merges, "vocab": vocab, "merges": merges,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_values_and_rejects_other_files() {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend(3u32.to_le_bytes());
        bytes.extend(0u64.to_le_bytes());
        bytes.extend(2u64.to_le_bytes());
        let key = |b: &mut Vec<u8>, k: &str| {
            b.extend((k.len() as u64).to_le_bytes());
            b.extend(k.as_bytes());
        };
        key(&mut bytes, "general.name");
        bytes.extend(8u32.to_le_bytes());
        key(&mut bytes, "x");
        key(&mut bytes, "tokenizer.ggml.token_type");
        bytes.extend(9u32.to_le_bytes());
        bytes.extend(5u32.to_le_bytes());
        bytes.extend(2u64.to_le_bytes());
        bytes.extend(1i32.to_le_bytes());
        bytes.extend(3i32.to_le_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        std::fs::write(&path, &bytes).unwrap();
        let meta = tokenizer_metadata(&path).unwrap();
        assert_eq!(meta.len(), 2, "only tokenizer keys and the name are kept");
        assert_eq!(meta["tokenizer.ggml.token_type"], json!([1, 3]));
        assert_eq!(meta["general.name"], json!("x"));
        let err = tokenizer_json(&path).unwrap_err();
        assert!(matches!(err, GgufError::Unsupported { .. }), "{err}");

        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = tokenizer_metadata(&path).unwrap_err().to_string();
        assert!(err.contains("not a GGUF file"), "{err}");
        std::fs::write(&path, b"PK\x03\x04 zip").unwrap();
        let err = tokenizer_metadata(&path).unwrap_err().to_string();
        assert!(err.contains("bad magic"), "{err}");
    }
}
