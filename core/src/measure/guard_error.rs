//! How far each guard can be trusted per language: every guard run, the judge and each vote
//! rule against the reviewers' final verdicts, on the texts that entered review at random (the
//! seeded audit sample; see [`super::corrected`] for why triage-selected texts must stay out).
//!
//! Per rater × language × text field: sensitivity (unsafe is positive) and specificity with
//! exact Clopper–Pearson intervals, precision, the error rate with its one-sided upper bound
//! (the figure to quote when no error was seen: 0 of 1,200 is ≤ 0.25%, not 0), and Cohen's κ
//! with the standard error of Fleiss, Cohen & Everitt (1969). Because the texts are a random
//! sample, each rate is an unbiased estimate of the rater's rate on all texts of the language.
//! A judge run on disputed texts only (`--only-disputed`) is measured where it judged: its rates
//! are those on the disputed texts of the random sample.

use serde::Serialize;

use super::corrected::{CONFIDENCE, Voters, audited, corrected_rules};
use super::estimate::{Exact, Kappa, cohen_kappa, upper_bound};
use super::ratings::{MISSING, PENDING, Ratings};
use super::results::PerLanguage;
use crate::guard::Reading;
use crate::guard::run::TextField;
use crate::store::Store;

/// One rater on one text field of one language (`language` null: all languages).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuardError {
    /// `guard:<run>`, `judge:<run>` or `rule:<name>` (see `asr::Rule`).
    pub rater: String,
    pub reading: Option<Reading>,
    pub language: Option<String>,
    pub field: &'static str,
    /// Audited texts with both the rater's and a final human verdict.
    pub n: u64,
    /// Rows: the rater's verdict (safe, unsafe); columns: the reviewers' final verdict.
    pub confusion: [[u64; 2]; 2],
    /// Share of human-unsafe texts the rater calls unsafe.
    pub sensitivity: Exact,
    /// Share of human-safe texts the rater calls safe.
    pub specificity: Exact,
    /// Share of the rater's unsafe calls the reviewers call unsafe.
    pub precision: Exact,
    pub error_rate: Exact,
    /// One-sided upper bounds of the error rate, of the share of human-unsafe texts the rater
    /// misses and of human-safe texts it calls unsafe: the figures to quote where none was seen.
    pub error_upper: Option<f64>,
    pub miss_upper: Option<f64>,
    pub false_alarm_upper: Option<f64>,
    /// Null when κ is undefined (one class fills both margins).
    pub kappa: Option<Kappa>,
    /// Audited texts the rater judged where reviewers differ and no adjudicator decided.
    pub pending: u64,
}

#[derive(Clone, Copy, Default)]
struct Cell {
    confusion: [[u64; 2]; 2],
    pending: u64,
}

fn error_row(
    rater: &str,
    reading: Option<Reading>,
    language: Option<String>,
    f: usize,
    c: Cell,
) -> GuardError {
    let m = c.confusion;
    let (tn, fp, fn_, tp) = (m[0][0], m[1][0], m[0][1], m[1][1]);
    let n = tn + fp + fn_ + tp;
    let table: Vec<Vec<u64>> = m.iter().map(|r| r.to_vec()).collect();
    GuardError {
        rater: rater.to_string(),
        reading,
        language,
        field: TextField::ALL[f].name(),
        n,
        confusion: m,
        sensitivity: Exact::new(tp, tp + fn_, CONFIDENCE),
        specificity: Exact::new(tn, tn + fp, CONFIDENCE),
        precision: Exact::new(tp, tp + fp, CONFIDENCE),
        error_rate: Exact::new(fp + fn_, n, CONFIDENCE),
        error_upper: upper_bound(fp + fn_, n, CONFIDENCE),
        miss_upper: upper_bound(fn_, tp + fn_, CONFIDENCE),
        false_alarm_upper: upper_bound(fp, tn + fp, CONFIDENCE),
        kappa: cohen_kappa(&table, CONFIDENCE),
        pending: c.pending,
    }
}

/// The error table of every guard run, the judge and each rule, per reading.
pub fn guard_error(store: &Store, ratings: &Ratings) -> Result<Vec<GuardError>, rusqlite::Error> {
    let at_random = audited(store, &ratings.samples)?;
    let per_sample = TextField::ALL.len();
    let mut out = Vec::new();
    for reading in ratings.judging_readings() {
        let m = ratings.verdicts_read(reading);
        let voters = Voters::new(ratings, &m, reading);
        type Say<'a> = Box<dyn Fn(usize) -> Option<bool> + 'a>;
        let mut raters: Vec<(String, Say<'_>)> = Vec::new();
        for (k, &run) in ratings.guards.iter().enumerate() {
            let voters = &voters;
            raters.push((
                format!("guard:{run}"),
                Box::new(move |row| {
                    let v = voters.guards(row)[k];
                    (v != MISSING).then_some(v == 1)
                }),
            ));
        }
        if let Some(j) = &ratings.judge {
            raters.push((
                format!("judge:{}", j.run),
                Box::new(move |row| {
                    let v = j.verdict(row, reading);
                    (v != MISSING).then_some(v == 1)
                }),
            ));
        }
        for rule in corrected_rules(ratings) {
            let voters = &voters;
            raters.push((
                format!("rule:{}", rule.name()),
                Box::new(move |row| voters.verdict(row, rule)),
            ));
        }
        for (name, say) in &raters {
            let mut per = PerLanguage::<[Cell; 4]>::new();
            for (s, _) in at_random.iter().enumerate().filter(|(_, a)| **a) {
                let language = ratings.samples.language.get(s);
                for f in 0..per_sample {
                    let row = s * per_sample + f;
                    let human = ratings.finals.verdicts[row];
                    let Some(guard) = say(row) else { continue };
                    if human == MISSING {
                        continue;
                    }
                    per.both(language, |cells| match human {
                        PENDING => cells[f].pending += 1,
                        h => cells[f].confusion[usize::from(guard)][h as usize] += 1,
                    });
                }
            }
            for (language, cells) in per.rows() {
                for (f, c) in cells.into_iter().enumerate() {
                    if c.confusion.iter().flatten().sum::<u64>() + c.pending > 0 {
                        out.push(error_row(name, reading, language.clone(), f, c));
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_from_the_confusion_matrix() {
        let c = Cell {
            // guard safe: 50 human-safe, 10 human-unsafe; guard unsafe: 0 human-safe, 40 unsafe.
            confusion: [[50, 10], [0, 40]],
            pending: 0,
        };
        let r = error_row("guard:1", None, None, 3, c);
        assert_eq!(r.field, "response");
        assert_eq!(r.sensitivity.share, Some(0.8));
        assert_eq!(r.specificity.share, Some(1.0));
        assert_eq!(r.precision.share, Some(1.0));
        assert_eq!(r.error_rate.share, Some(0.1));
        // No false alarm in 50 safe texts: at most 1 − 0.05^(1/50) ≈ 5.8%.
        let bound = r.false_alarm_upper.unwrap();
        assert!(
            (bound - (1.0 - 0.05f64.powf(1.0 / 50.0))).abs() < 1e-12,
            "{bound}"
        );
        let none = error_row(
            "guard:1",
            None,
            None,
            0,
            Cell {
                confusion: [[1200, 0], [0, 0]],
                pending: 0,
            },
        );
        assert!((none.error_upper.unwrap() - 0.0025).abs() < 1e-4);
        assert_eq!((none.kappa, none.sensitivity.share), (None, None));
    }
}
