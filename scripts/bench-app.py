#!/usr/bin/env python3
"""The measuring half of scripts/bench-app: drives the release app through tauri-driver
(plain W3C WebDriver over HTTP) and reads the process tree's memory from /proc."""
import http.client as http_client
import json, os, socket, statistics, subprocess, time, urllib.parse
from pathlib import Path

APP, N = os.environ["APP"], int(os.environ["N"])
DRIVER = os.environ.get("TAURI_DRIVER", str(Path.home() / ".cargo/bin/tauri-driver"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_connections = {}


def http(method, url, body=None):
    """One W3C WebDriver call over a kept-alive connection per server: WebKitWebDriver drops
    connections now and then when every call opens a new one."""
    parts = urllib.parse.urlsplit(url)
    conn = _connections.get(parts.netloc)
    if conn is None:
        conn = _connections[parts.netloc] = http_client.HTTPConnection(parts.netloc, timeout=120)
    data = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, parts.path, body=data, headers={"content-type": "application/json"})
        return json.loads(conn.getresponse().read())
    except (ConnectionError, http_client.HTTPException):
        del _connections[parts.netloc]
        conn.close()
        raise


class Session:
    def __init__(self, base, args=()):
        caps = {"capabilities": {"alwaysMatch": {"tauri:options": {"application": APP, "args": list(args)}}}}
        for attempt in range(4):  # WebKitWebDriver sometimes drops the first connection
            try:
                v = http("POST", f"{base}/session", caps)
                break
            except (ConnectionError, http_client.HTTPException):
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


SAMPLE = "return document.querySelector('[data-testid=review-sample]').dataset.sample"
ADVANCE = "return document.querySelector('[data-testid=screen-review]').dataset.advanceMs ?? null"


def submit_and_next(s):
    """20 keyboard submits in Review, timed twice: from sending Enter to the next sample in the
    page as the WebDriver client sees it (its own round trips included: an upper bound), and in
    the window, from the Enter key's event to the frame after the next sample is in the page
    (the Review screen's `data-advance-ms`)."""
    s.js("document.querySelector(\"nav button[data-screen='review']\").click()")
    s.wait("[data-testid='review-reviewer'] option[value='bench']")
    s.js("const r = document.querySelector('[data-testid=review-reviewer]');"
         "r.value = 'bench'; r.dispatchEvent(new Event('change', {bubbles: true}));")
    s.wait("[data-testid='review-start']:not([disabled])")
    s.js("document.querySelector(\"[data-testid='review-start']\").click()")
    s.wait("[data-testid='review-sample']")
    times, in_window = [], []
    for _ in range(20):
        before = s.js(SAMPLE)
        advance_before = s.js(ADVANCE)
        s.keys("y", "y", "y")
        t0 = time.monotonic()
        s.keys("\ue007")
        while s.js(SAMPLE) == before:
            if time.monotonic() - t0 > 10:
                raise SystemExit("bench-app: the next sample never came")
            time.sleep(0.002)
        times.append((time.monotonic() - t0) * 1000)
        while (advance := s.js(ADVANCE)) == advance_before:
            if time.monotonic() - t0 > 10:
                raise SystemExit("bench-app: the window never timed its frame")
            time.sleep(0.002)
        in_window.append(float(advance))
        # A reviewer reads for seconds; let the next sample's preload finish as it would.
        time.sleep(0.3)
    return times, in_window


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

    times, in_window = submit_and_next(s)
    s.close()
finally:
    driver.terminate()
    driver.wait()

print(f"samples={N} (machine shared with other jobs: figures are upper bounds)")
print(f"cold start to interactive window: median {statistics.median(starts):.3f} s "
      f"(runs: {', '.join(f'{t:.3f}' for t in starts)}); target < 1.5 s")
print(f"idle memory: app RSS {app_rss:.0f} MB; app + WebKit processes: PSS {total_pss:.0f} MB "
      f"(RSS summed {total_rss:.0f} MB, counting shared libraries once per process); target < 250 MB")
print(f"submit-and-next: in the window (Enter to the next sample's frame) median "
      f"{statistics.median(in_window):.1f} ms, max {max(in_window):.1f} ms; as the WebDriver client "
      f"sees it median {statistics.median(times):.1f} ms, max {max(times):.1f} ms; "
      f"over {len(times)} submits; target < 50 ms")
