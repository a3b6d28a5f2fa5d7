import { describe, expect, it } from "vitest";
import type { ReviewerActivity } from "../bindings";
import { ago, progressText, sessionsText, sourcesText } from "./activity";

const none = { window: 0, pack: 0, browser: 0, cli: 0, unrecorded: 0 };
const ana: ReviewerActivity = {
  reviewer: "ana",
  languages: ["pl", "de"],
  progress: [
    { language: null, total: 40, waiting: 28 },
    { language: "pl", total: 30, waiting: 20 },
    { language: "de", total: 10, waiting: 8 },
  ],
  last_answer_at: "2026-12-07T16:00:00.000Z",
  sources: { ...none, window: 3, browser: 8 },
  open_sessions: 2,
  last_seen_at: "2026-12-07T16:57:00.000Z",
};
const now = Date.parse("2026-12-07T17:00:30.000Z");

describe("who is working, in words", () => {
  it("counts answered samples of the reviewer's queue, per language when several", () => {
    expect(progressText(ana)).toBe("12 / 40 answered · pl 10 / 30, de 2 / 10");
    const one = { ...ana, progress: [ana.progress[0], { language: "pl", total: 40, waiting: 28 }] };
    expect(progressText(one)).toBe("12 / 40 answered");
    expect(progressText({ ...ana, progress: [{ language: null, total: 0, waiting: 0 }] })).toBe("nothing in their queue");
  });
  it("names only the sources that gave answers", () => {
    expect(sourcesText(ana.sources)).toBe("window 3 · browser 8");
    expect(sourcesText(none)).toBe("no answers yet");
  });
  it("says how long ago", () => {
    expect(ago(null, now)).toBe("never");
    expect(ago("2026-12-07T17:00:10.000Z", now)).toBe("just now");
    expect(ago(ana.last_seen_at, now)).toBe("3 min ago");
    expect(ago(ana.last_answer_at, now)).toBe("1 h ago");
    expect(ago("2026-12-01T17:00:00.000Z", now)).toBe("6 d ago");
    expect(sessionsText(ana, now)).toBe("2 open · seen 3 min ago");
    expect(sessionsText({ ...ana, open_sessions: 0 }, now)).toBe("none");
  });
});
