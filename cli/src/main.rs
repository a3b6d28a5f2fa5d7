//! `verdikt`: the command-line face of Verdikt. It parses arguments, calls the core, and turns
//! results and typed errors into words; the workflow itself lives in `verdikt-core`.

mod audit;
mod guard;
mod measure;
mod models;
mod progress;
mod serve;
mod triage;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use clap::{Parser, Subcommand, ValueEnum};
use verdikt_core::export::{ExportFormat, ExportOptions, PassRule};
use verdikt_core::filter::SampleFilter;
use verdikt_core::import::{ImportError, ImportOptions, InputFormat, Markers};
use verdikt_core::sample::Field;
use verdikt_core::split::SplitOptions;
use verdikt_core::store::Store;

#[derive(Parser)]
#[command(
    name = "verdikt",
    version,
    about = "Audit multilingual safety-alignment preference data."
)]
struct Cli {
    /// The project file (SQLite). Default: the OS data folder's verdikt/verdikt.sqlite.
    #[arg(long, global = true, env = "VERDIKT_DB", value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
pub(crate) struct Filter {
    /// Only this dataset.
    #[arg(long)]
    dataset: Option<String>,
    /// Only these languages (comma-separated codes).
    #[arg(long)]
    language: Option<String>,
    /// Only these splits (comma-separated).
    #[arg(long)]
    split: Option<String>,
    /// Only samples the paper's keep rule keeps under the project's guards.
    #[arg(long)]
    keep_rule: bool,
}

impl From<Filter> for SampleFilter {
    fn from(f: Filter) -> Self {
        SampleFilter {
            dataset: f.dataset,
            language: f.language,
            split: f.split,
            keep_rule: f.keep_rule,
        }
    }
}

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Dataset name (default: the first path's file or folder name).
    #[arg(long)]
    dataset: Option<String>,
    #[arg(long, value_enum, default_value_t = InputFormatArg::Auto)]
    format: InputFormatArg,
    /// Language for rows that carry none.
    #[arg(long)]
    language: Option<String>,
    /// Split for rows that carry none.
    #[arg(long)]
    split: Option<String>,
    /// Read FIELD from COLUMN (fields: id language category style split prompt chosen rejected response model).
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_mapping)]
    mappings: Vec<(Field, String)>,
    /// Store the valid rows; write every rejected row with its reason to the rejects file.
    #[arg(long)]
    skip_invalid: bool,
    /// Where --skip-invalid writes rejected rows (default: beside the project file,
    /// PROJECT.DATASET.rejects.jsonl, numbered when that name is taken).
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Replace an existing file at --rejects.
    #[arg(long, requires = "rejects")]
    force: bool,
    /// Replace a dataset of the same name.
    #[arg(long)]
    replace: bool,
    /// Role markers of conversations written as text, for rows without a prompt column
    /// whose chosen and rejected carry the whole conversation (`\n` is a newline). Without
    /// it: Anthropic HH's `\n\nHuman:`/`\n\nAssistant:`, `### Human:`, `### User:`,
    /// `Human:` and `User:` with `Assistant:` at line starts, in that order.
    #[arg(long, value_name = "user=MARKER,assistant=MARKER")]
    roles: Option<Markers>,
    /// Print the recognised layout and the first row as it would be stored; write nothing.
    #[arg(long)]
    dry_run: bool,
}

impl From<ImportArgs> for ImportOptions {
    fn from(a: ImportArgs) -> Self {
        ImportOptions {
            dataset: a.dataset,
            format: match a.format {
                InputFormatArg::Auto => InputFormat::Auto,
                InputFormatArg::Jsonl => InputFormat::Jsonl,
                InputFormatArg::Json => InputFormat::Json,
                InputFormatArg::Csv => InputFormat::Csv,
                InputFormatArg::Parquet => InputFormat::Parquet,
                InputFormatArg::Hf => InputFormat::Hf,
            },
            language: a.language,
            split: a.split,
            mappings: a.mappings,
            skip_invalid: a.skip_invalid,
            rejects: a.rejects,
            force: a.force,
            replace: a.replace,
            roles: a.roles,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Import DPO triples or prompts from JSONL, JSON, CSV (each maybe gzip, zstd, bzip2 or xz
    /// compressed), Parquet or a Hugging Face dataset folder.
    Import(ImportArgs),
    /// Export samples for training.
    Export {
        /// The file to write, or for `hf` the folder: a new or empty one, or an HF export
        /// Verdikt wrote there before (which is replaced).
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Replace an existing file at --out.
        #[arg(long)]
        force: bool,
        #[arg(long, value_enum)]
        format: ExportFormatArg,
        #[command(flatten)]
        filter: Filter,
        /// Only samples that passed the audit: every reviewer's current (latest) answer says yes
        /// to Q1 and Q2 and yes or na to Q3, none excludes the sample, and each text the guards
        /// disputed has a reviewer's verdict. Samples nobody answered are left out.
        #[arg(long)]
        only_passed: bool,
        /// With --only-passed: accept Q3 = no (style adherence is not required).
        #[arg(long, requires = "only_passed")]
        q3_optional: bool,
    },
    /// Assign train/test so that no (category, style) group crosses splits in any language.
    Split {
        /// Test samples to aim at per category per language.
        #[arg(long, value_name = "N")]
        test_per_category: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        filter: Filter,
    },
    /// Counts of datasets, samples, languages, splits, categories and styles.
    Stats {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: Filter,
    },
    /// List the datasets in the project.
    Datasets,
    /// List the guard models Verdikt knows and download them.
    Models(models::ModelsArgs),
    /// The GPU backends of this build and the devices llama.cpp sees (name, memory).
    Devices {
        #[arg(long)]
        json: bool,
    },
    /// Guard profiles and pre-labelling runs.
    Guard {
        #[command(subcommand)]
        command: Box<guard::GuardCommand>,
    },
    #[command(flatten)]
    Audit(audit::AuditCommand),
    /// Find the samples that need a human, and why.
    Triage(triage::TriageArgs),
    /// Draw the stratified audit sample (N per language) and mark it for review.
    AuditSample(triage::AuditSampleArgs),
    /// What waits for review, most urgent first.
    Queue(triage::QueueArgs),
    /// Which guard runs are the guards of the project.
    Guards {
        #[command(subcommand)]
        command: triage::GuardsCommand,
    },
    /// Agreement between raters (reviewers and guards) per language, category and style.
    Agreement(measure::MeasureArgs),
    /// Audit results: Q1–Q3 pass rates, guard accuracy and language consistency per language.
    Results(measure::MeasureArgs),
    /// Attack success rate of imported model responses per model/config and language.
    Asr(measure::MeasureArgs),
    /// Write the audit report: HTML page, CSV tables and SVG charts.
    Report(measure::ReportArgs),
    /// How many randomly audited texts each language needs for a corrected ASR of a given width.
    AuditPlan(measure::AuditPlanArgs),
    /// Open the review to reviewers' browsers over HTTPS (invite them with `verdikt reviewer
    /// invite`); only review commands are served.
    Serve(serve::ServeArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum InputFormatArg {
    Auto,
    Jsonl,
    Json,
    Csv,
    Parquet,
    Hf,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormatArg {
    Trl,
    TrlChat,
    Parquet,
    Csv,
    Hf,
}

fn parse_mapping(s: &str) -> Result<(Field, String), String> {
    let (field, column) = s.split_once('=').ok_or("expected FIELD=COLUMN")?;
    let field = Field::from_name(field.trim()).ok_or_else(|| {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        format!("unknown field `{field}`; fields are {}", names.join(", "))
    })?;
    if column.is_empty() {
        return Err("the column name is empty".into());
    }
    Ok((field, column.to_string()))
}

type Outcome = Result<(), String>;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        // ureq's trace level logs requests on the wire, API keys included: never that deep.
        .filter_module("ureq", log::LevelFilter::Debug)
        .filter_module("ureq_proto", log::LevelFilter::Debug)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn project_path(db: Option<PathBuf>) -> Result<PathBuf, String> {
    match db {
        Some(p) => Ok(p),
        None => Store::default_path().map_err(|e| e.to_string()),
    }
}

fn run(cli: Cli) -> Outcome {
    // Models and devices need no project file; the one named is still never an output.
    match cli.command {
        Command::Models(args) => {
            let _named = project_path(cli.db)
                .ok()
                .map(|p| verdikt_core::open_project::named(&p));
            return models::run(args);
        }
        Command::Devices { json } => return guard::devices(json),
        Command::Serve(args) => return serve::run(project_path(cli.db)?, args),
        // A dry run writes nothing, so it does not create a project file either.
        Command::Import(args) if args.dry_run => {
            let paths = args.paths.clone();
            return import_dry_run(&paths, &args.into());
        }
        _ => {}
    }
    let mut store = Store::open(&project_path(cli.db)?).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Import(args) => {
            let paths = args.paths.clone();
            import(&mut store, &paths, &args.into())
        }
        Command::Export {
            out,
            format,
            filter,
            only_passed,
            q3_optional,
            force,
        } => {
            let format = match format {
                ExportFormatArg::Trl => ExportFormat::Trl,
                ExportFormatArg::TrlChat => ExportFormat::TrlChat,
                ExportFormatArg::Parquet => ExportFormat::Parquet,
                ExportFormatArg::Csv => ExportFormat::Csv,
                ExportFormatArg::Hf => ExportFormat::Hf,
            };
            let opts = ExportOptions {
                out,
                format,
                filter: filter.into(),
                only_passed: only_passed.then_some(PassRule { q3_optional }),
                force,
            };
            let report = verdikt_core::export::export(&store, &opts).map_err(|e| e.to_string())?;
            eprintln!("exported {} samples to {}", report.rows, opts.out.display());
            if report.skipped_prompt_only > 0 {
                eprintln!(
                    "left out {} prompt-only samples (not DPO triples)",
                    report.skipped_prompt_only
                );
            }
            Ok(())
        }
        Command::Split {
            test_per_category,
            seed,
            filter,
        } => {
            let opts = SplitOptions {
                test_per_category,
                seed,
                filter: filter.into(),
            };
            let report =
                verdikt_core::split::split(&mut store, &opts).map_err(|e| e.to_string())?;
            print_split(&report);
            Ok(())
        }
        Command::Stats { json, filter } => {
            let stats =
                verdikt_core::stats::stats(&store, &filter.into()).map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&stats).expect("stats serialise")
                );
            } else {
                print_stats(&stats);
            }
            Ok(())
        }
        Command::Models(_) | Command::Devices { .. } | Command::Serve(_) => {
            unreachable!("handled above")
        }
        Command::Guard { command } => guard::run_command(&mut store, *command),
        Command::Audit(command) => audit::run(&mut store, command),
        Command::Triage(args) => triage::triage(&mut store, args),
        Command::AuditSample(args) => triage::audit_sample(&mut store, args),
        Command::Queue(args) => triage::queue(&store, args),
        Command::Guards { command } => triage::guards(&store, command),
        Command::Agreement(args) => measure::agreement(&store, args),
        Command::Results(args) => measure::results(&store, args),
        Command::Asr(args) => measure::asr(&store, args),
        Command::AuditPlan(args) => measure::audit_plan(&store, args),
        Command::Report(args) => measure::report(&store, args),
        Command::Datasets => {
            for d in verdikt_core::stats::datasets(&store).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{} samples\t{}\timported {}",
                    d.name, d.samples, d.format, d.imported_at
                );
            }
            Ok(())
        }
    }
}

/// `verdikt import --dry-run`: the layout and the first row as stored, on stdout; no project
/// file is opened.
fn import_dry_run(paths: &[PathBuf], opts: &ImportOptions) -> Outcome {
    let run = verdikt_core::import::dry_run(paths, opts).map_err(|e| e.to_string())?;
    for note in &run.notes {
        eprintln!("note: {note}");
    }
    println!("layout: {}", run.layout);
    if let Some(first) = &run.first {
        println!("first row as it would be stored:");
        println!("{}", stored_json(first));
    }
    eprintln!(
        "dry run: {} samples would be imported into dataset `{}`{}; nothing was written",
        run.samples,
        run.dataset,
        match run.rejected {
            0 => String::new(),
            n => format!(", {n} rows refused (import without --dry-run lists why)"),
        }
    );
    Ok(())
}

/// A sample with the names of the columns it is stored in.
fn stored_json(s: &verdikt_core::sample::NewSample) -> String {
    let (chosen, rejected) = s.pair.clone().unzip();
    let row = serde_json::json!({
        "id": s.ext_id,
        "language": s.language,
        "category": s.category,
        "style": s.style,
        "split": s.split,
        "prompt": s.prompt,
        "chosen": chosen,
        "rejected": rejected,
        "response": s.response,
        "model": s.model,
        "group_key": s.group_key,
        "metadata": s.metadata,
        "turns": s.turns,
    });
    serde_json::to_string_pretty(&row).expect("JSON values serialise")
}

fn import(store: &mut Store, paths: &[PathBuf], opts: &ImportOptions) -> Outcome {
    let bar = progress::Bar::new("importing");
    let cancel = AtomicBool::new(false);
    let result = verdikt_core::import::import(
        store,
        paths,
        opts,
        &mut |p| bar.set(p.bytes_done, p.bytes_total),
        &cancel,
    );
    bar.finish();
    match result {
        Ok(report) => {
            for note in &report.notes {
                eprintln!("note: {note}");
            }
            println!("layout: {}", report.layout);
            println!(
                "imported {} samples ({} triples, {} prompt-only) into dataset `{}`{}",
                report.samples,
                report.triples,
                report.prompt_only,
                report.dataset,
                if report.replaced { " (replaced)" } else { "" }
            );
            if report.rejected > 0 {
                let file = report
                    .rejects_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                println!(
                    "rejected {} rows; each is listed with its reason in {file}",
                    report.rejected
                );
            }
            Ok(())
        }
        Err(ImportError::Invalid { problems, total }) => {
            for p in &problems {
                eprintln!("{p}");
            }
            if total > problems.len() as u64 {
                eprintln!("… and {} more", total - problems.len() as u64);
            }
            Err(format!(
                "{total} problem(s) in the input; nothing was imported (fix them, or pass --skip-invalid to import the valid rows)"
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn print_stats(s: &verdikt_core::stats::Stats) {
    println!("datasets     {}", s.datasets);
    println!(
        "samples      {}  ({} triples, {} prompt-only)",
        s.samples, s.triples, s.prompt_only
    );
    for (title, map) in [
        ("languages", &s.by_language),
        ("splits", &s.by_split),
        ("categories", &s.by_category),
        ("styles", &s.by_style),
        ("datasets", &s.by_dataset),
    ] {
        let parts: Vec<String> = map.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("{title:<12} {}", parts.join(", "));
    }
}

fn print_split(r: &verdikt_core::split::SplitReport) {
    println!(
        "{} of {} (category, style) groups in test; target {} test samples per category per language",
        r.test_groups, r.groups, r.target
    );
    let mut categories: Vec<&str> = r.cells.iter().map(|c| c.category.as_str()).collect();
    categories.sort_by_key(|c| {
        (
            c.trim_start_matches('S').parse::<u32>().unwrap_or(u32::MAX),
            c.to_string(),
        )
    });
    categories.dedup();
    print!("{:<8}", "test");
    for c in &categories {
        print!("{c:>6}");
    }
    println!("{:>8}", "train");
    for lang in &r.languages {
        print!("{:<8}", lang.language);
        for c in &categories {
            let cell = r
                .cells
                .iter()
                .find(|x| x.language == lang.language && x.category == *c);
            print!("{:>6}", cell.map_or(0, |x| x.test));
        }
        println!("{:>8}", lang.train);
    }
}
