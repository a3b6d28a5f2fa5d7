#!/usr/bin/env python3
"""Writes N RefusEU-shaped triples as JSONL and the same rows as CSV, for scripts/bench-import.

Deterministic (seeded); texts are built from multilingual word lists with diacritics, with
lengths like RefusEU's: prompts ~250 characters, refusals ~350, compliances ~700.
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


def text(rng, n_chars):
    out, size = [], 0
    while size < n_chars:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out).capitalize() + "."


def main():
    n, jsonl_path, csv_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = random.Random(42)
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
                "prompt": text(rng, rng.randint(150, 350)),
                "chosen": text(rng, rng.randint(250, 450)),
                "rejected": text(rng, rng.randint(500, 900)),
            }
            j.write(json.dumps(row, ensure_ascii=False) + "\n")
            w.writerow([row[k] for k in columns])


if __name__ == "__main__":
    main()
