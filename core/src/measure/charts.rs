//! The report's and the app dashboard's charts, drawn by `plotters` into standalone SVG
//! documents from the typed results, so both show the very same drawing; `png` rasterises one
//! with `resvg`. Every label is data (language codes, model and reviewer names): plotters' SVG
//! backend writes all text escaped.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};

use super::asr::{AsrRow, Rule};
use super::calibration::Reliability;
use super::corrected::Interval;
use super::ratings::{AgreementRow, Coefficients};
use super::results::{Proportion, Results};

const W: u32 = 760;
const H: u32 = 340;
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xb0, 0x7a, 0xa1),
];
/// What a heatmap cell without a value (e.g. κ of raters who never varied) shows.
pub const UNDEFINED: &str = "undefined";
const FONT: &str = "sans-serif";
/// Font sizes as plotters takes them (it draws them at 1/1.24 of this in pixels).
const TITLE: u32 = 18;
const LABEL: u32 = 14;

type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Draws on a white SVG canvas of `size` and returns the document. Drawing into a `String`
/// has nothing that can fail; should plotters report an error all the same, it is logged and
/// what was drawn is kept (the backend closes every element, so the document stays whole).
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present());
        if let Err(e) = drawn {
            log::warn!("chart drawn only in part: {e}");
        }
    }
    out
}

/// Pixels the widest of `labels` takes at the charts' label size, roughly (40 characters at most).
fn text_width(labels: &[String]) -> u32 {
    7 * labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(40) as u32
}

/// An axis of `n` unit-wide slots (0..n), one per category, with the tick and label at each
/// slot's centre. (plotters' own key-point axes offer no label formatter.)
struct Slots(usize);

impl Ranged for Slots {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, (from, to): (i32, i32)) -> i32 {
        from + (f64::from(to - from) * v / self.0 as f64).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.0 as f64
    }
}

/// The label of the slot that contains `x`.
fn slot(labels: &[String], x: f64) -> String {
    labels.get(x.floor() as usize).cloned().unwrap_or_default()
}

/// Grouped bars of shares (0–1) with their 95% intervals as whiskers: one group per label, one
/// bar per series; a bar without data is left out.
pub fn share_bars(title: &str, series: &[String], groups: &[(String, Vec<Proportion>)]) -> String {
    let names: Vec<String> = groups.iter().map(|(l, _)| l.clone()).collect();
    let slots = groups.len().max(1);
    let legend_w = 30 + text_width(series);
    let bar_w = 0.8 / series.len().max(1) as f64;
    svg((W, H), |root| {
        let (plot, legend) = root.split_horizontally(W - legend_w);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, TITLE))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(Slots(slots), 0.0..1.0)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_labels(6)
            .y_max_light_lines(1)
            .x_label_formatter(&|x| slot(&names, *x))
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .label_style((FONT, LABEL))
            .draw()?;
        for (i, name) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let bars: Vec<(f64, f64, f64, f64)> = groups
                .iter()
                .enumerate()
                .filter_map(|(g, (_, shares))| {
                    let p = shares.get(i)?;
                    let x = g as f64 + 0.1 + i as f64 * bar_w;
                    Some((x, p.share?, p.low?, p.high?))
                })
                .collect();
            chart.draw_series(bars.iter().map(|&(x, share, ..)| {
                Rectangle::new([(x, 0.0), (x + bar_w * 0.9, share)], color.filled())
            }))?;
            chart.draw_series(bars.iter().map(|&(x, share, low, high)| {
                ErrorBar::new_vertical(x + bar_w * 0.45, low, share, high, BLACK.stroke_width(1), 6)
            }))?;
            let y = 40 + 20 * i as i32;
            legend.draw(&Rectangle::new([(0, y), (12, y + 12)], color.filled()))?;
            legend.draw(&Text::new(name.as_str(), (18, y), (FONT, LABEL)))?;
        }
        Ok(())
    })
}

/// A table of values in [−1, 1] (or counts scaled to their maximum) as coloured cells, each with
/// its value printed; `None` cells are grey and say "undefined".
pub fn heatmap(
    title: &str,
    rows: &[String],
    columns: &[String],
    cells: &[Vec<Option<f64>>],
    max: f64,
) -> String {
    let (n_rows, n_cols) = (rows.len().max(1), columns.len().max(1));
    let label_w = 16 + text_width(rows);
    // Wide enough for its column label and for "undefined"; the canvas grows with the columns.
    let cell_w = (12 + text_width(columns)).clamp(80, 140);
    let grid_w = label_w + cell_w * n_cols as u32;
    let width = W.max(grid_w + 30);
    // Row 0 at the top: row r is drawn in the slot n_rows - 1 - r.
    let row_at = |y: f64| n_rows - 1 - (y.floor() as usize).min(n_rows - 1);
    svg((width, heatmap_height(n_rows)), |root| {
        let area = root.titled(title, (FONT, TITLE))?;
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .margin_right(width - 10 - grid_w)
            .top_x_label_area_size(24)
            .y_label_area_size(label_w)
            .build_cartesian_2d(Slots(n_cols), Slots(n_rows))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&|x| slot(columns, *x))
            .y_label_formatter(&|y| rows.get(row_at(*y)).cloned().unwrap_or_default())
            .label_style((FONT, LABEL))
            .draw()?;
        for (r, values) in cells.iter().enumerate().take(n_rows) {
            let y = (n_rows - 1 - r) as f64;
            for (c, v) in values.iter().enumerate().take(n_cols) {
                let x = c as f64;
                let (fill, text, dark) = match v {
                    Some(v) => {
                        let t = (v / max).clamp(-1.0, 1.0);
                        // Blue for agreement, red below chance.
                        let base = if t >= 0.0 { PALETTE[0] } else { PALETTE[3] };
                        let text = if max > 1.0 {
                            format!("{v:.0}")
                        } else {
                            format!("{v:.2}")
                        };
                        (base.mix(0.1 + 0.9 * t.abs()), text, t.abs() > 0.6)
                    }
                    None => (
                        RGBColor(0xee, 0xee, 0xee).mix(1.0),
                        UNDEFINED.to_string(),
                        false,
                    ),
                };
                chart.draw_series([Rectangle::new(
                    [(x + 0.02, y + 0.04), (x + 0.98, y + 0.96)],
                    fill.filled(),
                )])?;
                let ink = if dark { WHITE } else { BLACK };
                let style = (FONT, LABEL)
                    .into_font()
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart.draw_series([Text::new(text, (x + 0.5, y + 0.5), style)])?;
            }
        }
        Ok(())
    })
}

fn heatmap_height(rows: usize) -> u32 {
    80 + 26 * rows as u32
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
                        .find(|r| language(&r.scope.language) == *l)
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

/// ASR under `rule` per language, one bar per model or config.
pub fn asr_bars(rows: &[AsrRow], rule: Rule) -> String {
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
                        .and_then(|r| rule.of(&r.asr))
                        .unwrap_or_default()
                })
                .collect();
            (l.clone(), bars)
        })
        .collect();
    share_bars(
        &format!("Attack success rate, {} (95% Wilson)", rule.label()),
        &generators,
        &groups,
    )
}

/// The corrected ASR of one model under rule `rule` (a name of `corrected_rules`) per
/// language, beside the guard-only and the human-only figures, each with its 95% interval.
/// Rows of the first reading only.
pub fn corrected_asr_bars(rows: &[AsrRow], generator: &str, rule: &str) -> String {
    let reading = rows.first().map(|r| r.reading);
    let interval = |i: &Interval| Proportion {
        share: Some(i.estimate),
        low: Some(i.low),
        high: Some(i.high),
        ..Proportion::default()
    };
    let groups: Vec<(String, Vec<Proportion>)> = rows
        .iter()
        .filter(|r| Some(r.reading) == reading && r.generator == generator)
        .filter_map(|r| {
            let c = r.corrected.iter().find(|c| c.rule == rule)?;
            let human = match &c.human_only_weighted {
                Some(w) => interval(w),
                None => Proportion {
                    share: c.human_only.share,
                    low: c.human_only.low,
                    high: c.human_only.high,
                    ..Proportion::default()
                },
            };
            let corrected = c.corrected.as_ref().map(interval).unwrap_or_default();
            Some((language(&r.language), vec![corrected, c.guard_only, human]))
        })
        .collect();
    let series = ["corrected", "guard-only", "human-only"].map(String::from);
    share_bars(
        &format!("{generator}: ASR corrected by the audit, rule {rule} (95%)"),
        &series,
        &groups,
    )
}

/// The reliability diagram of one guard: per bin of P(unsafe) with texts, the share the
/// reviewers call unsafe against the bin's mean P(unsafe), each point labelled with its count;
/// the diagonal is a perfectly calibrated guard.
pub fn reliability_chart(guard: &str, r: &Reliability) -> String {
    let title = match (r.brier, r.ece) {
        (Some(b), Some(e)) => {
            format!("{guard}: P(unsafe) against reviewers (Brier {b:.3}, ECE {e:.3})")
        }
        _ => format!("{guard}: P(unsafe) against reviewers"),
    };
    svg((W, H), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, TITLE))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_labels(11)
            .y_labels(6)
            .x_desc("mean P(unsafe) in the bin")
            .y_desc("share unsafe (reviewers)")
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .label_style((FONT, LABEL))
            .draw()?;
        chart.draw_series([PathElement::new(
            vec![(0.0, 0.0), (1.0, 1.0)],
            RGBColor(0x99, 0x99, 0x99).stroke_width(1),
        )])?;
        let points: Vec<(f64, f64, u64)> = r
            .bins
            .iter()
            .filter_map(|b| Some((b.mean_p?, b.observed?, b.n)))
            .collect();
        chart.draw_series([PathElement::new(
            points.iter().map(|&(x, y, _)| (x, y)).collect::<Vec<_>>(),
            PALETTE[0].stroke_width(2),
        )])?;
        chart.draw_series(
            points
                .iter()
                .map(|&(x, y, _)| Circle::new((x, y), 4, PALETTE[0].filled())),
        )?;
        chart.draw_series(points.iter().map(|&(x, y, n)| {
            let style = (FONT, LABEL)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            Text::new(format!("n={n}"), (x + 0.01, (y + 0.02).min(0.97)), style)
        }))?;
        Ok(())
    })
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

/// Why a chart could not be rasterised.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    #[error("not a drawable SVG: {0}")]
    Svg(#[from] usvg::Error),
    #[error("no room for a {width}×{height} pixel image")]
    Size { width: u32, height: u32 },
    #[error("cannot encode PNG: {0}")]
    Encode(String),
}

/// The SVG as a PNG of the SVG's own width and height. Text is set in the system's fonts; a
/// machine without any still gets the image, without its text.
pub fn png(svg: &str) -> Result<Vec<u8>, PngError> {
    png_with(svg, system_fonts())
}

fn png_with(svg: &str, fonts: Arc<fontdb::Database>) -> Result<Vec<u8>, PngError> {
    let options = usvg::Options {
        fontdb: fonts,
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size();
    let (width, height) = (size.width(), size.height());
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).ok_or(PngError::Size { width, height })?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| PngError::Encode(e.to_string()))
}

/// Families for the charts' `sans-serif`, the first one installed wins: fontdb's reading of the
/// fontconfig aliases can pick a family that is no text face at all (a maths font on Debian).
const SANS: [&str; 6] = [
    "DejaVu Sans",
    "Liberation Sans",
    "Arial",
    "Helvetica",
    "Noto Sans",
    "FreeSans",
];

/// The system's fonts, read once; `sans-serif` set to a family that is installed, if any is.
fn system_fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            let installed = |family: fontdb::Family| {
                let query = fontdb::Query {
                    families: &[family],
                    ..fontdb::Query::default()
                };
                db.query(&query).is_some()
            };
            let family = SANS
                .into_iter()
                .find(|name| installed(fontdb::Family::Name(name)))
                .map(String::from)
                .or_else(|| {
                    let any = db
                        .faces()
                        .find_map(|f| f.families.first().map(|(name, _)| name.clone()));
                    any.filter(|_| !installed(fontdb::Family::SansSerif))
                });
            if let Some(family) = family {
                db.set_sans_serif_family(family);
            }
            Arc::new(db)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use resvg::usvg::roxmltree;

    const HOSTILE: [&str; 3] = ["<script>alert(1)</script>", "\"&'", "a&b<c>"];

    /// Parses the SVG as XML and returns the text of every `<text>` element.
    fn texts(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert!(
            doc.descendants().all(|n| n.tag_name().name() != "script"),
            "no script element"
        );
        doc.descendants()
            .filter(|n| n.tag_name().name() == "text")
            .map(|n| n.text().unwrap_or("").trim().to_string())
            .collect()
    }

    fn hostile() -> Vec<String> {
        HOSTILE.map(String::from).to_vec()
    }

    #[test]
    fn bars_are_xml_with_escaped_labels_and_whiskers() {
        let groups: Vec<(String, Vec<Proportion>)> = hostile()
            .into_iter()
            .map(|l| (l, vec![Proportion::wilson(3, 4), Proportion::default()]))
            .collect();
        let svg = share_bars("t <b>", &hostile()[..2], &groups);
        let texts = texts(&svg);
        for label in HOSTILE {
            assert!(texts.iter().any(|t| t == label), "{label} in {texts:?}");
        }
        assert!(texts.iter().any(|t| t == "t <b>"), "title: {texts:?}");
        let ticks = texts.iter().filter(|t| t.ends_with('%')).count();
        assert!(
            texts.iter().any(|t| t == "0%") && ticks >= 3,
            "axis: {texts:?}"
        );
        assert!(!svg.contains("<script") && svg.contains("&lt;script&gt;"));
        // Series 0 has a bar with its whisker in each group; series 1 (no data) only its legend.
    }

    #[test]
    fn heatmap_prints_values_and_undefined_cells() {
        let svg = heatmap(
            "κ",
            &hostile(),
            &["all".into(), "'".into()],
            &[
                vec![Some(0.5), None],
                vec![Some(-0.25), Some(1.0)],
                vec![None, None],
            ],
            1.0,
        );
        let texts = texts(&svg);
        for t in ["0.50", "-0.25", "1.00", UNDEFINED, "'", "all", "κ"] {
            assert!(texts.iter().any(|x| x == t), "{t} in {texts:?}");
        }
        assert_eq!(texts.iter().filter(|t| *t == UNDEFINED).count(), 3);
        for label in HOSTILE {
            assert!(texts.iter().any(|t| t == label), "{label}");
        }
    }

    #[test]
    fn heatmap_rows_run_top_down() {
        let svg = heatmap(
            "h",
            &["first".into(), "second".into()],
            &["c".into()],
            &[vec![Some(1.0)], vec![Some(0.0)]],
            1.0,
        );
        let y_of = |label: &str| {
            let doc = roxmltree::Document::parse(&svg).unwrap();
            let node = doc
                .descendants()
                .find(|n| n.text().map(str::trim) == Some(label))
                .unwrap();
            node.attribute("y").unwrap().parse::<f64>().unwrap()
        };
        assert!(y_of("first") < y_of("second"));
        assert!(y_of("1.00") < y_of("0.00"), "cells follow their rows");
    }

    #[test]
    fn empty_charts_are_still_documents() {
        texts(&share_bars("t", &[], &[]));
        texts(&heatmap("h", &[], &[], &[], 1.0));
        texts(&asr_bars(&[], Rule::HumanAdjudicated));
        texts(&progress_bars(&[]));
        texts(&corrected_asr_bars(&[], "m", "both"));
        texts(&reliability_chart(
            "guard:1",
            &super::super::calibration::reliability(&[]),
        ));
        texts(&question_bars(&Results {
            questions: vec![],
            guard_accuracy: vec![],
            guard_error: vec![],
            calibration: vec![],
            language_consistency: vec![],
            time_per_item: vec![],
        }));
    }

    fn png_size(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
        (be(16), be(20))
    }

    #[test]
    fn png_has_the_svg_size() {
        let svg = heatmap("h", &["r".into()], &["c".into()], &[vec![Some(0.5)]], 1.0);
        assert_eq!(png_size(&png(&svg).unwrap()), (W, heatmap_height(1)));
        assert_eq!(png_size(&png(&progress_bars(&[])).unwrap()), (W, H));
    }

    #[test]
    fn png_without_fonts_still_draws_the_shapes() {
        let svg = progress_bars(&[("pl".into(), Proportion::wilson(1, 2))]);
        let none = png_with(&svg, Arc::new(fontdb::Database::new())).unwrap();
        assert_eq!(png_size(&none), (W, H));
        let decoded = tiny_skia::Pixmap::decode_png(&none).unwrap();
        let bar = decoded
            .pixels()
            .iter()
            .any(|p| (p.red(), p.green(), p.blue()) == (0x4e, 0x79, 0xa7));
        assert!(bar, "the bar is drawn");
    }

    #[test]
    fn png_refuses_what_is_not_svg() {
        assert!(matches!(png("<svg"), Err(PngError::Svg(_))));
    }
}
