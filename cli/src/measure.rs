//! `verdikt agreement`, `verdikt results`, `verdikt asr` and `verdikt report`: the measure stage.

use verdikt_core::guard::Reading;
use verdikt_core::measure::agreement::Caveat;
use verdikt_core::measure::asr::{AsrRow, Rule};
use verdikt_core::measure::calibration::Calibration;
use verdikt_core::measure::corrected::{CorrectedAsr, Interval, Method, Plan};
use verdikt_core::measure::estimate::Exact;
use verdikt_core::measure::guard_error::GuardError;
use verdikt_core::measure::ratings::{AgreementRow, Coefficients, Ratings, Scope};
use verdikt_core::measure::results::{Proportion, Results};
use verdikt_core::store::Store;

use crate::Filter;

#[derive(clap::Args)]
pub struct MeasureArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    filter: Filter,
}

#[derive(clap::Args)]
pub struct AuditPlanArgs {
    /// The half-width the corrected ASR's interval should not exceed (0.05: ± 5 points).
    #[arg(long)]
    width: f64,
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// The guard rule whose ASR is corrected (both, any, majority, judge-adjudicated); default:
    /// judge-adjudicated with a judge, else both.
    #[arg(long, value_name = "R", value_parser = parse_rule)]
    rule: Option<Rule>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    filter: Filter,
}

fn parse_rule(name: &str) -> Result<Rule, String> {
    Rule::parse(name).ok_or_else(|| {
        let names: Vec<String> = Rule::ALL.iter().map(|&r| rule_name(r)).collect();
        format!("unknown rule `{name}`; rules: {}", names.join(", "))
    })
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The folder to write index.html, the CSV tables and the SVG and PNG charts into: a new or
    /// empty folder, or a report Verdikt wrote there before (which is replaced).
    #[arg(long, value_name = "DIR")]
    out: std::path::PathBuf,
    #[command(flatten)]
    filter: Filter,
}

pub fn report(store: &Store, args: ReportArgs) -> Result<(), String> {
    let files = verdikt_core::measure::report::write_report(store, &args.filter.into(), &args.out)
        .map_err(|e| e.to_string())?;
    println!("wrote {} files to {}", files.len(), args.out.display());
    Ok(())
}

fn json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("results serialise")
    );
}

fn load(store: &Store, filter: Filter) -> Result<Ratings, String> {
    Ratings::load(store, &filter.into()).map_err(|e| e.to_string())
}

fn num(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.3}"))
}

fn pct(p: &Proportion) -> String {
    match (p.share, p.low, p.high) {
        (Some(s), Some(l), Some(h)) => format!(
            "{:.1}% [{:.1}–{:.1}] n={}",
            s * 100.0,
            l * 100.0,
            h * 100.0,
            p.n
        ),
        _ => "— n=0".into(),
    }
}

fn scope(s: &Scope) -> String {
    match (&s.language, &s.category, &s.style) {
        (Some(l), _, _) => format!("language={l}"),
        (_, Some(c), _) => format!("category={c}"),
        (_, _, Some(st)) => format!("style={st}"),
        _ => "overall".into(),
    }
}

fn language(l: &Option<String>) -> &str {
    l.as_deref().unwrap_or("all")
}

/// How a three-class guard's `controversial` is read (blank for two-class guards).
fn reading(r: Option<Reading>) -> &'static str {
    r.map_or("", Reading::name)
}

pub fn agreement(store: &Store, args: MeasureArgs) -> Result<(), String> {
    let rows = verdikt_core::measure::ratings::agreement(&load(store, args.filter)?);
    if args.json {
        json(&rows);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no two raters rated the same items yet");
    }
    for r in &rows {
        println!("{}", agreement_line(r));
    }
    Ok(())
}

fn agreement_line(r: &AgreementRow) -> String {
    let coefficients = match &r.coefficients {
        Coefficients::Pair { cohen_kappa, .. } => format!("κ {}", num(*cohen_kappa)),
        Coefficients::Group {
            fleiss_kappa,
            n_all_raters,
            krippendorff_alpha,
        } => format!(
            "Fleiss κ {} (n={n_all_raters})  α {}",
            num(*fleiss_kappa),
            num(*krippendorff_alpha)
        ),
    };
    let caveats: Vec<&str> = r
        .caveats
        .iter()
        .map(|c| match c {
            Caveat::NoItems => "no items",
            Caveat::OneClassOnly => "undefined: one class only",
            Caveat::FewItems => "unstable: few items",
            Caveat::SkewedClasses => "skewed classes",
        })
        .collect();
    format!(
        "{:<8} {:<22} {:<40} n={:<7} agree {}  {}{}",
        r.what.name(),
        scope(&r.scope),
        r.raters.join(" × "),
        r.n,
        num(r.percent_agreement),
        coefficients,
        if caveats.is_empty() {
            String::new()
        } else {
            format!("  ({})", caveats.join(", "))
        }
    )
}

pub fn results(store: &Store, args: MeasureArgs) -> Result<(), String> {
    let ratings = load(store, args.filter)?;
    let results =
        verdikt_core::measure::results::results_from(store, &ratings).map_err(|e| e.to_string())?;
    if args.json {
        json(&results);
    } else {
        print_results(&results);
    }
    Ok(())
}

fn print_results(r: &Results) {
    println!("audit results (pass rate, 95% Wilson interval)");
    for q in &r.questions {
        println!(
            "  {:<6} audited {:<6} awaiting adjudication {:<5} Q1 {}   Q2 {}   Q3 {}",
            language(&q.language),
            q.audited,
            q.pending,
            pct(&q.q1),
            pct(&q.q2),
            pct(&q.q3)
        );
    }
    println!("guard accuracy against reviewers' final verdicts");
    for g in &r.guard_accuracy {
        println!(
            "  {:<10} {:<6} {:<6} {}  pending {}",
            g.guard,
            reading(g.reading),
            language(&g.language),
            pct(&g.accuracy),
            g.pending
        );
    }
    print_guard_error(&r.guard_error);
    print_calibration(&r.calibration);
    println!("chosen answers in the prompt's language");
    for c in &r.language_consistency {
        println!(
            "  {:<6} {}  unsure {}",
            language(&c.language),
            pct(&c.consistent),
            c.unsure
        );
    }
    println!("time per item (median seconds, shown → submitted)");
    if r.time_per_item.is_empty() {
        println!("  no timed answers yet (the app times each answer)");
    }
    for t in &r.time_per_item {
        println!(
            "  {:<16} {:<6} {:>8.1} s  over {} answers",
            t.reviewer,
            language(&t.language),
            t.median_seconds,
            t.answers
        );
    }
}

pub fn asr(store: &Store, args: MeasureArgs) -> Result<(), String> {
    let ratings = load(store, args.filter)?;
    let rows = verdikt_core::measure::asr::asr_from(store, &ratings).map_err(|e| e.to_string())?;
    if args.json {
        json(&rows);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no model responses imported (import a file with a `response` column)");
        return Ok(());
    }
    let rules = Rule::in_use(&ratings);
    println!("ASR rules");
    for rule in &rules {
        let judge = match (rule, &ratings.judge) {
            (Rule::JudgeAdjudicated, Some(j)) => format!(" (judge: run {})", j.run),
            _ => String::new(),
        };
        println!("  {:<18} {}{judge}", rule_name(*rule), rule.explanation());
    }
    for r in &rows {
        print_asr(r, &rules);
    }
    Ok(())
}

/// A rule as the `asr` lines name it: `human-adjudicated`.
fn rule_name(rule: Rule) -> String {
    rule.name().replace('_', "-")
}

fn print_asr(r: &AsrRow, rules: &[Rule]) {
    let awaiting = if rules.contains(&Rule::JudgeAdjudicated) {
        format!(", {} awaiting the judge", r.awaiting_judge)
    } else {
        String::new()
    };
    println!(
        "{} {}{}: {} responses ({} empty, {} wrong language, {} unjudged, {} pending review{awaiting})",
        r.generator,
        language(&r.language),
        r.reading.map_or(String::new(), |x| format!(
            ", controversial read {}",
            x.name()
        )),
        r.responses,
        r.empty,
        r.wrong_language,
        r.unjudged,
        r.pending
    );
    let figures: Vec<String> = rules
        .iter()
        .filter_map(|&rule| {
            rule.of(&r.asr)
                .map(|p| format!("{} {}", rule_name(rule), pct(&p)))
        })
        .collect();
    println!(
        "  ASR {}  language consistency {}",
        figures.join("  "),
        pct(&r.language_consistency)
    );
    if !r.corrected.is_empty() {
        println!("  corrected by the random audit sample (95%):");
    }
    for c in &r.corrected {
        print_corrected(c);
    }
}

/// An exact share: `80.0% [71.2–86.9]`, or `—` without texts.
fn exact(e: &Exact) -> String {
    match (e.share, e.low, e.high) {
        (Some(s), Some(l), Some(h)) => {
            format!("{:.1}% [{:.1}–{:.1}]", s * 100.0, l * 100.0, h * 100.0)
        }
        _ => "—".into(),
    }
}

fn print_guard_error(rows: &[GuardError]) {
    println!(
        "guard error on the random audit sample (unsafe = positive; exact 95% intervals; κ ± standard error)"
    );
    if rows.is_empty() {
        println!(
            "  no text of the audit sample has a final human verdict yet (draw one with `verdikt audit-sample`)"
        );
    }
    for g in rows {
        let errors = g.error_rate.successes;
        let error = match (errors, g.error_upper) {
            (0, Some(up)) => format!("0 errors (≤ {:.2}%)", up * 100.0),
            _ => format!("errors {}", exact(&g.error_rate)),
        };
        let kappa = g.kappa.map_or("κ —".into(), |k| {
            format!(
                "κ {:.3} ± {:.3} [{:.3}–{:.3}]",
                k.kappa, k.std_err, k.low, k.high
            )
        });
        println!(
            "  {:<20} {:<6} {:<6} {:<8} n={:<5} sensitivity {}  specificity {}  precision {}  {}  {}  pending {}",
            g.rater,
            reading(g.reading),
            language(&g.language),
            g.field,
            g.n,
            exact(&g.sensitivity),
            exact(&g.specificity),
            exact(&g.precision),
            error,
            kappa,
            g.pending
        );
    }
}

fn print_calibration(rows: &[Calibration]) {
    println!(
        "calibration of P(unsafe) on the random audit sample (Brier: 0 perfect, 0.25 a coin; ECE over 10 bins; bins as count:share unsafe)"
    );
    if rows.is_empty() {
        println!("  no guard P(unsafe) on a text of the audit sample with a final human verdict");
    }
    for c in rows {
        let r = &c.reliability;
        let bins: Vec<String> = r
            .bins
            .iter()
            .map(|b| match b.observed {
                Some(o) => format!("{}:{:.0}%", b.n, o * 100.0),
                None => "0".into(),
            })
            .collect();
        println!(
            "  {:<10} {:<6} n={:<5} Brier {}  ECE {}  bins {}",
            c.guard,
            language(&c.language),
            r.n,
            r.brier.map_or("—".into(), |b| format!("{b:.4}")),
            r.ece.map_or("—".into(), |e| format!("{e:.4}")),
            bins.join(" ")
        );
    }
}

fn interval(i: &Interval) -> String {
    format!(
        "{:.1}% [{:.1}–{:.1}]",
        i.estimate * 100.0,
        i.low * 100.0,
        i.high * 100.0
    )
}

fn print_corrected(c: &CorrectedAsr) {
    let how = match (c.method, c.lambda) {
        (Method::Ppi, Some(l)) => format!("PPI++, λ={l:.2}"),
        (Method::ExactSmallN, _) => "exact, small n".into(),
        (Method::StratifiedPpi, _) => "stratified PPI".into(),
        _ => String::new(),
    };
    let corrected = c
        .corrected
        .as_ref()
        .map_or("—".into(), |i| format!("{} ({how})", interval(i)));
    let human = c.human_only_weighted.as_ref().map_or_else(
        || exact(&c.human_only),
        |w| format!("{} (languages weighted)", interval(w)),
    );
    println!(
        "    {:<18} corrected {}  guard-only {}  human-only {} n={} of {}{}",
        c.rule.replace('_', "-"),
        corrected,
        pct(&c.guard_only),
        human,
        c.audited,
        c.texts,
        c.note
            .as_ref()
            .map_or(String::new(), |n| format!("  ({n})"))
    );
}

pub fn audit_plan(store: &Store, args: AuditPlanArgs) -> Result<(), String> {
    let ratings = load(store, args.filter)?;
    let rows = verdikt_core::measure::asr::asr_from(store, &ratings).map_err(|e| e.to_string())?;
    let plans =
        verdikt_core::measure::corrected::audit_plan(&rows, args.rule, args.width, args.confidence)
            .map_err(|e| e.to_string())?;
    if args.json {
        json(&plans);
        return Ok(());
    }
    if plans.is_empty() {
        println!("no model responses imported (import a file with a `response` column)");
        return Ok(());
    }
    println!(
        "audited texts for a corrected ASR within ± {:.1} points at {:.0}% (rule {}; planned on the disagreement measured so far, its one-sided upper bound, or a prior of {:.0}% before any label)",
        args.width * 100.0,
        args.confidence * 100.0,
        plans[0].rule.replace('_', "-"),
        verdikt_core::measure::corrected::PRIOR_DISAGREEMENT * 100.0
    );
    for p in &plans {
        print_plan(p);
    }
    Ok(())
}

fn print_plan(p: &Plan) {
    let needed = p
        .needed
        .map_or("not reachable with every text".into(), |n| n.to_string());
    println!(
        "  {:<12} {:<6} texts {:<6} audited {:<5} disagreement ≤ {:.1}% ({})  needed {:<6} draw {} more",
        p.generator,
        p.language,
        p.texts,
        p.audited,
        p.assumed_disagreement * 100.0,
        p.basis,
        needed,
        p.more
    );
}
