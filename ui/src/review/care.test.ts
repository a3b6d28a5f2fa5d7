import { describe, expect, it } from "vitest";
import type { CareSettings } from "../bindings";
import { IDLE_ENDS_STRETCH_MS, OnScreenClock, active, breakDue, noStretch, noticeKey, veil, wordBefore, type Notice } from "./care";

/** The core's defaults (`CareSettings::default`). */
const defaults = (): CareSettings => ({ blur_categories: ["S3", "S4", "S11", "S12"], blur_texts: ["rejected", "response"], break_minutes: 45 });
const MIN = 60_000;

describe("reviewer care", () => {
  it("blurs the chosen texts of a blurred category until revealed or always revealed", () => {
    const s = defaults();
    expect(veil(s, "S11", "rejected", false, [])).toBe("blurred");
    expect(veil(s, "S11", "response", false, [])).toBe("blurred");
    expect(veil(s, "S11", "prompt", false, []), "not the prompt by default").toBeNull();
    expect(veil(s, "S11", "chosen", false, [])).toBeNull();
    expect(veil(s, "S1", "rejected", false, []), "not other categories").toBeNull();
    expect(veil(s, null, "rejected", false, [])).toBeNull();
    expect(veil(s, "S11", "rejected", true, []), "revealed on this sample").toBe("revealed");
    expect(veil(s, "S11", "rejected", false, ["S11"]), "always revealed").toBe("always");
    expect(veil(s, "S11", "rejected", true, ["S11"])).toBe("always");
    expect(veil(s, "S4", "rejected", false, ["S11"]), "only that category").toBe("blurred");
    expect(veil({ ...s, blur_texts: ["prompt"] }, "S4", "prompt", false, [])).toBe("blurred");
    expect(veil({ ...s, blur_categories: [] }, "S4", "rejected", false, [])).toBeNull();
    expect(veil(null, "S4", "rejected", false, []), "settings not read yet").toBeNull();
  });

  it("says a word before a blurred category once", () => {
    const announced = new Set<string>();
    expect(wordBefore(defaults(), "S12", announced)).toBe("S12");
    announced.add("S12");
    expect(wordBefore(defaults(), "S12", announced)).toBeNull();
    expect(wordBefore(defaults(), "S4", announced)).toBe("S4");
    expect(wordBefore(defaults(), "S1", announced)).toBeNull();
    expect(wordBefore(defaults(), null, announced)).toBeNull();
  });

  it("suggests a pause after the stretch the curator set; a long gap starts a new stretch", () => {
    const s = defaults();
    // A key every five minutes for 40 minutes: one stretch.
    const st = [0, 5, 10, 15, 20, 25, 30, 35, 40].reduce((acc, m) => active(acc, m * MIN), noStretch());
    expect(st).toEqual({ since: 0, last: 40 * MIN });
    expect(breakDue(s, st, 44 * MIN)).toBe(false);
    expect(breakDue(s, st, 45 * MIN)).toBe(true);
    expect(breakDue({ ...s, break_minutes: null }, st, 600 * MIN), "breaks off").toBe(false);
    expect(breakDue({ ...s, break_minutes: 0.05 }, st, 3000), "fractions of a minute").toBe(true);
    const after = active(st, 40 * MIN + IDLE_ENDS_STRETCH_MS);
    expect(after.since).toBe(40 * MIN + IDLE_ENDS_STRETCH_MS);
    expect(breakDue(s, after, 60 * MIN)).toBe(false);
    expect(breakDue(s, noStretch(), 600 * MIN), "nothing reviewed yet").toBe(false);
  });

  it("takes only a notice's own keys, and never Enter", () => {
    const word: Notice = { kind: "word", category: "S4", texts: ["rejected"] };
    expect(noticeKey(word, " ")).toBe("dismiss");
    expect(noticeKey(word, "ArrowRight")).toBe("skip");
    expect(noticeKey({ kind: "break", minutes: 45 }, "b")).toBe("take-break");
    expect(noticeKey({ kind: "break", minutes: 45 }, "Escape")).toBe("dismiss");
    expect(noticeKey({ kind: "on-break" }, "b")).toBe("dismiss");
    const notices: Notice[] = [word, { kind: "break", minutes: 1 }, { kind: "on-break" }];
    for (const n of notices) {
      expect(noticeKey(n, "Enter")).toBeNull();
      expect(noticeKey(n, "y")).toBeNull();
    }
  });

  it("counts only the time a sample was on screen", () => {
    const c = new OnScreenClock();
    c.begin(1000, true);
    expect(c.seconds(5000)).toBe(0);
    c.uncover(5000);
    expect(c.seconds(7000)).toBe(2);
    c.cover(7000);
    c.cover(8000);
    expect(c.seconds(9000), "covered twice counts once").toBe(2);
    c.uncover(9000);
    c.uncover(9500);
    expect(c.seconds(10000)).toBe(3);
    c.begin(20000, false);
    expect(c.seconds(21500)).toBe(1.5);
  });
});
