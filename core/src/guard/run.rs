//! Guard runs as jobs in the project: which texts a run still owes, checking them wave by
//! wave on the engine, and storing each verdict as soon as its wave is done, so a killed run
//! loses at most one wave and `--resume` continues where it stopped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::batch::BatchEngine;
use super::catalog::sha256_file;
use super::device::{self, Placement};
use super::llama::VocabFile;
use super::llama::{CheckRequest, EngineError, LlamaEngine, LlamaOptions, Scoring, WaveStats};
use super::parse::VerdictLine;
use super::route::{Checked, ServerStatus};
use super::server::{
    SegmentTokenizer, ServerApi, ServerEngine, ServerOptions, WaveOutcomes, fit_check,
};
use super::{Profile, Profiles, Role, Verdict, parse_answer};
use crate::filter::{FilterError, SampleFilter};
use crate::import::Turn;
use crate::sample::read_turns;
use crate::store::Store;

/// The texts of a sample a guard can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TextField {
    Prompt,
    Chosen,
    Rejected,
    Response,
}

impl TextField {
    pub const ALL: [TextField; 4] = [
        TextField::Prompt,
        TextField::Chosen,
        TextField::Rejected,
        TextField::Response,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TextField::Prompt => "prompt",
            TextField::Chosen => "chosen",
            TextField::Rejected => "rejected",
            TextField::Response => "response",
        }
    }

    pub fn parse(name: &str) -> Option<TextField> {
        TextField::ALL.into_iter().find(|f| f.name() == name.trim())
    }

    /// The prompt is checked as the user turn; every answer as the assistant turn after it.
    pub fn role(self) -> Role {
        if self == TextField::Prompt {
            Role::Prompt
        } else {
            Role::Answer
        }
    }
}

/// Where the guard model runs.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A GGUF file, in this process.
    Local { model: PathBuf, llama: LlamaOptions },
    /// An OpenAI-compatible server.
    Server(ServerOptions),
}

impl Backend {
    /// Whether checks go as chat messages.
    fn chat(&self) -> bool {
        matches!(self, Backend::Server(o) if o.api == ServerApi::Chat)
    }
}

/// A loaded backend.
enum Engine {
    Local(LlamaEngine),
    // Two tokenizers are large; the enum lives once per run, boxed to keep it small.
    Server(Box<ServerEngine>),
    Batch(Box<BatchEngine>),
}

impl Engine {
    /// `project` and `run_id` are where a batch run journals its batches.
    fn load(
        backend: &Backend,
        profile: &Profile,
        project: &Path,
        run_id: i64,
    ) -> Result<Engine, EngineError> {
        Ok(match backend {
            Backend::Local { model, llama } => {
                Engine::Local(LlamaEngine::load(model, llama.clone())?)
            }
            Backend::Server(options) => {
                let mut engine = ServerEngine::new(options.clone())?;
                // The template with empty texts: what no shortening can make smaller.
                let template = [TextField::Prompt, TextField::Chosen]
                    .into_iter()
                    .map(|field| {
                        let empty = Pending {
                            sample_id: 0,
                            field,
                            prompt: "".into(),
                            earlier: Arc::new([]),
                            text: (field != TextField::Prompt).then(String::new),
                        };
                        let check = empty.request(profile, backend.chat());
                        fit_check(engine.tokenizer(), &check, usize::MAX).1
                    })
                    .max()
                    .unwrap_or(0);
                engine.preflight(template, profile.max_tokens)?;
                match &options.batch {
                    Some(_) if options.servers.len() > 1 => {
                        return Err(EngineError::Server {
                            url: options.urls(),
                            message: "the OpenAI Batch API mode sends to one server; give one"
                                .into(),
                        });
                    }
                    Some(batch) => Engine::Batch(Box::new(BatchEngine::new(
                        engine,
                        batch.clone(),
                        project,
                        run_id,
                    ))),
                    None => Engine::Server(Box::new(engine)),
                }
            }
        })
    }

    /// Where the checks are computed, as the run records it (nothing for a server).
    fn device(&self) -> Option<&str> {
        match self {
            Engine::Local(e) => Some(&e.device),
            Engine::Server(_) | Engine::Batch(_) => None,
        }
    }

    /// The wave's outcomes, and the error that stopped it if one did (the outcomes before it
    /// are still stored). `chat`: the checks go as the profile's chat form.
    fn evaluate(
        &self,
        wave: &[Pending],
        profile: &Profile,
        chat: bool,
        scoring: &Scoring,
        cancel: Arc<AtomicBool>,
    ) -> (WaveOutcomes, Option<EngineError>) {
        let checks: Vec<CheckRequest> = wave.iter().map(|p| p.request(profile, chat)).collect();
        match self {
            Engine::Local(e) => match e.evaluate(checks, scoring, cancel) {
                Ok((outcomes, stats)) => (
                    (outcomes.into_iter().map(Checked::Done).collect(), stats),
                    None,
                ),
                Err(err) => (
                    (
                        wave.iter().map(|_| Checked::NotRun).collect(),
                        WaveStats::default(),
                    ),
                    Some(err),
                ),
            },
            Engine::Server(e) => {
                let keys: Vec<u64> = wave.iter().map(|p| p.sample_id as u64).collect();
                e.evaluate(checks, &keys, scoring, cancel)
            }
            Engine::Batch(e) => {
                let keys: Vec<u64> = wave.iter().map(|p| p.sample_id as u64).collect();
                e.evaluate(&checks, &keys, scoring, cancel)
            }
        }
    }

    fn server_status(&self) -> Vec<ServerStatus> {
        match self {
            Engine::Local(_) | Engine::Batch(_) => Vec::new(),
            Engine::Server(e) => e.server_status(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub profile: String,
    pub backend: Backend,
    pub fields: Vec<TextField>,
    pub filter: SampleFilter,
    /// Stop adding samples once this many texts are queued (samples stay whole, so a
    /// triple's checks share their prompt).
    pub limit: Option<u64>,
    /// Continue a run that stopped before it finished.
    pub resume: bool,
    /// Samples per engine call.
    pub wave: usize,
    /// Run even when the model lacks special tokens the profile's templates use (the stand-in
    /// test model under another family's template); the run records it.
    pub allow_profile_mismatch: bool,
    /// Check only the texts the project's guards (runs of other profiles) dispute: they differ,
    /// or one said `controversial` or gave no readable verdict. The paper's third judge.
    pub only_disputed: bool,
}

/// What a run would send: `verdikt guard run --dry-run`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub texts: u64,
    /// Prompt tokens of those checks, as sent (after shortening).
    pub prompt_tokens: u64,
    /// Texts the run it continues has already checked.
    pub already_done: u64,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct RunProgress {
    pub run_id: i64,
    pub done: u64,
    pub total: u64,
    pub texts_per_second: f64,
    pub eta_seconds: Option<f64>,
    /// Checks stored as `error` so far by this invocation.
    pub errors: u64,
    /// Each guard server's share (a server run), in the order given.
    pub servers: Vec<ServerStatus>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub status: String,
    /// Texts checked by this invocation (with a verdict; failures are in `errors`).
    pub checked: u64,
    /// Texts the run had already checked before.
    pub already_done: u64,
    /// Checks of this invocation that failed for good, stored as `error` verdicts (the next
    /// invocation of the run tries them again).
    pub errors: u64,
    pub servers: Vec<ServerStatus>,
    pub seconds: f64,
    pub texts_per_second: f64,
    pub computed_tokens: u64,
    pub prompt_tokens: u64,
    pub prompt_seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no guard profile named `{name}`; known: {known}")]
    NoProfile { name: String, known: String },
    #[error("cannot read the model file {}: {source}", path.display())]
    Model {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "guard run {id} ({profile}) stopped before it finished (status {status}); pass --resume to continue it"
    )]
    Unfinished {
        id: i64,
        profile: String,
        status: String,
    },
    #[error(
        "guard profile `{profile}` does not fit this model: its vocabulary has no single token for {missing}; profiles that fit: {fitting} (--allow-profile-mismatch runs it anyway)"
    )]
    ProfileMismatch {
        profile: String,
        missing: String,
        fitting: String,
    },
    #[error(
        "guard profile `{profile}` has no chat form ([prompt_check.chat] and [answer_check.chat]) for a chat-completions endpoint; profiles with one: {with}"
    )]
    NoChatForm { profile: String, with: String },
    #[error(
        "--only-disputed needs the project's guards to compare, and there are none besides `{judge}` (see `verdikt guard runs` and `verdikt guards use`)"
    )]
    NoGuardsToJudge { judge: String },
    #[error(transparent)]
    Guards(#[from] crate::project_guards::GuardsError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Lease(#[from] crate::lease::LeaseError),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The lease a run holds while its process works on it (see `lease`).
fn lease_name(run_id: i64) -> String {
    format!("guard-run-{run_id}")
}

/// A row of `verdikt guard runs`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub profile: String,
    pub model: String,
    /// As stored, except `stopped`: recorded as running, but no process works on it (it died).
    pub status: String,
    pub texts_total: u64,
    /// Texts with a verdict; `error` ones are not among them.
    pub texts_done: u64,
    /// Texts whose check failed for good (`error` verdicts), to be tried again.
    pub texts_failed: u64,
    pub texts_per_second: f64,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Where its latest invocation computed: `CPU` or a GPU with its share of the layers;
    /// nothing for a server run.
    pub device: Option<String>,
}

pub fn list_runs(store: &Store) -> rusqlite::Result<Vec<RunInfo>> {
    let mut stmt = store.conn().prepare(
        "SELECT r.id, r.profile, coalesce(r.model_path, r.server_url || ' ' || r.server_model), r.status,
                r.texts_total, (SELECT count(*) FROM verdicts v WHERE v.run_id = r.id AND v.verdict <> 'error'),
                r.busy_seconds, r.started_at, r.finished_at, r.device,
                (SELECT count(*) FROM verdicts v WHERE v.run_id = r.id AND v.verdict = 'error')
         FROM guard_runs r ORDER BY r.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let done = r.get::<_, i64>(5)? as u64;
        let busy: f64 = r.get(6)?;
        let id = r.get(0)?;
        Ok(RunInfo {
            id,
            profile: r.get(1)?,
            model: r.get(2)?,
            status: match r.get::<_, String>(3)?.as_str() {
                "running" if !crate::lease::held(store.path(), &lease_name(id)) => "stopped".into(),
                other => other.into(),
            },
            texts_total: r.get::<_, i64>(4)? as u64,
            texts_done: done,
            texts_failed: r.get::<_, i64>(10)? as u64,
            texts_per_second: if busy > 0.0 { done as f64 / busy } else { 0.0 },
            started_at: r.get(7)?,
            finished_at: r.get(8)?,
            device: r.get(9)?,
        })
    })?;
    rows.collect()
}

/// The model file's SHA-256, taken from an earlier run of the same file (path, size and
/// modification time unchanged) instead of re-reading gigabytes on every `guard run`.
fn model_sha256(store: &Store, path: &Path, size: u64, mtime: &str) -> Result<String, RunError> {
    let known: Option<String> = store
        .conn()
        .query_row(
            "SELECT model_sha256 FROM guard_runs
             WHERE backend = 'local' AND model_path = ?1 AND model_size = ?2
               AND json_extract(params, '$.model_mtime') = ?3
             ORDER BY id DESC LIMIT 1",
            params![path.display().to_string(), size as i64, mtime],
            |r| r.get(0),
        )
        .optional()?;
    match known {
        Some(sha) => Ok(sha),
        None => sha256_file(path).map_err(|source| RunError::Model {
            path: path.into(),
            source,
        }),
    }
}

/// One text still to check.
struct Pending {
    sample_id: i64,
    field: TextField,
    prompt: Arc<str>,
    /// A conversation's turns before `prompt` (empty for a single prompt), shared by the
    /// sample's checks.
    earlier: Arc<[Turn]>,
    text: Option<String>,
}

impl Pending {
    /// The check, as chat messages when `chat` (the profile has a chat form: [`check_fit`]).
    fn request(&self, profile: &Profile, chat: bool) -> CheckRequest {
        let role = self.field.role();
        let check = profile.check(role);
        let answer = self.text.as_deref().unwrap_or("");
        let earlier = &self.earlier[..];
        let (segments, system) =
            match profile.render_chat_conversation(role, earlier, &self.prompt, answer) {
                Some(form) if chat => (form.user, Some(form.system)),
                _ => (
                    profile.render_conversation_check(role, earlier, &self.prompt, answer),
                    None,
                ),
            };
        CheckRequest {
            segments,
            system,
            prefill: check.prefill.clone(),
            max_tokens: profile.max_tokens,
            stop: profile.stop.clone(),
            score_after: check.score_after.clone(),
            verdict_line: VerdictLine::of(profile, self.field.role()),
        }
    }
}

/// The checks a fresh run with `opts` would make, in run order: (sample id, field, request).
/// For benchmarks and inspection; nothing is stored.
pub fn planned_checks(
    store: &Store,
    profile: &Profile,
    fields: &[TextField],
    filter: &SampleFilter,
    limit: Option<u64>,
) -> Result<Vec<(i64, TextField, CheckRequest)>, RunError> {
    // No run has id 0, so nothing counts as done.
    let (_, pending) = pending_texts(store, 0, fields, filter, limit, None)?;
    Ok(pending
        .iter()
        .map(|p| (p.sample_id, p.field, p.request(profile, false)))
        .collect())
}

pub fn find_profile<'p>(profiles: &'p Profiles, name: &str) -> Result<&'p Profile, RunError> {
    profiles.get(name).ok_or_else(|| RunError::NoProfile {
        name: name.to_string(),
        known: profiles.list().join(", "),
    })
}

pub fn run(
    store: &mut Store,
    profiles: &Profiles,
    opts: &RunOptions,
    progress: &mut dyn FnMut(&RunProgress),
    cancel: &Arc<AtomicBool>,
) -> Result<RunReport, RunError> {
    let profile = find_profile(profiles, &opts.profile)?;
    check_fit(profiles, profile, opts)?;
    // A GPU that is not there is refused before the run is opened: no failed run is left behind.
    if let Backend::Local { llama, .. } = &opts.backend {
        Placement::choose(llama.gpu_layers, &device::list()?).map_err(EngineError::from)?;
    }
    let run_id = open_run(store, profile, opts)?;
    let _alive = crate::lease::Lease::take(store.path(), &lease_name(run_id))?;

    let (already_done, pending) = pending_for(store, run_id, opts)?;
    let total = already_done + pending.len() as u64;
    store.conn().execute(
        "UPDATE guard_runs SET texts_total = ?1 WHERE id = ?2",
        params![total as i64, run_id],
    )?;

    let outcome = check_all(
        store,
        profile,
        opts,
        run_id,
        already_done,
        total,
        pending,
        progress,
        cancel,
    );
    let status = match &outcome {
        Ok(_) => "done",
        Err(RunError::Engine(EngineError::Cancelled)) => "cancelled",
        Err(_) => "failed",
    };
    let error = outcome.as_ref().err().map(|e| e.to_string());
    store.conn().execute(
        "UPDATE guard_runs SET status = ?1, error = ?2, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?3",
        params![status, error, run_id],
    )?;
    let mut report = outcome?;
    report.already_done = already_done;
    Ok(report)
}

/// Refuses a profile whose special tokens the model's vocabulary lacks (a Llama Guard template
/// on a Qwen model would store garbage verdicts), naming the profiles that fit; warns when the
/// model's own chat template uses none of them.
fn check_fit(profiles: &Profiles, profile: &Profile, opts: &RunOptions) -> Result<(), RunError> {
    let is_token: Box<dyn Fn(&str) -> bool> = match &opts.backend {
        Backend::Local { model, .. } => {
            let vocab = VocabFile::load(model)?;
            if let Some(template) = vocab.chat_template()
                && !profile
                    .special_tokens
                    .iter()
                    .any(|t| template.contains(t.as_str()))
            {
                log::warn!(
                    "the chat template of {} uses none of the special tokens of profile `{}`: the model may be of another family",
                    model.display(),
                    profile.name
                );
            }
            Box::new(move |t| vocab.specials().id_of(t).is_some())
        }
        Backend::Server(server) if server.api == ServerApi::Chat => {
            // The provider's template wraps the chat form, which names no special tokens.
            return if profile.has_chat_form() {
                Ok(())
            } else {
                Err(RunError::NoChatForm {
                    profile: profile.name.clone(),
                    with: profiles
                        .iter()
                        .filter(|p| p.has_chat_form())
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            };
        }
        Backend::Server(server) => {
            let path = server.tokenizer.as_ref().ok_or(EngineError::NoTokenizer)?;
            let tokenizer = SegmentTokenizer::load(path)?;
            Box::new(move |t| tokenizer.specials().id_of(t).is_some())
        }
    };
    let missing = profile.missing_tokens(&is_token);
    if missing.is_empty() || opts.allow_profile_mismatch {
        return Ok(());
    }
    let fitting: Vec<&str> = profiles
        .iter()
        .filter(|p| p.missing_tokens(&is_token).is_empty())
        .map(|p| p.name.as_str())
        .collect();
    Err(RunError::ProfileMismatch {
        profile: profile.name.clone(),
        missing: missing.join(" "),
        fitting: if fitting.is_empty() {
            "none of the installed profiles".into()
        } else {
            fitting.join(", ")
        },
    })
}

/// What a run records about its backend, and what makes two runs the same.
struct Identity {
    backend: &'static str,
    model_path: Option<String>,
    model_size: Option<i64>,
    model_sha256: Option<String>,
    server_url: Option<String>,
    server_model: Option<String>,
    params: serde_json::Value,
    fingerprint: String,
}

/// Bumped whenever the way check token ids are made changes: runs of the old way stay apart.
const TOKENIZATION: u32 = 2;

/// What produced a run's verdicts, beside the model: the rendered profile (templates, scoring,
/// limits), the tokenizer and how check tokens are made. A changed user profile or an upgraded
/// built-in starts a new run instead of mixing two templates' verdicts under one id.
fn fingerprint(profile: &Profile, tokenizer: &str) -> String {
    use sha2::{Digest, Sha256};
    let what = serde_json::json!({
        "profile": profile,
        "tokenizer": tokenizer,
        "tokenization": TOKENIZATION,
    });
    super::catalog::hex(&Sha256::digest(what.to_string().as_bytes()))
}

fn identity(store: &Store, profile: &Profile, opts: &RunOptions) -> Result<Identity, RunError> {
    let fields: Vec<&str> = opts.fields.iter().map(|f| f.name()).collect();
    Ok(match &opts.backend {
        Backend::Local { model, llama } => {
            let model_err = |source| RunError::Model {
                path: model.clone(),
                source,
            };
            let meta = std::fs::metadata(model).map_err(model_err)?;
            let mtime = meta
                .modified()
                .map_err(model_err)?
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
                .to_string();
            let size = meta.len();
            let sha = model_sha256(store, model, size, &mtime)?;
            Identity {
                // The tokenizer is the model file's own vocabulary, already matched by its sha256.
                fingerprint: fingerprint(profile, "the model's own vocabulary"),
                backend: "local",
                model_path: Some(model.display().to_string()),
                model_size: Some(size as i64),
                model_sha256: Some(sha),
                server_url: None,
                server_model: None,
                params: serde_json::json!({
                    "threads": llama.threads,
                    "n_ctx": llama.n_ctx,
                    "n_seq": llama.n_seq,
                    "n_batch": llama.n_batch,
                    "max_check_tokens": llama.max_check_tokens,
                    "flash_attention": llama.flash_attention,
                    "share_prefixes": llama.share_prefixes,
                    "gpu_layers": llama.gpu_layers,
                    "fields": fields,
                    "allow_profile_mismatch": opts.allow_profile_mismatch,
                    "only_disputed": opts.only_disputed,
                    "reading": profile.score.reading.map(|r| r.name()),
                    "model_mtime": mtime,
                }),
            }
        }
        Backend::Server(server) => Identity {
            fingerprint: fingerprint(
                profile,
                &match &server.tokenizer {
                    Some(path) => sha256_file(path).map_err(|source| RunError::Model {
                        path: path.clone(),
                        source,
                    })?,
                    None => "none: the provider's chat template".to_string(),
                },
            ),
            backend: "server",
            model_path: None,
            model_size: None,
            model_sha256: None,
            server_url: Some(server.urls()),
            server_model: Some(server.model.clone()),
            // Header values and the key stay out of the project; their names are recorded.
            params: serde_json::json!({
                "api": server.api.name(),
                "tokenizer": server.tokenizer.as_ref().map(|t| t.display().to_string()),
                "concurrency": server.servers.iter().map(|s| s.concurrency).collect::<Vec<_>>(),
                "api_key_env": server.api_key.as_ref().map(|k| k.recorded()),
                "headers": server.headers.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
                "max_tries": server.retry.max_tries,
                "max_retry_wait_s": server.retry.max_wait.as_secs_f64(),
                "max_check_tokens": server.max_check_tokens,
                "top_logprobs": server.top_logprobs,
                "openai_batch": server.batch.is_some(),
                "fields": fields,
                "allow_profile_mismatch": opts.allow_profile_mismatch,
                "only_disputed": opts.only_disputed,
                "reading": profile.score.reading.map(|r| r.name()),
            }),
        },
    })
}

/// The latest run of the same profile and model: (id, status, fingerprint).
fn previous_run(
    store: &Store,
    opts: &RunOptions,
    id: &Identity,
) -> rusqlite::Result<Option<(i64, String, Option<String>)>> {
    store
        .conn()
        .query_row(
            "SELECT id, status, fingerprint FROM guard_runs
             WHERE profile = ?1 AND backend = ?2 AND model_sha256 IS ?3 AND server_url IS ?4 AND server_model IS ?5
             ORDER BY id DESC LIMIT 1",
            params![opts.profile, id.backend, id.model_sha256, id.server_url, id.server_model],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
}

/// The run this invocation continues (same profile, and the same model file contents or the
/// same server and model name, and the same [`fingerprint`]), or a new one.
fn open_run(store: &Store, profile: &Profile, opts: &RunOptions) -> Result<i64, RunError> {
    let id = identity(store, profile, opts)?;
    let conn = store.conn();
    let previous = previous_run(store, opts, &id)?;
    let params_json = id.params.to_string();
    let previous = match previous {
        Some((run, _, print)) if print.as_deref() != Some(id.fingerprint.as_str()) => {
            log::warn!(
                "guard profile `{}` (its templates, scoring or limits) or the tokenizer changed since run {run}: starting a new run",
                opts.profile
            );
            None
        }
        other => other.map(|(run, status, _)| (run, status)),
    };
    match previous {
        Some((run, status)) if status != "done" && !opts.resume => Err(RunError::Unfinished {
            id: run,
            profile: opts.profile.clone(),
            status,
        }),
        Some((run, _)) => {
            if crate::lease::held(store.path(), &lease_name(run)) {
                return Err(crate::lease::LeaseError::Busy {
                    name: format!("guard run {run}"),
                }
                .into());
            }
            conn.execute(
                "UPDATE guard_runs SET status = 'running', error = NULL, finished_at = NULL, model_path = ?1, params = ?2
                 WHERE id = ?3",
                params![id.model_path, params_json, run],
            )?;
            Ok(run)
        }
        None => {
            conn.execute(
                "INSERT INTO guard_runs (profile, backend, model_path, model_size, model_sha256, server_url, server_model,
                                         params, fingerprint, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running')",
                params![
                    opts.profile,
                    id.backend,
                    id.model_path,
                    id.model_size,
                    id.model_sha256,
                    id.server_url,
                    id.server_model,
                    params_json,
                    id.fingerprint
                ],
            )?;
            Ok(conn.last_insert_rowid())
        }
    }
}

/// The texts a run still owes under `opts`: all selected ones, or only the disputed.
fn pending_for(
    store: &Store,
    run_id: i64,
    opts: &RunOptions,
) -> Result<(u64, Vec<Pending>), RunError> {
    let disputed = if opts.only_disputed {
        Some(disputed_texts(store, &opts.profile)?)
    } else {
        None
    };
    pending_texts(
        store,
        run_id,
        &opts.fields,
        &opts.filter,
        opts.limit,
        disputed.as_ref(),
    )
}

/// (sample, field) of the texts the project's guards other than `judge`'s runs dispute: more
/// than one verdict among them, or a `controversial` or `unparsed` one.
fn disputed_texts(store: &Store, judge: &str) -> Result<HashSet<(i64, String)>, RunError> {
    let conn = store.conn();
    let guards = crate::project_guards::project_guards(conn)?;
    let list = guards.sql_list();
    let mut stmt = conn.prepare(&format!(
        "SELECT v.sample_id, v.field, count(DISTINCT v.run_id) FROM verdicts AS v JOIN guard_runs AS g ON g.id = v.run_id
         WHERE v.run_id IN {list} AND g.profile <> ?1 AND v.verdict <> 'error'
         GROUP BY v.sample_id, v.field
         HAVING count(DISTINCT v.verdict) > 1 OR max(v.verdict IN ('controversial', 'unparsed'))"
    ))?;
    let judged: i64 = conn.query_row(
        &format!("SELECT count(*) FROM guard_runs WHERE id IN {list} AND profile <> ?1"),
        [judge],
        |r| r.get(0),
    )?;
    if judged == 0 {
        return Err(RunError::NoGuardsToJudge {
            judge: judge.to_string(),
        });
    }
    let rows = stmt.query_map([judge], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many tokens a check sends after shortening, on the run's tokenizer.
type CheckSize = dyn Fn(&CheckRequest) -> usize;

/// The texts and prompt tokens a run with `opts` would send now, nothing stored or opened.
pub fn plan(store: &Store, profiles: &Profiles, opts: &RunOptions) -> Result<Plan, RunError> {
    let profile = find_profile(profiles, &opts.profile)?;
    check_fit(profiles, profile, opts)?;
    let id = identity(store, profile, opts)?;
    let run_id = previous_run(store, opts, &id)?
        .filter(|(_, _, print)| print.as_deref() == Some(id.fingerprint.as_str()))
        .map_or(0, |(run, _, _)| run);
    let (already_done, pending) = pending_for(store, run_id, opts)?;
    let size: Box<CheckSize> = match &opts.backend {
        Backend::Local { model, llama } => {
            let (vocab, limit) = (VocabFile::load(model)?, llama.max_check_tokens as usize);
            Box::new(move |check| {
                super::truncate::fit_tokens(&check.segments, limit, |s| vocab.tokenize(s))
                    .0
                    .len()
            })
        }
        Backend::Server(server) => {
            let tokenizer = match &server.tokenizer {
                Some(path) => Some(SegmentTokenizer::load(path)?),
                None => None,
            };
            let limit = server.max_check_tokens as usize;
            Box::new(move |check| fit_check(tokenizer.as_ref(), check, limit).1)
        }
    };
    let chat = opts.backend.chat();
    let prompt_tokens = pending
        .iter()
        .map(|p| size(&p.request(profile, chat)) as u64)
        .sum();
    Ok(Plan {
        texts: pending.len() as u64,
        prompt_tokens,
        already_done,
    })
}

/// Texts of the selected samples that this run has not checked yet (or whose check failed),
/// in sample order; with `only`, just those among them.
fn pending_texts(
    store: &Store,
    run_id: i64,
    fields: &[TextField],
    filter: &SampleFilter,
    limit: Option<u64>,
    only: Option<&HashSet<(i64, String)>>,
) -> Result<(u64, Vec<Pending>), RunError> {
    let conn = store.conn();
    let (condition, mut values) = filter.where_clause(conn)?;
    values.push(rusqlite::types::Value::Integer(run_id));
    let sql = format!(
        "SELECT s.id, s.prompt, s.chosen, s.rejected, s.response,
                (SELECT group_concat(v.field) FROM verdicts v
                 WHERE v.run_id = ?{} AND v.sample_id = s.id AND v.verdict <> 'error'),
                s.turns
         FROM samples AS s WHERE {condition} ORDER BY s.id",
        values.len()
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(&values))?;
    let (mut done, mut pending) = (0u64, Vec::new());
    while let Some(r) = rows.next()? {
        let sample_id: i64 = r.get(0)?;
        let prompt: Arc<str> = r.get::<_, String>(1)?.into();
        let earlier: Arc<[Turn]> = read_turns(r.get(6)?)?
            .map(|c| c.earlier)
            .unwrap_or_default()
            .into();
        let texts = [
            (TextField::Prompt, None),
            (TextField::Chosen, r.get::<_, Option<String>>(2)?),
            (TextField::Rejected, r.get::<_, Option<String>>(3)?),
            (TextField::Response, r.get::<_, Option<String>>(4)?),
        ];
        let checked: String = r.get::<_, Option<String>>(5)?.unwrap_or_default();
        let mut wanted = Vec::new();
        for (field, text) in texts {
            if !fields.contains(&field)
                || (field != TextField::Prompt && text.is_none())
                || only.is_some_and(|o| !o.contains(&(sample_id, field.name().to_string())))
            {
                continue;
            }
            if checked.split(',').any(|f| f == field.name()) {
                done += 1;
            } else {
                wanted.push(Pending {
                    sample_id,
                    field,
                    prompt: prompt.clone(),
                    earlier: earlier.clone(),
                    text,
                });
            }
        }
        if let Some(limit) = limit
            && !wanted.is_empty()
            && pending.len() as u64 >= limit
        {
            break;
        }
        pending.extend(wanted);
    }
    Ok((done, pending))
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Safe => "safe",
        Verdict::Unsafe => "unsafe",
        Verdict::Controversial => "controversial",
        Verdict::Unparsed => "unparsed",
    }
}

#[allow(clippy::too_many_arguments)]
fn check_all(
    store: &mut Store,
    profile: &Profile,
    opts: &RunOptions,
    run_id: i64,
    already_done: u64,
    total: u64,
    pending: Vec<Pending>,
    progress: &mut dyn FnMut(&RunProgress),
    cancel: &Arc<AtomicBool>,
) -> Result<RunReport, RunError> {
    let mut report = RunReport {
        run_id,
        status: "done".into(),
        checked: 0,
        already_done,
        errors: 0,
        servers: Vec::new(),
        seconds: 0.0,
        texts_per_second: 0.0,
        computed_tokens: 0,
        prompt_tokens: 0,
        prompt_seconds: 0.0,
    };
    if pending.is_empty() {
        return Ok(report);
    }
    let engine = Engine::load(&opts.backend, profile, store.path(), run_id)?;
    // A batch is one wave of everything (cut to the provider's limits by the engine): a wave
    // of a batch can take hours, and each costs a poll loop.
    let wave_samples = match engine {
        Engine::Batch(_) => usize::MAX,
        _ => opts.wave.max(1),
    };
    store.conn().execute(
        "UPDATE guard_runs SET device = ?1 WHERE id = ?2",
        params![engine.device(), run_id],
    )?;
    let scoring = Scoring {
        unsafe_pieces: profile.score.unsafe_.clone(),
        safe_pieces: profile.score.safe.clone(),
        controversial_pieces: profile.score.controversial.clone(),
    };
    let started = Instant::now();
    let mut done = already_done;
    // Waves hold whole samples: a triple's checks must travel together to share its prompt.
    let mut start = 0;
    while start < pending.len() {
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled.into());
        }
        let (mut end, mut samples) = (start, 0);
        while end < pending.len() {
            if end == start || pending[end].sample_id != pending[end - 1].sample_id {
                if samples == wave_samples {
                    break;
                }
                samples += 1;
            }
            end += 1;
        }
        let wave = &pending[start..end];
        let wave_started = Instant::now();
        let ((outcomes, stats), stopped) =
            engine.evaluate(wave, profile, opts.backend.chat(), &scoring, cancel.clone());
        let wave_seconds = wave_started.elapsed().as_secs_f64();
        let stored = outcomes.iter().filter(|o| **o != Checked::NotRun).count() as u64;
        let per_text_ms = wave_seconds * 1000.0 / stored.max(1) as f64;
        let errors_before = report.errors;
        let tx = store.conn_mut().transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO verdicts (run_id, sample_id, field, verdict, categories, p_unsafe, refusal,
                                                  raw_answer, truncated, latency_ms, p_controversial, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for (p, o) in wave.iter().zip(&outcomes) {
                match o {
                    Checked::Done(o) => {
                        let parsed = parse_answer(profile, p.field.role(), &o.answer);
                        insert.execute(params![
                            run_id,
                            p.sample_id,
                            p.field.name(),
                            verdict_name(parsed.verdict),
                            serde_json::to_string(&parsed.categories).expect("strings serialise"),
                            o.p_unsafe,
                            parsed.refusal,
                            o.answer,
                            o.truncated,
                            per_text_ms,
                            o.p_controversial,
                            None::<String>,
                        ])?;
                        report.prompt_tokens += o.prompt_tokens as u64;
                    }
                    Checked::Failed(reason) => {
                        insert.execute(params![
                            run_id,
                            p.sample_id,
                            p.field.name(),
                            "error",
                            "[]",
                            None::<f64>,
                            None::<bool>,
                            "",
                            false,
                            per_text_ms,
                            None::<f64>,
                            reason,
                        ])?;
                        report.errors += 1;
                    }
                    Checked::NotRun => {}
                }
            }
            tx.execute(
                "UPDATE guard_runs SET busy_seconds = busy_seconds + ?1 WHERE id = ?2",
                params![wave_seconds, run_id],
            )?;
        }
        tx.commit()?;
        report.checked += stored - (report.errors - errors_before);
        report.computed_tokens += stats.computed_tokens;
        report.prompt_seconds += stats.prompt_time.as_secs_f64();
        report.servers = engine.server_status();
        done += stored;
        let elapsed = started.elapsed().as_secs_f64();
        let rate = report.checked as f64 / elapsed.max(1e-9);
        progress(&RunProgress {
            run_id,
            done,
            total,
            texts_per_second: rate,
            eta_seconds: (rate > 0.0).then(|| total.saturating_sub(done) as f64 / rate),
            errors: report.errors,
            servers: report.servers.clone(),
        });
        if let Some(e) = stopped {
            return Err(e.into());
        }
        start = end;
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.texts_per_second = report.checked as f64 / report.seconds.max(1e-9);
    Ok(report)
}
