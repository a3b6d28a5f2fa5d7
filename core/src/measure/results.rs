//! Audit results: per language, the share of audited samples passing Q1–Q3 with 95% Wilson
//! intervals (the table the RefusEU paper reports), each guard's accuracy against the
//! reviewers, and the language consistency of the chosen answers.
//!
//! A sample passes a question when every current answer to it is `yes` (one reviewer's `no` is
//! a finding an audit must not average away); Q3 `na` answers leave the sample out of Q3.

use std::collections::BTreeMap;

use serde::Serialize;

use super::MeasureError;
use super::ratings::{MISSING, Matrix, Ratings, Samples};
use crate::filter::SampleFilter;
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
    pub q1: Proportion,
    pub q2: Proportion,
    pub q3: Proportion,
}

/// One guard against the reviewers' majority verdict on the same texts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuardAccuracy {
    pub guard: String,
    pub language: Option<String>,
    pub accuracy: Proportion,
    /// Rows: the guard's verdict (safe, unsafe); columns: the reviewers'.
    pub confusion: [[u64; 2]; 2],
}

/// The share of chosen answers written in the prompt's language.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Consistency {
    pub language: Option<String>,
    pub consistent: Proportion,
    /// Texts whose language the detector could not tell (left out of `consistent`).
    pub unsure: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    pub questions: Vec<QuestionRow>,
    pub guard_accuracy: Vec<GuardAccuracy>,
    pub language_consistency: Vec<Consistency>,
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

/// The reviewers' majority class of a row, `None` when there is no answer or a tie.
pub(crate) fn human_majority(row: &[u8], humans: usize, k: usize) -> Option<u8> {
    let mut counts = [0u32; 3];
    for &v in row[..humans].iter().filter(|&&v| v != MISSING) {
        counts[v as usize] += 1;
    }
    let best = (0..k).max_by_key(|&c| counts[c])?;
    let top = counts[best];
    (top > 0 && counts[..k].iter().filter(|&&c| c == top).count() == 1).then_some(best as u8)
}

fn questions(ratings: &Ratings) -> Vec<QuestionRow> {
    #[derive(Default)]
    struct Row {
        audited: u64,
        q: [Tally; 3],
    }
    let humans = ratings.humans;
    let mut per = PerLanguage::<Row>::new();
    for s in 0..ratings.samples.len() {
        // Per question: Some(pass) when the sample has a yes/no answer.
        let outcome = |m: &Matrix| {
            let row = &m.values[s * m.raters..s * m.raters + humans];
            let yes_no = row.iter().filter(|&&v| v == 0 || v == 1);
            let mut any = false;
            let mut all_yes = true;
            for &v in yes_no {
                any = true;
                all_yes &= v == 0;
            }
            any.then_some(all_yes)
        };
        let answered = ratings.questions.iter().any(|m| {
            m.values[s * m.raters..s * m.raters + humans]
                .iter()
                .any(|&v| v != MISSING)
        });
        if !answered {
            continue;
        }
        let outcomes = [0, 1, 2].map(|q| outcome(&ratings.questions[q]));
        per.both(ratings.samples.language.get(s), |row| {
            row.audited += 1;
            for (t, o) in row.q.iter_mut().zip(outcomes) {
                if let Some(pass) = o {
                    t.add(pass);
                }
            }
        });
    }
    per.rows()
        .map(|(language, r)| QuestionRow {
            language,
            audited: r.audited,
            q1: r.q[0].proportion(),
            q2: r.q[1].proportion(),
            q3: r.q[2].proportion(),
        })
        .collect()
}

fn guard_accuracy(ratings: &Ratings) -> Vec<GuardAccuracy> {
    let m = &ratings.verdicts;
    let per_sample = TextField::ALL.len();
    let mut out = Vec::new();
    for (g, name) in ratings.raters.iter().enumerate().skip(ratings.humans) {
        let mut per = PerLanguage::<[[u64; 2]; 2]>::new();
        for (row, values) in m.rows() {
            let guard = values[g];
            let Some(human) = human_majority(values, ratings.humans, 2) else {
                continue;
            };
            if guard == MISSING {
                continue;
            }
            let language = ratings.samples.language.get(row / per_sample);
            per.both(language, |c| c[guard as usize][human as usize] += 1);
        }
        out.extend(per.rows().map(|(language, confusion)| {
            let agree = confusion[0][0] + confusion[1][1];
            let n = agree + confusion[0][1] + confusion[1][0];
            GuardAccuracy {
                guard: name.clone(),
                language,
                accuracy: Proportion::wilson(agree, n),
                confusion,
            }
        }));
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

pub fn results_from(store: &Store, ratings: &Ratings) -> Result<Results, MeasureError> {
    Ok(Results {
        questions: questions(ratings),
        guard_accuracy: guard_accuracy(ratings),
        language_consistency: field_consistency(store, &ratings.samples, TextField::Chosen)?,
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
    fn languages_match_by_primary_subtag() {
        assert!(same_language("pt-BR", "pt"));
        assert!(same_language("PL", "pl"));
        assert!(!same_language("sk", "cs"));
    }

    #[test]
    fn majority_needs_a_single_top_class() {
        assert_eq!(human_majority(&[0, 0, 1, 1], 3, 2), Some(0));
        assert_eq!(human_majority(&[0, 1, MISSING], 3, 2), None);
        assert_eq!(human_majority(&[MISSING, MISSING, 0], 2, 2), None);
    }
}
