"""Texts/s of a llama-server on a guard run's checks, as benchmarks compare it.

    python3 scripts/bench-server.py PORT CACHE_PROMPT(true|false) TOKENS.jsonl
        [--parallel N] [--report FILE.json] [--score UNSAFE_ID,SAFE_ID] [--score-texts K]

TOKENS.jsonl is `verdikt guard tokens` output. Each check is sent as token ids to /completion
with n_predict 1, in run order: one after another, or with --parallel N, N in flight at once
(one kept-alive connection each), for a server with N slots batching them continuously. Prints
`TEXTS_PER_S TOKENS_PER_TEXT` (prompt tokens the server computed per text, from its own timings)
on stdout.

--report writes the figures as JSON: texts_per_s, prompt_tokens_per_text (every token of the
prompts, as the server counted them), computed_tokens_per_text, and with --score the P(unsafe)
of the first K texts (default 200) after the timed pass, in `p_unsafe` (a list, TOKENS.jsonl's
order). P(unsafe) is the engine's: the softmax of the unsafe and the safe token's logits alone.
The server gives it exactly when both tokens get the same large logit bias (their ratio keeps,
every other token falls out) and the probabilities are read after a top-2 sampler."""
import argparse
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("cache", choices=["true", "false"])
parser.add_argument("tokens")
parser.add_argument("--parallel", type=int, default=1)
parser.add_argument("--report")
parser.add_argument("--score")
parser.add_argument("--score-texts", type=int, default=200)
args = parser.parse_args()
cache = args.cache == "true"
local = threading.local()


def post(path, body):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=600)
    local.conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    response = local.conn.getresponse()
    data = response.read()
    if response.status != 200:
        sys.exit(f"llama-server answered {response.status}: {data[:500]!r}")
    return json.loads(data)


def healthy():
    try:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False


for _ in range(3000):
    if healthy():
        break
    time.sleep(0.2)
prompts = [json.loads(line)["tokens"] for line in open(args.tokens)]


def send(ids):
    return post("/completion", {"prompt": ids, "n_predict": 1, "cache_prompt": cache})


send(prompts[0])  # warm-up, then start from an empty cache
send([1])
start = time.perf_counter()
with ThreadPoolExecutor(args.parallel) as pool:
    answers = list(pool.map(send, prompts))
seconds = time.perf_counter() - start
computed = sum(a["timings"]["prompt_n"] for a in answers)
report = {
    "texts_per_s": len(prompts) / seconds,
    "prompt_tokens_per_text": sum(a["tokens_evaluated"] for a in answers) / len(prompts),
    "computed_tokens_per_text": computed / len(prompts),
}
print(f"llama-server cache_prompt={args.cache} parallel={args.parallel}: {report['computed_tokens_per_text']:.0f} "
      f"prompt tokens computed per text, {computed / seconds:.1f} tok/s", file=sys.stderr)

if args.score:
    unsafe, safe = (int(t) for t in args.score.split(","))

    def p_unsafe(ids):
        answer = post("/completion", {
            "prompt": ids, "n_predict": 1, "cache_prompt": cache, "n_probs": 2,
            "post_sampling_probs": True, "samplers": ["top_k"], "top_k": 2,
            "logit_bias": [[unsafe, 1000.0], [safe, 1000.0]],
        })
        probs = {p["id"]: p["prob"] for p in answer["completion_probabilities"][0]["top_probs"]}
        return probs.get(unsafe, 0.0) / (probs.get(unsafe, 0.0) + probs.get(safe, 0.0))

    with ThreadPoolExecutor(args.parallel) as pool:
        report["p_unsafe"] = list(pool.map(p_unsafe, prompts[: args.score_texts]))
if args.report:
    with open(args.report, "w") as f:
        json.dump(report, f)
print(f"{report['texts_per_s']:.3f} {report['computed_tokens_per_text']:.0f}")
