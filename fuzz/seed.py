#!/usr/bin/env python3
"""Seeds fuzz/corpus/TARGET from the sample datasets (the corpora are not committed).

Run from the repository root: `python3 fuzz/seed.py`. The CSV seeds come from a real
`verdikt export --format csv` when target/debug/verdikt exists, else from a written sample.
"""
import glob
import json
import os
import shutil
import subprocess
import tempfile

D, C = "datasets", "fuzz/corpus"
CHUNK = 28  # lines per small seed: small inputs mutate and run faster than whole files


def put(target, name, data):
    os.makedirs(os.path.join(C, target), exist_ok=True)
    with open(os.path.join(C, target, name), "wb") as f:
        f.write(data)


def csv_exports():
    """(name, bytes) of the sample datasets exported as CSV by the verdikt binary."""
    exe = "target/debug/verdikt"
    if not os.path.exists(exe):
        return []
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for stem in ("refuseu-sample", "hostile"):
            db, csv = os.path.join(tmp, stem + ".sqlite"), os.path.join(tmp, stem + ".csv")
            subprocess.run([exe, "--db", db, "import", f"{D}/{stem}.jsonl"], check=True)
            subprocess.run([exe, "--db", db, "export", "--format", "csv", "--out", csv], check=True)
            out.append((stem, open(csv, "rb").read()))
    return out


def main():
    hostile = open(f"{D}/hostile.jsonl", "rb").read()
    refuse = open(f"{D}/refuseu-sample.jsonl", "rb").read()
    # Split on \n only: hostile.jsonl holds raw U+2028/U+2029 inside strings.
    hl, rl = hostile.split(b"\n"), refuse.split(b"\n")
    for t in ("jsonl", "import"):
        put(t, "hostile.jsonl", hostile)
        put(t, "refuseu-sample.jsonl", refuse)
        for i, line in enumerate(hl):
            if line.strip():
                put(t, f"hostile-line{i + 1:02}.jsonl", line + b"\n")
        for i in range(0, len(rl), CHUNK):
            chunk = b"\n".join(rl[i : i + CHUNK]).strip()
            if chunk:
                put(t, f"refuseu-lines{i + 1:03}.jsonl", chunk + b"\n")

    ho = [json.loads(l) for l in hl if l.strip()]
    ro = [json.loads(l) for l in rl if l.strip()]
    dump = lambda v, **kw: json.dumps(v, ensure_ascii=False, **kw).encode()
    put("json", "hostile.json", dump(ho, indent=2))
    put("json", "refuseu-sample.json", dump(ro, indent=2))
    put("json", "refuseu-compact.json", dump(ro[:40]))
    for i, o in enumerate(ho):
        put("json", f"hostile-{i + 1:02}.json", dump([o]))
    for i in range(0, len(ro), CHUNK):
        put("json", f"refuseu-{i + 1:03}.json", dump(ro[i : i + CHUNK], indent=1))

    for p in sorted(glob.glob(f"{D}/refuseu-sample/**/*.parquet", recursive=True)):
        rel = os.path.relpath(p, f"{D}/refuseu-sample").replace(os.sep, "-")
        os.makedirs(os.path.join(C, "parquet"), exist_ok=True)
        shutil.copy(p, os.path.join(C, "parquet", rel))

    for stem, data in csv_exports():
        put("csv", f"{stem}-export.csv", data)
        if stem == "refuseu-sample":
            lines = data.split(b"\n")
            for i in range(1, len(lines), CHUNK):
                put("csv", f"{stem}-export-{i:03}.csv", b"\n".join(lines[:1] + lines[i : i + CHUNK]))
    put("csv", "hand.csv",
        b"\xef\xbb\xbfprompt,lang,chosen,rejected\r\n\"multi\r\nline\",pl,'=1+1,\"a,b\"\r\nx\r\n")


if __name__ == "__main__":
    main()
