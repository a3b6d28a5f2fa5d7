#!/usr/bin/env python3
"""Writes a RefusEU-size Verdikt project for scripts/bench-figures.

The schema comes from `verdikt stats` (which creates the project); this script fills it:
34,668 triples and 16,800 prompts with a model's response (two models), in 12 languages; two
guard runs with a verdict and P(unsafe) on every text; a judge run (`only_disputed`) on the texts
the guards dispute. Pass `answer` after the audit sample is drawn to give two reviewers' answers,
with a verdict on every text, to each sample of it.
  gen-figures-data.py PROJECT.sqlite            # samples and guard verdicts
  gen-figures-data.py PROJECT.sqlite answer     # reviewers' answers on the audit sample
"""
import json
import random
import sqlite3
import sys

TRIPLES, PROMPTS = 34_668, 16_800
path = sys.argv[1]
rng = random.Random(32)
langs = "en de fr it es pt pl cs sk sl lt lv".split()
styles = ["slang", "role play", "hypotheticals", None]
db = sqlite3.connect(path)
db.execute("BEGIN")


def truth(sample, field):
    """The planted truth of a text: stable per (sample, field)."""
    r = random.Random(sample * 7 + ["prompt", "chosen", "rejected", "response"].index(field))
    return r.random() < {"prompt": 0.7, "chosen": 0.1, "rejected": 0.8, "response": 0.3}[field]


if len(sys.argv) > 2 and sys.argv[2] == "answer":
    db.executemany("INSERT INTO reviewers (id, name, languages) VALUES (?, ?, ?)",
                   [(1, "ana", json.dumps(langs)), (2, "ben", json.dumps(langs))])
    rows = db.execute(
        "SELECT s.id, s.chosen IS NOT NULL, s.response IS NOT NULL FROM samples s"
        " WHERE s.id IN (SELECT sample_id FROM triage_reasons WHERE reason = 'audit_sample')").fetchall()
    answers = []
    for sid, triple, response in rows:
        fields = ["prompt"] + (["chosen", "rejected"] if triple else []) + (["response"] if response else [])
        for reviewer in (1, 2) if sid % 2 else (1,):
            verdicts = {f: {"verdict": "unsafe" if truth(sid, f) else "safe", "categories": []} for f in fields}
            answers.append((sid, reviewer, "yes", "yes", "na", json.dumps(verdicts)))
    db.executemany("INSERT INTO annotations (sample_id, reviewer_id, version, q1, q2, q3, verdicts)"
                   " VALUES (?, ?, 1, ?, ?, ?, ?)", answers)
    db.execute("COMMIT")
    sys.exit(0)

db.execute("INSERT INTO datasets (id, name, format, sources) VALUES (1, 'refuseu', 'jsonl', '[]')")
samples = []
for i in range(1, TRIPLES + PROMPTS + 1):
    lang, cat, style = rng.choice(langs), f"S{rng.randint(1, 14)}", rng.choice(styles)
    if i <= TRIPLES:
        samples.append((i, str(i), lang, cat, style, "p", "c", "r", None, None))
    else:
        samples.append((i, str(i), lang, cat, style, "p", None, None, "a response", rng.choice(["model-a", "model-b"])))
db.executemany(
    "INSERT INTO samples (id, dataset_id, ext_id, language, category, style, prompt, chosen, rejected, response, generator)"
    " VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)", samples)
db.executemany(
    "INSERT INTO guard_runs (id, profile, backend, model_path, status, params) VALUES (?, ?, 'local', ?, 'done', ?)",
    [(1, "llama-guard-3-8b", "lg.gguf", "{}"), (2, "qwen3guard-gen", "qg.gguf", "{}"),
     (3, "refuseu-judge", "j.gguf", '{"only_disputed": true}')])
# Each guard errs differently per language: a language-dependent miss rate.
miss = {(run, l): rng.uniform(0.02, 0.3) for run in (1, 2, 3) for l in langs}


def verdict(run, sid, lang, field):
    y = truth(sid, field)
    said = (rng.random() >= miss[(run, lang)]) if y else (rng.random() < 0.05)
    p = min(1.0, max(0.0, (0.75 if said else 0.2) + rng.uniform(-0.2, 0.2)))
    return said, p


rows, disputed = [], []
for (sid, _, lang, _, _, _, chosen, _, response, _) in samples:
    fields = ["prompt"] + (["chosen", "rejected"] if chosen else []) + (["response"] if response else [])
    for f in fields:
        said = []
        for run in (1, 2):
            u, p = verdict(run, sid, lang, f)
            said.append(u)
            rows.append((run, sid, f, "unsafe" if u else "safe", p))
        if said[0] != said[1]:
            u, p = verdict(3, sid, lang, f)
            rows.append((3, sid, f, "unsafe" if u else "safe", p))
db.executemany(
    "INSERT INTO verdicts (run_id, sample_id, field, verdict, p_unsafe, raw_answer, latency_ms) VALUES (?, ?, ?, ?, ?, '', 1)",
    rows)
db.execute("COMMIT")
db.close()
