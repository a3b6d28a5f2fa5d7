//! `verdikt report --out DIR`: one self-contained HTML page (inline SVG, no scripts, no CDN),
//! a CSV file per table and an SVG and a PNG file per chart. Sample-derived strings are escaped
//! in HTML and SVG and formula-guarded in CSV. The folder is written beside DIR and renamed into
//! place, so a killed run leaves no half report.

use std::path::{Path, PathBuf};

use super::MeasureError;
use super::asr::Rule;
use super::charts;
use super::ratings::{Coefficients, Ratings, What, agreement};
use super::results::{PerLanguage, Proportion, Tally, results_from};
use crate::filter::SampleFilter;
use crate::guard::Reading;
use crate::project_guards::{ProjectGuards, project_guards};
use crate::staged::{FolderKind, Staged};
use crate::store::Store;

/// HTML text escaping for element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn fmt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.6}"))
}

fn share_cells(p: &Proportion) -> [String; 5] {
    [
        p.successes.to_string(),
        p.n.to_string(),
        fmt(p.share),
        fmt(p.low),
        fmt(p.high),
    ]
}

pub(super) fn language(l: &Option<String>) -> String {
    l.clone().unwrap_or_else(|| "all".into())
}

/// How `controversial` was read ("" for two-class guards).
pub(super) fn reading(r: Option<Reading>) -> String {
    r.map_or("", Reading::name).into()
}

/// The rule that produced a table's columns or a chart's figures, in words.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, serde::Serialize)]
pub struct Legend {
    /// The column prefix it explains (`judge_adjudicated` for `judge_adjudicated_share`, …).
    pub key: String,
    pub label: String,
    pub explanation: String,
}

impl Legend {
    fn rule(rule: Rule) -> Legend {
        Legend {
            key: rule.name().into(),
            label: rule.label().into(),
            explanation: rule.explanation().into(),
        }
    }

    fn html(legend: &[Legend]) -> String {
        if legend.is_empty() {
            return String::new();
        }
        let items: String = legend
            .iter()
            .map(|l| {
                format!(
                    "<dt>{} <code>{}</code></dt><dd>{}</dd>",
                    escape(&l.label),
                    escape(&l.key),
                    escape(&l.explanation)
                )
            })
            .collect();
        format!("<dl class=\"legend\">{items}</dl>")
    }
}

/// One table of the report, every cell as text (what `write_report` saves as `<name>.csv`).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, serde::Serialize)]
pub struct Table {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// What produced which columns (the ASR rules); empty for tables that need no words.
    pub legend: Vec<Legend>,
}

/// One chart of the report as a standalone SVG document (`<name>.svg`, and `<name>.png`).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, serde::Serialize)]
pub struct Chart {
    pub name: String,
    pub svg: String,
    /// Nothing to draw under this filter (no answers, no guard runs): a viewer says so in words.
    pub empty: bool,
    /// What the chart is drawn from, in words, for saying why it is empty.
    pub needs: String,
    /// The rule that produced its figures, if one did.
    pub legend: Vec<Legend>,
}

/// What the chart called `name` is drawn from.
fn needs(name: &str) -> &'static str {
    if name.starts_with("asr_corrected") {
        "reviewers' final verdicts on responses of the random audit sample (verdikt audit-sample)"
    } else if name.starts_with("calibration") {
        "a guard's P(unsafe) on texts of the random audit sample with reviewers' final verdicts"
    } else if name.starts_with("kappa") {
        "two raters' answers on the same samples"
    } else if name.starts_with("asr") {
        "model responses judged by guards or reviewers"
    } else if name.starts_with("guard_confusion") {
        "reviewers' verdicts on texts this guard judged"
    } else {
        "reviewers' answers"
    }
}

impl Chart {
    /// The chart as the HTML report shows it: the drawing, or in words why there is none.
    fn html(&self) -> String {
        let legend = Legend::html(&self.legend);
        if self.empty {
            format!(
                "<figure class=\"empty\"><figcaption>{}</figcaption><p>No data to draw: this chart needs {}.</p>{legend}</figure>",
                escape(&self.name),
                self.needs
            )
        } else {
            format!("<figure>{}{legend}</figure>", self.svg)
        }
    }
}

/// Everything the report shows: the tables (results, agreement, ASR, progress) and charts.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub tables: Vec<Table>,
    pub charts: Vec<Chart>,
    /// The guards, judge and keep rule the figures were computed with.
    pub guards: ProjectGuards,
}

impl Table {
    fn write_csv(&self, dir: &Path) -> Result<(), MeasureError> {
        self.write_csv_to(&dir.join(format!("{}.csv", self.name)))
    }

    /// Saves the table as CSV to the file `path` (staged; an existing file only with `force`).
    pub fn save_csv(&self, path: &Path, force: bool) -> Result<(), MeasureError> {
        let staged = Staged::file(path, force)?;
        self.write_csv_to(&staged.tmp)?;
        Ok(staged.commit()?)
    }

    /// Writes the table as CSV (formula-guarded cells) to `path`.
    fn write_csv_to(&self, path: &Path) -> Result<(), MeasureError> {
        let path = path.to_path_buf();
        let err = |source| MeasureError::Csv {
            path: path.clone(),
            source,
        };
        let mut w = csv::Writer::from_path(&path).map_err(err)?;
        w.write_record(&self.header).map_err(err)?;
        for r in &self.rows {
            w.write_record(r.iter().map(|c| crate::formula::guard(c).into_owned()))
                .map_err(err)?;
        }
        w.flush().map_err(|e| err(e.into()))
    }

    fn html(&self) -> String {
        let cells = |r: &[String], tag: &str| {
            r.iter()
                .map(|c| format!("<{tag}>{}</{tag}>", escape(c)))
                .collect::<String>()
        };
        let body: String = self
            .rows
            .iter()
            .map(|r| format!("<tr>{}</tr>", cells(r, "td")))
            .collect();
        format!(
            "<h2>{}</h2><table><thead><tr>{}</tr></thead><tbody>{body}</tbody></table>{}",
            escape(&self.name),
            cells(&self.header, "th"),
            Legend::html(&self.legend)
        )
    }
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Builds the report's tables and charts without writing anything.
pub fn build(store: &Store, filter: &SampleFilter) -> Result<Report, MeasureError> {
    let ratings = Ratings::load(store, filter)?;
    let agreement_rows = agreement(&ratings);
    let results = results_from(store, &ratings)?;
    let asr_rows = super::asr::asr_from(store, &ratings)?;
    let rules = Rule::in_use(&ratings);
    let mut progress = PerLanguage::<(u64, Tally)>::new();
    let audited: std::collections::HashMap<Option<String>, u64> = results
        .questions
        .iter()
        .map(|q| (q.language.clone(), q.audited))
        .collect();
    for s in 0..ratings.samples.len() {
        progress.both(ratings.samples.language.get(s), |(n, _)| *n += 1);
    }
    let progress: Vec<(String, Proportion)> = progress
        .rows()
        .map(|(l, (n, _))| {
            let done = audited.get(&l).copied().unwrap_or(0);
            (language(&l), Proportion::wilson(done, n))
        })
        .collect();

    let p_head = ["successes", "n", "share", "low95", "high95"];
    let with = |first: &[&str], rest: &[&str]| header(&[first, rest].concat());
    let mut tables = vec![
        Table {
            name: "agreement".into(),
            header: header(&[
                "what",
                "scope",
                "raters",
                "n",
                "percent_agreement",
                "cohen_kappa",
                "fleiss_kappa",
                "n_all_raters",
                "krippendorff_alpha",
                "caveats",
            ]),
            rows: agreement_rows
                .iter()
                .map(|r| {
                    let scope = serde_json::to_string(&r.scope).unwrap_or_default();
                    let (ck, fk, nall, ka) = match &r.coefficients {
                        Coefficients::Pair { cohen_kappa, .. } => (
                            fmt(*cohen_kappa),
                            String::new(),
                            String::new(),
                            String::new(),
                        ),
                        Coefficients::Group {
                            fleiss_kappa,
                            n_all_raters,
                            krippendorff_alpha,
                        } => (
                            String::new(),
                            fmt(*fleiss_kappa),
                            n_all_raters.to_string(),
                            fmt(*krippendorff_alpha),
                        ),
                    };
                    let caveats = serde_json::to_string(&r.caveats).unwrap_or_default();
                    vec![
                        r.what.name().into(),
                        scope,
                        r.raters.join(" "),
                        r.n.to_string(),
                        fmt(r.percent_agreement),
                        ck,
                        fk,
                        nall,
                        ka,
                        caveats,
                    ]
                })
                .collect(),
            legend: Vec::new(),
        },
        Table {
            name: "results".into(),
            header: {
                let mut h = header(&["language", "audited"]);
                for q in ["q1", "q2", "q3"] {
                    h.extend(p_head.iter().map(|c| format!("{q}_{c}")));
                }
                h
            },
            rows: results
                .questions
                .iter()
                .map(|q| {
                    let mut r = vec![language(&q.language), q.audited.to_string()];
                    for p in [&q.q1, &q.q2, &q.q3] {
                        r.extend(share_cells(p));
                    }
                    r
                })
                .collect(),
            legend: Vec::new(),
        },
        Table {
            name: "guard_accuracy".into(),
            header: with(
                &["guard", "reading", "language"],
                &[
                    &p_head[..],
                    &[
                        "safe_safe",
                        "safe_unsafe",
                        "unsafe_safe",
                        "unsafe_unsafe",
                        "pending",
                    ],
                ]
                .concat(),
            ),
            rows: results
                .guard_accuracy
                .iter()
                .map(|g| {
                    let mut r = vec![g.guard.clone(), reading(g.reading), language(&g.language)];
                    r.extend(share_cells(&g.accuracy));
                    r.extend(g.confusion.iter().flatten().map(u64::to_string));
                    r.push(g.pending.to_string());
                    r
                })
                .collect(),
            legend: Vec::new(),
        },
        Table {
            name: "language_consistency".into(),
            header: with(&["language"], &[&p_head[..], &["unsure"]].concat()),
            rows: results
                .language_consistency
                .iter()
                .map(|c| {
                    let mut r = vec![language(&c.language)];
                    r.extend(share_cells(&c.consistent));
                    r.push(c.unsure.to_string());
                    r
                })
                .collect(),
            legend: Vec::new(),
        },
        Table {
            name: "asr".into(),
            header: {
                let mut h = header(&[
                    "generator",
                    "reading",
                    "language",
                    "responses",
                    "empty",
                    "wrong_language",
                    "unjudged",
                    "pending",
                    "awaiting_judge",
                ]);
                let columns = rules
                    .iter()
                    .map(|r| r.name())
                    .chain(["language_consistency"]);
                for rule in columns {
                    h.extend(p_head.iter().map(|c| format!("{rule}_{c}")));
                }
                h
            },
            rows: asr_rows
                .iter()
                .map(|a| {
                    let mut r = vec![
                        a.generator.clone(),
                        reading(a.reading),
                        language(&a.language),
                    ];
                    r.extend(
                        [
                            a.responses,
                            a.empty,
                            a.wrong_language,
                            a.unjudged,
                            a.pending,
                            a.awaiting_judge,
                        ]
                        .map(|n| n.to_string()),
                    );
                    for rule in &rules {
                        r.extend(share_cells(&rule.of(&a.asr).unwrap_or_default()));
                    }
                    r.extend(share_cells(&a.language_consistency));
                    r
                })
                .collect(),
            legend: rules.iter().map(|&r| Legend::rule(r)).collect(),
        },
    ];
    tables.extend(super::audit_figures::tables(
        &asr_rows,
        &results.guard_error,
        &results.calibration,
    ));
    tables.push(Table {
        name: "progress".into(),
        header: with(&["language"], &p_head),
        rows: progress
            .iter()
            .map(|(l, p)| {
                let mut r = vec![l.clone()];
                r.extend(share_cells(p));
                r
            })
            .collect(),
        legend: Vec::new(),
    });
    tables.push(Table {
        name: "time_per_item".into(),
        header: header(&["reviewer", "language", "answers", "median_seconds"]),
        rows: results
            .time_per_item
            .iter()
            .map(|t| {
                vec![
                    t.reviewer.clone(),
                    language(&t.language),
                    t.answers.to_string(),
                    format!("{:.1}", t.median_seconds),
                ]
            })
            .collect(),
        legend: Vec::new(),
    });

    let no_agreement = |what| !agreement_rows.iter().any(|r| r.what == what);
    let chart = |name: String, svg: String, empty: bool, legend: Vec<Legend>| Chart {
        needs: needs(&name).into(),
        name,
        svg,
        empty,
        legend,
    };
    let mut charts_out = vec![
        chart(
            "questions".into(),
            charts::question_bars(&results),
            results.questions.iter().all(|q| q.audited == 0),
            Vec::new(),
        ),
        chart(
            "kappa_verdict".into(),
            charts::kappa_heatmap(&agreement_rows, What::Verdict),
            no_agreement(What::Verdict),
            Vec::new(),
        ),
        chart(
            "kappa_q1".into(),
            charts::kappa_heatmap(&agreement_rows, What::Q1),
            no_agreement(What::Q1),
            Vec::new(),
        ),
    ];
    // The human-adjudicated ASR always; the paper's protocol beside it when a judge is in force.
    for rule in [Rule::HumanAdjudicated, Rule::JudgeAdjudicated] {
        if rules.contains(&rule) {
            let name = match rule {
                Rule::HumanAdjudicated => "asr".into(),
                _ => format!("asr_{}", rule.name()),
            };
            charts_out.push(chart(
                name,
                charts::asr_bars(&asr_rows, rule),
                asr_rows.is_empty(),
                vec![Legend::rule(rule)],
            ));
        }
    }
    charts_out.extend(super::audit_figures::charts(
        &asr_rows,
        &results.calibration,
        chart,
    ));
    charts_out.push(chart(
        "progress".into(),
        charts::progress_bars(&progress),
        progress.is_empty(),
        Vec::new(),
    ));
    for (i, guard) in ratings.raters.iter().enumerate().skip(ratings.humans) {
        let compared = results
            .guard_accuracy
            .iter()
            .any(|g| &g.guard == guard && g.confusion.iter().flatten().any(|&n| n > 0));
        charts_out.push(chart(
            format!("guard_confusion_{}", ratings.guards[i - ratings.humans]),
            charts::guard_confusion(&results, guard),
            !compared,
            Vec::new(),
        ));
    }

    Ok(Report {
        tables,
        charts: charts_out,
        guards: project_guards(store.conn())?,
    })
}

/// Writes the report (CSV tables, SVG and PNG charts, `index.html`) into `dir`, replacing the
/// report a previous run wrote there; returns the files written. Everything goes into a hidden
/// folder beside `dir` first, renamed into place at the end.
pub fn write_report(
    store: &Store,
    filter: &SampleFilter,
    dir: &Path,
) -> Result<Vec<PathBuf>, MeasureError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MeasureError::Write { path, source }
    };
    let staged = Staged::folder(dir, FolderKind::Report)?;
    let Report { tables, charts, .. } = build(store, filter)?;
    let tmp = &staged.tmp;
    let mut names = Vec::new();
    for t in &tables {
        t.write_csv(tmp)?;
        names.push(format!("{}.csv", t.name));
    }
    let write = |name: String, bytes: &[u8]| {
        let path = tmp.join(&name);
        std::fs::write(&path, bytes).map_err(write_err(&path))?;
        Ok::<String, MeasureError>(name)
    };
    for c in &charts {
        names.push(write(format!("{}.svg", c.name), c.svg.as_bytes())?);
        let png = charts::png(&c.svg).map_err(|source| MeasureError::Png {
            path: dir.join(format!("{}.png", c.name)),
            source,
        })?;
        names.push(write(format!("{}.png", c.name), &png)?);
    }
    let figures: String = charts.iter().map(Chart::html).collect();
    let body: String = tables.iter().map(Table::html).collect();
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Verdikt audit report</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}\
         td,th{{border:1px solid #ccc;padding:2px 6px}}figure{{margin:1em 0}}dl.legend{{font-size:12px;max-width:720px}}dl.legend dd{{margin:0 0 .3em 1.5em;color:#444}}.empty p{{color:#666;border:1px dashed #ccc;padding:.6em .8em;max-width:640px}}</style></head>\
         <body><h1>Verdikt audit report</h1>{figures}{body}</body></html>"
    );
    names.push(write("index.html".into(), html.as_bytes())?);
    staged.commit()?;
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}
