//! `verdikt guard …`: guard profiles, runs in the project, and pre-labelling with a GGUF model.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Args, Subcommand};
use verdikt_core::guard::batch::BatchOptions;
use verdikt_core::guard::device::{self, Devices};
use verdikt_core::guard::llama::{LlamaOptions, VocabFile};
use verdikt_core::guard::retry::RetryPolicy;
use verdikt_core::guard::run::{
    Backend, RunOptions, TextField, find_profile, list_runs, plan, planned_checks, run,
};
use verdikt_core::guard::server::{
    ApiKey, Header, SegmentTokenizer, ServerAddress, ServerApi, ServerOptions,
};
use verdikt_core::guard::{Profiles, Segment, join_segments};
use verdikt_core::store::Store;

use crate::Filter;
use crate::models::human_bytes;
use crate::progress::Bar;

/// Which texts of which samples a run checks.
#[derive(Args)]
pub struct Selection {
    /// Which texts to check.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "prompt,chosen,rejected,response"
    )]
    fields: Vec<String>,
    #[command(flatten)]
    filter: Filter,
    /// Stop after about N texts (samples stay whole).
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
}

#[derive(Subcommand)]
pub enum GuardCommand {
    /// Pre-label texts with a guard model (resumable; re-running skips what is done).
    Run {
        /// Guard profile (see `verdikt guard profiles`).
        #[arg(long)]
        profile: String,
        /// GGUF model file, run in this process.
        #[arg(
            long,
            value_name = "FILE.gguf",
            required_unless_present_any = ["server", "servers_file"],
            conflicts_with_all = ["server", "servers_file"]
        )]
        model: Option<PathBuf>,
        /// An OpenAI-compatible server (llama-server, vLLM) to send the checks to instead;
        /// repeat it for several servers of the same model (`URL=N`: N requests in flight there).
        /// All checks of a triple go to one server; a failing server's work moves to the others.
        #[arg(long, value_name = "URL[=N]", requires = "server_model")]
        server: Vec<String>,
        /// A file of servers, one `URL[=N]` a line (`#` starts a comment), besides any --server.
        #[arg(long, value_name = "FILE", requires = "server_model")]
        servers_file: Option<PathBuf>,
        /// Send the checks to `/v1/chat/completions` as the profile's chat messages (for models
        /// served only that way, e.g. OpenAI's): the provider renders the chat template, so
        /// keeping dataset text from becoming special tokens is the provider's job there.
        /// Without it, checks go to `/v1/completions` as token ids, which is safer.
        #[arg(long)]
        chat: bool,
        /// Send the checks as OpenAI Batch API batches (one server only): half the price,
        /// answered within 24 hours. Each batch is recorded in the project once created; after
        /// a restart, `--resume` polls the same batches instead of sending them again.
        #[arg(long)]
        openai_batch: bool,
        /// Seconds between two looks at a running batch.
        #[arg(long, value_name = "SECONDS", default_value_t = BatchOptions::default().poll.as_secs_f64(), requires = "openai_batch")]
        batch_poll: f64,
        /// The model name the server knows.
        #[arg(long, value_name = "NAME")]
        server_model: Option<String>,
        /// The served model's tokenizer.json, or its GGUF file: prompts are sent as token ids.
        /// Optional with --chat, where it only counts tokens for shortening long texts.
        #[arg(long, value_name = "FILE")]
        tokenizer: Option<PathBuf>,
        /// Requests in flight at once per server unless its `URL=N` says otherwise.
        #[arg(long, default_value_t = ServerOptions::DEFAULT_CONCURRENCY)]
        concurrency: usize,
        /// Send the API key in this environment variable as `Authorization: Bearer` (server
        /// only). The key is never stored in the project, logged or shown.
        #[arg(long, value_name = "NAME")]
        api_key_env: Option<String>,
        /// An extra request header, e.g. `api-key:…` for Azure (repeatable; server only). Its
        /// value is never stored in the project; only its name is.
        #[arg(long, value_name = "NAME:VALUE")]
        header: Vec<String>,
        /// Tries of one request before its check is stored as an `error` verdict (server only;
        /// 408, 429, 5xx and cut connections are tried again).
        #[arg(long, default_value_t = RetryPolicy::default().max_tries)]
        max_tries: u32,
        /// The most seconds one request waits between its tries, all waits together.
        #[arg(long, value_name = "SECONDS", default_value_t = RetryPolicy::default().max_wait.as_secs_f64())]
        max_retry_wait: f64,
        /// Log-probabilities asked for per answer token (server only): P(unsafe) needs the
        /// safe and unsafe tokens among them. vLLM allows 20 unless started with more.
        #[arg(long, default_value_t = ServerOptions::DEFAULT_TOP_LOGPROBS)]
        top_logprobs: u32,
        #[command(flatten)]
        selection: Selection,
        /// CPU threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Model layers to put on the GPU (default: all, when this build has a GPU backend and
        /// it finds a device; 0 = compute on the CPU). See `verdikt devices`.
        #[arg(long, value_name = "N")]
        gpu_layers: Option<u32>,
        /// Continue a run that stopped before it finished.
        #[arg(long)]
        resume: bool,
        /// KV cells for the checks in flight together (each has a stream as long as the longest
        /// check); with a server, the most tokens a check may have.
        #[arg(long, default_value_t = LlamaOptions::default().n_ctx)]
        ctx: u32,
        /// Samples per engine wave (stored together).
        #[arg(long, default_value_t = 8)]
        wave: usize,
        #[arg(long)]
        no_flash_attention: bool,
        /// Compute every text from scratch (for comparisons).
        #[arg(long)]
        no_prefix_sharing: bool,
        /// Run even though the model lacks special tokens the profile's template uses (e.g. a
        /// stand-in model of another family in tests); the run records it.
        #[arg(long)]
        allow_profile_mismatch: bool,
        /// Check only the texts the project's guards dispute (they differ, or one says
        /// `controversial` or gave no readable verdict): the paper's third judge. The number of
        /// texts and prompt tokens is printed before the run starts.
        #[arg(long)]
        only_disputed: bool,
        /// Print the number of texts and prompt tokens the run would send, and stop.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the token ids of each check a run would make, one JSON line per text
    /// (`{"sample","field","tokens"}`): for benchmarks against a server, and for inspection.
    Tokens {
        #[arg(long)]
        profile: String,
        /// The ids a server run sends: the model's tokenizer.json, or its GGUF file converted.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "model",
            conflicts_with = "model"
        )]
        tokenizer: Option<PathBuf>,
        /// The ids the in-process engine feeds llama.cpp (only the vocabulary is loaded).
        #[arg(long, value_name = "FILE.gguf")]
        model: Option<PathBuf>,
        /// Also print the rendered check as one string (`"text"`).
        #[arg(long)]
        text: bool,
        #[command(flatten)]
        selection: Selection,
    },
    /// List guard runs.
    Runs {
        #[arg(long)]
        json: bool,
    },
    /// List guard profiles, one name per line.
    Profiles,
}

/// A check's token ids, from the in-process vocabulary or a tokenizer.json.
type CheckIds = Box<dyn Fn(&[Segment]) -> Vec<i64>>;

fn parse_fields(fields: &[String]) -> Result<Vec<TextField>, String> {
    fields
        .iter()
        .map(|f| {
            TextField::parse(f).ok_or_else(|| {
                format!("--fields: unknown text `{f}` (prompt, chosen, rejected, response)")
            })
        })
        .collect()
}

fn profiles() -> Result<Profiles, String> {
    verdikt_core::guard::load_installed().map_err(|e| e.to_string())
}

pub fn run_command(store: &mut Store, command: GuardCommand) -> Result<(), String> {
    match command {
        GuardCommand::Profiles => {
            for name in profiles()?.list() {
                println!("{name}");
            }
            Ok(())
        }
        GuardCommand::Tokens {
            profile,
            tokenizer,
            model,
            text,
            selection,
        } => {
            let profiles = profiles()?;
            let profile = find_profile(&profiles, &profile).map_err(|e| e.to_string())?;
            let tokenize: CheckIds = match (model, tokenizer) {
                (Some(model), _) => {
                    let vocab = VocabFile::load(&model).map_err(|e| e.to_string())?;
                    Box::new(move |s| vocab.tokenize(s).into_iter().map(i64::from).collect())
                }
                (None, Some(tokenizer)) => {
                    let t = SegmentTokenizer::load(&tokenizer).map_err(|e| e.to_string())?;
                    Box::new(move |s| t.tokenize(s).into_iter().map(i64::from).collect())
                }
                (None, None) => return Err("give --model FILE.gguf or --tokenizer FILE".into()),
            };
            let checks = planned_checks(
                store,
                profile,
                &parse_fields(&selection.fields)?,
                &selection.filter.into(),
                selection.limit,
            )
            .map_err(|e| e.to_string())?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for (sample, field, check) in checks {
                let mut line = serde_json::json!({
                    "sample": sample,
                    "field": field,
                    "tokens": tokenize(&check.segments),
                });
                if text {
                    line["text"] = join_segments(&check.segments).into();
                }
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
            out.flush().map_err(|e| e.to_string())
        }
        GuardCommand::Runs { json } => {
            let runs = list_runs(store).map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string(&runs).expect("runs serialise"));
            } else {
                for r in runs {
                    let failed = if r.texts_failed > 0 {
                        format!(" ({} failed)", r.texts_failed)
                    } else {
                        String::new()
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}/{} texts{failed}\t{:.2} texts/s\t{}",
                        r.id,
                        r.profile,
                        r.model,
                        r.status,
                        r.texts_done,
                        r.texts_total,
                        r.texts_per_second,
                        r.device.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(())
        }
        GuardCommand::Run {
            profile,
            model,
            server,
            servers_file,
            chat,
            openai_batch,
            batch_poll,
            server_model,
            tokenizer,
            concurrency,
            api_key_env,
            header,
            max_tries,
            max_retry_wait,
            top_logprobs,
            selection,
            threads,
            gpu_layers,
            resume,
            ctx,
            wave,
            no_flash_attention,
            no_prefix_sharing,
            allow_profile_mismatch,
            only_disputed,
            dry_run,
        } => {
            let fields = parse_fields(&selection.fields)?;
            let llama = LlamaOptions {
                threads,
                n_ctx: ctx,
                flash_attention: !no_flash_attention,
                share_prefixes: !no_prefix_sharing,
                gpu_layers,
                ..LlamaOptions::default()
            };
            let mut urls = server;
            if let Some(file) = servers_file {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                urls.extend(
                    text.lines()
                        .map(|l| l.split('#').next().unwrap_or("").trim())
                        .filter(|l| !l.is_empty())
                        .map(String::from),
                );
            }
            let backend = match (model, server_model, tokenizer) {
                (Some(model), ..) => Backend::Local { model, llama },
                (None, Some(model), tokenizer)
                    if !urls.is_empty() && (chat || tokenizer.is_some()) =>
                {
                    let servers = urls
                        .iter()
                        .map(|u| ServerAddress::parse(u, concurrency))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| format!("--server {e}"))?;
                    let headers = header
                        .iter()
                        .map(|h| Header::parse(h))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| format!("--header: {e}"))?;
                    if !(max_retry_wait.is_finite() && max_retry_wait >= 0.0) {
                        return Err("--max-retry-wait: give seconds, 0 or more".into());
                    }
                    if !(batch_poll.is_finite() && batch_poll > 0.0) {
                        return Err("--batch-poll: give seconds, more than 0".into());
                    }
                    Backend::Server(ServerOptions {
                        servers,
                        model,
                        api: if chat {
                            ServerApi::Chat
                        } else {
                            ServerApi::Completions
                        },
                        tokenizer,
                        max_check_tokens: llama.max_check_tokens.min(ctx),
                        top_logprobs,
                        api_key: api_key_env.map(ApiKey::Env),
                        headers,
                        retry: RetryPolicy {
                            max_tries: max_tries.max(1),
                            max_wait: std::time::Duration::from_secs_f64(max_retry_wait),
                            ..RetryPolicy::default()
                        },
                        batch: openai_batch.then(|| BatchOptions {
                            poll: std::time::Duration::from_secs_f64(batch_poll),
                            ..BatchOptions::default()
                        }),
                    })
                }
                _ => return Err(
                    "give --model FILE.gguf, or --server URL --server-model NAME --tokenizer FILE (the tokenizer is optional with --chat)"
                        .into(),
                ),
            };
            let opts = RunOptions {
                profile,
                backend,
                fields,
                filter: selection.filter.into(),
                limit: selection.limit,
                resume,
                wave,
                allow_profile_mismatch,
                only_disputed,
            };
            let profiles = profiles()?;
            if only_disputed || dry_run {
                let plan = plan(store, &profiles, &opts).map_err(|e| e.to_string())?;
                println!(
                    "{} texts to check, {} prompt tokens to send ({} already done)",
                    plan.texts, plan.prompt_tokens, plan.already_done
                );
                if dry_run {
                    return Ok(());
                }
            }
            let bar = Bar::texts("checking");
            let mut last_servers = std::time::Instant::now();
            let cancel = Arc::new(AtomicBool::new(false));
            let report = run(
                store,
                &profiles,
                &opts,
                &mut |p| {
                    bar.set(p.done, p.total);
                    // Several servers: each one's rate now and then, on stderr beside the bar.
                    if p.servers.len() > 1 && last_servers.elapsed().as_secs() >= 10 {
                        last_servers = std::time::Instant::now();
                        bar.note(&servers_line(&p.servers));
                    }
                },
                &cancel,
            );
            bar.finish();
            let report = report.map_err(|e| e.to_string())?;
            if report.servers.len() > 1 {
                println!("{}", servers_line(&report.servers));
            }
            if report.errors > 0 {
                eprintln!(
                    "{} checks failed for good and are stored as errors (see `verdikt guard runs`); running the same command again tries them again",
                    report.errors
                );
            }
            println!(
                "guard run {}: checked {} texts in {:.1} s ({:.2} texts/s; {} already done); {} prompt tokens, {} computed in {:.2} s",
                report.run_id,
                report.checked,
                report.seconds,
                report.texts_per_second,
                report.already_done,
                report.prompt_tokens,
                report.computed_tokens,
                report.prompt_seconds
            );
            if only_disputed && report.status == "done" {
                let g = verdikt_core::project_guards::project_guards(store.conn())
                    .map_err(|e| e.to_string())?;
                if g.judge == Some(report.run_id) {
                    println!(
                        "run {} is the project's judge: ASR's judge-adjudicated rule, keep rule {}",
                        report.run_id,
                        g.keep_rule.name()
                    );
                } else {
                    println!(
                        "the project's judge is not this run; `verdikt guards judge {}` makes it so",
                        report.run_id
                    );
                }
            }
            Ok(())
        }
    }
}

/// Texts/s of each server, and which were taken out.
fn servers_line(servers: &[verdikt_core::guard::route::ServerStatus]) -> String {
    let each: Vec<String> = servers
        .iter()
        .map(|s| {
            let out = if s.out.is_some() { ", taken out" } else { "" };
            format!(
                "{} {} texts ({:.2} texts/s{out})",
                s.url, s.done, s.texts_per_second
            )
        })
        .collect();
    format!("servers: {}", each.join("; "))
}

/// `verdikt devices`: the GPU backends this build has and every device llama.cpp sees.
pub fn devices(json: bool) -> Result<(), String> {
    let found = device::list().map_err(|e| e.to_string())?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&found).expect("devices serialise")
        );
        return Ok(());
    }
    println!("{}", backends_line(&found));
    for d in &found.devices {
        println!(
            "{}\t{}\t{}\t{}\t{} ({} free)\t{}",
            d.index,
            d.name,
            d.backend,
            d.kind.name(),
            human_bytes(d.memory_total),
            human_bytes(d.memory_free),
            d.description
        );
    }
    Ok(())
}

/// The first line of `verdikt devices`: which GPU backend, if any, and whether it found a GPU.
fn backends_line(found: &Devices) -> String {
    if found.gpu_backends.is_empty() {
        return "GPU backends: none (this build computes on the CPU only; build with \
                `--features cuda` or `--features vulkan` for a GPU)"
            .into();
    }
    let backends = found.gpu_backends.join(", ");
    match &found.offload {
        Some(d) => format!("GPU backends: {backends}; guard runs offload to {}", d.name),
        None => format!(
            "GPU backends: {backends}, but no GPU device was found: guard runs compute on the CPU"
        ),
    }
}
