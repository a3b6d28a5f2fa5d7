"""The naive client of scripts/bench-guard-servers: the same token-id completions requests
Verdikt sends, round-robin over the given servers, CONCURRENCY in flight, in run order.

    python3 scripts/bench-servers-rr.py TOKENS.jsonl PROFILE.toml CONCURRENCY URL...

TOKENS.jsonl is `verdikt guard tokens` output; max_tokens and stop come from the profile, as in
Verdikt's requests. Prints texts/s on stdout."""
import itertools
import json
import sys
import threading
import time
import tomllib
import urllib.request

tokens_path, profile_path, concurrency, urls = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
profile = tomllib.load(open(profile_path, "rb"))
prompts = [json.loads(line)["tokens"] for line in open(tokens_path)]
order = itertools.count()
lock = threading.Lock()


def send(url, ids):
    body = json.dumps({
        "model": "smollm2", "prompt": ids, "max_tokens": profile.get("max_tokens", 24),
        "temperature": 0.0, "logprobs": 20, "stop": profile.get("stop", []),
    }).encode()
    req = urllib.request.Request(url + "/v1/completions", body, {"content-type": "application/json"})
    json.load(urllib.request.urlopen(req))


def worker():
    while True:
        with lock:
            i = next(order)
        if i >= len(prompts):
            return
        send(urls[i % len(urls)], prompts[i])


start = time.perf_counter()
threads = [threading.Thread(target=worker) for _ in range(concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"{len(prompts) / (time.perf_counter() - start):.3f}")
