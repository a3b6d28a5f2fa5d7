import { describe, expect, it } from "vitest";
import {
  advance,
  emptyDraft,
  initialState,
  onKey,
  reviewKey,
  setCategories,
  setNote,
  type ReviewState,
  type Step,
} from "./machine";

/** Presses keys in order, collecting effects. */
function press(state: ReviewState, ...keys: string[]): { state: ReviewState; effects: Step["effect"][] } {
  const effects: Step["effect"][] = [];
  for (const k of keys) {
    const step = onKey(state, k);
    if (step) {
      state = step.state;
      if (step.effect) effects.push(step.effect);
    }
  }
  return { state, effects };
}

describe("answering Q1–Q3", () => {
  it("answers each question in turn and moves to the next unanswered one", () => {
    const { state } = press(initialState(), "y", "n", "a");
    expect(state.draft.q1).toBe("yes");
    expect(state.draft.q2).toBe("no");
    expect(state.draft.q3).toBe("na");
  });

  it("refuses 'not applicable' for Q1 and Q2", () => {
    const { state } = press(initialState(), "a");
    expect(state.draft.q1).toBeNull();
    expect(state.message).toMatch(/Only Q3/);
  });

  it("lets the reviewer go back up and change an answer", () => {
    const { state } = press(initialState(), "y", "y", "y", "k", "n");
    expect(state.draft).toMatchObject({ q1: "yes", q2: "no", q3: "yes" });
  });

  it("does not move past Q1 or Q3 with the arrows", () => {
    expect(press(initialState(), "ArrowUp").state.question).toBe(0);
    expect(press(initialState(), "j", "j", "j", "ArrowDown").state.question).toBe(2);
  });

  it("starts on the first unanswered question of a loaded draft", () => {
    expect(initialState({ ...emptyDraft(), q1: "yes" }).question).toBe(1);
  });
});

describe("submit", () => {
  it("submits a complete answer with the note, verdicts and exclude flag", () => {
    let s = press(initialState(), "y", "y", "n", "e", "c", "c", "p").state;
    s = setNote(s, "odd wording");
    s = setCategories(s, "chosen", "s1, S10");
    const { effects } = press(s, "Enter");
    expect(effects).toEqual([
      {
        kind: "submit",
        answer: {
          q1: "yes",
          q2: "yes",
          q3: "no",
          note: "odd wording",
          exclude: true,
          verdicts: {
            chosen: { verdict: "unsafe", categories: ["S1", "S10"] },
            prompt: { verdict: "safe", categories: [] },
          },
        },
      },
    ]);
  });

  it("refuses an incomplete answer and points at the missing question", () => {
    const { state, effects } = press(initialState(), "y", "Enter");
    expect(effects).toEqual([]);
    expect(state.question).toBe(1);
    expect(state.message).toBe("Answer Q2 before submitting.");
  });
});

describe("verdict override", () => {
  it("cycles none → safe → unsafe → none", () => {
    const s1 = press(initialState(), "r").state;
    expect(s1.draft.verdicts.rejected?.verdict).toBe("safe");
    const s2 = press(s1, "r").state;
    expect(s2.draft.verdicts.rejected?.verdict).toBe("unsafe");
    const s3 = press(s2, "r").state;
    expect(s3.draft.verdicts.rejected).toBeUndefined();
  });

  it("asks for a verdict on every text of an audit sample, r judging the response", () => {
    const asked = initialState(emptyDraft(), [], ["prompt", "response"]);
    const first = press(asked, "y", "y", "y", "Enter");
    expect(first.effects).toEqual([]);
    expect(first.state.message).toMatch(/random audit sample: give your verdict on prompt \(p\), response \(r\)/);
    const judged = press(asked, "p", "r", "y", "y", "y", "Enter");
    expect(judged.state.draft.verdicts.response?.verdict).toBe("safe");
    expect(judged.effects.map((e) => e?.kind)).toEqual(["submit"]);
    // A disputed text keeps the guards' message; a second Enter stores anyway.
    const both = press(initialState(emptyDraft(), ["chosen"], ["prompt", "chosen"]), "y", "y", "y", "Enter");
    expect(both.state.message).toMatch(/guards disagree on chosen \(c\)/);
    expect(press(both.state, "Enter").effects.map((e) => e?.kind)).toEqual(["submit"]);
  });

  it("ignores categories for a text without an override", () => {
    const s = initialState();
    expect(setCategories(s, "prompt", "S1")).toBe(s);
  });
});

describe("moving and other effects", () => {
  it("maps the movement keys to effects", () => {
    const { effects } = press(initialState(), "ArrowRight", "ArrowLeft", "u", "+", "-", "d");
    expect(effects.map((e) => e?.kind)).toEqual(["skip", "back", "undo", "font", "font", "theme"]);
  });

  it("returns null for keys it does not own, so the page can scroll", () => {
    expect(onKey(initialState(), "Tab")).toBeNull();
    expect(onKey(initialState(), "PageDown")?.effect).toEqual({ kind: "scroll", pages: 1 });
    expect(onKey(initialState(), " ")).toBeNull();
  });
});

describe("modes", () => {
  it("types a note without answering: only Escape leaves", () => {
    const typing = press(initialState(), "t");
    expect(typing.effects).toEqual([{ kind: "focus-note" }]);
    expect(typing.state.mode).toBe("typing-note");
    expect(onKey(typing.state, "y")).toBeNull();
    expect(press(typing.state, "Escape").state.mode).toBe("answering");
  });

  it("help swallows keys until closed", () => {
    const help = press(initialState(), "?").state;
    const { state, effects } = press(help, "y", "Enter");
    expect(state.draft.q1).toBeNull();
    expect(effects).toEqual([]);
    expect(press(help, "Escape").state.mode).toBe("answering");
  });
});

describe("reviewKey", () => {
  const ev = (key: string, extra: Partial<Parameters<typeof reviewKey>[0]> = {}) => ({
    key,
    ctrlKey: false,
    altKey: false,
    metaKey: false,
    targetIsTextField: false,
    ...extra,
  });
  it("leaves window shortcuts alone", () => {
    expect(reviewKey(ev("r", { ctrlKey: true }))).toBeNull();
    expect(reviewKey(ev("y", { altKey: true }))).toBeNull();
  });
  it("lets text fields keep their keys except Escape", () => {
    expect(reviewKey(ev("y", { targetIsTextField: true }))).toBeNull();
    expect(reviewKey(ev("Escape", { targetIsTextField: true }))).toBe("Escape");
    expect(reviewKey(ev("y"))).toBe("y");
  });
});

describe("progress", () => {
  it("counts answers in the session", () => {
    expect(advance({ done: 0, total: 3 })).toEqual({ done: 1, total: 3 });
    expect(advance({ done: 3, total: 3 })).toEqual({ done: 4, total: 4 });
  });
});
