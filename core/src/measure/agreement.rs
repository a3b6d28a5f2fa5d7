//! Inter-rater agreement on nominal ratings: percent agreement, Cohen's κ, Fleiss' κ and
//! Krippendorff's α (with missing ratings). Pure math, no store.
//!
//! Every statistic is computed from integer sufficient statistics (a confusion matrix for a pair,
//! per-item class counts for a group), so one pass over the items fills the tables of every scope
//! and the figures are exact up to the final divisions.

use serde::Serialize;

/// Below this many items a κ or α is reported but flagged as unstable: its standard error is
/// then around 0.1 or more even at moderate agreement (Sim & Wright 2005).
pub const MIN_STABLE_ITEMS: u64 = 30;

/// Above this share of one class, κ is flagged: high agreement can still give a low κ
/// (the "kappa paradox", Feinstein & Cicchetti 1990), so read it with the confusion matrix.
pub const SKEWED_SHARE: f64 = 0.95;

/// Why a figure is missing or should be read with care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Caveat {
    /// Nothing to compare: no item was rated by enough of the raters.
    NoItems,
    /// Every rating is the same class: chance agreement is 1 and κ/α are undefined.
    OneClassOnly,
    /// Fewer than [`MIN_STABLE_ITEMS`] items: the figure is unstable.
    FewItems,
    /// One class holds at least [`SKEWED_SHARE`] of the ratings: κ/α can be low despite high agreement.
    SkewedClasses,
}

fn caveats(n: u64, class_totals: &[u64]) -> Vec<Caveat> {
    let total: u64 = class_totals.iter().sum();
    if n == 0 || total == 0 {
        return vec![Caveat::NoItems];
    }
    let max = class_totals.iter().copied().max().unwrap_or(0);
    let mut out = Vec::new();
    if max == total {
        out.push(Caveat::OneClassOnly);
    } else if max as f64 >= SKEWED_SHARE * total as f64 {
        out.push(Caveat::SkewedClasses);
    }
    if n < MIN_STABLE_ITEMS {
        out.push(Caveat::FewItems);
    }
    out
}

/// `(observed − expected) / (1 − expected)`, undefined when chance agreement is total.
fn chance_corrected(observed: f64, expected: f64) -> Option<f64> {
    (expected < 1.0).then(|| (observed - expected) / (1.0 - expected))
}

/// Two raters on the items both rated: a `k × k` confusion matrix (rows: first rater).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairTable {
    k: usize,
    counts: Vec<u64>,
}

impl PairTable {
    pub fn new(k: usize) -> PairTable {
        PairTable {
            k,
            counts: vec![0; k * k],
        }
    }

    pub fn add(&mut self, a: u8, b: u8) {
        self.counts[a as usize * self.k + b as usize] += 1;
    }

    /// Row `a` (first rater's class), column `b` (second rater's class).
    pub fn matrix(&self) -> Vec<Vec<u64>> {
        self.counts.chunks(self.k).map(<[u64]>::to_vec).collect()
    }

    pub fn n(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn agreeing(&self) -> u64 {
        (0..self.k).map(|c| self.counts[c * self.k + c]).sum()
    }

    fn row_totals(&self) -> Vec<u64> {
        self.counts.chunks(self.k).map(|r| r.iter().sum()).collect()
    }

    fn column_totals(&self) -> Vec<u64> {
        (0..self.k)
            .map(|c| (0..self.k).map(|r| self.counts[r * self.k + c]).sum())
            .collect()
    }

    pub fn percent_agreement(&self) -> Option<f64> {
        let n = self.n();
        (n > 0).then(|| self.agreeing() as f64 / n as f64)
    }

    /// Cohen (1960): `(p_o − p_e) / (1 − p_e)` with `p_e` from each rater's own marginals.
    pub fn cohen_kappa(&self) -> Option<f64> {
        let n = self.n();
        if n == 0 {
            return None;
        }
        let nf = n as f64;
        let expected: f64 = self
            .row_totals()
            .iter()
            .zip(self.column_totals())
            .map(|(&r, c)| r as f64 * c as f64)
            .sum::<f64>()
            / (nf * nf);
        chance_corrected(self.agreeing() as f64 / nf, expected)
    }

    pub fn caveats(&self) -> Vec<Caveat> {
        let totals: Vec<u64> = self
            .row_totals()
            .iter()
            .zip(self.column_totals())
            .map(|(r, c)| r + c)
            .collect();
        caveats(self.n(), &totals)
    }
}

/// Three or more raters, with missing ratings: the sufficient statistics of Fleiss' κ (items
/// every rater rated) and Krippendorff's α (items with at least two ratings).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupTable {
    k: usize,
    raters: usize,
    /// Items every rater rated; the sum over them of Σ_c n_c²; their class totals.
    full_items: u64,
    full_sum_sq: u64,
    full_totals: Vec<u64>,
    /// Per number of ratings `m` on an item (index `m`): the integer coincidences
    /// Σ_items n_c·(n_k − [c = k]), divided by `m − 1` only at the end.
    coincidences: Vec<Vec<u64>>,
    /// Items with at least two ratings, and the sum of their shares of agreeing rater pairs.
    pairable_items: u64,
    pair_share_sum: f64,
}

impl GroupTable {
    pub fn new(k: usize, raters: usize) -> GroupTable {
        GroupTable {
            k,
            raters,
            full_items: 0,
            full_sum_sq: 0,
            full_totals: vec![0; k],
            coincidences: vec![vec![0; k * k]; raters + 1],
            pairable_items: 0,
            pair_share_sum: 0.0,
        }
    }

    /// Adds one item given its class counts (`counts[c]` raters chose class `c`).
    pub fn add(&mut self, counts: &[u64]) {
        let m: u64 = counts.iter().sum();
        if m as usize == self.raters {
            self.full_items += 1;
            self.full_sum_sq += counts.iter().map(|c| c * c).sum::<u64>();
            for (t, c) in self.full_totals.iter_mut().zip(counts) {
                *t += c;
            }
        }
        if m < 2 {
            return;
        }
        let cell = &mut self.coincidences[m as usize];
        for (c, &nc) in counts.iter().enumerate() {
            if nc == 0 {
                continue;
            }
            for (k, &nk) in counts.iter().enumerate() {
                cell[c * self.k + k] += nc * if c == k { nk - 1 } else { nk };
            }
        }
        let same: u64 = counts.iter().map(|c| c * c.saturating_sub(1)).sum();
        self.pairable_items += 1;
        self.pair_share_sum += same as f64 / (m * (m - 1)) as f64;
    }

    /// Items with at least two ratings (the α items).
    pub fn n(&self) -> u64 {
        self.pairable_items
    }

    /// Items every rater rated (the Fleiss items).
    pub fn n_all_raters(&self) -> u64 {
        self.full_items
    }

    /// Mean over pairable items of the share of rater pairs that agree (Fleiss' P̄ when every
    /// rater rated every item).
    pub fn percent_agreement(&self) -> Option<f64> {
        (self.pairable_items > 0).then(|| self.pair_share_sum / self.pairable_items as f64)
    }

    /// Fleiss (1971) on the items every rater rated.
    pub fn fleiss_kappa(&self) -> Option<f64> {
        if self.full_items == 0 || self.raters < 2 {
            return None;
        }
        let n = self.full_items as f64;
        let m = self.raters as f64;
        let observed = (self.full_sum_sq as f64 - n * m) / (n * m * (m - 1.0));
        let expected: f64 = self
            .full_totals
            .iter()
            .map(|&t| (t as f64 / (n * m)).powi(2))
            .sum();
        chance_corrected(observed, expected)
    }

    /// The coincidence matrix `o_ck` (Krippendorff 2011, section C).
    fn coincidence_matrix(&self) -> Vec<f64> {
        let mut o = vec![0.0; self.k * self.k];
        for (m, cell) in self.coincidences.iter().enumerate().skip(2) {
            for (acc, &v) in o.iter_mut().zip(cell) {
                *acc += v as f64 / (m - 1) as f64;
            }
        }
        o
    }

    /// Krippendorff's α for nominal data: `1 − (n − 1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k`.
    pub fn krippendorff_alpha(&self) -> Option<f64> {
        let o = self.coincidence_matrix();
        let marg: Vec<f64> = o.chunks(self.k).map(|r| r.iter().sum()).collect();
        let n: f64 = marg.iter().sum();
        if n < 2.0 {
            return None;
        }
        let mut observed = 0.0;
        let mut expected = 0.0;
        for c in 0..self.k {
            for k in (0..self.k).filter(|&k| k != c) {
                observed += o[c * self.k + k];
                expected += marg[c] * marg[k];
            }
        }
        (expected > 0.0).then(|| 1.0 - (n - 1.0) * observed / expected)
    }

    pub fn caveats(&self) -> Vec<Caveat> {
        let totals: Vec<u64> = (0..self.k)
            .map(|c| {
                self.coincidences
                    .iter()
                    .map(|cell| cell[c * self.k..(c + 1) * self.k].iter().sum::<u64>())
                    .sum()
            })
            .collect();
        caveats(self.pairable_items, &totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("defined");
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    fn pair(k: usize, ratings: &[(u8, u8)]) -> PairTable {
        let mut t = PairTable::new(k);
        for &(a, b) in ratings {
            t.add(a, b);
        }
        t
    }

    /// Cohen's κ, the worked example on Wikipedia ("Cohen's kappa", Example 1): 50 proposals,
    /// yes/yes 20, yes/no 5, no/yes 10, no/no 15 → p_o = 0.7, p_e = 0.5, κ = 0.4.
    #[test]
    fn cohen_textbook_example() {
        let mut ratings = Vec::new();
        ratings.extend(std::iter::repeat_n((0, 0), 20));
        ratings.extend(std::iter::repeat_n((0, 1), 5));
        ratings.extend(std::iter::repeat_n((1, 0), 10));
        ratings.extend(std::iter::repeat_n((1, 1), 15));
        let t = pair(2, &ratings);
        close(t.percent_agreement(), 0.7);
        close(t.cohen_kappa(), 0.4);
        assert_eq!(t.matrix(), vec![vec![20, 5], vec![10, 15]]);
        assert!(t.caveats().is_empty());
    }

    /// Fleiss (1971)'s layout as worked on Wikipedia ("Fleiss' kappa"): 10 subjects, 14 raters,
    /// 5 categories → P̄ = 0.378, P̄e = 0.213, κ = 0.210 (to three places there).
    #[test]
    fn fleiss_wikipedia_example() {
        let rows: [[u64; 5]; 10] = [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ];
        let mut g = GroupTable::new(5, 14);
        for r in &rows {
            g.add(r);
        }
        let k = g.fleiss_kappa().unwrap();
        assert!((k - 0.210).abs() < 5e-4, "{k}");
        // Exact values from the table: P̄ = 688/1820, P̄e = 4170/19600.
        let (p, pe) = (688.0 / 1820.0, 4170.0 / 19600.0);
        close(g.percent_agreement(), p);
        close(Some(k), (p - pe) / (1.0 - pe));
        assert_eq!(g.n_all_raters(), 10);
    }

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
    /// 12 units, nominal values 1–5 with missing data → α = 0.743.
    #[test]
    fn krippendorff_2011_missing_data_example() {
        // Columns are units 1..12; None = missing.
        let obs: [[Option<u8>; 12]; 4] = {
            const N: Option<u8> = None;
            [
                [
                    Some(1),
                    Some(2),
                    Some(3),
                    Some(3),
                    Some(2),
                    Some(1),
                    Some(4),
                    Some(1),
                    Some(2),
                    N,
                    N,
                    N,
                ],
                [
                    Some(1),
                    Some(2),
                    Some(3),
                    Some(3),
                    Some(2),
                    Some(2),
                    Some(4),
                    Some(1),
                    Some(2),
                    Some(5),
                    N,
                    Some(3),
                ],
                [
                    N,
                    Some(3),
                    Some(3),
                    Some(3),
                    Some(2),
                    Some(3),
                    Some(4),
                    Some(2),
                    Some(2),
                    Some(5),
                    Some(1),
                    N,
                ],
                [
                    Some(1),
                    Some(2),
                    Some(3),
                    Some(3),
                    Some(2),
                    Some(4),
                    Some(4),
                    Some(1),
                    Some(2),
                    Some(5),
                    Some(1),
                    N,
                ],
            ]
        };
        let mut g = GroupTable::new(5, 4);
        for unit in 0..12 {
            let mut counts = [0u64; 5];
            for o in &obs {
                if let Some(v) = o[unit] {
                    counts[v as usize - 1] += 1;
                }
            }
            g.add(&counts);
        }
        let alpha = g.krippendorff_alpha().unwrap();
        assert!((alpha - 0.743).abs() < 5e-4, "{alpha}");
        // n = 40 pairable values; unit 12 (one value) is not pairable.
        assert_eq!(g.n(), 11);
        let o = g.coincidence_matrix();
        let n: f64 = o.iter().sum();
        assert!((n - 40.0).abs() < 1e-12);
    }

    #[test]
    fn undefined_and_unstable_are_said() {
        let t = pair(2, &[(0, 0), (0, 0), (0, 0)]);
        assert_eq!(t.cohen_kappa(), None);
        assert_eq!(t.percent_agreement(), Some(1.0));
        assert_eq!(t.caveats(), vec![Caveat::OneClassOnly, Caveat::FewItems]);
        let empty = PairTable::new(2);
        assert_eq!(
            (empty.cohen_kappa(), empty.percent_agreement()),
            (None, None)
        );
        assert_eq!(empty.caveats(), vec![Caveat::NoItems]);
        let mut g = GroupTable::new(2, 3);
        g.add(&[3, 0]);
        g.add(&[2, 0]);
        assert_eq!((g.fleiss_kappa(), g.krippendorff_alpha()), (None, None));
        assert_eq!(g.caveats(), vec![Caveat::OneClassOnly, Caveat::FewItems]);
        g.add(&[1, 0]);
        assert_eq!(g.n(), 2, "a lone rating is not pairable");
    }

    #[test]
    fn opposite_single_classes_give_kappa_zero() {
        let t = pair(2, &[(0, 1); 40]);
        close(t.cohen_kappa(), 0.0);
        close(t.percent_agreement(), 0.0);
    }
}
