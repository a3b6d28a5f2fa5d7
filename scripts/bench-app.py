#!/usr/bin/env python3
"""The measuring half of scripts/bench-app: drives the release app through tauri-driver
(plain W3C WebDriver over HTTP) and reads the process tree's memory from /proc."""
import json, os, socket, statistics, subprocess, time, urllib.request
from pathlib import Path

APP, N = os.environ["APP"], int(os.environ["N"])
DRIVER = os.environ.get("TAURI_DRIVER", str(Path.home() / ".cargo/bin/tauri-driver"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


class Session:
    def __init__(self, base, args=()):
        caps = {"capabilities": {"alwaysMatch": {"tauri:options": {"application": APP, "args": list(args)}}}}
        for attempt in range(4):  # WebKitWebDriver sometimes drops the first connection
            try:
                v = http("POST", f"{base}/session", caps)
                break
            except (ConnectionError, urllib.error.URLError):
                if attempt == 3:
                    raise
                time.sleep(1)
        self.url = f"{base}/session/{v['value']['sessionId']}"

    def js(self, script, *args):
        return http("POST", f"{self.url}/execute/sync", {"script": script, "args": list(args)})["value"]

    def wait(self, css, secs=30, poll=0.005):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if self.js("return !!document.querySelector(arguments[0])", css):
                return
            time.sleep(poll)
        raise SystemExit(f"bench-app: no {css} after {secs} s")

    def keys(self, *keys):
        acts = [a for k in keys for a in ({"type": "keyDown", "value": k}, {"type": "keyUp", "value": k})]
        http("POST", f"{self.url}/actions", {"actions": [{"type": "key", "id": "kb", "actions": acts}]})

    def close(self):
        http("DELETE", self.url)


def descendants(pid):
    kids = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p.name))
            except (OSError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pss_kib(pid):
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def comm(pid):
    return Path(f"/proc/{pid}/comm").read_text().strip()


def submit_and_next(s):
    """20 keyboard submits in Review; the window's own measure of Enter → next sample painted."""
    s.js("document.querySelector(\"nav button[data-screen='review']\").click()")
    s.wait("[data-testid='review-start']")
    s.js("document.querySelector(\"[data-testid='review-start']\").click()")
    s.wait("[data-testid='review-sample']")
    times = []
    for _ in range(20):
        before = s.js("return document.querySelector('[data-testid=review-sample]').dataset.sample")
        s.keys("y", "y", "y", "\ue007")
        end = time.monotonic() + 10
        while s.js("return document.querySelector('[data-testid=review-sample]').dataset.sample") == before:
            if time.monotonic() > end:
                raise SystemExit("bench-app: the next sample never came")
            time.sleep(0.01)
        time.sleep(0.05)
        times.append(float(s.js("return document.querySelector('[data-testid=screen-review]').dataset.advanceMs")))
    return times


port = free_port()
driver = subprocess.Popen([DRIVER, "--port", str(port), "--native-port", str(free_port())],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)

    starts = []
    for _ in range(5):
        t0 = time.monotonic()
        s = Session(base)
        s.wait("[data-ready]", poll=0.002)
        starts.append(time.monotonic() - t0)
        s.close()
        time.sleep(0.5)

    s = Session(base)
    s.wait("[data-ready]")
    time.sleep(5)
    procs = {p: comm(p) for p in descendants(driver.pid)}
    app = [p for p, c in procs.items() if c.startswith("verdikt-app")]
    webkit = [p for p, c in procs.items() if c.startswith("WebKitWeb") or c.startswith("WebKitNet")]
    app_rss = sum(rss_kib(p) for p in app) / 1024
    total_rss = sum(rss_kib(p) for p in app + webkit) / 1024
    total_pss = sum(pss_kib(p) for p in app + webkit) / 1024

    times = submit_and_next(s)
    s.close()
finally:
    driver.terminate()
    driver.wait()

print(f"samples={N} (machine shared with other jobs: figures are upper bounds)")
print(f"cold start to interactive window: median {statistics.median(starts):.3f} s "
      f"(runs: {', '.join(f'{t:.3f}' for t in starts)}); target < 1.5 s")
print(f"idle memory: app RSS {app_rss:.0f} MB; app + WebKit processes: PSS {total_pss:.0f} MB "
      f"(RSS summed {total_rss:.0f} MB, counting shared libraries once per process); target < 250 MB")
print(f"submit-and-next: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
      f"over {len(times)} submits; target < 50 ms")
