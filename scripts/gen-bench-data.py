#!/usr/bin/env python3
"""Writes N RefusEU-shaped triples as JSONL and the same rows as CSV, for the benchmarks.

    gen-bench-data.py N OUT.jsonl OUT.csv [--like SAMPLE.jsonl]

Deterministic (seeded). By default texts are built from multilingual word lists heavy in
diacritics, prompts 150-350 characters, refusals 250-450, compliances 500-900: a stress shape
for the byte-bound import and app benchmarks. With --like, every text takes its language's
words and a length from the same field of SAMPLE's triples, so token counts per text are those
of real sentences (the guard benchmark, where the work is counted in tokens).
"""
import csv, json, random, sys

LANGS = "en de fr it es pt pl cs sk sl lt lv".split()
STYLES = ["slang", "technical terms", "role play", "authority manipulation", "misspellings",
          "word play", "emotional manipulation", "hypotheticals", "historical scenario", "uncommon dialects"]
WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which "
         "der die und den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an "
         "le de un être et à il avoir ne je son que se qui ce dans en du elle au pour pas "
         "żółw źdźbło część będę może także przez który według również właśnie "
         "čeština příliš žluťoučký kůň úpěl ďábelské ódy šťastný "
         "lietuvių kalba ąžuolas ėglė šilas žąsis latviešu valoda ģimene ķēniņš ļoti").split()


def text(rng, n_chars, words=WORDS):
    out, size = [], 0
    while size < n_chars:
        w = rng.choice(words)
        out.append(w)
        size += len(w) + 1
    return " ".join(out).capitalize() + "."


FIELDS = ("prompt", "chosen", "rejected")
DEFAULT_LENGTHS = {"prompt": (150, 350), "chosen": (250, 450), "rejected": (500, 900)}


def sample_shape(path):
    """(language, field) -> (words, character lengths) of a JSONL sample's triples."""
    shape = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            for field in FIELDS:
                words, lengths = shape.setdefault((row["lang"], field), ([], []))
                words.extend(row[field].split())
                lengths.append(len(row[field]))
    return shape


def main():
    n, jsonl_path, csv_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    shape = sample_shape(sys.argv[5]) if sys.argv[4:5] == ["--like"] else None
    rng = random.Random(42)

    def field_text(lang, field):
        if shape is None:
            return text(rng, rng.randint(*DEFAULT_LENGTHS[field]))
        words, lengths = shape[(lang, field)]
        return text(rng, rng.choice(lengths), words)

    columns = ["id", "language", "category", "style", "split", "prompt", "chosen", "rejected"]
    with open(jsonl_path, "w", encoding="utf-8", newline="\n") as j, open(csv_path, "w", encoding="utf-8", newline="") as c:
        w = csv.writer(c)
        w.writerow(columns)
        for i in range(n):
            row = {
                "id": f"{LANGS[i % 12]}-{i:06d}",
                "language": LANGS[i % 12],
                "category": f"S{1 + (i // 12) % 14}",
                "style": STYLES[(i // 168) % 10],
                "split": "train",
                **{field: field_text(LANGS[i % 12], field) for field in FIELDS},
            }
            j.write(json.dumps(row, ensure_ascii=False) + "\n")
            w.writerow([row[k] for k in columns])


if __name__ == "__main__":
    main()
