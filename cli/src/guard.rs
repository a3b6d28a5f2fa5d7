//! `verdikt guard …`: guard profiles, runs in the project, and pre-labelling with a GGUF model.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Subcommand;
use verdikt_core::guard::Profiles;
use verdikt_core::guard::llama::LlamaOptions;
use verdikt_core::guard::run::{RunOptions, TextField, list_runs, run};
use verdikt_core::store::Store;

use crate::Filter;
use crate::progress::Bar;

#[derive(Subcommand)]
pub enum GuardCommand {
    /// Pre-label texts with a guard model (resumable; re-running skips what is done).
    Run {
        /// Guard profile (see `verdikt guard profiles`).
        #[arg(long)]
        profile: String,
        /// GGUF model file.
        #[arg(long, value_name = "FILE.gguf")]
        model: PathBuf,
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
        /// CPU threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Continue a run that stopped before it finished.
        #[arg(long)]
        resume: bool,
        /// KV cache size in tokens.
        #[arg(long, default_value_t = LlamaOptions::default().n_ctx)]
        ctx: u32,
        /// Samples per engine wave.
        #[arg(long, default_value_t = 8)]
        wave: usize,
        #[arg(long)]
        no_flash_attention: bool,
        /// Compute every text from scratch (for comparisons).
        #[arg(long)]
        no_prefix_sharing: bool,
    },
    /// List guard runs.
    Runs {
        #[arg(long)]
        json: bool,
    },
    /// List guard profiles, one name per line.
    Profiles,
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
        GuardCommand::Runs { json } => {
            let runs = list_runs(store).map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string(&runs).expect("runs serialise"));
            } else {
                for r in runs {
                    println!(
                        "{}\t{}\t{}\t{}\t{}/{} texts\t{:.2} texts/s",
                        r.id,
                        r.profile,
                        r.model,
                        r.status,
                        r.texts_done,
                        r.texts_total,
                        r.texts_per_second
                    );
                }
            }
            Ok(())
        }
        GuardCommand::Run {
            profile,
            model,
            fields,
            filter,
            limit,
            threads,
            resume,
            ctx,
            wave,
            no_flash_attention,
            no_prefix_sharing,
        } => {
            let fields = fields
                .iter()
                .map(|f| {
                    TextField::parse(f).ok_or_else(|| {
                        format!("--fields: unknown text `{f}` (prompt, chosen, rejected, response)")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let opts = RunOptions {
                profile,
                model,
                llama: LlamaOptions {
                    threads,
                    n_ctx: ctx,
                    flash_attention: !no_flash_attention,
                    share_prefixes: !no_prefix_sharing,
                    ..LlamaOptions::default()
                },
                fields,
                filter: filter.into(),
                limit,
                resume,
                wave,
            };
            let bar = Bar::texts("checking");
            let cancel = Arc::new(AtomicBool::new(false));
            let report = run(
                store,
                &profiles()?,
                &opts,
                &mut |p| bar.set(p.done, p.total),
                &cancel,
            );
            bar.finish();
            let report = report.map_err(|e| e.to_string())?;
            println!(
                "guard run {}: checked {} texts in {:.1} s ({:.2} texts/s; {} already done); {} prompt tokens, {} computed",
                report.run_id,
                report.checked,
                report.seconds,
                report.texts_per_second,
                report.already_done,
                report.prompt_tokens,
                report.computed_tokens
            );
            Ok(())
        }
    }
}
