import { describe as suite, expect, it } from "vitest";
import { httpInvoke, installServedTransport, onSignedOut, openInvite } from "./served";

type Sent = { url: string; init: RequestInit };

function server(status: number, body: unknown, sent: Sent[]): typeof fetch {
  return (async (url: string, init: RequestInit) => {
    sent.push({ url, init });
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }) as typeof fetch;
}

suite("served transport", () => {
  it("posts the command's arguments as JSON and returns the answer", async () => {
    const sent: Sent[] = [];
    const out = await httpInvoke("review_submit", { id: 3, answerId: "a-1" }, server(200, { id: 9 }, sent));
    expect(out).toEqual({ id: 9 });
    expect(sent[0].url).toBe("/api/review_submit");
    expect(sent[0].init.method).toBe("POST");
    expect(JSON.parse(String(sent[0].init.body))).toEqual({ id: 3, answerId: "a-1" });
  });

  it("throws the server's AppError, busy included", async () => {
    const e = await httpInvoke("review_next", {}, server(503, { message: "busy", details: [], busy: true }, [])).catch((x: unknown) => x);
    expect(e).toEqual({ message: "busy", details: [], busy: true });
  });

  it("reports an unreachable server as busy, so the answer is sent again", async () => {
    const down = (async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch;
    const e = (await httpInvoke("review_submit", {}, down).catch((x: unknown) => x)) as { busy: boolean };
    expect(e.busy).toBe(true);
  });

  it("stays out of the window", () => {
    const tauri = { __TAURI_INTERNALS__: { invoke: "tauri's" } };
    expect(installServedTransport(tauri)).toBe(false);
    expect(tauri.__TAURI_INTERNALS__.invoke).toBe("tauri's");
    const browser: Record<string, unknown> = {};
    expect(installServedTransport(browser)).toBe(true);
    expect(typeof (browser.__TAURI_INTERNALS__ as { invoke: unknown }).invoke).toBe("function");
  });

  it("opens an invite's session and drops the code from the address", async () => {
    const sent: Sent[] = [];
    let address = "";
    const w = {
      location: { pathname: "/invite", hash: "#c0de" },
      history: { replaceState: (_s: unknown, _t: string, url: string) => (address = url) },
    } as unknown as Window;
    await openInvite(w, server(200, { reviewer: { name: "ana" } }, sent));
    expect(address).toBe("/");
    expect(sent[0].url).toBe("/api/session");
    expect(JSON.parse(String(sent[0].init.body))).toEqual({ code: "c0de" });
  });

  it("tells the shell when the server has no session for this browser (401), and only then", async () => {
    const heard: string[] = [];
    const stop = onSignedOut((m) => heard.push(m));
    await httpInvoke("review_next", {}, server(503, { message: "busy", details: [], busy: true }, [])).catch(() => {});
    await httpInvoke("review_next", {}, server(200, null, []));
    expect(heard).toEqual([]);
    await httpInvoke("review_next", {}, server(401, { message: "no session", details: [], busy: false }, [])).catch(() => {});
    expect(heard).toEqual(["no session"]);
    stop();
    await httpInvoke("review_next", {}, server(401, { message: "again", details: [], busy: false }, [])).catch(() => {});
    expect(heard).toEqual(["no session"]);
  });
});
