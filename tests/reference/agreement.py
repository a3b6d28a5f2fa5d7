#!/usr/bin/env python3
"""Reference values for tests/measure.rs, from independent implementations.

Reads {"cases": [...]} on stdin and writes one result per case on stdout, as JSON:
  {"kind": "pair", "a": [...], "b": [...], "labels": [...]}  -> scikit-learn cohen_kappa_score
  {"kind": "group", "data": [[class or null per rater] per item], "labels": [...]}
      -> krippendorff.alpha (nominal, missing as NaN) and statsmodels fleiss_kappa on the
         items every rater rated
  {"kind": "wilson", "successes": k, "n": n} -> statsmodels proportion_confint(method="wilson")
Undefined values are null. Fails (exit 1) if a package is missing: CI installs them.
"""
import json
import math
import sys
import warnings

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
from statsmodels.stats.proportion import proportion_confint


def finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def pair(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"cohen_kappa": finite(cohen_kappa_score(case["a"], case["b"], labels=case["labels"]))}


def group(case):
    data = case["data"]
    raters = len(data[0])
    matrix = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float).T
    pairable = [row for row in data if sum(v is not None for v in row) >= 2]
    values = {v for row in pairable for v in row if v is not None}
    alpha = None
    if len(values) >= 2:
        alpha = finite(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal",
                                          value_domain=case["labels"]))
    full = [row for row in data if all(v is not None for v in row)]
    fleiss = None
    if full:
        table, _ = aggregate_raters(np.array(full, dtype=int), n_cat=len(case["labels"]))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fleiss = finite(fleiss_kappa(table, method="fleiss"))
    return {"krippendorff_alpha": alpha, "fleiss_kappa": fleiss, "raters": raters}


def wilson(case):
    lo, hi = proportion_confint(case["successes"], case["n"], alpha=0.05, method="wilson")
    return {"low": float(lo), "high": float(hi)}


def main():
    cases = json.load(sys.stdin)["cases"]
    kinds = {"pair": pair, "group": group, "wilson": wilson}
    json.dump([kinds[c["kind"]](c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
