//! Estimators for figures a researcher can defend: exact binomial intervals, Cohen's κ with its
//! standard error, and prediction-powered inference (PPI++) for a share measured by a guard on
//! every text and by humans on a random sample of them. Pure math, no store.
//!
//! - **Clopper–Pearson** (1934): the exact binomial interval from Beta quantiles, as statsmodels'
//!   `proportion_confint(method="beta")`; with no errors, the one-sided upper bound
//!   (0 of 1,200 → ≤ 0.25%) instead of an empty interval.
//! - **Cohen's κ** with the large-sample variance of Fleiss, Cohen & Everitt (1969), as
//!   statsmodels' `cohens_kappa`.
//! - **PPI++** (Angelopoulos, Duchi & Zrnic 2023, arXiv 2311.01453), as `ppi_py`'s
//!   `ppi_mean_ci`: `θ̂ = λ·mean(Ŷ over all texts) + mean(Y − λŶ over the audited texts)`.
//!   It is unbiased for any fixed λ because the audited texts are a random sample of the same
//!   texts: the second mean's expectation is `E[Y] − λE[Ŷ]`, so the guard's bias cancels and
//!   only its noise remains. λ is tuned to minimise the variance and clipped to [0, 1]
//!   (λ = 0: the humans alone; λ = 1: the guard's figure plus its mean error).
//! - **Stratified PPI** (Fisch et al. 2024, arXiv 2406.04291): one PPI++ estimate per stratum
//!   (language), combined with weights `N_k/N`; the variances add with weights `(N_k/N)²`.

use serde::Serialize;
use statrs::distribution::{Beta, Continuous, ContinuousCDF, Normal};

/// The two-sided normal quantile for `confidence` (1.96 for 0.95).
pub fn z(confidence: f64) -> f64 {
    Normal::standard().inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// Clopper–Pearson: `[Beta(α/2; x, n−x+1), Beta(1−α/2; x+1, n−x)]`, 0 and 1 at the ends.
/// None when `n` is 0.
pub fn clopper_pearson(x: u64, n: u64, confidence: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let tail = (1.0 - confidence) / 2.0;
    let (xf, nf) = (x as f64, n as f64);
    let low = if x == 0 {
        0.0
    } else {
        beta_quantile(xf, nf - xf + 1.0, tail)
    };
    let high = if x == n {
        1.0
    } else {
        beta_quantile(xf + 1.0, nf - xf, 1.0 - tail)
    };
    Some((low, high))
}

/// The one-sided upper bound of a binomial share: the largest rate that would still show `x`
/// or fewer in `n` with probability `1 − confidence` (0 of n: `1 − (1 − confidence)^(1/n)`).
pub fn upper_bound(x: u64, n: u64, confidence: f64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    if x == n {
        return Some(1.0);
    }
    Some(beta_quantile(x as f64 + 1.0, (n - x) as f64, confidence))
}

/// statrs's Beta quantile (AS 109) can be off by ~1e-10 relative (e.g. `Beta(8, 1193)` at
/// 0.95); two Newton steps on its own CDF bring it within ~1e-13 of scipy's.
fn beta_quantile(a: f64, b: f64, p: f64) -> f64 {
    let beta = Beta::new(a, b).expect("shape parameters are positive");
    let mut x = beta.inverse_cdf(p);
    for _ in 0..2 {
        let density = beta.pdf(x);
        if !(density.is_finite() && density > 0.0) {
            break;
        }
        let next = x - (beta.cdf(x) - p) / density;
        if !(0.0..=1.0).contains(&next) {
            break;
        }
        x = next;
    }
    x
}

/// A share with its exact (Clopper–Pearson) interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Exact {
    pub successes: u64,
    pub n: u64,
    /// Null when `n` is 0.
    pub share: Option<f64>,
    /// Clopper–Pearson, two-sided.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Exact {
    pub fn new(successes: u64, n: u64, confidence: f64) -> Exact {
        let ci = clopper_pearson(successes, n, confidence);
        Exact {
            successes,
            n,
            share: (n > 0).then(|| successes as f64 / n as f64),
            low: ci.map(|c| c.0),
            high: ci.map(|c| c.1),
        }
    }
}

/// Cohen's κ of a square table with its standard error and normal interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Kappa {
    pub kappa: f64,
    pub std_err: f64,
    pub low: f64,
    pub high: f64,
}

/// Cohen's κ with the variance of Fleiss, Cohen & Everitt (1969), statsmodels' `cohens_kappa`:
/// `var = (A + B − C) / ((1 − p_e)² n)` with `A = Σ p_ii (1 − (p_i· + p_·i)(1 − κ))²`,
/// `B = (1 − κ)² Σ_{i≠j} p_ij (p_·i + p_j·)²`, `C = (κ − p_e (1 − κ))²`. None when the table is
/// empty or one class fills both margins (κ undefined).
pub fn cohen_kappa(table: &[Vec<u64>], confidence: f64) -> Option<Kappa> {
    let k = table.len();
    let n: u64 = table.iter().flatten().sum();
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    let p = |i: usize, j: usize| table[i][j] as f64 / nf;
    let row: Vec<f64> = (0..k).map(|i| (0..k).map(|j| p(i, j)).sum()).collect();
    let col: Vec<f64> = (0..k).map(|j| (0..k).map(|i| p(i, j)).sum()).collect();
    let observed: f64 = (0..k).map(|i| p(i, i)).sum();
    let expected: f64 = (0..k).map(|i| row[i] * col[i]).sum();
    if expected >= 1.0 {
        return None;
    }
    let kappa = (observed - expected) / (1.0 - expected);
    let a: f64 = (0..k)
        .map(|i| p(i, i) * (1.0 - (row[i] + col[i]) * (1.0 - kappa)).powi(2))
        .sum();
    let b: f64 = (0..k)
        .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| p(i, j) * (col[i] + row[j]).powi(2))
        .sum::<f64>()
        * (1.0 - kappa).powi(2);
    let c = (kappa - expected * (1.0 - kappa)).powi(2);
    // Rounding can leave a perfect table's variance a hair below 0.
    let var = ((a + b - c) / ((1.0 - expected).powi(2) * nf)).max(0.0);
    let std_err = var.sqrt();
    let half = z(confidence) * std_err;
    Some(Kappa {
        kappa,
        std_err,
        low: kappa - half,
        high: kappa + half,
    })
}

/// Count, sum and sum of squares of one variable (`Ŷ` over every text, or `Y` or `Ŷ` over
/// the audited ones).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sums {
    pub n: f64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl Sums {
    pub fn add(&mut self, x: f64) {
        self.n += 1.0;
        self.sum += x;
        self.sum_sq += x * x;
    }

    fn mean(&self) -> f64 {
        self.sum / self.n
    }

    /// Population variance (ddof 0).
    fn var(&self) -> f64 {
        self.sum_sq / self.n - self.mean().powi(2)
    }
}

/// The audited texts: the human label `Y` and the guard's `Ŷ` (1 unsafe, 0 safe).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Labeled {
    pub y: Sums,
    pub yhat: Sums,
    pub y_yhat: f64,
}

impl Labeled {
    pub fn add(&mut self, y: f64, yhat: f64) {
        self.y.add(y);
        self.yhat.add(yhat);
        self.y_yhat += y * yhat;
    }

    pub fn n(&self) -> f64 {
        self.y.n
    }

    /// Population (ddof 0) covariance of `Y` and `Ŷ`.
    fn cov(&self) -> f64 {
        self.y_yhat / self.n() - self.y.mean() * self.yhat.mean()
    }
}

/// A PPI estimate of a mean with its normal interval (not clipped to [0, 1]: as `ppi_py`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ppi {
    pub estimate: f64,
    pub std_err: f64,
    pub low: f64,
    pub high: f64,
    /// Null over strata, each of which has its own.
    pub lambda: Option<f64>,
}

impl Ppi {
    fn normal(estimate: f64, std_err: f64, lambda: Option<f64>, confidence: f64) -> Ppi {
        let half = z(confidence) * std_err;
        Ppi {
            estimate,
            std_err,
            low: estimate - half,
            high: estimate + half,
            lambda,
        }
    }
}

/// PPI++'s power-tuned λ, `ppi_py`'s `_calc_lam_glm` for a mean: `Cov(Y, Ŷ)` (ddof 0, audited
/// texts) over `(1 + n/N)·Var(Ŷ)` (ddof 1, audited and all texts pooled), clipped to [0, 1].
/// A guard constant on every text carries no information: λ = 0 (where `ppi_py` gives NaN).
pub fn tuned_lambda(labeled: &Labeled, all: &Sums) -> f64 {
    let m = labeled.n() + all.n;
    let sum = labeled.yhat.sum + all.sum;
    let pooled = (labeled.yhat.sum_sq + all.sum_sq - sum * sum / m) / (m - 1.0);
    if pooled.is_nan() || pooled <= 0.0 {
        return 0.0;
    }
    let lambda = labeled.cov() / ((1.0 + labeled.n() / all.n) * pooled);
    if lambda.is_nan() {
        0.0
    } else {
        lambda.clamp(0.0, 1.0)
    }
}

/// `ppi_py`'s `ppi_mean_ci`: the estimate `λ·mean(Ŷ_all) + mean(Y − λŶ)`, its variance
/// `λ²Var(Ŷ_all)/N + Var(Y − λŶ)/n` (ddof 0), λ tuned when `lambda` is None. Needs `n ≥ 1`
/// and `N ≥ 1`.
pub fn ppi_mean(labeled: &Labeled, all: &Sums, lambda: Option<f64>, confidence: f64) -> Ppi {
    let lambda = lambda.unwrap_or_else(|| tuned_lambda(labeled, all));
    let estimate = lambda * all.mean() + labeled.y.mean() - lambda * labeled.yhat.mean();
    let rectifier =
        labeled.y.var() + lambda * lambda * labeled.yhat.var() - 2.0 * lambda * labeled.cov();
    let imputed = lambda * lambda * all.var();
    let std_err = (imputed.max(0.0) / all.n + rectifier.max(0.0) / labeled.n()).sqrt();
    Ppi::normal(estimate, std_err, Some(lambda), confidence)
}

/// Stratified PPI (Fisch et al. 2024): strata given as (weight `N_k/N`, estimate), combined.
pub fn stratified(strata: &[(f64, Ppi)], confidence: f64) -> Ppi {
    let estimate = strata.iter().map(|(w, p)| w * p.estimate).sum::<f64>();
    let std_err = strata
        .iter()
        .map(|(w, p)| (w * p.std_err).powi(2))
        .sum::<f64>()
        .sqrt();
    // Each stratum has its own λ; the pooled figure has none.
    Ppi::normal(estimate, std_err, None, confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_errors_in_1200_is_at_most_a_quarter_percent() {
        let up = upper_bound(0, 1200, 0.95).unwrap();
        assert!(
            (up - (1.0 - 0.05f64.powf(1.0 / 1200.0))).abs() < 1e-12,
            "{up}"
        );
        assert!((up - 0.0025).abs() < 1e-4);
        assert_eq!(clopper_pearson(0, 0, 0.95), None);
        assert_eq!(clopper_pearson(3, 3, 0.95).unwrap().1, 1.0);
    }

    #[test]
    fn constant_guard_gives_the_humans_alone() {
        let mut l = Labeled::default();
        for y in [1.0, 0.0, 0.0, 1.0] {
            l.add(y, 1.0);
        }
        let mut u = Sums::default();
        (0..10).for_each(|_| u.add(1.0));
        let p = ppi_mean(&l, &u, None, 0.95);
        assert_eq!(p.lambda, Some(0.0));
        assert_eq!(p.estimate, 0.5);
        assert!(p.std_err.is_finite() && p.std_err > 0.0);
    }

    #[test]
    fn perfect_agreement_has_zero_error() {
        let k = cohen_kappa(&[vec![30, 0], vec![0, 12]], 0.95).unwrap();
        assert_eq!((k.kappa, k.std_err), (1.0, 0.0));
        assert_eq!(cohen_kappa(&[vec![5, 0], vec![0, 0]], 0.95), None);
    }
}
