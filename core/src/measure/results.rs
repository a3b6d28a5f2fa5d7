//! Audit results: per language, the share of audited samples passing Q1–Q3 with 95% Wilson
//! intervals (the table the RefusEU paper reports), each guard's accuracy against the
//! reviewers' final verdicts, and the language consistency of the chosen answers.
//!
//! Pass rates and guard accuracy read final answers: an adjudicated final answer where one
//! exists, or, without one, what every reviewer's current answer says. Reviewers who differ
//! leave the question or text pending until an adjudicator decides (one reviewer's `no` is a
//! finding an audit must not average away, nor outvote); Q3 `na` leaves the sample out of Q3.
//! Time per item is the median of each reviewer's timed answers per language.

use std::collections::BTreeMap;

use serde::Serialize;

use super::MeasureError;
use super::ratings::{MISSING, PENDING, Ratings, Samples};
use crate::filter::SampleFilter;
use crate::guard::Reading;
use crate::guard::run::TextField;
use crate::store::Store;

/// z for a two-sided 95% interval: the 0.975 quantile of the standard normal.
const Z95: f64 = 1.959_963_984_540_054;

/// A share with its 95% Wilson score interval (null when `n` is 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Proportion {
    pub successes: u64,
    pub n: u64,
    pub share: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Proportion {
    /// Wilson (1927): good coverage near 0 and 1 and at small n, where the normal interval fails.
    pub fn wilson(successes: u64, n: u64) -> Proportion {
        if n == 0 {
            return Proportion::default();
        }
        let (k, nf) = (successes as f64, n as f64);
        let p = k / nf;
        let z2 = Z95 * Z95;
        let denom = 1.0 + z2 / nf;
        let center = (p + z2 / (2.0 * nf)) / denom;
        let half = Z95 / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
        Proportion {
            successes,
            n,
            share: Some(p),
            low: Some((center - half).max(0.0)),
            high: Some((center + half).min(1.0)),
        }
    }
}

/// Counts that become a [`Proportion`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tally {
    pub successes: u64,
    pub n: u64,
}

impl Tally {
    pub fn add(&mut self, success: bool) {
        self.n += 1;
        self.successes += u64::from(success);
    }

    pub fn proportion(self) -> Proportion {
        Proportion::wilson(self.successes, self.n)
    }
}

/// Tallies per language and overall (`None`), in language order.
pub(crate) struct PerLanguage<T>(BTreeMap<Option<String>, T>);

impl<T: Default> PerLanguage<T> {
    pub fn new() -> Self {
        PerLanguage(BTreeMap::new())
    }

    /// The overall entry and the language's entry.
    pub fn both(&mut self, language: &str, mut f: impl FnMut(&mut T)) {
        f(self.0.entry(None).or_default());
        f(self.0.entry(Some(language.to_string())).or_default());
    }

    pub fn rows(self) -> impl Iterator<Item = (Option<String>, T)> {
        self.0.into_iter()
    }
}

/// Q1–Q3 pass rates of one language (`language` null: all languages).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionRow {
    pub language: Option<String>,
    /// Samples with at least one answer.
    pub audited: u64,
    /// Of those, samples where reviewers differ on a question and no final answer decides it
    /// (left out of that question's rate).
    pub pending: u64,
    pub q1: Proportion,
    pub q2: Proportion,
    pub q3: Proportion,
}

/// One guard against the reviewers' final verdicts on the same texts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuardAccuracy {
    pub guard: String,
    /// Three-class guards: `controversial` read as unsafe (strict) or safe (loose), a row each,
    /// the profile's own reading first; null for two-class guards.
    pub reading: Option<Reading>,
    pub language: Option<String>,
    pub accuracy: Proportion,
    /// Rows: the guard's verdict (safe, unsafe); columns: the reviewers' final verdict.
    pub confusion: [[u64; 2]; 2],
    /// Texts the guard judged where reviewers differ and no adjudicator has decided (left out).
    pub pending: u64,
}

/// The share of chosen answers written in the prompt's language.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Consistency {
    pub language: Option<String>,
    pub consistent: Proportion,
    /// Texts whose language the detector could not tell (left out of `consistent`).
    pub unsure: u64,
}

/// How long a reviewer takes per item in one language (`language` null: all their languages).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemTime {
    pub reviewer: String,
    pub language: Option<String>,
    /// Timed answers (shown → submitted; untimed ones, e.g. from the CLI, are left out).
    pub answers: u64,
    pub median_seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    pub questions: Vec<QuestionRow>,
    pub guard_accuracy: Vec<GuardAccuracy>,
    /// Each guard, the judge and each rule on the random audit sample (see `guard_error`).
    pub guard_error: Vec<super::guard_error::GuardError>,
    /// Each guard's P(unsafe) against the reviewers on the random audit sample.
    pub calibration: Vec<super::calibration::Calibration>,
    pub language_consistency: Vec<Consistency>,
    pub time_per_item: Vec<ItemTime>,
}

/// Two language codes name the same language when their primary subtags match
/// (`pt-BR` is Portuguese, like a detector's `pt`).
pub fn same_language(a: &str, b: &str) -> bool {
    let primary = |s: &str| {
        s.split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    primary(a) == primary(b)
}

fn questions(ratings: &Ratings) -> Vec<QuestionRow> {
    #[derive(Default)]
    struct Row {
        audited: u64,
        pending: u64,
        q: [Tally; 3],
    }
    let humans = ratings.humans;
    let mut per = PerLanguage::<Row>::new();
    for s in 0..ratings.samples.len() {
        let answered = ratings.questions.iter().any(|m| {
            m.values[s * m.raters..s * m.raters + humans]
                .iter()
                .any(|&v| v != MISSING)
        });
        if !answered {
            continue;
        }
        let finals = [0, 1, 2].map(|q| ratings.finals.questions[q][s]);
        per.both(ratings.samples.language.get(s), |row| {
            row.audited += 1;
            row.pending += u64::from(finals.contains(&PENDING));
            for (t, &f) in row.q.iter_mut().zip(&finals) {
                // Class 0 is yes, 1 is no; Q3's na (2), pending and missing leave it out.
                if f == 0 || f == 1 {
                    t.add(f == 0);
                }
            }
        });
    }
    per.rows()
        .map(|(language, r)| QuestionRow {
            language,
            audited: r.audited,
            pending: r.pending,
            q1: r.q[0].proportion(),
            q2: r.q[1].proportion(),
            q3: r.q[2].proportion(),
        })
        .collect()
}

fn guard_accuracy(ratings: &Ratings) -> Vec<GuardAccuracy> {
    let per_sample = TextField::ALL.len();
    let mut out = Vec::new();
    for (k, name) in ratings.raters.iter().skip(ratings.humans).enumerate() {
        let g = ratings.humans + k;
        let readings = match ratings.readings[k] {
            None => vec![None],
            Some(own) => vec![Some(own), Some(own.other())],
        };
        for reading in readings {
            let m = ratings.verdicts_read(reading);
            let mut per = PerLanguage::<([[u64; 2]; 2], u64)>::new();
            for (row, values) in m.rows() {
                let (guard, human) = (values[g], ratings.finals.verdicts[row]);
                if guard == MISSING || human == MISSING {
                    continue;
                }
                let language = ratings.samples.language.get(row / per_sample);
                per.both(language, |(c, pending)| match human {
                    PENDING => *pending += 1,
                    h => c[guard as usize][h as usize] += 1,
                });
            }
            out.extend(per.rows().map(|(language, (confusion, pending))| {
                let agree = confusion[0][0] + confusion[1][1];
                let n = agree + confusion[0][1] + confusion[1][0];
                GuardAccuracy {
                    guard: name.clone(),
                    reading,
                    language,
                    accuracy: Proportion::wilson(agree, n),
                    confusion,
                    pending,
                }
            }));
        }
    }
    out
}

/// Per language: how many detected languages of `field` match the sample's, and how many
/// detections were unsure. Only samples where `field` has text count.
pub(crate) fn field_consistency(
    store: &Store,
    samples: &Samples,
    field: TextField,
) -> Result<Vec<Consistency>, MeasureError> {
    let name = field.name();
    let mut stmt = store.conn().prepare(&format!(
        "SELECT t.sample_id, t.detected FROM text_languages t JOIN samples s ON s.id = t.sample_id
         WHERE t.field = '{name}' AND s.{name} IS NOT NULL AND trim(s.{name}) != ''"
    ))?;
    let mut rows = stmt.query([])?;
    let mut per = PerLanguage::<(Tally, u64)>::new();
    while let Some(r) = rows.next()? {
        let Some(s) = samples.position(r.get(0)?) else {
            continue;
        };
        let language = samples.language.get(s);
        let detected: Option<String> = r.get(1)?;
        per.both(language, |(t, unsure)| match &detected {
            Some(d) => t.add(same_language(d, language)),
            None => *unsure += 1,
        });
    }
    Ok(per
        .rows()
        .map(|(language, (t, unsure))| Consistency {
            language,
            consistent: t.proportion(),
            unsure,
        })
        .collect())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The median time per item of each reviewer, per language and over all their languages,
/// from every timed answer version to a sample in scope.
fn time_per_item(store: &Store, samples: &Samples) -> Result<Vec<ItemTime>, MeasureError> {
    let mut stmt = store.conn().prepare(
        "SELECT r.name, a.sample_id, a.seconds FROM annotations AS a
         JOIN reviewers AS r ON r.id = a.reviewer_id WHERE a.seconds IS NOT NULL",
    )?;
    let mut rows = stmt.query([])?;
    let mut times: BTreeMap<(String, Option<String>), Vec<f64>> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let Some(s) = samples.position(r.get(1)?) else {
            continue;
        };
        let (name, seconds): (String, f64) = (r.get(0)?, r.get(2)?);
        let language = samples.language.get(s).to_string();
        times.entry((name.clone(), None)).or_default().push(seconds);
        times
            .entry((name, Some(language)))
            .or_default()
            .push(seconds);
    }
    Ok(times
        .into_iter()
        .map(|((reviewer, language), mut seconds)| ItemTime {
            reviewer,
            language,
            answers: seconds.len() as u64,
            median_seconds: median(&mut seconds),
        })
        .collect())
}

pub fn results_from(store: &Store, ratings: &Ratings) -> Result<Results, MeasureError> {
    Ok(Results {
        questions: questions(ratings),
        guard_accuracy: guard_accuracy(ratings),
        guard_error: super::guard_error::guard_error(store, ratings)?,
        calibration: super::calibration::calibration(store, ratings)?,
        language_consistency: field_consistency(store, &ratings.samples, TextField::Chosen)?,
        time_per_item: time_per_item(store, &ratings.samples)?,
    })
}

pub fn results(store: &Store, filter: &SampleFilter) -> Result<Results, MeasureError> {
    results_from(store, &Ratings::load(store, filter)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), Table I, example (a): 81/263 → 0.2553 to 0.3662.
        let p = Proportion::wilson(81, 263);
        assert!((p.low.unwrap() - 0.2553).abs() < 5e-5, "{p:?}");
        assert!((p.high.unwrap() - 0.3662).abs() < 5e-5, "{p:?}");
        // Example (c): 0/20 → 0 to 0.1611.
        let p = Proportion::wilson(0, 20);
        assert_eq!(p.low, Some(0.0));
        assert!((p.high.unwrap() - 0.1611).abs() < 5e-5, "{p:?}");
        assert_eq!(Proportion::wilson(0, 0).share, None);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [9.0, 1.0, 4.0]), 4.0);
        assert_eq!(median(&mut [4.0, 1.0, 9.0, 2.0]), 3.0);
    }

    #[test]
    fn languages_match_by_primary_subtag() {
        assert!(same_language("pt-BR", "pt"));
        assert!(same_language("PL", "pl"));
        assert!(!same_language("sk", "cs"));
    }
}
