import { describe, expect, it } from "vitest";
import { Drafts, draftKey, type Unsent } from "./drafts";
import { emptyDraft } from "./machine";
import { Memory } from "./testing";

const ana = { project: "p1", reviewer: "ana" };
const given = (answerId: string): Unsent => ({
  answer: { q1: "yes", q2: "no", q3: "na", verdicts: {}, note: "n", exclude: false, seconds: 3 },
  answerId,
  adjudicate: false,
});

describe("drafts", () => {
  it("keeps a draft per project, reviewer and sample", () => {
    const store = new Memory();
    const drafts = new Drafts(store);
    drafts.keep(ana, 7, { ...emptyDraft(), q1: "yes", note: "half" });
    expect(drafts.get(ana, 7)).toEqual({ draft: { ...emptyDraft(), q1: "yes", note: "half" }, unsent: null });
    expect(drafts.get({ ...ana, project: "p2" }, 7)).toBeNull();
    expect(drafts.get({ ...ana, reviewer: "ola" }, 7)).toBeNull();
    expect(drafts.get(ana, 8)).toBeNull();
    // Names with separators in them never share a key.
    expect(draftKey({ project: "a.b", reviewer: "c" }, 1)).not.toBe(draftKey({ project: "a", reviewer: "b.c" }, 1));
    expect(draftKey({ project: "a/b", reviewer: "c" }, 1)).not.toBe(draftKey({ project: "a", reviewer: "b/c" }, 1));
  });

  it("holds an answer given until the project acknowledges that answer id", () => {
    const drafts = new Drafts(new Memory());
    drafts.give(ana, 7, { ...emptyDraft(), q1: "yes" }, given("id-1"));
    drafts.keep(ana, 7, { ...emptyDraft(), q1: "no" });
    expect(drafts.get(ana, 7)?.unsent?.answerId, "typing keeps the answer waiting").toBe("id-1");
    expect(drafts.unsent(ana)).toEqual([[7, given("id-1")]]);
    drafts.give(ana, 7, emptyDraft(), given("id-2"));
    drafts.acknowledged(ana, 7, "id-1");
    expect(drafts.get(ana, 7)?.unsent?.answerId, "a later answer stays").toBe("id-2");
    drafts.acknowledged(ana, 7, "id-2");
    expect(drafts.get(ana, 7)).toBeNull();
  });

  it("a refused answer is a draft again, without its answer id", () => {
    const drafts = new Drafts(new Memory());
    drafts.give(ana, 7, { ...emptyDraft(), q1: "yes" }, given("id-1"));
    drafts.refused(ana, 7);
    expect(drafts.get(ana, 7)).toEqual({ draft: { ...emptyDraft(), q1: "yes" }, unsent: null });
    expect(drafts.unsent(ana)).toEqual([]);
  });

  it("lists only the owner's answers waiting, in sample order", () => {
    const store = new Memory();
    const drafts = new Drafts(store);
    drafts.give(ana, 9, emptyDraft(), given("a9"));
    drafts.give(ana, 2, emptyDraft(), given("a2"));
    drafts.keep(ana, 5, emptyDraft());
    drafts.give({ ...ana, reviewer: "ola" }, 3, emptyDraft(), given("o3"));
    drafts.give({ ...ana, project: "p2" }, 4, emptyDraft(), given("p4"));
    store.setItem("verdikt.reviewer", "ana");
    expect(drafts.unsent(ana).map(([id, u]) => [id, u.answerId])).toEqual([[2, "a2"], [9, "a9"]]);
  });

  it("reads back only the reviewer's own choices and text, whatever else the record holds", () => {
    const store = new Memory();
    const drafts = new Drafts(store);
    const key = draftKey(ana, 7);
    store.setItem(key, "{not json");
    expect(drafts.get(ana, 7)).toBeNull();
    store.setItem(
      key,
      JSON.stringify({
        draft: { q1: "maybe", q2: "no", q3: 3, note: "<img src=x onerror=alert(1)>", exclude: "yes", verdicts: { prompt: { verdict: "unsafe", categories: ["S1", 2] }, html: { verdict: "safe" }, chosen: { verdict: "evil" } }, extra: "<script>" },
        unsent: { answer: { q1: "yes", q2: "no", q3: null }, answerId: "x" },
        __proto__: { polluted: true },
      }),
    );
    const kept = drafts.get(ana, 7)!;
    expect(kept.draft).toEqual({ q1: null, q2: "no", q3: null, note: "<img src=x onerror=alert(1)>", exclude: false, verdicts: { prompt: { verdict: "unsafe", categories: ["S1"] } } });
    expect(kept.unsent, "an incomplete answer is not sent").toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("without a store nothing is kept and nothing fails", () => {
    const drafts = new Drafts(null);
    drafts.keep(ana, 1, emptyDraft());
    drafts.give(ana, 1, emptyDraft(), given("x"));
    expect(drafts.get(ana, 1)).toBeNull();
    expect(drafts.unsent(ana)).toEqual([]);
  });
});
