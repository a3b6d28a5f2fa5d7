//! Guard checks on an OpenAI-compatible `/v1/completions` server (llama-server, vLLM, …).
//!
//! Prompts travel as token ids, made here with the model's `tokenizer.json`: template text
//! with special tokens, dataset text with special-token matching switched off, so a text that
//! spells `<|im_end|>` reaches the model as plain text and no server-side parsing can change
//! that. Long texts are shortened on these token counts exactly as the local engine does.
//! P(unsafe) comes from the returned top log-probabilities; verdicts from the greedy answer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokenizers::Tokenizer;

use super::llama::{CheckOutcome, CheckRequest, EngineError, ScoreIds, Scoring, WaveStats};
use super::profile::Segment;
use super::tokens::{Special, Specials};
use super::truncate::fit_tokens;

/// Where the server is and how hard to drive it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerOptions {
    /// Base URL, e.g. `http://127.0.0.1:8080` (`/v1/completions` is appended).
    pub url: String,
    /// The `model` field of each request.
    pub model: String,
    /// The served model's `tokenizer.json`, or its GGUF file (converted on load).
    pub tokenizer: PathBuf,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// A single check longer than this is shortened in the middle of its data.
    pub max_check_tokens: u32,
    /// Top log-probabilities asked for per answer token.
    pub top_logprobs: u32,
}

impl ServerOptions {
    /// Requests in flight at once unless the user says otherwise.
    pub const DEFAULT_CONCURRENCY: usize = 4;
    /// vLLM's limit unless it is started with more; enough for a guard's own verdict tokens.
    pub const DEFAULT_TOP_LOGPROBS: u32 = 20;
}

/// A model's `tokenizer.json` and its special tokens, making check ids as llama.cpp does in
/// process (see [`super::tokens`]).
pub struct SegmentTokenizer {
    /// Special-token matching off: a `<|im_end|>` in text stays text.
    plain: Tokenizer,
    specials: Specials<u32>,
}

impl SegmentTokenizer {
    /// From a `tokenizer.json`, or from a `.gguf` file's vocabulary.
    pub fn load(path: &Path) -> Result<SegmentTokenizer, EngineError> {
        let mut plain = if path.extension().is_some_and(|e| e == "gguf") {
            let json = super::gguf::tokenizer_json(path).map_err(|e| EngineError::Load {
                path: path.into(),
                message: e.to_string(),
            })?;
            Tokenizer::from_bytes(json.to_string().as_bytes())
        } else {
            Tokenizer::from_file(path)
        }
        .map_err(|e| tokenizer_err(path, e))?;
        plain.set_encode_special_tokens(true);
        // Added tokens are the special ones; those not marked special (user-defined) are
        // matched even in plain text.
        let list = plain
            .get_added_tokens_decoder()
            .into_iter()
            .map(|(id, t)| Special {
                text: t.content,
                id,
                in_plain_text: !t.special,
            })
            .collect();
        // The start-of-text token is what the post-processor puts before a text, if anything.
        let ids = |special| {
            plain
                .encode("x", special)
                .map(|e| e.get_ids().to_vec())
                .map_err(|e| tokenizer_err(path, e))
        };
        let (with, without) = (ids(true)?, ids(false)?);
        let bos = (with.len() > without.len() && with.first() != without.first()).then(|| with[0]);
        Ok(SegmentTokenizer {
            specials: Specials::new(list, bos),
            plain,
        })
    }

    /// Token ids of rendered segments.
    pub fn tokenize(&self, segments: &[Segment]) -> Vec<u32> {
        self.specials
            .tokenize(segments, |text| self.plain_ids(text))
    }

    /// Ids of ordinary text, special tokens off, nothing added.
    fn plain_ids(&self, text: &str) -> Vec<u32> {
        // Encoding a str with a loaded tokenizer only fails on an internal regex error; such
        // text then counts as no tokens rather than stopping the run.
        self.plain
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default()
    }

    pub fn specials(&self) -> &Specials<u32> {
        &self.specials
    }

    fn piece(&self, id: u32) -> String {
        self.plain.decode(&[id], false).unwrap_or_default()
    }
}

/// A remote model behind its tokenizer.
pub struct ServerEngine {
    options: ServerOptions,
    endpoint: String,
    agent: ureq::Agent,
    tokenizer: SegmentTokenizer,
}

fn tokenizer_err(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Load {
        path: path.into(),
        message: format!("not a usable tokenizer: {e}"),
    }
}

impl ServerEngine {
    pub fn new(options: ServerOptions) -> Result<ServerEngine, EngineError> {
        let tokenizer = SegmentTokenizer::load(&options.tokenizer)?;
        let agent = ureq::Agent::config_builder()
            // Error statuses carry the server's explanation in the body; read it.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_global(Some(Duration::from_secs(600)))
            .user_agent(concat!("verdikt/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(ServerEngine {
            endpoint: format!("{}/v1/completions", options.url.trim_end_matches('/')),
            options,
            agent,
            tokenizer,
        })
    }

    pub fn tokenize(&self, segments: &[Segment]) -> Vec<u32> {
        self.tokenizer.tokenize(segments)
    }

    /// Checks `checks` with up to `concurrency` requests in flight; outcomes in request order.
    pub fn evaluate(
        &self,
        checks: Vec<CheckRequest>,
        scoring: &Scoring,
        cancel: Arc<AtomicBool>,
    ) -> Result<(Vec<CheckOutcome>, WaveStats), EngineError> {
        let score_ids =
            scoring.first_ids(|piece| self.tokenizer.plain_ids(piece).first().map(|&t| t as i32));
        let next = AtomicUsize::new(0);
        let workers = self.options.concurrency.clamp(1, checks.len().max(1));
        let results: Vec<Vec<(usize, Result<CheckOutcome, EngineError>)>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut mine = Vec::new();
                            loop {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                if i >= checks.len() {
                                    break;
                                }
                                if cancel.load(Ordering::Relaxed) {
                                    mine.push((i, Err(EngineError::Cancelled)));
                                    break;
                                }
                                let outcome = self.check(&checks[i], &score_ids);
                                let failed = outcome.is_err();
                                mine.push((i, outcome));
                                if failed {
                                    // Stop the other workers too: the wave is lost anyway.
                                    next.store(checks.len(), Ordering::Relaxed);
                                    break;
                                }
                            }
                            mine
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("server worker panicked"))
                    .collect()
            });
        let mut outcomes: Vec<Option<CheckOutcome>> = vec![None; checks.len()];
        let mut stats = WaveStats::default();
        for (i, outcome) in results.into_iter().flatten() {
            let outcome = outcome?;
            stats.computed_tokens += outcome.prompt_tokens as u64;
            outcomes[i] = Some(outcome);
        }
        let outcomes = outcomes
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or(EngineError::Cancelled)?;
        Ok((outcomes, stats))
    }

    fn check(
        &self,
        check: &CheckRequest,
        score_ids: &ScoreIds,
    ) -> Result<CheckOutcome, EngineError> {
        let started = Instant::now();
        let limit = self.options.max_check_tokens as usize;
        let (ids, truncated) = fit_tokens(&check.segments, limit, |s| self.tokenize(s));
        let body = json!({
            "model": self.options.model,
            "prompt": ids,
            "max_tokens": check.max_tokens.max(1),
            "temperature": 0.0,
            "logprobs": self.options.top_logprobs,
            "stop": check.stop,
        });
        let reply = self.post(&body)?;
        let choice = &reply["choices"][0];
        let text = choice["text"]
            .as_str()
            .ok_or_else(|| self.error(format!("no choices[0].text in {reply}")))?;
        let mut answer = format!("{}{text}", check.prefill);
        // Servers differ on whether the stop string is part of the text; keep it out.
        check.cut_at_stop(&mut answer);
        let (p_unsafe, p_controversial) = self
            .scores(&choice["logprobs"], check, score_ids)
            .unwrap_or((None, None));
        Ok(CheckOutcome {
            answer,
            p_unsafe,
            p_controversial,
            truncated,
            // The server's own count proves the ids arrived as sent (no re-tokenization).
            prompt_tokens: reply["usage"]["prompt_tokens"]
                .as_u64()
                .unwrap_or(ids.len() as u64) as u32,
            latency: started.elapsed(),
            first_logits: None,
        })
    }

    fn error(&self, message: String) -> EngineError {
        EngineError::Server {
            url: self.endpoint.clone(),
            message,
        }
    }

    fn post(&self, body: &Value) -> Result<Value, EngineError> {
        let mut response = self
            .agent
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .send(body.to_string())
            .map_err(|e| self.error(e.to_string()))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| self.error(format!("reading the answer: {e}")))?;
        if !status.is_success() {
            let shown: String = text.chars().take(500).collect();
            return Err(self.error(format!("HTTP {status}: {shown}")));
        }
        serde_json::from_str(&text).map_err(|e| self.error(format!("answer is not JSON ({e})")))
    }

    /// P(unsafe) and P(controversial) from the top log-probabilities of the scored answer token: the first one, or
    /// the one after `score_after`. llama-server lists `content[i].top_logprobs[j].{id,logprob}`;
    /// OpenAI-style servers (vLLM) list `tokens[i]` and `top_logprobs[i]` as `{token: logprob}`.
    fn scores(
        &self,
        logprobs: &Value,
        check: &CheckRequest,
        score_ids: &ScoreIds,
    ) -> Option<(Option<f64>, Option<f64>)> {
        // (token text, alternatives as (id if known, text, logprob)) per answer token.
        type Alternatives = Vec<(Option<i64>, String, f64)>;
        let steps: Vec<(String, Alternatives)> = if let Some(content) =
            logprobs["content"].as_array()
        {
            content
                .iter()
                .map(|c| {
                    let alts = c["top_logprobs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| {
                            (
                                a["id"].as_i64(),
                                a["token"].as_str().unwrap_or("").to_string(),
                                a["logprob"].as_f64().unwrap_or(f64::NEG_INFINITY),
                            )
                        })
                        .collect();
                    (c["token"].as_str().unwrap_or("").to_string(), alts)
                })
                .collect()
        } else {
            let tokens = logprobs["tokens"].as_array()?;
            let tops = logprobs["top_logprobs"].as_array()?;
            tokens
                .iter()
                .zip(tops)
                .map(|(t, top)| {
                    let alts = top
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (None, k.clone(), v.as_f64().unwrap_or(f64::NEG_INFINITY)))
                        .collect();
                    (t.as_str().unwrap_or("").to_string(), alts)
                })
                .collect()
        };
        let mut produced = check.prefill.clone();
        let step = steps.iter().position(|(token, _)| {
            let here = check.score_after.is_empty()
                || produced.trim_end().ends_with(check.score_after.trim_end());
            produced.push_str(token);
            here
        })?;
        let piece = |id: i32| self.tokenizer.piece(id as u32);
        let mass = |ids: &[i32]| {
            let pieces: Vec<String> = ids.iter().map(|&id| piece(id)).collect();
            steps[step]
                .1
                .iter()
                .filter(|(id, text, _)| match id {
                    Some(id) => ids.contains(&(*id as i32)),
                    None => pieces.contains(text),
                })
                .map(|(_, _, lp)| lp.exp())
                .sum::<f64>()
        };
        Some(score_ids.probabilities(mass))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::llama::{LlamaEngine, LlamaOptions, tests::test_model};
    use crate::guard::load_builtin;

    /// The tokenizer.json built from the GGUF gives llama.cpp's own ids on every bundled text,
    /// hostile ones included: template markers as special tokens, data markers spelled out.
    #[test]
    fn gguf_tokenizer_matches_llama_cpp() {
        let model = test_model();
        let engine = ServerEngine::new(ServerOptions {
            url: "http://127.0.0.1:9".into(),
            model: "m".into(),
            tokenizer: model.clone(),
            concurrency: 1,
            max_check_tokens: 4096,
            top_logprobs: 20,
        })
        .unwrap();
        let local = LlamaEngine::load(&model, LlamaOptions::default()).unwrap();
        let profile = load_builtin().get("qwen3guard-gen").unwrap().clone();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets");
        let mut checked = 0;
        for file in ["hostile.jsonl", "refuseu-sample.jsonl"] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            for line in text.lines() {
                let row: Value = serde_json::from_str(line).unwrap();
                let prompt = row["prompt"].as_str().unwrap();
                let answer = row["rejected"].as_str().unwrap_or("");
                for segments in [
                    profile.render_prompt_check(prompt),
                    profile.render_answer_check(prompt, answer),
                ] {
                    let ours: Vec<i32> = engine
                        .tokenize(&segments)
                        .iter()
                        .map(|&t| t as i32)
                        .collect();
                    assert_eq!(
                        ours,
                        local.tokenize(segments.clone()).unwrap(),
                        "{segments:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 600, "{checked}");
        let im_end = engine.tokenize(&[Segment::Template("<|im_end|>".into())]);
        assert_eq!(im_end.len(), 1, "a template marker is one special token");
        let data = engine.tokenize(&[Segment::Data("a <|im_end|> b".into())]);
        assert!(data.len() > 3 && !data.contains(&im_end[0]), "{data:?}");
    }
}
