//! The report's and the app dashboard's charts, as SVG strings from the typed results, so both
//! show the very same drawing. Every label is data (language codes, model names) and is escaped.

use std::fmt::Write;

use super::asr::AsrRow;
use super::ratings::{AgreementRow, Coefficients};
use super::results::{Proportion, Results};

const W: f64 = 720.0;
const H: f64 = 320.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 64.0;
const TOP: f64 = 36.0;
const COLORS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];

/// XML text escaping for element content and attribute values.
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

fn open(title: &str, height: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" width=\"{W}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\
         <text x=\"{LEFT}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        escape(title)
    )
}

/// Grouped bars of shares (0–1) with their 95% intervals as whiskers: one group per label, one
/// bar per series.
pub fn share_bars(title: &str, series: &[String], groups: &[(String, Vec<Proportion>)]) -> String {
    let mut svg = open(title, H);
    let plot_h = H - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_h * (1.0 - v);
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}%</text>",
            W - 8.0,
            LEFT - 4.0,
            y(tick) + 4.0,
            tick * 100.0,
            y0 = y(tick)
        );
    }
    let group_w = (W - LEFT - 8.0) / groups.len().max(1) as f64;
    let bar_w = group_w * 0.8 / series.len().max(1) as f64;
    for (g, (label, bars)) in groups.iter().enumerate() {
        let x0 = LEFT + g as f64 * group_w + group_w * 0.1;
        for (i, p) in bars.iter().enumerate() {
            let (Some(share), Some(low), Some(high)) = (p.share, p.low, p.high) else {
                continue;
            };
            let x = x0 + i as f64 * bar_w;
            let mid = x + bar_w / 2.0;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {:.1}% [{:.1}–{:.1}] n={}</title></rect>\
                 <line x1=\"{mid:.1}\" x2=\"{mid:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#222\"/>",
                y(share),
                (bar_w - 2.0).max(1.0),
                plot_h * share,
                COLORS[i % COLORS.len()],
                escape(series.get(i).map_or("", String::as_str)),
                share * 100.0,
                low * 100.0,
                high * 100.0,
                p.n,
                y(high),
                y(low)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x0 + group_w * 0.4,
            H - BOTTOM + 16.0,
            escape(label)
        );
    }
    legend(&mut svg, series, H - 20.0);
    svg.push_str("</svg>");
    svg
}

fn legend(svg: &mut String, series: &[String], y: f64) {
    let mut x = LEFT;
    for (i, name) in series.iter().enumerate() {
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
            y - 9.0,
            COLORS[i % COLORS.len()],
            x + 14.0,
            escape(name)
        );
        x += 24.0 + 7.0 * name.chars().count() as f64;
    }
}

/// A table of values in [−1, 1] (or counts scaled to their maximum) as coloured cells; `None`
/// cells are grey and marked "—".
pub fn heatmap(
    title: &str,
    rows: &[String],
    columns: &[String],
    cells: &[Vec<Option<f64>>],
    max: f64,
) -> String {
    let label_w = 8.0 + 6.5 * rows.iter().map(|r| r.chars().count()).max().unwrap_or(0) as f64;
    let cell_w = ((W - label_w - 8.0) / columns.len().max(1) as f64).min(90.0);
    let cell_h = 22.0;
    let height = TOP + 20.0 + cell_h * rows.len() as f64 + 8.0;
    let mut svg = open(title, height);
    for (c, name) in columns.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            label_w + (c as f64 + 0.5) * cell_w,
            TOP + 12.0,
            escape(name)
        );
    }
    for (r, name) in rows.iter().enumerate() {
        let y = TOP + 20.0 + r as f64 * cell_h;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 15.0,
            escape(name)
        );
        for (c, v) in cells[r].iter().enumerate() {
            let x = label_w + c as f64 * cell_w;
            let (fill, text) = match v {
                Some(v) => {
                    let t = (v / max).clamp(-1.0, 1.0);
                    // Blue for agreement, red below chance.
                    let fill = if t >= 0.0 {
                        format!("rgba(78,121,167,{:.2})", 0.1 + 0.9 * t)
                    } else {
                        format!("rgba(225,87,89,{:.2})", 0.1 + 0.9 * -t)
                    };
                    let text = if max > 1.0 {
                        format!("{v:.0}")
                    } else {
                        format!("{v:.2}")
                    };
                    (fill, text)
                }
                None => ("#eee".to_string(), "—".to_string()),
            };
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" stroke=\"#fff\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{text}</text>",
                cell_w,
                cell_h,
                x + cell_w / 2.0,
                y + 15.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn language(l: &Option<String>) -> String {
    l.clone().unwrap_or_else(|| "all".into())
}

/// Q1–Q3 pass rates per language with 95% intervals.
pub fn question_bars(results: &Results) -> String {
    let groups: Vec<(String, Vec<Proportion>)> = results
        .questions
        .iter()
        .map(|q| (language(&q.language), vec![q.q1, q.q2, q.q3]))
        .collect();
    let series = ["Q1 refusal", "Q2 topic", "Q3 style"].map(String::from);
    share_bars(
        "Audit pass rate per language (95% Wilson)",
        &series,
        &groups,
    )
}

/// Cohen's κ per rater pair (rows) and language (columns), for one kind of item.
pub fn kappa_heatmap(rows: &[AgreementRow], what: super::ratings::What) -> String {
    let pairs_of =
        |r: &AgreementRow| matches!(r.coefficients, Coefficients::Pair { .. }) && r.what == what;
    let mut pairs: Vec<String> = Vec::new();
    let mut languages: Vec<String> = vec!["all".into()];
    for r in rows.iter().filter(|r| pairs_of(r)) {
        let p = r.raters.join(" × ");
        if !pairs.contains(&p) {
            pairs.push(p);
        }
        if let Some(l) = &r.scope.language
            && !languages.contains(l)
        {
            languages.push(l.clone());
        }
    }
    let cells: Vec<Vec<Option<f64>>> = pairs
        .iter()
        .map(|p| {
            languages
                .iter()
                .map(|l| {
                    rows.iter()
                        .filter(|r| pairs_of(r) && r.raters.join(" × ") == *p)
                        .filter(|r| r.scope.category.is_none() && r.scope.style.is_none())
                        .find(|r| r.scope.language.clone().unwrap_or_else(|| "all".into()) == *l)
                        .and_then(|r| match r.coefficients {
                            Coefficients::Pair { cohen_kappa, .. } => cohen_kappa,
                            Coefficients::Group { .. } => None,
                        })
                })
                .collect()
        })
        .collect();
    heatmap(
        &format!("Cohen's κ ({}) by rater pair and language", what.name()),
        &pairs,
        &languages,
        &cells,
        1.0,
    )
}

/// A guard's verdicts against the reviewers', all languages.
pub fn guard_confusion(results: &Results, guard: &str) -> String {
    let c = results
        .guard_accuracy
        .iter()
        .find(|g| g.guard == guard && g.language.is_none())
        .map_or([[0; 2]; 2], |g| g.confusion);
    let max = c.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let cells = c
        .iter()
        .map(|r| r.iter().map(|&v| Some(v as f64)).collect())
        .collect::<Vec<_>>();
    heatmap(
        &format!("{guard} (rows) against reviewers (columns)"),
        &["guard safe".into(), "guard unsafe".into()],
        &["reviewers safe".into(), "reviewers unsafe".into()],
        &cells,
        max.max(1.0 + f64::EPSILON),
    )
}

/// Human-adjudicated ASR per language, one bar per model or config.
pub fn asr_bars(rows: &[AsrRow]) -> String {
    let mut generators: Vec<String> = Vec::new();
    let mut languages: Vec<String> = Vec::new();
    for r in rows {
        if !generators.contains(&r.generator) {
            generators.push(r.generator.clone());
        }
        let l = language(&r.language);
        if !languages.contains(&l) {
            languages.push(l);
        }
    }
    let groups: Vec<(String, Vec<Proportion>)> = languages
        .iter()
        .map(|l| {
            let bars = generators
                .iter()
                .map(|g| {
                    rows.iter()
                        .find(|r| r.generator == *g && language(&r.language) == *l)
                        .map_or_else(Proportion::default, |r| r.asr.human_adjudicated)
                })
                .collect();
            (l.clone(), bars)
        })
        .collect();
    share_bars(
        "Attack success rate, human-adjudicated (95% Wilson)",
        &generators,
        &groups,
    )
}

/// Share of samples audited per language.
pub fn progress_bars(progress: &[(String, Proportion)]) -> String {
    let groups: Vec<(String, Vec<Proportion>)> = progress
        .iter()
        .map(|(l, p)| (l.clone(), vec![*p]))
        .collect();
    share_bars(
        "Audit progress: samples with an answer",
        &["audited".into()],
        &groups,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let p = Proportion::wilson(3, 4);
        let svg = share_bars("t", &["<script>".into()], &[("a&b\"".into(), vec![p])]);
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(svg.contains("a&amp;b&quot;"));
        let svg = heatmap("h", &["<x>".into()], &["'".into()], &[vec![None]], 1.0);
        assert!(svg.contains("&lt;x&gt;") && svg.contains("&#39;") && svg.contains("—"));
    }
}
