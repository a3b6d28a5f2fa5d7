#!/usr/bin/env python3
"""Reference values for the estimators of core/src/measure/estimate.rs (tests/measure.rs).

Reads {"cases": [...]} on stdin and writes one result per case on stdout, as JSON:
  {"kind": "ppi", "y": [...], "yhat": [...], "yhat_unlabeled": [...], "lam": x or null}
      -> ppi_py (PyPI ppi-python 0.2.3) ppi_mean_pointestimate and ppi_mean_ci, alpha=0.05
         (ppi_py's default alpha is 0.1, a 90% interval); lam null is PPI++ (tuned, clipped)
  {"kind": "stratified", "strata": [{"weight": w, "y", "yhat", "yhat_unlabeled"}]}
      -> each stratum by ppi_py (tuned λ), then Σ w·estimate and √Σ (w·se)², se read back
         from ppi_py's interval as half-width / z
  {"kind": "confint", "count": k, "nobs": n, "method": "beta" | "wilson", "alpha": a}
      -> statsmodels proportion_confint, alpha a or 0.05 (beta's upper end at alpha 0.1 is
         the one-sided 95% upper bound)
  {"kind": "kappa", "table": [[...]]} -> statsmodels cohens_kappa: kappa, std_kappa, kappa_low,
      kappa_upp
  {"kind": "calibration", "p": [...], "y": [...]} -> scikit-learn brier_score_loss and
      calibration_curve(strategy='uniform', n_bins=10) (prob_true, prob_pred of the non-empty
      bins), the bins' counts by sklearn's own binning (searchsorted on the inner edges), and the
      ECE from those: sum of count/n * |prob_true - prob_pred|
Undefined values are null. Fails (exit 1) if a package is missing: CI installs them.
"""
import json
import math
import sys

import numpy as np
from ppi_py import ppi_mean_ci, ppi_mean_pointestimate
from scipy.stats import norm
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

ALPHA = 0.05


def finite(x):
    x = float(np.asarray(x).squeeze())
    return x if math.isfinite(x) else None


def arrays(case):
    return (np.array(case["y"], dtype=float), np.array(case["yhat"], dtype=float),
            np.array(case["yhat_unlabeled"], dtype=float))


def ppi(case):
    y, yhat, unl = arrays(case)
    lam = case.get("lam")
    est = ppi_mean_pointestimate(y, yhat, unl, lam=lam)
    low, high = ppi_mean_ci(y, yhat, unl, alpha=ALPHA, lam=lam)
    return {"estimate": finite(est), "low": finite(low), "high": finite(high)}


def stratified(case):
    z = norm.ppf(1 - ALPHA / 2)
    estimate, var = 0.0, 0.0
    for s in case["strata"]:
        r = ppi(s)
        estimate += s["weight"] * r["estimate"]
        var += (s["weight"] * (r["high"] - r["low"]) / (2 * z)) ** 2
    half = z * math.sqrt(var)
    return {"estimate": estimate, "low": estimate - half, "high": estimate + half}


def confint(case):
    alpha = case.get("alpha", ALPHA)
    low, high = proportion_confint(case["count"], case["nobs"], alpha=alpha, method=case["method"])
    return {"low": float(low), "high": float(high)}


def kappa(case):
    r = cohens_kappa(np.array(case["table"], dtype=float))
    return {"kappa": finite(r["kappa"]), "std_kappa": finite(r["std_kappa"]),
            "kappa_low": finite(r["kappa_low"]), "kappa_upp": finite(r["kappa_upp"])}


def calibration(case):
    p, y = np.array(case["p"], dtype=float), np.array(case["y"], dtype=int)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], p), minlength=10)
    nonzero = counts[counts > 0]
    ece = float(np.sum(nonzero / len(p) * np.abs(prob_true - prob_pred)))
    return {"brier": float(brier_score_loss(y, p)), "prob_true": prob_true.tolist(),
            "prob_pred": prob_pred.tolist(), "counts": counts.tolist(), "ece": ece}


def main():
    cases = json.load(sys.stdin)["cases"]
    kinds = {"ppi": ppi, "stratified": stratified, "confint": confint, "kappa": kappa,
             "calibration": calibration}
    json.dump([kinds[c["kind"]](c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
