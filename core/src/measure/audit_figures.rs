//! The report's figures built on the random audit sample: the corrected ASR beside the
//! guard-only and human-only figures, the error of every guard, judge and rule per language and
//! text, and the calibration of each guard's P(unsafe). Tables and charts carry a legend entry
//! per column group, the one line a reader needs to read them; the Results screen shows the
//! same legends.

use super::asr::{AsrRow, Rule};
use super::calibration::Calibration;
use super::charts;
use super::corrected::Interval;
use super::estimate::Exact;
use super::guard_error::GuardError;
use super::report::{Chart, Legend, Table, fmt, language, reading};
use super::results::Proportion;

fn legend(key: &str, label: &str, explanation: &str) -> Legend {
    Legend {
        key: key.into(),
        label: label.into(),
        explanation: explanation.into(),
    }
}

/// `<name>_share`, `<name>_low95`, `<name>_high95`.
fn interval_header(name: &str) -> [String; 3] {
    ["share", "low95", "high95"].map(|c| format!("{name}_{c}"))
}

fn exact_cells(e: &Exact) -> [String; 3] {
    [fmt(e.share), fmt(e.low), fmt(e.high)]
}

fn proportion_cells(p: &Proportion) -> [String; 3] {
    [fmt(p.share), fmt(p.low), fmt(p.high)]
}

fn interval_cells(i: Option<&Interval>) -> [String; 3] {
    [
        fmt(i.map(|i| i.estimate)),
        fmt(i.map(|i| i.low)),
        fmt(i.map(|i| i.high)),
    ]
}

fn corrected_legend() -> Vec<Legend> {
    vec![
        legend(
            "corrected",
            "corrected",
            "the guards' ASR corrected by the reviewers' verdicts on the random audit sample (PPI++; over languages stratified PPI), 95% interval",
        ),
        legend(
            "guard_only",
            "guard-only",
            "the share of responses the rule calls unsafe, every response, 95% Wilson: sampling noise only, not the guards' error",
        ),
        legend(
            "human_only",
            "human-only",
            "the share the reviewers call unsafe on the audited responses alone, 95% Clopper–Pearson (over languages weighted by each language's share)",
        ),
    ]
}

/// The rule the corrected ASR chart shows: the paper's protocol where a judge is in force.
fn chart_rule(rows: &[AsrRow]) -> Option<&'static str> {
    let rules: Vec<&'static str> = rows.first()?.corrected.iter().map(|c| c.rule).collect();
    [Rule::JudgeAdjudicated.name(), Rule::Both.name()]
        .into_iter()
        .find(|r| rules.contains(r))
        .or_else(|| rules.first().copied())
}

fn corrected_table(asr: &[AsrRow]) -> Table {
    let mut header: Vec<String> = [
        "generator",
        "reading",
        "language",
        "rule",
        "texts",
        "audited",
        "disagreements",
    ]
    .map(String::from)
    .to_vec();
    for name in ["corrected", "guard_only", "human_only"] {
        header.extend(interval_header(name));
    }
    header.extend(["method", "lambda", "note"].map(String::from));
    let rows = asr
        .iter()
        .flat_map(|a| {
            a.corrected.iter().map(move |c| {
                let mut r = vec![
                    a.generator.clone(),
                    reading(a.reading),
                    language(&a.language),
                    c.rule.to_string(),
                    c.texts.to_string(),
                    c.audited.to_string(),
                    c.disagreements.to_string(),
                ];
                r.extend(interval_cells(c.corrected.as_ref()));
                r.extend(proportion_cells(&c.guard_only));
                match &c.human_only_weighted {
                    Some(w) => r.extend(interval_cells(Some(w))),
                    None => r.extend(exact_cells(&c.human_only)),
                }
                let method = serde_json::to_value(c.method)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                r.extend([method, fmt(c.lambda), c.note.clone().unwrap_or_default()]);
                r
            })
        })
        .collect();
    Table {
        name: "asr_corrected".into(),
        header,
        rows,
        legend: corrected_legend(),
    }
}

fn guard_error_table(rows: &[GuardError]) -> Table {
    let mut header: Vec<String> = [
        "rater",
        "reading",
        "language",
        "field",
        "n",
        "safe_safe",
        "safe_unsafe",
        "unsafe_safe",
        "unsafe_unsafe",
        "pending",
    ]
    .map(String::from)
    .to_vec();
    for name in ["sensitivity", "specificity", "precision", "error"] {
        header.extend(interval_header(name));
    }
    header.extend(
        [
            "error_upper95",
            "miss_upper95",
            "false_alarm_upper95",
            "kappa",
            "kappa_se",
            "kappa_low95",
            "kappa_high95",
        ]
        .map(String::from),
    );
    let rows = rows
        .iter()
        .map(|g| {
            let mut r = vec![
                g.rater.clone(),
                reading(g.reading),
                language(&g.language),
                g.field.to_string(),
                g.n.to_string(),
            ];
            r.extend(g.confusion.iter().flatten().map(u64::to_string));
            r.push(g.pending.to_string());
            for e in [&g.sensitivity, &g.specificity, &g.precision, &g.error_rate] {
                r.extend(exact_cells(e));
            }
            r.extend([g.error_upper, g.miss_upper, g.false_alarm_upper].map(fmt));
            let k = g.kappa.as_ref();
            r.extend(
                [
                    k.map(|k| k.kappa),
                    k.map(|k| k.std_err),
                    k.map(|k| k.low),
                    k.map(|k| k.high),
                ]
                .map(fmt),
            );
            r
        })
        .collect();
    Table {
        name: "guard_error".into(),
        header,
        rows,
        legend: vec![
            legend(
                "rater",
                "rater",
                "guard:<run>, judge:<run> or rule:<name>, against the reviewers' final verdicts on the texts of the random audit sample only (rows: the rater's verdict, columns: the reviewers')",
            ),
            legend(
                "sensitivity",
                "sensitivity",
                "share of the texts reviewers call unsafe that the rater calls unsafe, 95% Clopper–Pearson",
            ),
            legend(
                "specificity",
                "specificity",
                "share of the texts reviewers call safe that the rater calls safe, 95% Clopper–Pearson",
            ),
            legend(
                "error_upper95",
                "error bound",
                "one-sided 95% upper bound of the error rate: the figure to quote for a claim such as \"100% accuracy\" (0 errors in 1,200 audited texts is ≤ 0.25%, not 0%)",
            ),
            legend(
                "kappa",
                "Cohen's κ",
                "agreement of rater and reviewers beyond chance, with the standard error of Fleiss, Cohen & Everitt (1969) and its 95% interval",
            ),
        ],
    }
}

fn calibration_tables(rows: &[Calibration]) -> [Table; 2] {
    let summary = Table {
        name: "calibration".into(),
        header: ["guard", "language", "n", "brier", "ece"]
            .map(String::from)
            .to_vec(),
        rows: rows
            .iter()
            .map(|c| {
                let r = &c.reliability;
                vec![
                    c.guard.clone(),
                    language(&c.language),
                    r.n.to_string(),
                    fmt(r.brier),
                    fmt(r.ece),
                ]
            })
            .collect(),
        legend: vec![
            legend(
                "brier",
                "Brier score",
                "mean squared difference between the guard's P(unsafe) and the reviewers' verdict (0 is perfect; always saying 0.5 scores 0.25), random audit sample",
            ),
            legend(
                "ece",
                "expected calibration error",
                "over 10 equal bins of P(unsafe), the texts' share of each bin times the gap between its share unsafe and its mean P(unsafe)",
            ),
        ],
    };
    let bins = Table {
        name: "calibration_bins".into(),
        header: [
            "guard",
            "language",
            "bin_low",
            "bin_high",
            "n",
            "human_unsafe",
            "mean_p_unsafe",
            "observed_unsafe",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .iter()
            .flat_map(|c| {
                c.reliability.bins.iter().map(|b| {
                    vec![
                        c.guard.clone(),
                        language(&c.language),
                        format!("{:.1}", b.low),
                        format!("{:.1}", b.high),
                        b.n.to_string(),
                        b.human_unsafe.to_string(),
                        fmt(b.mean_p),
                        fmt(b.observed),
                    ]
                })
            })
            .collect(),
        legend: vec![legend(
            "observed",
            "reliability diagram",
            "per bin of P(unsafe) (a value on an edge falls in the bin below), the share of its texts the reviewers call unsafe: a calibrated guard's equals the bin's mean P(unsafe)",
        )],
    };
    [summary, bins]
}

/// The tables: `asr_corrected`, `guard_error`, `calibration`, `calibration_bins`.
pub(super) fn tables(
    asr: &[AsrRow],
    guard_error: &[GuardError],
    calibration: &[Calibration],
) -> Vec<Table> {
    let mut out = vec![corrected_table(asr), guard_error_table(guard_error)];
    out.extend(calibration_tables(calibration));
    out
}

/// The charts: the corrected ASR per language of each model, and a reliability diagram per
/// guard (all languages).
pub(super) fn charts(
    asr: &[AsrRow],
    calibration: &[Calibration],
    chart: impl Fn(String, String, bool, Vec<Legend>) -> Chart,
) -> Vec<Chart> {
    let mut out = Vec::new();
    if let Some(rule) = chart_rule(asr) {
        let mut generators: Vec<&str> = Vec::new();
        for a in asr {
            if !generators.contains(&a.generator.as_str()) {
                generators.push(&a.generator);
            }
        }
        // One chart per model: `asr_corrected`, then `asr_corrected_2`, … (model names are data,
        // never file names).
        for (i, generator) in generators.into_iter().enumerate() {
            let audited = asr
                .iter()
                .filter(|a| a.generator == generator)
                .flat_map(|a| &a.corrected)
                .any(|c| c.rule == rule && c.corrected.is_some());
            let name = match i {
                0 => "asr_corrected".to_string(),
                _ => format!("asr_corrected_{}", i + 1),
            };
            out.push(chart(
                name,
                charts::corrected_asr_bars(asr, generator, rule),
                !audited,
                corrected_legend(),
            ));
        }
    }
    for c in calibration.iter().filter(|c| c.language.is_none()) {
        let run = c.guard.trim_start_matches("guard:");
        out.push(chart(
            format!("calibration_{run}"),
            charts::reliability_chart(&c.guard, &c.reliability),
            c.reliability.n == 0,
            vec![legend(
                "calibration",
                "reliability diagram",
                "each point a bin of P(unsafe) with its count: how often reviewers call its texts unsafe against the mean P(unsafe); on the grey diagonal the guard is calibrated",
            )],
        ));
    }
    out
}
