import { afterEach, describe, expect, it, vi } from "vitest";
import type { Answer, AnswerRecord, ReviewView } from "../bindings";
import { CommandError } from "../lib/call";
import { installServedTransport } from "../lib/served";
import { ReviewCare, type CareApi } from "./care.svelte";
import { Memory } from "./testing";
import { OFFLINE, ReviewSession, emptyQuery, windowApi, type DraftStore, type ReviewApi } from "./session.svelte";

/** The project as the session sees it: a queue of sample ids and append-only answers. */
class Project implements ReviewApi {
  answers = new Map<number, Answer[]>();
  busyFor = 0;
  /** Saves wait for this before they land (a slow background write). */
  gate: Promise<void> = Promise.resolve();
  disputed = new Map<number, string[]>();
  audited = new Map<number, string[]>();
  categories = new Map<number, string>();
  constructor(public queue: number[]) {}

  view(id: number): ReviewView {
    const versions = this.answers.get(id) ?? [];
    const mine = versions.length ? ({ ...versions[versions.length - 1], version: versions.length } as unknown as AnswerRecord) : null;
    return {
      view: { id, sample_id: `s${id}`, dataset: "d", language: "pl", category: this.categories.get(id) ?? null, style: null, split: null, turns: [], texts: [], reasons: [], kept_by_rule: false },
      mine,
      others: [],
      final_answer: null,
      disputed: this.disputed.get(id) ?? [],
      audited: this.audited.get(id) ?? [],
      guards_hidden: false,
      others_hidden: false,
      adjudicator: false,
    } as ReviewView;
  }
  async counts() {
    return [{ language: null, waiting: this.queue.length, total: this.queue.length }];
  }
  finals: [number, Answer][] = [];
  async adjudicate(id: number, _r: string, a: Answer) {
    this.finals.push([id, a]);
    return {} as AnswerRecord;
  }
  async next(_r: string, _q: unknown, after: number | null) {
    const i = after === null ? 0 : this.queue.indexOf(after) + 1;
    return i < this.queue.length ? this.view(this.queue[i]) : null;
  }
  async sample(id: number) {
    return this.view(id);
  }
  async submit(id: number, _r: string, a: Answer) {
    await this.gate;
    if (this.busyFor > 0) {
      this.busyFor -= 1;
      throw new CommandError({ message: "The project is busy", details: [], busy: true });
    }
    this.answers.set(id, [...(this.answers.get(id) ?? []), a]);
    return {} as AnswerRecord;
  }
  async undo(id: number) {
    const v = this.answers.get(id) ?? [];
    if (v.length < 2) throw new CommandError({ message: "nothing to undo", details: [] });
    this.answers.set(id, [...v, v[v.length - 2]]);
    return {} as AnswerRecord;
  }
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(ok()).toBe(true);
};

async function started(project: Project, storage = new Memory()) {
  const s = new ReviewSession(project, storage, () => 0, 1);
  s.setReviewer("ana");
  s.query = emptyQuery();
  await s.start();
  return s;
}

function answer(s: ReviewSession, keys: string[]) {
  for (const k of keys) s.key(k, 0);
}

const onScreen = (s: ReviewSession) => s.current?.view.id ?? null;

describe("review session", () => {
  it("undo right after submit undoes that answer, not the one before (the save race)", async () => {
    const p = new Project([1, 2, 3]);
    const s = await started(p);
    answer(s, ["y", "y", "y", "Enter"]);
    await until(() => onScreen(s) === 2);
    await s.settled();
    // Change sample 1's answer: back, Q1 no, submit; then undo at once while the save waits.
    s.key("ArrowLeft", 0);
    await until(() => onScreen(s) === 1);
    let open!: () => void;
    p.gate = new Promise((r) => (open = r));
    answer(s, ["k", "k", "n", "Enter"]);
    await until(() => onScreen(s) === 2);
    s.key("u", 0);
    open();
    await until(() => (p.answers.get(1)?.length ?? 0) === 3);
    expect(p.answers.get(1)!.map((a) => a.q1)).toEqual(["yes", "no", "yes"]);
    await until(() => onScreen(s) === 1);
  });

  it("retries a save while the project is busy, says so, and stores it", async () => {
    const p = new Project([1, 2]);
    p.busyFor = 3;
    const s = await started(p);
    answer(s, ["y", "n", "a", "Enter"]);
    await until(() => s.busy !== null);
    expect(onScreen(s)).toBe(2);
    await s.settled();
    expect(s.busy).toBeNull();
    expect(p.answers.get(1)).toHaveLength(1);
    expect(s.progress.done).toBe(1);
    expect(s.error).toBeNull();
  });

  it("back and undo still work after the last sample of the queue", async () => {
    const p = new Project([1]);
    const s = await started(p);
    answer(s, ["y", "y", "y", "Enter"]);
    await until(() => s.finished);
    s.key("ArrowLeft", 0);
    await until(() => onScreen(s) === 1);
    answer(s, ["k", "k", "n", "Enter"]);
    await until(() => s.finished);
    s.key("u", 0);
    await until(() => onScreen(s) === 1);
    expect(p.answers.get(1)!.map((a) => a.q1)).toEqual(["yes", "no", "yes"]);
  });

  it("keeps the draft when the window closes and shows it on the next start", async () => {
    const storage = new Memory();
    const p = new Project([1, 2]);
    const first = await started(p, storage);
    answer(first, ["y", "n"]);
    first.setMachine({ ...first.machine, draft: { ...first.machine.draft, note: "half done" } });
    const reopened = await started(p, storage);
    expect(reopened.machine.draft).toMatchObject({ q1: "yes", q2: "no", q3: null, note: "half done" });
    answer(reopened, ["y", "Enter"]);
    await reopened.settled();
    expect(p.answers.get(1)![0]).toMatchObject({ q1: "yes", q2: "no", q3: "yes", note: "half done" });
    expect(p.answers.get(1)![0].seconds).toBe(0);
    expect([...storage.m.keys()].filter((k) => k.startsWith("verdikt.draft."))).toEqual([]);
  });

  it("warns on Enter while a disputed text has no verdict of mine, and stores on a second Enter", async () => {
    const p = new Project([1, 2]);
    p.disputed.set(1, ["chosen"]);
    const s = await started(p);
    answer(s, ["y", "y", "y", "Enter"]);
    expect(s.machine.message).toMatch(/guards disagree on chosen/);
    expect(onScreen(s)).toBe(1);
    s.key("Enter", 0);
    await s.settled();
    await until(() => p.answers.has(1));
    expect(onScreen(s)).toBe(2);
  });

  it("asks for my verdict on every text of an audit-sample sample, and stores it", async () => {
    const p = new Project([1, 2]);
    p.audited.set(1, ["prompt", "response"]);
    const s = await started(p);
    answer(s, ["y", "y", "y", "Enter"]);
    expect(s.machine.message).toMatch(/random audit sample: give your verdict on prompt \(p\), response \(r\)/);
    expect(onScreen(s)).toBe(1);
    answer(s, ["p", "r", "r", "Enter"]);
    await s.settled();
    await until(() => p.answers.has(1));
    expect(p.answers.get(1)![0].verdicts).toMatchObject({ prompt: { verdict: "safe" }, response: { verdict: "unsafe" } });
    expect(onScreen(s)).toBe(2);
  });

  it("in the adjudication queue stores final answers, starting from the final answer given", async () => {
    const p = new Project([1, 2]);
    const s = new ReviewSession(p, new Memory(), () => 0, 1);
    s.setReviewer("zofia");
    s.query = { ...emptyQuery(), adjudicate: true };
    await s.start();
    answer(s, ["y", "y", "a", "Enter"]);
    await s.settled();
    expect(p.finals.map(([id, a]) => [id, a.q3])).toEqual([[1, "na"]]);
    expect(p.answers.size).toBe(0);
    s.key("u", 0);
    await until(() => s.error !== null);
    expect(s.error!.message).toMatch(/final answer is not undone/);
  });

  it("blurs a hard category's harmful texts: v reveals the sample, V the category always, per reviewer", async () => {
    const p = new Project([1, 2, 3]);
    for (const id of [1, 2, 3]) p.categories.set(id, "S11");
    const reveals = new Reveals();
    const { s, care } = caring(p, reveals, () => 0);
    await s.start();
    expect(care.notice, "a word before the first S11 sample").toEqual({ kind: "word", category: "S11", texts: [] });
    expect(s.key("y", 0), "the notice takes no answer").toBeUndefined();
    expect(s.key("Enter", 0)).toBeUndefined();
    expect(s.machine.draft.q1).toBeNull();
    s.key(" ", 0);
    expect(care.notice).toBeNull();
    expect([care.blurred("rejected"), care.blurred("prompt")]).toEqual([true, false]);
    s.key("v", 0);
    expect(care.blurred("rejected"), "v reveals").toBe(false);
    s.key("v", 0);
    expect(care.blurred("rejected"), "v again blurs").toBe(true);
    s.key("V", 0);
    await until(() => !care.blurred("rejected"));
    expect(reveals.stored.get("ana")).toEqual(["S11"]);
    answer(s, ["y", "y", "y", "Enter"]);
    await until(() => onScreen(s) === 2);
    expect(care.notice, "the word is said once").toBeNull();
    expect(care.blurred("rejected"), "always revealed on the next sample").toBe(false);
    s.key("V", 0);
    await until(() => care.blurred("rejected"));
    expect(reveals.stored.get("ana")).toEqual([]);
    reveals.stored.set("ana", ["S11"]);
    s.setReviewer("ola");
    await s.start();
    expect(care.notice, "a new session for another reviewer").toEqual({ kind: "word", category: "S11", texts: [] });
    s.key(" ", 0);
    expect(care.blurred("rejected"), "ana's choice is not ola's").toBe(true);
  });

  it("times each sample only while it is on screen: not under a word before, a dismissed break or a pause", async () => {
    const p = new Project([1, 2, 3, 4]);
    p.categories.set(1, "S4");
    let t = 0;
    const { s, care } = caring(p, new Reveals(), () => t);
    care.settings = { ...care.settings!, break_minutes: 1 };
    await s.start();
    t = 4_000;
    s.key(" ", 0);
    t = 6_000;
    answer(s, ["y", "y", "y", "Enter"]);
    await until(() => onScreen(s) === 2);
    t = 61_000;
    answer(s, ["y", "y", "y", "Enter"]);
    await until(() => onScreen(s) === 3);
    expect(care.notice, "a minute of review: a pause is suggested").toEqual({ kind: "break", minutes: 1 });
    t = 91_000;
    s.key("Escape", 0);
    expect(care.notice).toBeNull();
    t = 93_500;
    answer(s, ["y", "y", "y", "Enter"]);
    await until(() => onScreen(s) === 4);
    expect(care.notice, "not now: the next suggestion after another stretch").toBeNull();
    t = 94_500;
    s.key("b", 0);
    expect(care.notice?.kind).toBe("on-break");
    t = 200_000;
    s.key("b", 0);
    t = 201_000;
    answer(s, ["y", "y", "y", "Enter"]);
    await s.settled();
    expect([1, 2, 3, 4].map((id) => p.answers.get(id)![0].seconds)).toEqual([2, 55, 2.5, 2]);
  });
});

/** A reviewer's "always reveal" categories as the project keeps them. */
class Reveals implements CareApi {
  stored = new Map<string, string[]>();
  async reveals(r: string) {
    return this.stored.get(r) ?? [];
  }
  async setReveal(r: string, category: string, always: boolean) {
    const now = (this.stored.get(r) ?? []).filter((c) => c !== category);
    this.stored.set(r, always ? [...now, category] : now);
    return this.stored.get(r)!;
  }
}

/** A session of ana's with the core's default care settings. */
function caring(p: Project, reveals: Reveals, now: () => number) {
  const care = new ReviewCare(reveals);
  care.settings = { blur_categories: ["S3", "S4", "S11", "S12"], blur_texts: ["rejected", "response"], break_minutes: 45 };
  const s = new ReviewSession(p, new Memory(), now, 1, care);
  s.setReviewer("ana");
  s.query = emptyQuery();
  return { s, care };
}

/** `verdikt serve` as a browser reaches it: the project behind it stores an answer id once
 *  (as the core does), and the network between can be cut, or drop a reply after the commit. */
class Server extends Project {
  online = true;
  /** Replies lost after the command ran (a connection dropped on the way back). */
  dropReplies = 0;
  /** Answers refused as busy (503), as a project locked by another writer. */
  busyReplies = 0;
  /** Every answer id a submit was attempted with, reached or not. */
  attempts: [number, string][] = [];
  private seen = new Set<string>();

  async next(_r: string, _q: unknown, after: number | null) {
    const waiting = this.queue.filter((id) => !this.answers.get(id)?.length);
    const from = after === null ? 0 : this.queue.indexOf(after) + 1;
    const id = waiting.find((w) => this.queue.indexOf(w) >= from);
    return id === undefined ? null : this.view(id);
  }
  async submitOnce(id: number, a: Answer, answerId: string) {
    if (!this.seen.has(answerId)) {
      this.seen.add(answerId);
      this.answers.set(id, [...(this.answers.get(id) ?? []), a]);
    }
    return {} as AnswerRecord;
  }
  async undoOnce(id: number, answerId: string) {
    if (!this.seen.has(answerId)) {
      this.seen.add(answerId);
      this.answers.set(id, (this.answers.get(id) ?? []).slice(0, -1));
    }
    return {} as AnswerRecord;
  }

  /** The browser's `fetch` to this server. */
  send: typeof fetch = (async (url: string, init: RequestInit) => {
    const command = url.replace("/api/", "");
    const args = JSON.parse(String(init.body));
    if (command === "review_submit") this.attempts.push([args.id, args.answerId]);
    if (!this.online) throw new TypeError("Failed to fetch");
    if (command === "review_submit" && this.busyReplies > 0) {
      this.busyReplies -= 1;
      return Response.json({ message: "The project is busy: another program is writing to it.", details: [], busy: true }, { status: 503 });
    }
    const run: Record<string, () => Promise<unknown>> = {
      review_counts: () => this.counts(),
      review_next: () => this.next(args.reviewer, args.query, args.after),
      review_sample_get: () => this.sample(args.id),
      review_submit: () => this.submitOnce(args.id, args.answer, args.answerId),
      review_undo: () => this.undoOnce(args.id, args.answerId),
      review_reveals: async () => [],
    };
    const value = await run[command]();
    if (this.dropReplies > 0) {
      this.dropReplies -= 1;
      throw new TypeError("network connection was lost");
    }
    return Response.json(value);
  }) as typeof fetch;
}

/** A browser tab served by `server`: the generated bindings over the HTTP transport. Closed,
 *  nothing it asks reaches the server any more. */
function tab(server: Server, storage: DraftStore, retryMs = 1) {
  const w: Record<string, unknown> = {};
  installServedTransport(w, (url, init) => server.send(url, init));
  vi.stubGlobal("window", w);
  let closed = false;
  const api = Object.fromEntries(
    Object.entries(windowApi).map(([name, command]) => [name, (...a: never[]) => (closed ? new Promise(() => {}) : (command as (...a: never[]) => unknown)(...a))]),
  ) as unknown as ReviewApi;
  const care = new ReviewCare({ reveals: async () => [], setReveal: async () => [] });
  const connection = new EventTarget();
  const s = new ReviewSession(api, storage, () => 0, retryMs, care, connection);
  s.setProject("p1");
  s.setReviewer("ana");
  return { s, connection, close: () => (closed = true) };
}

const keptFor = (storage: Memory, id: number) => [...storage.m.entries()].find(([k]) => k.endsWith(`/ana/${id}`))?.[1] ?? null;
const storedIds = (server: Server, id: number) => new Set(server.attempts.filter(([s]) => s === id).map(([, a]) => a));

describe("served review: answers survive the connection", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("offline, an answer is kept, said so (not as an error), and stored once with its answer id when back online", async () => {
    const server = new Server([1, 2, 3]);
    const storage = new Memory();
    // Retries wait a minute at first: only coming back online sends it in this test's time.
    const { s, connection } = tab(server, storage, 60_000);
    await s.start();
    server.online = false;
    answer(s, ["y", "n", "a", "Enter"]);
    await until(() => onScreen(s) === 2);
    await until(() => server.attempts.length >= 1);
    expect(s.pending).toBe(OFFLINE);
    expect(s.error).toBeNull();
    expect(JSON.parse(keptFor(storage, 1)!).unsent.answer).toMatchObject({ q1: "yes", q2: "no", q3: "na" });
    const tries = server.attempts.length;
    server.online = true;
    connection.dispatchEvent(new Event("online"));
    await s.settled();
    expect(server.attempts.length).toBe(tries + 1);
    expect(server.answers.get(1)).toHaveLength(1);
    expect(storedIds(server, 1).size, "every attempt carried the same answer id").toBe(1);
    expect(keptFor(storage, 1), "acknowledged: the draft goes").toBeNull();
    expect(s.pending).toBeNull();
    expect(s.progress.done).toBe(1);
  });

  it("a reply lost after the commit: the answer is sent again and stored once", async () => {
    const server = new Server([1, 2]);
    const storage = new Memory();
    const { s } = tab(server, storage);
    await s.start();
    server.dropReplies = 1;
    answer(s, ["y", "y", "y", "Enter"]);
    await until(() => onScreen(s) === 2);
    await s.settled();
    expect(server.attempts.filter(([id]) => id === 1)).toHaveLength(2);
    expect(storedIds(server, 1).size).toBe(1);
    expect(server.answers.get(1)).toHaveLength(1);
    expect(keptFor(storage, 1)).toBeNull();
    expect(s.error).toBeNull();
  });

  it("a closed tab keeps the answer given offline and the draft being written; the next tab sends the one and shows the other", async () => {
    const server = new Server([1, 2, 3]);
    const storage = new Memory();
    const { s: closed, close } = tab(server, storage);
    await closed.start();
    server.online = false;
    answer(closed, ["y", "n", "n", "Enter"]);
    await until(() => onScreen(closed) === 2);
    answer(closed, ["n"]);
    closed.setMachine({ ...closed.machine, draft: { ...closed.machine.draft, note: "half <b>done</b>" } });
    const firstId = JSON.parse(keptFor(storage, 1)!).unsent.answerId as string;
    // The tab closes, the connection comes back, a new tab opens.
    close();
    const reopened = tab(server, storage).s;
    server.online = true;
    await reopened.start();
    expect(server.answers.get(1)).toHaveLength(1);
    expect(storedIds(server, 1)).toEqual(new Set([firstId]));
    expect(onScreen(reopened), "sample 1 is stored, so the queue starts at 2").toBe(2);
    expect(reopened.machine.draft).toMatchObject({ q1: "no", q2: null, note: "half <b>done</b>" });
    expect(keptFor(storage, 1)).toBeNull();
  });

  it("a busy project is retried, never shown as an error", async () => {
    const server = new Server([1, 2]);
    server.busyReplies = 3;
    const { s } = tab(server, new Memory());
    await s.start();
    answer(s, ["y", "n", "a", "Enter"]);
    await until(() => s.busy !== null);
    expect(s.error).toBeNull();
    await s.settled();
    expect(s.busy).toBeNull();
    expect(server.answers.get(1)).toHaveLength(1);
    expect(storedIds(server, 1).size).toBe(1);
  });

  it("undo of an answer still waiting to be sent: says so, sends it once when back online, then undoes it", async () => {
    const server = new Server([1, 2]);
    const storage = new Memory();
    const { s, connection } = tab(server, storage);
    await s.start();
    server.online = false;
    answer(s, ["y", "y", "y", "Enter"]);
    await until(() => onScreen(s) === 2);
    s.key("u", 0);
    await until(() => s.pending?.includes("Undo follows once it is stored.") ?? false);
    expect(onScreen(s)).toBe(2);
    server.online = true;
    connection.dispatchEvent(new Event("online"));
    await until(() => onScreen(s) === 1);
    expect(storedIds(server, 1).size).toBe(1);
    expect(server.answers.get(1), "stored once, then undone").toEqual([]);
    expect(s.error).toBeNull();
    expect(s.pending).toBeNull();
  });

  it("a draft is kept per project: another project's sample of the same id starts empty", async () => {
    const server = new Server([1, 2]);
    const storage = new Memory();
    const first = tab(server, storage).s;
    await first.start();
    answer(first, ["y", "n"]);
    const other = tab(server, storage).s;
    other.setProject("p2");
    await other.start();
    expect(other.machine.draft).toMatchObject({ q1: null, q2: null });
    other.setProject("p1");
    await other.start();
    expect(other.machine.draft).toMatchObject({ q1: "yes", q2: "no" });
  });
});
