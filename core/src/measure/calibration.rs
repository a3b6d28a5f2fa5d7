//! Whether a guard's P(unsafe) can be read as a probability: per guard × language, its
//! P(unsafe) on the texts of the random audit sample against the reviewers' final verdicts.
//! A guard is calibrated when, of the texts it gives P(unsafe) ≈ 0.3, about 30% are unsafe;
//! the triage band of uncertain texts and any threshold on P(unsafe) assume it.
//!
//! Three figures, all on texts that entered review at random (see [`super::corrected`]):
//! - the reliability diagram: 10 equal-width bins of P(unsafe), each with its count, mean
//!   P(unsafe) and share of human-unsafe texts (the bins of scikit-learn's
//!   `calibration_curve(strategy='uniform', n_bins=10)`: a value on an inner edge falls in the
//!   bin below it);
//! - the Brier score, the mean squared difference between P(unsafe) and the human verdict
//!   (0 perfect; 0.25 is what always saying 0.5 scores) (Brier 1950);
//! - the expected calibration error, Σ_b (n_b / n) · |share unsafe_b − mean P_b| over the
//!   bins (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017).
//!
//! A three-class guard's P(unsafe) is read as its profile reads `controversial`: the strict
//! reading adds P(controversial), as triage's uncertainty band does.

use serde::Serialize;

use super::corrected::audited;
use super::ratings::Ratings;
use super::results::PerLanguage;
use crate::guard::run::TextField;
use crate::store::Store;

/// Bins of the reliability diagram.
pub const BINS: usize = 10;

/// One bin of P(unsafe).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bin {
    pub low: f64,
    pub high: f64,
    /// Texts whose P(unsafe) falls in the bin.
    pub n: u64,
    /// Of those, the texts the reviewers call unsafe.
    pub human_unsafe: u64,
    /// Null for an empty bin.
    pub mean_p: Option<f64>,
    pub observed: Option<f64>,
}

/// The reliability diagram, Brier score and ECE of a set of (P(unsafe), human unsafe) pairs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reliability {
    pub n: u64,
    /// Null when `n` is 0.
    pub brier: Option<f64>,
    pub ece: Option<f64>,
    pub bins: Vec<Bin>,
}

/// The inner edge `i` of the bins (`i / 10` as numpy's `linspace` computes it).
fn edge(i: usize) -> f64 {
    if i == BINS {
        1.0
    } else {
        i as f64 * (1.0 / BINS as f64)
    }
}

/// The bin of `p`: how many inner edges lie below it.
fn bin_of(p: f64) -> usize {
    (1..BINS).filter(|&i| edge(i) < p).count()
}

pub fn reliability(points: &[(f64, bool)]) -> Reliability {
    let mut sums = [(0u64, 0u64, 0.0f64); BINS];
    let mut squared = 0.0;
    for &(p, y) in points {
        let b = &mut sums[bin_of(p)];
        b.0 += 1;
        b.1 += u64::from(y);
        b.2 += p;
        squared += (p - f64::from(u8::from(y))).powi(2);
    }
    let n = points.len() as u64;
    let bins: Vec<Bin> = sums
        .iter()
        .enumerate()
        .map(|(i, &(count, unsafe_, sum))| Bin {
            low: edge(i),
            high: edge(i + 1),
            n: count,
            human_unsafe: unsafe_,
            mean_p: (count > 0).then(|| sum / count as f64),
            observed: (count > 0).then(|| unsafe_ as f64 / count as f64),
        })
        .collect();
    let ece = (n > 0).then(|| {
        bins.iter()
            .filter_map(|b| Some(b.n as f64 / n as f64 * (b.observed? - b.mean_p?).abs()))
            .sum()
    });
    Reliability {
        n,
        brier: (n > 0).then(|| squared / n as f64),
        ece,
        bins,
    }
}

/// One guard run on one language (`language` null: all languages), every text field pooled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// `guard:<run>`.
    pub guard: String,
    pub language: Option<String>,
    #[serde(flatten)]
    pub reliability: Reliability,
}

/// Calibration of every guard run in use that gives P(unsafe), per language and overall.
pub fn calibration(store: &Store, ratings: &Ratings) -> Result<Vec<Calibration>, rusqlite::Error> {
    let at_random = audited(store, &ratings.samples)?;
    let mut out = Vec::new();
    let mut stmt = store.conn().prepare_cached(
        "SELECT v.sample_id, v.field,
                v.p_unsafe + CASE json_extract(g.params, '$.reading')
                             WHEN 'strict' THEN coalesce(v.p_controversial, 0) ELSE 0 END
         FROM verdicts AS v JOIN guard_runs AS g ON g.id = v.run_id
         WHERE v.run_id = ?1 AND v.p_unsafe IS NOT NULL
           AND v.sample_id IN (SELECT sample_id FROM triage_reasons WHERE reason = 'audit_sample')
         ORDER BY v.sample_id, v.field",
    )?;
    for &run in &ratings.guards {
        let mut per = PerLanguage::<Vec<(f64, bool)>>::new();
        let mut rows = stmt.query([run])?;
        while let Some(r) = rows.next()? {
            let Some(s) = ratings.samples.position(r.get(0)?) else {
                continue;
            };
            let field: String = r.get(1)?;
            let Some(f) = TextField::ALL.iter().position(|t| t.name() == field) else {
                continue;
            };
            let human = ratings.finals.verdicts[s * TextField::ALL.len() + f];
            // 0 safe, 1 unsafe; pending and missing verdicts are neither.
            if !at_random[s] || human > 1 {
                continue;
            }
            let p: f64 = r.get::<_, f64>(2)?.clamp(0.0, 1.0);
            per.both(ratings.samples.language.get(s), |v| v.push((p, human == 1)));
        }
        out.extend(per.rows().map(|(language, points)| Calibration {
            guard: format!("guard:{run}"),
            language,
            reliability: reliability(&points),
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_brier_and_ece_by_hand() {
        // 0.1 lies on the first inner edge: the bin below, as scikit-learn's searchsorted.
        let r = reliability(&[(0.1, false), (0.15, true), (0.95, true), (1.0, true)]);
        let counts: Vec<u64> = r.bins.iter().map(|b| b.n).collect();
        assert_eq!(counts, [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
        let brier = (0.01 + 0.85f64.powi(2) + 0.05f64.powi(2)) / 4.0;
        assert!((r.brier.unwrap() - brier).abs() < 1e-15);
        // Bins: |0 − 0.1|, |1 − 0.15|, |1 − 0.975|, each weighted by its share of texts.
        let ece = 0.25 * 0.1 + 0.25 * 0.85 + 0.5 * 0.025;
        assert!((r.ece.unwrap() - ece).abs() < 1e-15);
        let none = reliability(&[]);
        assert_eq!((none.n, none.brier, none.ece), (0, None, None));
        assert_eq!(none.bins[3].mean_p, None);
    }
}
