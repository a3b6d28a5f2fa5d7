//! The Guards screen: profiles, catalog models (download with progress, resume, checksum),
//! guard runs on a GGUF file or on one or more OpenAI-compatible servers with live texts/s
//! (per server too) and ETA, cancel and resume; the judge's run on the disputed texts, counted
//! before it starts. All of it is `verdikt_core::guard`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tauri::State;
use tauri::ipc::Channel;
use verdikt_core::filter::SampleFilter;
use verdikt_core::guard::batch::BatchOptions;
use verdikt_core::guard::catalog::{Catalog, LocalState, download};
use verdikt_core::guard::device::{self, Devices};
use verdikt_core::guard::llama::LlamaOptions;
use verdikt_core::guard::load_installed;
use verdikt_core::guard::retry::RetryPolicy;
use verdikt_core::guard::run::{
    Backend, Plan, RunInfo, RunOptions, RunProgress, RunReport, TextField, list_runs, plan, run,
};
use verdikt_core::guard::server::{
    ApiKey, Header, Secret, ServerAddress, ServerApi, ServerOptions,
};

use crate::error::{AppError, AppResult};
use crate::given;
use crate::grants::Grants;
use crate::jobs::{read_off_thread, run_blocking, run_job};
use crate::state::AppState;

/// Samples per engine wave, as the command line's default.
const WAVE: usize = 8;

#[derive(Serialize, specta::Type)]
pub struct ProfileInfo {
    pub name: String,
    pub description: String,
}

#[tauri::command]
#[specta::specta]
pub async fn guard_profiles() -> AppResult<Vec<ProfileInfo>> {
    Ok(load_installed()?
        .iter()
        .map(|p| ProfileInfo {
            name: p.name.clone(),
            description: p.description.clone(),
        })
        .collect())
}

#[tauri::command]
#[specta::specta]
pub async fn guard_runs(state: State<'_, AppState>) -> AppResult<Vec<RunInfo>> {
    state.with_store(|s| Ok(list_runs(s)?))
}

/// The GPU backends of this build and the devices llama.cpp sees, for the GPU layers control.
#[tauri::command]
#[specta::specta]
pub async fn guard_devices() -> AppResult<Devices> {
    Ok(device::list()?)
}

#[derive(Serialize, specta::Type)]
pub struct CatalogModel {
    pub name: String,
    pub profile: String,
    pub size: Option<u64>,
    /// `downloaded`, `partial`, `wrong-size` or `missing`.
    pub state: String,
    /// Bytes on disk (a partial download's, or a wrong-sized file's).
    pub bytes_on_disk: Option<u64>,
    /// Where the file is (or will be).
    pub path: String,
}

fn models_dir() -> AppResult<PathBuf> {
    verdikt_core::paths::models_dir()
        .ok_or_else(|| AppError::new("no data folder for downloaded models (set VERDIKT_HOME)"))
}

/// A GGUF file the user picked, or one of Verdikt's own downloads.
fn model_file(grants: &Grants, path: &str) -> AppResult<PathBuf> {
    let downloaded = Path::new(path)
        .parent()
        .is_some_and(|d| models_dir().is_ok_and(|m| d == m));
    if downloaded {
        Ok(PathBuf::from(path))
    } else {
        grants.source(path)
    }
}

#[tauri::command]
#[specta::specta]
pub async fn guard_catalog() -> AppResult<Vec<CatalogModel>> {
    let dir = models_dir()?;
    Ok(Catalog::load()?
        .entries()
        .iter()
        .map(|e| {
            let (state, bytes) = match e.local_state(&dir) {
                LocalState::Downloaded => ("downloaded", None),
                LocalState::Partial(n) => ("partial", Some(n)),
                LocalState::WrongSize(n) => ("wrong-size", Some(n)),
                LocalState::Missing => ("missing", None),
            };
            CatalogModel {
                name: e.name.clone(),
                profile: e.profile.clone(),
                size: e.size,
                state: state.into(),
                bytes_on_disk: bytes,
                path: e.local_path(&dir).display().to_string(),
            }
        })
        .collect())
}

#[derive(Clone, Serialize, specta::Type)]
pub struct DownloadEvent {
    /// `checking`, `downloading` or `verifying`.
    pub stage: String,
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    pub bytes_per_sec: f64,
}

/// Downloads (or resumes) a catalog model; returns the file's path once its checks pass.
#[tauri::command]
#[specta::specta]
pub async fn guard_download(
    state: State<'_, AppState>,
    job: String,
    name: String,
    on_progress: Channel<DownloadEvent>,
) -> AppResult<String> {
    let dir = models_dir()?;
    let catalog = Catalog::load()?;
    let entry = catalog
        .get(&name)
        .cloned()
        .ok_or_else(|| AppError::new(format!("no model named `{name}` in the catalog")))?;
    run_blocking(&state, &job, move |cancel| {
        let path = download(
            &entry,
            &dir,
            &mut |p| {
                let _ = on_progress.send(DownloadEvent {
                    stage: p.stage.to_string(),
                    bytes_done: p.bytes_done,
                    bytes_total: p.bytes_total,
                    bytes_per_sec: p.bytes_per_sec,
                });
            },
            cancel,
        )?;
        Ok(path.display().to_string())
    })
    .await
}

/// One server of a run and how many requests it takes at once.
#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct GuardServerAddress {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub concurrency: Option<u32>,
}

/// OpenAI-compatible servers serving the same model, to send the checks to instead of a GGUF
/// file in this process.
#[derive(Clone, Deserialize, specta::Type)]
pub struct GuardServer {
    /// One or more; all checks of one triple go to the same server, so its prompt is computed
    /// once there.
    pub servers: Vec<GuardServerAddress>,
    /// The model name the servers know.
    pub model: String,
    /// The served model's `tokenizer.json` or GGUF file: prompts go as token ids, so dataset
    /// text never turns into special tokens. Optional with `chat`.
    pub tokenizer: String,
    /// Send the profile's chat messages to `/v1/chat/completions` (models served only so).
    pub chat: bool,
    /// Send the checks as OpenAI Batch API batches, resumed by batch id after a restart.
    pub openai_batch: bool,
    /// The environment variable holding the API key (`Authorization: Bearer`).
    pub api_key_env: Option<String>,
    /// A key typed on the screen: used for this run only, never stored.
    pub api_key: Option<String>,
    /// Extra headers, `NAME:VALUE` each (e.g. Azure's `api-key`); values are never stored.
    pub headers: Vec<String>,
}

/// Shows what was asked without the key or header values.
impl std::fmt::Debug for GuardServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self
            .headers
            .iter()
            .map(|h| h.split(':').next().unwrap_or(""))
            .collect();
        f.debug_struct("GuardServer")
            .field("servers", &self.servers)
            .field("model", &self.model)
            .field("tokenizer", &self.tokenizer)
            .field("api_key_env", &self.api_key_env)
            .field("api_key", &self.api_key.as_ref().map(|_| "<hidden>"))
            .field("headers", &header_names)
            .finish()
    }
}

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct GuardRequest {
    pub profile: String,
    /// A GGUF file on disk (ignored when `server` is given).
    pub model: String,
    pub server: Option<GuardServer>,
    /// Texts to check: `prompt`, `chosen`, `rejected`, `response`.
    pub fields: Vec<String>,
    pub dataset: Option<String>,
    pub language: Option<String>,
    /// Stop after about this many texts (samples stay whole).
    pub limit: Option<u32>,
    pub resume: bool,
    /// Run even though the model lacks special tokens of the profile (a stand-in model).
    pub allow_profile_mismatch: bool,
    /// Model layers on the GPU (GGUF file only): none = all when there is a GPU, 0 = the CPU.
    pub gpu_layers: Option<u32>,
    /// The paper's judge: check only the texts the project's guards dispute.
    pub only_disputed: bool,
}

/// The servers as the core takes them: each URL once, without a trailing `/`.
fn server_addresses(servers: &[GuardServerAddress]) -> AppResult<Vec<ServerAddress>> {
    if servers.is_empty() {
        return Err(AppError::new("add at least one server URL"));
    }
    let mut out: Vec<ServerAddress> = Vec::with_capacity(servers.len());
    for s in servers {
        let url = s.url.trim().trim_end_matches('/').to_string();
        if url.is_empty() {
            return Err(AppError::new(
                "a server row has no URL: fill it in or remove it",
            ));
        }
        // Twice the same server would split its triples' prompts over two connections to one
        // cache and count its share twice.
        if out.iter().any(|o| o.url == url) {
            return Err(AppError::new(format!("the server {url} is listed twice")));
        }
        out.push(ServerAddress {
            url,
            concurrency: s
                .concurrency
                .map_or(ServerOptions::DEFAULT_CONCURRENCY, |c| c.max(1) as usize),
        });
    }
    Ok(out)
}

/// The run the window asks for, with only files the user picked (and, when `send` is set,
/// servers they confirmed): nothing the web view made up is opened or sent to.
fn run_options(grants: &Grants, request: GuardRequest, send: bool) -> AppResult<RunOptions> {
    let fields = request
        .fields
        .iter()
        .map(|f| TextField::parse(f).ok_or_else(|| AppError::new(format!("unknown text `{f}`"))))
        .collect::<AppResult<Vec<_>>>()?;
    let backend = match request.server {
        None => Backend::Local {
            model: model_file(grants, &request.model)?,
            llama: LlamaOptions {
                gpu_layers: request.gpu_layers,
                ..LlamaOptions::default()
            },
        },
        Some(server) => {
            let servers = server_addresses(&server.servers)?;
            if send {
                for s in &server.servers {
                    grants.server(&s.url)?;
                }
            }
            let api_key = match (given(server.api_key), given(server.api_key_env)) {
                (Some(key), _) => Some(ApiKey::Given(Secret(key))),
                (None, Some(name)) => Some(ApiKey::Env(name)),
                (None, None) => None,
            };
            let headers = server
                .headers
                .iter()
                .filter(|h| !h.trim().is_empty())
                .map(|h| Header::parse(h).map_err(AppError::new))
                .collect::<AppResult<Vec<_>>>()?;
            Backend::Server(ServerOptions {
                servers,
                model: server.model,
                api: if server.chat {
                    ServerApi::Chat
                } else {
                    ServerApi::Completions
                },
                tokenizer: match given(Some(server.tokenizer)) {
                    Some(path) => Some(grants.source(&path)?),
                    None if server.chat => None,
                    None => return Err(AppError::new("pick the served model's tokenizer")),
                },
                max_check_tokens: LlamaOptions::default().max_check_tokens,
                top_logprobs: ServerOptions::DEFAULT_TOP_LOGPROBS,
                api_key,
                headers,
                retry: RetryPolicy::default(),
                batch: server.openai_batch.then(BatchOptions::default),
            })
        }
    };
    Ok(RunOptions {
        profile: request.profile,
        backend,
        fields,
        filter: SampleFilter {
            dataset: given(request.dataset),
            language: given(request.language),
            split: None,
            keep_rule: false,
        },
        limit: request.limit.map(u64::from),
        resume: request.resume,
        wave: WAVE,
        allow_profile_mismatch: request.allow_profile_mismatch,
        only_disputed: request.only_disputed,
    })
}

/// What a run with `request` would send now (texts, prompt tokens), asked before a judge run;
/// nothing is stored and nothing leaves the machine.
#[tauri::command]
#[specta::specta]
pub async fn guard_plan(state: State<'_, AppState>, request: GuardRequest) -> AppResult<Plan> {
    let profiles = load_installed()?;
    let opts = run_options(&state.grants(), request, false)?;
    // Tokenizing every pending text takes a while on a large project: off the window's
    // thread, on a connection of its own.
    read_off_thread(&state, move |store| Ok(plan(store, &profiles, &opts)?)).await
}

/// Runs a guard over the project's texts (or resumes a stopped run), reporting texts/s and ETA.
#[tauri::command]
#[specta::specta]
pub async fn guard_run(
    state: State<'_, AppState>,
    job: String,
    request: GuardRequest,
    on_progress: Channel<RunProgress>,
) -> AppResult<RunReport> {
    let profiles = load_installed()?;
    let opts = run_options(&state.grants(), request, true)?;
    run_job(&state, &job, move |store, cancel| {
        Ok(run(
            store,
            &profiles,
            &opts,
            &mut |p| {
                let _ = on_progress.send(p.clone());
            },
            cancel,
        )?)
    })
    .await
}
