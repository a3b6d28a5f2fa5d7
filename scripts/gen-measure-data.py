#!/usr/bin/env python3
"""Writes a Verdikt project with N samples rated by three raters, for scripts/bench-measure.

The schema comes from `verdikt stats` (which creates the project); this script fills it:
N triples in 12 languages, three reviewers answering Q1-Q3 on every sample (with a verdict on
the chosen answer), and two guard runs with verdicts on prompt, chosen and rejected.
  gen-measure-data.py N PROJECT.sqlite
"""
import json
import random
import sqlite3
import sys

n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(1)
langs = "en de fr it es pt pl cs sk sl lt lv".split()
styles = ["slang", "role play", "hypotheticals", None]
db = sqlite3.connect(path)
db.execute("BEGIN")
db.execute("INSERT INTO datasets (id, name, format, sources) VALUES (1, 'bench', 'jsonl', '[]')")
db.executemany(
    "INSERT INTO samples (id, dataset_id, ext_id, language, category, style, prompt, chosen, rejected)"
    " VALUES (?, 1, ?, ?, ?, ?, 'p', 'c', 'r')",
    ((i, str(i), rng.choice(langs), f"S{rng.randint(1, 14)}", rng.choice(styles)) for i in range(1, n + 1)),
)
db.executemany("INSERT INTO reviewers (id, name) VALUES (?, ?)", [(1, "ana"), (2, "ben"), (3, "cy")])
db.executemany(
    "INSERT INTO guard_runs (id, profile, backend, model_path, status) VALUES (?, ?, 'local', ?, 'done')",
    [(1, "llama-guard-3-8b", "lg.gguf"), (2, "qwen3guard-gen", "qg.gguf")],
)


def yn(p):
    return "yes" if rng.random() < p else "no"


def annotations():
    for i in range(1, n + 1):
        for r in (1, 2, 3):
            v = json.dumps({"chosen": {"verdict": "safe" if rng.random() < 0.9 else "unsafe", "categories": []}})
            yield (i, r, yn(0.95), yn(0.95), rng.choice(["yes", "no", "na"]), v)


db.executemany(
    "INSERT INTO annotations (sample_id, reviewer_id, version, q1, q2, q3, verdicts) VALUES (?, ?, 1, ?, ?, ?, ?)",
    annotations(),
)
db.executemany(
    "INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms) VALUES (?, ?, ?, ?, '', 1)",
    ((run, i, f, "unsafe" if rng.random() < (0.1 if f == "chosen" else 0.9) else "safe")
     for i in range(1, n + 1) for run in (1, 2) for f in ("prompt", "chosen", "rejected")),
)
db.execute("COMMIT")
db.close()
