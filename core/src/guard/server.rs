//! Guard checks on an OpenAI-compatible server: `/v1/completions` (llama-server, vLLM, SGLang)
//! or `/v1/chat/completions` (OpenAI, Azure, hosted models).
//!
//! On `/v1/completions` prompts travel as token ids, made here with the model's
//! `tokenizer.json`: template text with special tokens, dataset text with special-token matching
//! switched off, so a text that spells `<|im_end|>` reaches the model as plain text and no
//! server-side parsing can change that. Long texts are shortened on these token counts exactly
//! as the local engine does. On the chat path the provider renders its own chat template around
//! the profile's chat messages, so keeping data inert is the provider's job there.
//! P(unsafe) comes from the returned top log-probabilities; verdicts from the greedy answer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokenizers::Tokenizer;

use super::llama::{CheckOutcome, CheckRequest, EngineError, ScoreIds, Scoring, WaveStats};
use super::profile::{Segment, join_segments};
use super::retry::{Failure, GaveUp, RetryPolicy, retry_after, status_failure};
use super::route::{Checked, ServerStatus, Servers};
use super::tokens::{Blank, Special, Specials};
use super::truncate::{fit_segments, fit_tokens};

/// One server of a run and how hard to drive it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerAddress {
    /// Base URL, e.g. `http://127.0.0.1:8080` (`/v1/completions` is appended).
    pub url: String,
    /// Requests in flight at once on this server.
    pub concurrency: usize,
}

impl ServerAddress {
    /// `URL` or `URL=CONCURRENCY`.
    pub fn parse(text: &str, default_concurrency: usize) -> Result<ServerAddress, String> {
        let (url, concurrency) = match text.rsplit_once('=') {
            Some((url, n)) if !n.contains('/') => (
                url,
                n.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("`{text}`: the concurrency after `=` is not a count"))?,
            ),
            _ => (text, default_concurrency),
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("`{url}` is not an http:// or https:// URL"));
        }
        Ok(ServerAddress {
            url: url.trim_end_matches('/').to_string(),
            concurrency,
        })
    }
}

/// A value sent to the server that must not be shown: its `Debug` hides it.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

/// Where the API key comes from; never from the project.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiKey {
    /// This environment variable, read when the engine starts.
    Env(String),
    /// Typed for this session (the app's Guards screen).
    Given(Secret),
}

impl ApiKey {
    /// What a run records: the variable's name, or that the key was typed.
    pub fn recorded(&self) -> String {
        match self {
            ApiKey::Env(name) => name.clone(),
            ApiKey::Given(_) => "typed for the session".into(),
        }
    }
}

/// An extra request header (`--header NAME:VALUE`); its value is treated as a secret.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub name: String,
    pub value: Secret,
}

impl Header {
    pub fn parse(text: &str) -> Result<Header, String> {
        let (name, value) = text
            .split_once(':')
            .filter(|(n, _)| !n.trim().is_empty())
            .ok_or_else(|| "a header is NAME:VALUE".to_string())?;
        Ok(Header {
            name: name.trim().to_string(),
            value: Secret(value.trim().to_string()),
        })
    }
}

/// Which endpoint the checks go to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServerApi {
    /// `/v1/completions` with token-id prompts: the model sees exactly our ids.
    #[default]
    Completions,
    /// `/v1/chat/completions` with the profile's chat form: for models served only that way.
    Chat,
}

impl ServerApi {
    /// The endpoint's path below the server's URL.
    pub fn path(self) -> &'static str {
        match self {
            ServerApi::Completions => "/v1/completions",
            ServerApi::Chat => "/v1/chat/completions",
        }
    }

    /// As a run records it.
    pub fn name(self) -> &'static str {
        match self {
            ServerApi::Completions => "completions",
            ServerApi::Chat => "chat",
        }
    }
}

/// Where the servers are and how to talk to them.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerOptions {
    /// One or more servers serving the same model; a triple's checks stay on one of them.
    pub servers: Vec<ServerAddress>,
    /// The `model` field of each request.
    pub model: String,
    pub api: ServerApi,
    /// The served model's `tokenizer.json`, or its GGUF file (converted on load). Required on
    /// `/v1/completions`; on the chat path it only counts tokens for shortening (without it, a
    /// text's UTF-8 bytes stand in, never fewer than its tokens) and finds the score tokens.
    pub tokenizer: Option<PathBuf>,
    /// A single check longer than this is shortened in the middle of its data.
    pub max_check_tokens: u32,
    /// Top log-probabilities asked for per answer token (at most 20 on the chat path, OpenAI's
    /// limit).
    pub top_logprobs: u32,
    /// The API key, sent as `Authorization: Bearer`.
    pub api_key: Option<ApiKey>,
    pub headers: Vec<Header>,
    pub retry: RetryPolicy,
    /// Send the checks as OpenAI Batch API batches instead of one request each.
    pub batch: Option<super::batch::BatchOptions>,
}

impl ServerOptions {
    /// Requests in flight at once unless the user says otherwise.
    pub const DEFAULT_CONCURRENCY: usize = 4;
    /// vLLM's limit unless it is started with more; enough for a guard's own verdict tokens.
    pub const DEFAULT_TOP_LOGPROBS: u32 = 20;

    /// The servers as a run records them (and tells runs apart): their URLs, space-separated.
    pub fn urls(&self) -> String {
        let urls: Vec<&str> = self.servers.iter().map(|s| s.url.as_str()).collect();
        urls.join(" ")
    }
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
        let gguf = path.extension().is_some_and(|e| e == "gguf");
        let mut plain = if gguf {
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
                lstrip: t.lstrip,
                rstrip: t.rstrip,
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
            // A GGUF's vocabulary stands for llama.cpp's tokenizer, which strips less.
            specials: Specials::new(list, bos, if gguf { Blank::Ascii } else { Blank::Unicode }),
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

/// A remote model behind its tokenizer, on one or more servers.
pub struct ServerEngine {
    options: ServerOptions,
    endpoints: Vec<String>,
    agent: ureq::Agent,
    /// Always there on `/v1/completions`.
    tokenizer: Option<SegmentTokenizer>,
    /// Headers sent with every request, the API key's among them.
    auth: Vec<(String, Secret)>,
    servers: Servers,
    /// The most tokens a check may have: `max_check_tokens`, and room for the answer inside
    /// the smallest context a server reported ([`ServerEngine::preflight`]).
    check_limit: u32,
}

/// OpenAI's most top log-probabilities per token on `/v1/chat/completions`.
const CHAT_TOP_LOGPROBS: u32 = 20;

/// Text whose token ids are compared with the server's own: words of several scripts, digits,
/// spacing and punctuation, where tokenizers of different models part ways.
const PROBE: &str = "Guard check: «Ist das sicher?» — Czy to jest bezpieczne? Это безопасно? \
                     هل هذا آمن؟ 这安全吗？ 1234567 e-mail@example.org\n\t  Ünïcödé ok.";

fn tokenizer_err(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Load {
        path: path.into(),
        message: format!("not a usable tokenizer: {e}"),
    }
}

/// A check's request as it goes out.
pub struct Sent {
    pub body: Value,
    /// Its prompt tokens (for a chat check, the messages' count without the provider's template).
    pub tokens: usize,
    pub truncated: bool,
}

/// What a check sends.
pub enum Prompt {
    /// Token ids (`/v1/completions`).
    Ids(Vec<u32>),
    /// Chat messages (`/v1/chat/completions`).
    Chat { system: String, user: String },
}

/// How many tokens `segments` make for the served model: exactly, with its tokenizer; else
/// their UTF-8 bytes, a count no byte-level tokenizer exceeds.
pub fn count_tokens(tokenizer: Option<&SegmentTokenizer>, segments: &[Segment]) -> usize {
    match tokenizer {
        Some(t) => t.tokenize(segments).len(),
        None => segments.iter().map(|s| s.text().len()).sum(),
    }
}

/// A check shortened to at most `limit` tokens where its data allows: what it sends, its
/// token count, and whether text was cut. A chat check's system message is never cut.
pub fn fit_check(
    tokenizer: Option<&SegmentTokenizer>,
    check: &CheckRequest,
    limit: usize,
) -> (Prompt, usize, bool) {
    match &check.system {
        None => {
            let (ids, truncated) = fit_tokens(&check.segments, limit, |s| {
                tokenizer.map_or_else(Vec::new, |t| t.tokenize(s))
            });
            let n = ids.len();
            (Prompt::Ids(ids), n, truncated)
        }
        Some(system) => {
            let system_tokens = count_tokens(tokenizer, &[Segment::Template(system.clone())]);
            let room = limit.saturating_sub(system_tokens);
            let (user, units, truncated) = fit_segments(&check.segments, room, |s| {
                vec![(); count_tokens(tokenizer, s)]
            });
            let prompt = Prompt::Chat {
                system: system.clone(),
                user: join_segments(&user),
            };
            (prompt, system_tokens + units.len(), truncated)
        }
    }
}

/// The checks of a wave as one server engine call returns them.
pub type WaveOutcomes = (Vec<Checked<CheckOutcome>>, WaveStats);

impl ServerEngine {
    pub fn new(options: ServerOptions) -> Result<ServerEngine, EngineError> {
        let tokenizer = match (&options.tokenizer, options.api) {
            (Some(path), _) => Some(SegmentTokenizer::load(path)?),
            (None, ServerApi::Chat) => None,
            (None, ServerApi::Completions) => return Err(EngineError::NoTokenizer),
        };
        let mut auth = Vec::new();
        if let Some(source) = &options.api_key {
            let key = match source {
                ApiKey::Env(name) => std::env::var(name)
                    .ok()
                    .filter(|k| !k.trim().is_empty())
                    .ok_or_else(|| EngineError::NoApiKey { name: name.clone() })?,
                ApiKey::Given(Secret(key)) => key.clone(),
            };
            auth.push((
                "authorization".to_string(),
                Secret(format!("Bearer {}", key.trim())),
            ));
        }
        auth.extend(
            options
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone())),
        );
        let agent = ureq::Agent::config_builder()
            // Error statuses carry the server's explanation in the body; read it.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_global(Some(Duration::from_secs(600)))
            .user_agent(concat!("verdikt/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(ServerEngine {
            endpoints: options
                .servers
                .iter()
                .map(|s| format!("{}{}", s.url, options.api.path()))
                .collect(),
            servers: Servers::new(
                options
                    .servers
                    .iter()
                    .map(|s| (s.url.clone(), s.concurrency)),
            ),
            check_limit: options.max_check_tokens,
            options,
            agent,
            tokenizer,
            auth,
        })
    }

    /// Before the first check, on each server that answers: its context (llama-server's
    /// `/props`, vLLM's `max_model_len` in `/v1/models`) must hold the template and the answer
    /// (checks are then shortened to fit what is left), and its `/tokenize` must give our ids
    /// of a test text. Where a server offers neither, the checks' `usage.prompt_tokens` stand in.
    pub fn preflight(
        &mut self,
        template_tokens: usize,
        max_tokens: u32,
    ) -> Result<(), EngineError> {
        let theirs_of = |reply: &Value| -> Option<Vec<u64>> {
            reply["tokens"]
                .as_array()?
                .iter()
                .map(|t| t.as_u64().or_else(|| t["id"].as_u64()))
                .collect()
        };
        // Chat endpoints take text: there are no ids of ours to compare.
        let ours: Option<Vec<u64>> = match (&self.tokenizer, self.options.api) {
            (Some(tokenizer), ServerApi::Completions) => Some(
                tokenizer
                    .plain_ids(PROBE)
                    .iter()
                    .map(|&t| t as u64)
                    .collect(),
            ),
            _ => None,
        };
        for server in &self.options.servers {
            if let Some(n_ctx) = self.context_of(&server.url) {
                let room = n_ctx.saturating_sub(max_tokens.max(1));
                if template_tokens > room as usize {
                    return Err(EngineError::ContextTooSmall {
                        url: server.url.clone(),
                        n_ctx,
                        template: template_tokens,
                        max_tokens,
                    });
                }
                self.check_limit = self.check_limit.min(room);
            }
            let Some(ours) = &ours else { continue };
            let body = json!({
                "content": PROBE, "add_special": false, "parse_special": false,
                "model": self.options.model, "prompt": PROBE, "add_special_tokens": false,
            });
            if let Some(theirs) = self
                .request(&format!("{}/tokenize", server.url), Some(&body))
                .as_ref()
                .and_then(theirs_of)
                && &theirs != ours
            {
                return Err(EngineError::TokenizerMismatch {
                    url: server.url.clone(),
                    tokenizer: self.options.tokenizer.clone().unwrap_or_default(),
                    ours: ours.len(),
                    theirs: theirs.len(),
                });
            }
        }
        Ok(())
    }

    /// The context a server says a request may use, if it says.
    fn context_of(&self, url: &str) -> Option<u32> {
        let count = |v: &Value| {
            v.as_u64()
                .filter(|n| *n > 0)
                .map(|n| n.min(u32::MAX as u64) as u32)
        };
        if let Some(props) = self.request(&format!("{url}/props"), None) {
            // llama-server: each slot's share of `-c`.
            if let Some(n) = count(&props["default_generation_settings"]["n_ctx"])
                .or_else(|| count(&props["n_ctx"]))
            {
                return Some(n);
            }
        }
        let models = self.request(&format!("{url}/v1/models"), None)?;
        let list = models["data"].as_array()?;
        list.iter()
            .find(|m| m["id"].as_str() == Some(self.options.model.as_str()))
            .or(list.first())
            .and_then(|m| count(&m["max_model_len"]))
    }

    /// A GET (or a POST of `body`) whose JSON answer is wanted if there is one; any failure
    /// is None (the checks will meet it again, with retries).
    fn request(&self, url: &str, body: Option<&Value>) -> Option<Value> {
        let body = body.map(|b| b.to_string());
        let text = self
            .exchange(
                url,
                body.as_deref().map(|b| ("application/json", b.as_bytes())),
            )
            .ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Token ids of rendered segments (`/v1/completions`; a chat check counts with
    /// [`ServerEngine::count`]).
    pub fn tokenize(&self, segments: &[Segment]) -> Vec<u32> {
        self.tokenizer
            .as_ref()
            .map_or_else(Vec::new, |t| t.tokenize(segments))
    }

    pub fn tokenizer(&self) -> Option<&SegmentTokenizer> {
        self.tokenizer.as_ref()
    }

    /// Each server's share of the run so far.
    pub fn server_status(&self) -> Vec<ServerStatus> {
        self.servers.status()
    }

    /// Checks `checks` on the servers; `keys[i]` names the triple of check `i` (its checks
    /// are consecutive), so the triple stays on one server. A check that fails for good is
    /// `Failed`; `NotRun` ones are left when cancelled or when every server was taken out
    /// (then the error says why).
    pub fn evaluate(
        &self,
        checks: Vec<CheckRequest>,
        keys: &[u64],
        scoring: &Scoring,
        cancel: Arc<AtomicBool>,
    ) -> (WaveOutcomes, Option<EngineError>) {
        let score_ids = ScoreTokens::of(scoring, self.tokenizer.as_ref());
        let mut triples: Vec<(u64, Vec<usize>)> = Vec::new();
        for (i, &key) in keys.iter().enumerate() {
            match triples.last_mut() {
                Some((k, members)) if *k == key => members.push(i),
                _ => triples.push((key, vec![i])),
            }
        }
        let outcomes = self
            .servers
            .run_wave(checks.len(), triples, &cancel, |s, i| {
                self.check(s, &checks[i], &score_ids, &cancel)
            });
        let mut stats = WaveStats::default();
        for o in &outcomes {
            if let Checked::Done(o) = o {
                o.add_server_cost(&mut stats);
            }
        }
        let unsent = outcomes.contains(&Checked::NotRun);
        let stopped = unsent.then(|| {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                EngineError::Cancelled
            } else {
                EngineError::Server {
                    url: self.options.urls(),
                    message: format!(
                        "every guard server was taken out ({})",
                        self.servers.all_out_reason()
                    ),
                }
            }
        });
        ((outcomes, stats), stopped)
    }

    fn check(
        &self,
        server: usize,
        check: &CheckRequest,
        score: &ScoreTokens,
        cancel: &AtomicBool,
    ) -> Result<CheckOutcome, GaveUp> {
        let started = Instant::now();
        let sent = self.request_body(check)?;
        let body = sent.body.to_string();
        let mut tries = 0;
        let reply = self.options.retry.run(cancel, || {
            tries += 1;
            self.post(server, &body)
        })?;
        let mut outcome = self.read_reply(&reply, check, score, &sent, tries)?;
        outcome.latency = started.elapsed();
        Ok(outcome)
    }

    /// The request body of one check, shortened to fit; a check that cannot fit is refused
    /// here, never sent to fail.
    pub fn request_body(&self, check: &CheckRequest) -> Result<Sent, GaveUp> {
        let limit = self.check_limit as usize;
        let (prompt, tokens, truncated) = fit_check(self.tokenizer.as_ref(), check, limit);
        if tokens > limit {
            return Err(GaveUp {
                reason: format!(
                    "the check does not fit: {tokens} tokens after shortening, at most {limit} (the server's context less the answer's {} tokens)",
                    check.max_tokens
                ),
                tries: 0,
                server_fault: false,
                refused: false,
            });
        }
        let body = match prompt {
            Prompt::Ids(ids) => json!({
                "model": self.options.model,
                "prompt": ids,
                "max_tokens": check.max_tokens.max(1),
                "temperature": 0.0,
                "logprobs": self.options.top_logprobs,
                "stop": check.stop,
                // vLLM otherwise keys top log-probabilities by decoded text, which two tokens
                // may share; other servers ignore it.
                "return_tokens_as_token_ids": true,
            }),
            Prompt::Chat { system, user } => {
                let mut messages = Vec::new();
                if !system.is_empty() {
                    messages.push(json!({"role": "system", "content": system}));
                }
                messages.push(json!({"role": "user", "content": user}));
                // No stop strings: they are the template's end-of-turn tokens, and the
                // provider's own template ends the turn.
                json!({
                    "model": self.options.model,
                    "messages": messages,
                    "max_tokens": check.max_tokens.max(1),
                    "temperature": 0.0,
                    "logprobs": true,
                    "top_logprobs": self.options.top_logprobs.min(CHAT_TOP_LOGPROBS),
                })
            }
        };
        Ok(Sent {
            body,
            tokens,
            truncated,
        })
    }

    /// The outcome of a check from the server's answer to `sent` (after `tries` requests).
    pub fn read_reply(
        &self,
        reply: &Value,
        check: &CheckRequest,
        score: &ScoreTokens,
        sent: &Sent,
        tries: u32,
    ) -> Result<CheckOutcome, GaveUp> {
        let choice = &reply["choices"][0];
        let text = choice["text"]
            .as_str()
            .or_else(|| choice["message"]["content"].as_str())
            .ok_or_else(|| GaveUp {
                reason: self.scrub(format!(
                    "no choices[0].text or choices[0].message.content in {}",
                    shorten(&reply.to_string())
                )),
                tries,
                server_fault: false,
                refused: false,
            })?;
        let mut answer = format!("{}{text}", check.prefill);
        // Servers differ on whether the stop string is part of the text; keep it out.
        check.cut_at_stop(&mut answer);
        let (p_unsafe, p_controversial) = self
            .scores(&choice["logprobs"], check, score)
            .unwrap_or((None, None));
        // The server's own count proves the ids arrived as sent (no re-tokenization, no start
        // token added); where the server has no `/tokenize`, it is the tokenizer check too. A
        // chat endpoint counts its own template too, so there is nothing to compare.
        let prompt_tokens = reply["usage"]["prompt_tokens"].as_u64();
        if let Some(counted) = prompt_tokens
            && check.system.is_none()
            && counted != sent.tokens as u64
        {
            return Err(GaveUp {
                reason: format!(
                    "the server counted {counted} prompt tokens where the tokenizer {} made {}: it is not the served model's, or the server changes the prompt",
                    self.options
                        .tokenizer
                        .as_deref()
                        .unwrap_or(Path::new(""))
                        .display(),
                    sent.tokens,
                ),
                tries,
                server_fault: true,
                refused: true,
            });
        }
        Ok(CheckOutcome {
            answer,
            p_unsafe,
            p_controversial,
            truncated: sent.truncated,
            prompt_tokens: prompt_tokens.unwrap_or(sent.tokens as u64) as u32,
            server_computed: server_computed(reply),
            latency: Duration::ZERO,
            first_logits: None,
        })
    }

    /// A message with every secret sent to the server replaced: servers and proxies may echo
    /// request headers in their errors.
    fn scrub(&self, mut message: String) -> String {
        for (_, Secret(value)) in &self.auth {
            let bare = value.strip_prefix("Bearer ").unwrap_or(value);
            for secret in [value.as_str(), bare] {
                if !secret.is_empty() {
                    message = message.replace(secret, "<hidden>");
                }
            }
        }
        message
    }

    /// One try of one check request to `server`.
    fn post(&self, server: usize, body: &str) -> Result<Value, Failure> {
        let text = self.exchange(
            &self.endpoints[server],
            Some(("application/json", body.as_bytes())),
        )?;
        serde_json::from_str(&text)
            .map_err(|e| Failure::Permanent(format!("the answer is not JSON ({e})")))
    }

    /// One try of a GET (no body) or a POST of `(content type, body)` to `url`, with the run's
    /// headers: the answer's text, or what kind of failure it was.
    pub fn exchange(&self, url: &str, body: Option<(&str, &[u8])>) -> Result<String, Failure> {
        let sent = match body {
            Some((content_type, body)) => {
                let mut request = self.agent.post(url).header("content-type", content_type);
                for (name, Secret(value)) in &self.auth {
                    request = request.header(name.as_str(), value.as_str());
                }
                request.send(body)
            }
            None => {
                let mut request = self.agent.get(url);
                for (name, Secret(value)) in &self.auth {
                    request = request.header(name.as_str(), value.as_str());
                }
                request.call()
            }
        };
        let mut response = sent.map_err(|e| {
            let reason = self.scrub(e.to_string());
            match e {
                // The connection or the server may come back.
                ureq::Error::Io(_)
                | ureq::Error::ConnectionFailed
                | ureq::Error::Timeout(_)
                | ureq::Error::HostNotFound
                | ureq::Error::Protocol(_)
                | ureq::Error::BodyStalled => Failure::Transient {
                    reason,
                    after: None,
                },
                _ => Failure::Permanent(reason),
            }
        })?;
        let status = response.status().as_u16();
        let after = retry_after(|name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        });
        // A batch's output file holds up to 50,000 answers.
        let text = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .map_err(|e| Failure::Transient {
                reason: self.scrub(format!("reading the answer: {e}")),
                after: None,
            })?;
        if !(200..300).contains(&status) {
            let reason = self.scrub(format!("HTTP {status}: {}", shorten(&text)));
            return Err(status_failure(status, reason, after));
        }
        Ok(text)
    }

    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// P(unsafe) and P(controversial) from the top log-probabilities of the scored answer
    /// token: the first one, or the one after `score_after`.
    fn scores(
        &self,
        logprobs: &Value,
        check: &CheckRequest,
        score: &ScoreTokens,
    ) -> Option<(Option<f64>, Option<f64>)> {
        let piece = |id: u32| self.tokenizer.as_ref().map(|t| t.piece(id));
        let steps = logprob_steps(logprobs, &piece)?;
        let mut produced = check.prefill.clone();
        let step = steps.iter().position(|step| {
            let here = check.score_after.is_empty()
                || produced.trim_end().ends_with(check.score_after.trim_end());
            produced.push_str(&step.token);
            here
        })?;
        Some(score.probabilities(&steps[step], &piece))
    }
}

/// One answer token as a server reports it, with its top alternatives.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub token: String,
    pub alternatives: Vec<Alternative>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alternative {
    /// Where the server says (llama-server; vLLM with `return_tokens_as_token_ids`).
    pub id: Option<u32>,
    pub text: String,
    pub logprob: f64,
}

/// The answer tokens of a `logprobs` object, in either of the two layouts servers use:
/// - `content[i] = {token, id?, top_logprobs: [{token, id?, logprob}]}`: OpenAI chat,
///   llama-server (with ids, completions and chat) and vLLM chat;
/// - `tokens[i]` with `top_logprobs[i] = {text: logprob}`: the legacy completions layout of
///   vLLM and SGLang, where vLLM's `return_tokens_as_token_ids` spells a token `token_id:N`
///   (`piece` turns such an id back into text).
pub fn logprob_steps(logprobs: &Value, piece: &dyn Fn(u32) -> Option<String>) -> Option<Vec<Step>> {
    // `token_id:N` is an id; its text is the tokenizer's piece.
    let read = |text: &str, id: Option<u32>| -> (Option<u32>, String) {
        match text.strip_prefix("token_id:").and_then(|n| n.parse().ok()) {
            Some(id) => (Some(id), piece(id).unwrap_or_default()),
            None => (id, text.to_string()),
        }
    };
    let logprob = |v: &Value| v.as_f64().unwrap_or(f64::NEG_INFINITY);
    if let Some(content) = logprobs["content"].as_array() {
        return Some(
            content
                .iter()
                .map(|c| Step {
                    token: read(c["token"].as_str().unwrap_or(""), None).1,
                    alternatives: c["top_logprobs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| {
                            let id = a["id"].as_u64().map(|i| i as u32);
                            let (id, text) = read(a["token"].as_str().unwrap_or(""), id);
                            Alternative {
                                id,
                                text,
                                logprob: logprob(&a["logprob"]),
                            }
                        })
                        .collect(),
                })
                .collect(),
        );
    }
    let tokens = logprobs["tokens"].as_array()?;
    let tops = logprobs["top_logprobs"].as_array()?;
    Some(
        tokens
            .iter()
            .zip(tops)
            .map(|(t, top)| Step {
                token: read(t.as_str().unwrap_or(""), None).1,
                alternatives: top
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        let (id, text) = read(k, None);
                        Alternative {
                            id,
                            text,
                            logprob: logprob(v),
                        }
                    })
                    .collect(),
            })
            .collect(),
    )
}

/// The tokens whose probabilities give P(unsafe).
pub struct ScoreTokens {
    ids: ScoreIds,
    /// Without a tokenizer (a chat endpoint): the score pieces themselves, each taken for one
    /// token and an id being its index here.
    words: Option<Vec<String>>,
}

impl ScoreTokens {
    /// With a tokenizer, the first token of each piece, as the local engine scores.
    pub fn of(scoring: &Scoring, tokenizer: Option<&SegmentTokenizer>) -> ScoreTokens {
        match tokenizer {
            Some(t) => ScoreTokens {
                ids: scoring.first_ids(|p| t.plain_ids(p).first().map(|&i| i as i32)),
                words: None,
            },
            None => {
                let mut words: Vec<String> = [
                    &scoring.unsafe_pieces,
                    &scoring.safe_pieces,
                    &scoring.controversial_pieces,
                ]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
                words.sort();
                words.dedup();
                let ids =
                    scoring.first_ids(|p| words.iter().position(|w| w == p).map(|i| i as i32));
                ScoreTokens {
                    ids,
                    words: Some(words),
                }
            }
        }
    }

    /// P(unsafe) and P(controversial) at one answer token. An alternative with an id counts
    /// by id; one without, by its text: the piece's own text, or (words) the word, leading
    /// spaces aside, as providers differ on them at the start of a message.
    pub fn probabilities(
        &self,
        step: &Step,
        piece: &dyn Fn(u32) -> Option<String>,
    ) -> (Option<f64>, Option<f64>) {
        self.ids.probabilities(|ids: &[i32]| {
            let texts: Vec<String> = ids
                .iter()
                .filter_map(|&id| match &self.words {
                    Some(words) => words.get(id as usize).cloned(),
                    None => piece(id as u32),
                })
                .collect();
            step.alternatives
                .iter()
                .filter(|a| match (a.id, &self.words) {
                    (Some(id), None) => ids.contains(&(id as i32)),
                    (_, Some(_)) => texts.iter().any(|t| t.trim_start() == a.text.trim_start()),
                    (None, None) => texts.contains(&a.text),
                })
                .map(|a| a.logprob.exp())
                .sum::<f64>()
        })
    }
}

impl CheckOutcome {
    /// Adds a server's answer to its wave's cost: what the server computed where it says so,
    /// else the whole prompt in no known time.
    pub fn add_server_cost(&self, stats: &mut WaveStats) {
        let (tokens, time) = self
            .server_computed
            .unwrap_or((self.prompt_tokens, Duration::ZERO));
        stats.computed_tokens += tokens as u64;
        stats.prompt_time += time;
    }
}

/// llama-server's own account of a check's prompt (`timings.prompt_n`, `prompt_ms`): the
/// tokens it computed, its cache's excluded, and how long they took.
fn server_computed(reply: &Value) -> Option<(u32, Duration)> {
    let timings = &reply["timings"];
    let tokens = u32::try_from(timings["prompt_n"].as_u64()?).ok()?;
    let ms = timings["prompt_ms"]
        .as_f64()
        .filter(|ms| ms.is_finite() && *ms >= 0.0)?;
    Some((tokens, Duration::from_secs_f64(ms / 1000.0)))
}

/// The start of a server's text, enough to say what went wrong.
fn shorten(text: &str) -> String {
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::llama::{LlamaEngine, LlamaOptions, tests::test_model};
    use crate::guard::load_builtin;

    #[test]
    fn server_addresses_and_headers_parse_and_secrets_stay_hidden() {
        let a = ServerAddress::parse("http://h:8080/=8", 4).unwrap();
        assert_eq!((a.url.as_str(), a.concurrency), ("http://h:8080", 8));
        let b = ServerAddress::parse("https://gw/v1?x=y/z", 4).unwrap();
        assert_eq!((b.url.as_str(), b.concurrency), ("https://gw/v1?x=y/z", 4));
        assert!(ServerAddress::parse("http://h=0", 4).is_err());
        assert!(ServerAddress::parse("h:8080", 4).is_err());
        let h = Header::parse("api-key: s3cr3t:x").unwrap();
        assert_eq!(
            (h.name.as_str(), h.value.0.as_str()),
            ("api-key", "s3cr3t:x")
        );
        assert!(Header::parse(":v").is_err() && Header::parse("novalue").is_err());
        let shown = format!("{h:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("api-key"),
            "{shown}"
        );
    }

    fn fixture(name: &str) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/responses")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn scoring(unsafe_: &[&str], safe: &[&str]) -> Scoring {
        Scoring {
            unsafe_pieces: unsafe_.iter().map(|s| s.to_string()).collect(),
            safe_pieces: safe.iter().map(|s| s.to_string()).collect(),
            controversial_pieces: Vec::new(),
        }
    }

    /// OpenAI's chat layout (its API reference's recorded example): tokens by text, no ids,
    /// scored by the words themselves when no tokenizer is given.
    #[test]
    fn openai_chat_logprobs_are_read_by_token_text() {
        let body = fixture("openai-chat-logprobs.json");
        let steps = logprob_steps(&body["choices"][0]["logprobs"], &|_| None).unwrap();
        let text: String = steps.iter().map(|s| s.token.as_str()).collect();
        assert_eq!(
            text,
            body["choices"][0]["message"]["content"].as_str().unwrap()
        );
        assert_eq!(steps[0].alternatives.len(), 2);
        let second = &steps[0].alternatives[1];
        assert_eq!((second.id, second.text.as_str()), (None, "Hi"));
        let score = ScoreTokens::of(&scoring(&["Hello"], &["Hi"]), None);
        let (p, c) = score.probabilities(&steps[0], &|_| None);
        let (a, b) = ((-0.31725305f64).exp(), (-1.3190403f64).exp());
        assert!(
            (p.unwrap() - a / (a + b)).abs() < 1e-9 && c.is_none(),
            "{p:?}"
        );
        // Words the first token's alternatives lack give no mass: no figure rather than 0.
        let absent = ScoreTokens::of(&scoring(&["unsafe"], &["safe"]), None);
        assert_eq!(absent.probabilities(&steps[0], &|_| None), (None, None));
    }

    /// vLLM's completions layout with `return_tokens_as_token_ids`, as its source emits it
    /// (`"token_id:N"` for the token and the keys of its alternatives; no recorded body was
    /// found): ids count by id, and their text is the tokenizer's piece.
    #[test]
    fn vllm_token_id_keys_are_ids() {
        let logprobs = json!({
            "text_offset": [0, 10],
            "token_logprobs": [-0.05, -0.7],
            "tokens": ["token_id:3009", "token_id:198"],
            "top_logprobs": [
                {"token_id:3009": -0.05, "token_id:19519": -3.1, "token_id:11": -9999.0},
                {"token_id:198": -0.7, "token_id:50": -0.9},
            ],
        });
        let piece = |id: u32| Some(format!("<{id}>"));
        let steps = logprob_steps(&logprobs, &piece).unwrap();
        assert_eq!(steps[0].token, "<3009>");
        let alt = steps[0]
            .alternatives
            .iter()
            .find(|a| a.id == Some(19519))
            .unwrap();
        assert_eq!((alt.text.as_str(), alt.logprob), ("<19519>", -3.1));
        // The legacy layout without ids (SGLang, vLLM by default) keeps the text.
        let plain =
            json!({"tokens": [" safe"], "top_logprobs": [{" safe": -0.1, " unsafe": -2.4}]});
        let steps = logprob_steps(&plain, &piece).unwrap();
        assert!(steps[0].alternatives.iter().all(|a| a.id.is_none()));
        assert_eq!(steps[0].token, " safe");
        assert!(logprob_steps(&json!({"nothing": 1}), &piece).is_none());
    }

    /// The tokenizer.json built from the GGUF gives llama.cpp's own ids on every bundled text,
    /// hostile ones included: template markers as special tokens, data markers spelled out.
    #[test]
    fn gguf_tokenizer_matches_llama_cpp() {
        let model = test_model();
        let engine = ServerEngine::new(ServerOptions {
            servers: vec![ServerAddress::parse("http://127.0.0.1:9", 1).unwrap()],
            model: "m".into(),
            api: ServerApi::Completions,
            tokenizer: Some(model.clone()),
            max_check_tokens: 4096,
            top_logprobs: 20,
            api_key: None,
            headers: Vec::new(),
            retry: RetryPolicy::default(),
            batch: None,
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
