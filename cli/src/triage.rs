//! `verdikt triage`, `verdikt audit-sample`, `verdikt queue` and `verdikt guards …`: which
//! samples need a human and why, and which guard runs speak for the project.

use std::sync::atomic::AtomicBool;

use clap::{Args, Subcommand};
use verdikt_core::filter::SampleFilter;
use verdikt_core::guard::run::list_runs;
use verdikt_core::project_guards::{self, JudgeChoice, KeepRule, ProjectGuards};
use verdikt_core::queue::{self, QueueQuery};
use verdikt_core::store::Store;
use verdikt_core::triage::audit_sample::{self, AuditSampleOptions, AuditSampleReport};
use verdikt_core::triage::{self, Reason, TriageOptions, TriageReport};

use crate::progress::Bar;

#[derive(Args)]
pub struct TriageArgs {
    /// Only this dataset.
    #[arg(long)]
    dataset: Option<String>,
    /// P(unsafe) band that counts as uncertain.
    #[arg(long, value_name = "LOW,HIGH", value_parser = triage::parse_band, default_value = "0.2,0.8")]
    band: (f64, f64),
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AuditSampleArgs {
    /// Samples to draw per language.
    #[arg(long, value_name = "N")]
    per_language: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Keep the samples already drawn and draw only what each language lacks of N (at random
    /// among the rest, so the whole stays a random sample; see `verdikt audit-plan`).
    #[arg(long)]
    top_up: bool,
    /// Only this dataset.
    #[arg(long)]
    dataset: Option<String>,
    /// Only these languages (comma-separated codes).
    #[arg(long)]
    language: Option<String>,
    /// Print every stratum as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct QueueArgs {
    /// Only these languages (comma-separated codes; `pt` includes `pt-BR`).
    #[arg(long)]
    language: Option<String>,
    /// Only samples with this reason.
    #[arg(long, value_parser = parse_reason)]
    reason: Option<Reason>,
    /// What this reviewer still has to answer, in the languages they read.
    #[arg(long, value_name = "NAME")]
    reviewer: Option<String>,
    #[arg(long)]
    dataset: Option<String>,
    /// Harm category (S1–S14 or its name).
    #[arg(long)]
    category: Option<String>,
    /// Attack style.
    #[arg(long)]
    style: Option<String>,
    /// Only samples the paper's keep rule keeps.
    #[arg(long)]
    keep_rule: bool,
    /// The adjudication queue of --reviewer (an adjudicator): samples whose reviewers disagree
    /// and that have no final answer yet.
    #[arg(long, requires = "reviewer")]
    adjudicate: bool,
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Waiting and total samples per reason and language instead of the list.
    #[arg(long, conflicts_with = "progress")]
    counts: bool,
    /// Waiting and total samples per language (a sample with several reasons counts once).
    #[arg(long)]
    progress: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum GuardsCommand {
    /// Make these guard runs the guards of the project (triage, keep rule, statistics).
    Use {
        #[arg(required = true, value_name = "RUN")]
        runs: Vec<i64>,
    },
    /// Go back to the default: the latest finished run of each guard (profile and model).
    Reset,
    /// The run that decides what the guards dispute (the paper's protocol: ASR's
    /// judge-adjudicated rule and the adjudicated keep rule).
    Judge {
        /// The judge's guard run (default: the latest finished `--only-disputed` run).
        #[arg(value_name = "RUN", required_unless_present_any = ["none", "default"])]
        run: Option<i64>,
        /// No judge: the paper's protocol is off.
        #[arg(long, conflicts_with_all = ["run", "default"])]
        none: bool,
        /// Back to the default judge.
        #[arg(long, conflicts_with = "run")]
        default: bool,
    },
    /// Which keep rule filters samples: `unanimous` (every guard), `adjudicated` (the paper's:
    /// agreeing guards, else the judge) or `default` (adjudicated when there is a judge).
    KeepRule {
        #[arg(value_name = "RULE")]
        rule: String,
    },
    /// The guard runs in force.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// A keep rule's name, or `default` (none).
fn parse_keep_rule(s: &str) -> Result<Option<KeepRule>, String> {
    if s == "default" {
        return Ok(None);
    }
    KeepRule::parse(s).map(Some).ok_or_else(|| {
        let names: Vec<&str> = KeepRule::ALL.iter().map(|r| r.name()).collect();
        format!(
            "unknown keep rule `{s}`; rules are {} and default",
            names.join(", ")
        )
    })
}

fn parse_reason(s: &str) -> Result<Reason, String> {
    Reason::parse(s).ok_or_else(|| format!("unknown reason `{s}`; reasons are {}", Reason::names()))
}

/// Prints a report as one line of JSON.
macro_rules! json {
    ($value:expr) => {
        println!(
            "{}",
            serde_json::to_string($value).expect("reports serialise")
        )
    };
}

pub fn triage(store: &mut Store, args: TriageArgs) -> Result<(), String> {
    let opts = TriageOptions {
        filter: SampleFilter {
            dataset: args.dataset,
            ..SampleFilter::default()
        },
        band: args.band,
    };
    let bar = Bar::texts("identifying languages");
    let report = triage::triage(
        store,
        &opts,
        &mut |done, total| bar.set(done, total),
        &AtomicBool::new(false),
    );
    bar.finish();
    let report = report.map_err(|e| e.to_string())?;
    if args.json {
        json!(&report);
    } else {
        print_triage(&report);
    }
    Ok(())
}

fn describe_guards(g: &ProjectGuards) -> String {
    if g.runs.is_empty() {
        return "none (no finished guard run; guard reasons and the keep rule need one)".into();
    }
    let runs: Vec<String> = g.runs.iter().map(|r| format!("run {r}")).collect();
    let how = if g.chosen {
        "chosen with `verdikt guards use`"
    } else {
        "default: latest finished run per guard"
    };
    format!("{} ({how})", runs.join(", "))
}

fn describe_judge(g: &ProjectGuards) -> String {
    let how = if g.judge_chosen {
        "chosen with `verdikt guards judge`"
    } else {
        "default: latest finished --only-disputed run"
    };
    match g.judge {
        Some(run) => format!("run {run} ({how})"),
        None => format!("none ({how}; the paper's protocol is off)"),
    }
}

fn describe_keep_rule(g: &ProjectGuards) -> String {
    let how = if g.keep_rule_chosen {
        "chosen with `verdikt guards keep-rule`"
    } else {
        "default: adjudicated with a judge, else unanimous"
    };
    format!("{} ({how})", g.keep_rule.name())
}

fn print_triage(r: &TriageReport) {
    println!("samples      {}", r.samples);
    println!("guards       {}", describe_guards(&r.guards));
    println!("judge        {}", describe_judge(&r.guards));
    println!(
        "languages    {} texts identified now ({} unsure), choosing among {}",
        r.langid.identified,
        r.langid.unsure,
        r.langid.languages.join(" ")
    );
    println!("queued       {} samples with at least one reason", r.queued);
    for reason in Reason::ALL {
        println!("  {:<20} {}", reason.name(), r.reasons[reason.name()]);
    }
    let k = &r.keep_rule;
    println!(
        "keep rule    {} of {} samples kept ({} of {} triples) by the {} rule",
        k.kept,
        k.samples,
        k.triples_kept,
        k.triples,
        k.rule.name()
    );
}

pub fn audit_sample(store: &mut Store, args: AuditSampleArgs) -> Result<(), String> {
    let opts = AuditSampleOptions {
        per_language: args.per_language,
        seed: args.seed,
        filter: SampleFilter {
            dataset: args.dataset,
            language: args.language,
            ..SampleFilter::default()
        },
    };
    let report = if args.top_up {
        audit_sample::top_up(store, &opts)
    } else {
        audit_sample::draw(store, &opts)
    }
    .map_err(|e| e.to_string())?;
    if args.json {
        json!(&report);
    } else {
        print_audit_sample(&report);
    }
    Ok(())
}

fn print_audit_sample(r: &AuditSampleReport) {
    println!(
        "audit sample: {} per language, seed {}{}",
        r.per_language,
        r.seed,
        if r.replaced > 0 {
            format!(" (replaced {} earlier marks)", r.replaced)
        } else {
            String::new()
        }
    );
    println!(
        "{:<10} {:>7} {:>9} {:>13} {:>11}",
        "language", "drawn", "of", "strata used", "per stratum"
    );
    for l in &r.languages {
        println!(
            "{:<10} {:>7} {:>9} {:>13} {:>11}",
            l.language,
            l.drawn,
            l.available,
            format!("{}/{}", l.strata_drawn, l.strata),
            format!("{}–{}", l.min_per_stratum, l.max_per_stratum)
        );
    }
}

pub fn queue(store: &Store, args: QueueArgs) -> Result<(), String> {
    let q = QueueQuery {
        language: args.language,
        reason: args.reason,
        reviewer: args.reviewer,
        adjudicate: args.adjudicate,
        dataset: args.dataset,
        category: args.category,
        style: args.style,
        keep_rule: args.keep_rule,
        limit: args.limit,
    };
    if args.counts {
        let counts = queue::counts(store.conn(), &q).map_err(|e| e.to_string())?;
        if args.json {
            json!(&counts);
        } else {
            println!(
                "{:<20} {:<10} {:>8} {:>8}",
                "reason", "language", "waiting", "total"
            );
            for c in counts {
                println!(
                    "{:<20} {:<10} {:>8} {:>8}",
                    c.reason, c.language, c.waiting, c.total
                );
            }
        }
        return Ok(());
    }
    if args.progress {
        let rows = queue::progress(store.conn(), &q).map_err(|e| e.to_string())?;
        if args.json {
            json!(&rows);
        } else {
            println!("{:<10} {:>8} {:>8}", "language", "waiting", "total");
            for p in rows {
                println!(
                    "{:<10} {:>8} {:>8}",
                    p.language.as_deref().unwrap_or("all"),
                    p.waiting,
                    p.total
                );
            }
        }
        return Ok(());
    }
    let items = queue::list(store.conn(), &q).map_err(|e| e.to_string())?;
    if args.json {
        json!(&items);
    } else {
        for i in items {
            println!(
                "{}\t{}\t{}\t{}",
                i.sample_id,
                i.dataset,
                i.language,
                i.reasons.join(",")
            );
        }
    }
    Ok(())
}

pub fn guards(store: &Store, command: GuardsCommand) -> Result<(), String> {
    let conn = store.conn();
    let in_force = match command {
        GuardsCommand::Use { runs } => project_guards::use_guards(conn, &runs),
        GuardsCommand::Reset => project_guards::use_guards(conn, &[]),
        GuardsCommand::Judge { run, none, .. } => {
            let choice = match run {
                Some(run) => JudgeChoice::Run(run),
                None if none => JudgeChoice::None,
                None => JudgeChoice::Default,
            };
            project_guards::use_judge(conn, choice)
        }
        GuardsCommand::KeepRule { rule } => {
            project_guards::use_keep_rule(conn, parse_keep_rule(&rule)?)
        }
        GuardsCommand::List { json: true } => {
            json!(&project_guards::project_guards(conn).map_err(|e| e.to_string())?);
            return Ok(());
        }
        GuardsCommand::List { json: false } => project_guards::project_guards(conn),
    }
    .map_err(|e| e.to_string())?;
    println!("guards: {}", describe_guards(&in_force));
    let runs = list_runs(store).map_err(|e| e.to_string())?;
    let show = |id: i64| {
        if let Some(run) = runs.iter().find(|r| r.id == id) {
            println!(
                "  run {}\t{}\t{}\t{}",
                run.id, run.profile, run.status, run.model
            );
        }
    };
    in_force.runs.iter().for_each(|&id| show(id));
    println!("judge: {}", describe_judge(&in_force));
    in_force.judge.into_iter().for_each(show);
    println!("keep rule: {}", describe_keep_rule(&in_force));
    Ok(())
}
