import { describe, expect, it } from "vitest";
import type { Answer, AnswerRecord, ReviewView } from "../bindings";
import { CommandError } from "../lib/call";
import { ReviewSession, emptyQuery, type DraftStore, type ReviewApi } from "./session.svelte";

/** The project as the session sees it: a queue of sample ids and append-only answers. */
class Project implements ReviewApi {
  answers = new Map<number, Answer[]>();
  busyFor = 0;
  /** Saves wait for this before they land (a slow background write). */
  gate: Promise<void> = Promise.resolve();
  disputed = new Map<number, string[]>();
  audited = new Map<number, string[]>();
  constructor(public queue: number[]) {}

  private view(id: number): ReviewView {
    const versions = this.answers.get(id) ?? [];
    const mine = versions.length ? ({ ...versions[versions.length - 1], version: versions.length } as unknown as AnswerRecord) : null;
    return {
      view: { id, sample_id: `s${id}`, dataset: "d", language: "pl", category: null, style: null, split: null, turns: [], texts: [], reasons: [], kept_by_rule: false },
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

class Memory implements DraftStore {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
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
});
