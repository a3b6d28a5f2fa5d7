"""Texts/s of a llama-server (one slot) on a guard run's checks, as benchmarks compare it.

    python3 scripts/bench-server.py PORT CACHE_PROMPT(true|false) TOKENS.jsonl

TOKENS.jsonl is `verdikt guard tokens` output. Each check is sent as token ids to /completion
with n_predict 1, one after another in run order. Prints `TEXTS_PER_S TOKENS_PER_TEXT`
(prompt tokens the server computed per text, from its own timings) on stdout."""
import json
import sys
import time
import urllib.request

port, cache, path = sys.argv[1], sys.argv[2] == "true", sys.argv[3]
url = f"http://127.0.0.1:{port}"
for _ in range(600):
    try:
        if urllib.request.urlopen(url + "/health").status == 200:
            break
    except Exception:
        pass
    time.sleep(0.2)
prompts = [json.loads(line)["tokens"] for line in open(path)]


def send(ids):
    body = json.dumps({"prompt": ids, "n_predict": 1, "cache_prompt": cache}).encode()
    req = urllib.request.Request(url + "/completion", body, {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))


send(prompts[0])  # warm-up, then start from an empty cache
send([1])
start = time.perf_counter()
computed = 0
for ids in prompts:
    computed += send(ids)["timings"]["prompt_n"]
seconds = time.perf_counter() - start
print(f"llama-server cache_prompt={str(cache).lower()}: {computed / len(prompts):.0f} prompt tokens "
      f"computed per text, {computed / seconds:.1f} tok/s", file=sys.stderr)
print(f"{len(prompts) / seconds:.3f} {computed / len(prompts):.0f}")
