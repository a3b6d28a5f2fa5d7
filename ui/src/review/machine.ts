// The Review screen's keyboard state machine, kept free of Svelte and Tauri so it can be unit
// tested: a key and the current state give the next state and at most one effect for the
// screen to carry out (submit, move, undo). A reviewer never needs the mouse.

export type YesNo = "yes" | "no";
export type Q3Answer = "yes" | "no" | "na";
export type TextVerdict = "safe" | "unsafe";
export type Field = "prompt" | "chosen" | "rejected" | "response";

export interface FieldVerdict {
  verdict: TextVerdict;
  categories: string[];
}

/** The answer being written for the sample on screen. */
export interface Draft {
  q1: YesNo | null;
  q2: YesNo | null;
  q3: Q3Answer | null;
  verdicts: Partial<Record<Field, FieldVerdict>>;
  note: string;
  exclude: boolean;
}

export type Mode = "answering" | "typing-note" | "help";

export interface ReviewState {
  mode: Mode;
  /** Texts whose guards disagree: the answer passes the audit only with my verdict on each. */
  disputed: Field[];
  /** A sample of the random audit sample: every text it has asks for my verdict (the guard-error
   * figures compare guards with it); a missing one does not hold the sample back from export. */
  audited: Field[];
  /** Enter was pressed once with a disputed or audited text left unjudged: a second Enter stores anyway. */
  warnedUnjudged: boolean;
  /** Which question the answer keys go to: 0 = Q1, 1 = Q2, 2 = Q3. */
  question: 0 | 1 | 2;
  draft: Draft;
  /** Shown under the questions, e.g. what is still missing before submit. */
  message: string | null;
}

export type Effect =
  | { kind: "submit"; answer: CompleteAnswer }
  | { kind: "back" }
  | { kind: "skip" }
  | { kind: "undo" }
  | { kind: "font"; delta: 1 | -1 }
  | { kind: "theme" }
  | { kind: "focus-note" }
  | { kind: "scroll"; pages: 1 | -1 }
  | { kind: "invisibles" }
  | { kind: "reveal" }
  | { kind: "reveal-always" }
  | { kind: "break" };

export interface CompleteAnswer {
  q1: YesNo;
  q2: YesNo;
  q3: Q3Answer;
  verdicts: Partial<Record<Field, FieldVerdict>>;
  note: string;
  exclude: boolean;
}

export interface Step {
  state: ReviewState;
  effect: Effect | null;
}

export const emptyDraft = (): Draft => ({
  q1: null,
  q2: null,
  q3: null,
  verdicts: {},
  note: "",
  exclude: false,
});

export const initialState = (draft: Draft = emptyDraft(), disputed: Field[] = [], audited: Field[] = []): ReviewState => ({
  mode: "answering",
  disputed,
  audited,
  warnedUnjudged: false,
  question: firstUnanswered(draft) ?? 0,
  draft,
  message: null,
});

const QUESTION_KEYS = ["q1", "q2", "q3"] as const;

function firstUnanswered(d: Draft): 0 | 1 | 2 | null {
  const i = QUESTION_KEYS.findIndex((k) => d[k] === null);
  return i < 0 ? null : (i as 0 | 1 | 2);
}

/** The keys, for the on-screen key list and the help panel. */
export const KEYS: ReadonlyArray<[string, string]> = [
  ["y / n", "answer yes / no to the highlighted question"],
  ["a", "not applicable (Q3 only)"],
  ["↑ ↓  or  k j", "move between Q1–Q3"],
  ["Enter", "submit and go to the next sample"],
  ["→", "skip to the next sample without answering"],
  ["←", "back to the previous sample"],
  ["u", "undo my last answer and go back to that sample"],
  ["p / c / r", "my verdict on prompt / chosen / rejected (r: the response where there is no rejected text): none → safe → unsafe"],
  ["Tab / PgDn / PgUp", "pick a text / scroll it down / up"],
  ["i", "show invisible characters (toggle)"],
  ["v", "reveal this sample's blurred texts (again: blur them)"],
  ["V", "always reveal this sample's category for me (again: blur it again)"],
  ["b", "take a break now: the sample is hidden and its time stops"],
  ["Space / → / Esc", "on a notice before a sample: show it / skip it / not now (a suggested break)"],
  ["e", "exclude from export (toggle)"],
  ["t", "write a note (Esc to leave)"],
  ["?", "question wording and guidelines"],
  ["+ / −", "font size"],
  ["d", "light / dark"],
];

const OVERRIDE_KEYS: Record<string, Field> = { p: "prompt", c: "chosen", r: "rejected" };

function cycleVerdict(current: FieldVerdict | undefined): FieldVerdict | undefined {
  if (!current) return { verdict: "safe", categories: [] };
  if (current.verdict === "safe") return { verdict: "unsafe", categories: current.categories };
  return undefined;
}

function answer(state: ReviewState, value: "yes" | "no" | "na"): ReviewState {
  const key = QUESTION_KEYS[state.question];
  if (value === "na" && key !== "q3") {
    return { ...state, message: "Only Q3 can be “not applicable”." };
  }
  const draft = { ...state.draft, [key]: value } as Draft;
  const next = firstUnanswered(draft);
  return { ...state, draft, question: next ?? state.question, message: null };
}

/** The disputed and audited texts the draft gives no verdict on. */
export function unjudged(state: ReviewState): Field[] {
  const asked = [...state.disputed, ...state.audited.filter((f) => !state.disputed.includes(f))];
  return asked.filter((f) => !state.draft.verdicts[f]);
}

/** The key that gives my verdict on `field`: `r` is the response where a sample has no rejected text. */
export function verdictKey(field: Field): string {
  return field === "response" ? "r" : field[0];
}

/** The text a verdict key judges on this sample. */
function keyField(state: ReviewState, key: string): Field | undefined {
  const field = OVERRIDE_KEYS[key];
  const asked = [...state.disputed, ...state.audited];
  if (field === "rejected" && asked.includes("response") && !asked.includes("rejected")) return "response";
  return field;
}

function submit(state: ReviewState): Step {
  const { q1, q2, q3 } = state.draft;
  const missing = firstUnanswered(state.draft);
  if (q1 === null || q2 === null || q3 === null || missing !== null) {
    const which = missing ?? 0;
    return {
      state: { ...state, question: which, message: `Answer Q${which + 1} before submitting.` },
      effect: null,
    };
  }
  const open = unjudged(state);
  if (open.length > 0 && !state.warnedUnjudged) {
    const keys = (fields: Field[]) => fields.map((f) => `${f} (${verdictKey(f)})`).join(", ");
    const disputed = open.filter((f) => state.disputed.includes(f));
    const message =
      disputed.length > 0
        ? `The guards disagree on ${keys(disputed)}: give your verdict first, or press Enter again to store the answer without it (it then cannot pass the export filter).`
        : `This sample is in the random audit sample: give your verdict on ${keys(open)} (the guard-error figures need it), or press Enter again to store the answer without it.`;
    return {
      state: {
        ...state,
        warnedUnjudged: true,
        message,
      },
      effect: null,
    };
  }
  const { verdicts, note, exclude } = state.draft;
  return {
    state: { ...state, message: null },
    effect: { kind: "submit", answer: { q1, q2, q3, verdicts, note, exclude } },
  };
}

/**
 * One key press. `key` is `KeyboardEvent.key`. Returns null when the key means nothing here,
 * so the screen lets the browser handle it (e.g. scrolling a long text).
 */
export function onKey(state: ReviewState, key: string): Step | null {
  const same = (s: ReviewState, effect: Effect | null = null): Step => ({ state: s, effect });
  if (state.mode === "typing-note") {
    return key === "Escape" ? same({ ...state, mode: "answering" }) : null;
  }
  if (state.mode === "help") {
    return key === "Escape" || key === "?" ? same({ ...state, mode: "answering" }) : same(state);
  }
  switch (key) {
    case "y":
      return same(answer(state, "yes"));
    case "n":
      return same(answer(state, "no"));
    case "a":
      return same(answer(state, "na"));
    case "ArrowUp":
    case "k":
      return same({ ...state, question: Math.max(0, state.question - 1) as 0 | 1 | 2 });
    case "ArrowDown":
    case "j":
      return same({ ...state, question: Math.min(2, state.question + 1) as 0 | 1 | 2 });
    case "Enter":
      return submit(state);
    case "ArrowRight":
      return same(state, { kind: "skip" });
    case "ArrowLeft":
      return same(state, { kind: "back" });
    case "u":
      return same(state, { kind: "undo" });
    case "e":
      return same({ ...state, draft: { ...state.draft, exclude: !state.draft.exclude } });
    case "t":
      return same({ ...state, mode: "typing-note" }, { kind: "focus-note" });
    case "?":
      return same({ ...state, mode: "help" });
    case "+":
    case "=":
      return same(state, { kind: "font", delta: 1 });
    case "-":
      return same(state, { kind: "font", delta: -1 });
    case "d":
      return same(state, { kind: "theme" });
    case "PageDown":
      return same(state, { kind: "scroll", pages: 1 });
    case "PageUp":
      return same(state, { kind: "scroll", pages: -1 });
    case "i":
      return same(state, { kind: "invisibles" });
    case "v":
      return same(state, { kind: "reveal" });
    case "V":
      return same(state, { kind: "reveal-always" });
    case "b":
      return same(state, { kind: "break" });
  }
  const field = keyField(state, key);
  if (field) {
    const verdicts = { ...state.draft.verdicts };
    const next = cycleVerdict(verdicts[field]);
    if (next) verdicts[field] = next;
    else delete verdicts[field];
    return same({ ...state, warnedUnjudged: false, draft: { ...state.draft, verdicts } });
  }
  return null;
}

/** The note as typed (the textarea is the one place the reviewer types free text). */
export function setNote(state: ReviewState, note: string): ReviewState {
  return { ...state, draft: { ...state.draft, note } };
}

/** Categories of an override, typed as `S1, S10`. */
export function setCategories(state: ReviewState, field: Field, text: string): ReviewState {
  const current = state.draft.verdicts[field];
  if (!current) return state;
  const categories = text
    .split(/[\s,]+/)
    .map((c) => c.trim().toUpperCase())
    .filter((c) => c.length > 0);
  return {
    ...state,
    draft: { ...state.draft, verdicts: { ...state.draft.verdicts, [field]: { ...current, categories } } },
  };
}

/** Session progress: answered this session out of those waiting when it began. */
export interface Progress {
  done: number;
  total: number;
}

export function advance(p: Progress): Progress {
  return { done: p.done + 1, total: Math.max(p.total, p.done + 1) };
}

/** The key the machine sees, or null for keys it must not take: with Ctrl/Alt/Meta (window
 *  shortcuts), or typed into a text field (the note, a filter box). */
export function reviewKey(e: {
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  targetIsTextField: boolean;
}): string | null {
  if (e.ctrlKey || e.altKey || e.metaKey) return null;
  if (e.targetIsTextField && e.key !== "Escape") return null;
  return e.key;
}
