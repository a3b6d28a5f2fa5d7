// The review session as a store, not a screen: the reviewer, the queue filters, the sample on
// screen with its draft, the back trail and what undo goes back to live here, so switching
// screens and coming back finds the session exactly as it was. The draft of the sample on
// screen is also kept in localStorage, so closing the window loses no typing.
//
// Answers are stored one after another in the background (`saves`), while the next sample is
// already on screen. A save the project refuses because another program writes to it is
// retried until it is stored, under one answer id made here, so a retry never stores it twice;
// undo waits for the saves before it, so it undoes what it says.
import type { Answer, AnswerRecord, LanguageProgress, ReviewQuery, ReviewView } from "../bindings";
import { commands } from "../bindings";
import { CommandError, call, describe } from "../lib/call";
import { noticeKey, type NoticeAction } from "./care";
import { ReviewCare, type Arrival } from "./care.svelte";
import {
  advance,
  emptyDraft,
  initialState,
  onKey,
  type CompleteAnswer,
  type Draft,
  type Effect,
  type Field,
  type ReviewState,
} from "./machine";

/** What the session needs from the project (the window's commands; tests give their own). */
export interface ReviewApi {
  /** Samples waiting, per language; the row without a language is all of them. */
  counts(reviewer: string, query: ReviewQuery): Promise<LanguageProgress[]>;
  next(reviewer: string, query: ReviewQuery, after: number | null): Promise<ReviewView | null>;
  sample(id: number, reviewer: string): Promise<ReviewView>;
  /** `answerId` is made once per answer: sent again after a failure, it is stored once. */
  submit(id: number, reviewer: string, answer: Answer, answerId: string): Promise<AnswerRecord>;
  undo(id: number, reviewer: string, answerId: string): Promise<AnswerRecord>;
  /** An adjudicator's final answer. */
  adjudicate(id: number, reviewer: string, answer: Answer, answerId: string): Promise<AnswerRecord>;
}

export const windowApi: ReviewApi = {
  counts: (r, q) => call(commands.reviewCounts(r, q)),
  next: (r, q, after) => call(commands.reviewNext(r, q, after)),
  sample: (id, r) => call(commands.reviewSampleGet(id, r)),
  submit: (id, r, a, answerId) => call(commands.reviewSubmit(id, r, a, answerId)),
  undo: (id, r, answerId) => call(commands.reviewUndo(id, r, answerId)),
  adjudicate: (id, r, a, answerId) => call(commands.reviewAdjudicate(id, r, a, answerId)),
};

/** Where drafts survive the window (localStorage in the window). */
export interface DraftStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const emptyQuery = (): ReviewQuery => ({
  language: null,
  reason: null,
  dataset: null,
  category: null,
  style: null,
  adjudicate: false,
});

/** Wait between attempts to store an answer while the project is busy. */
export const BUSY_RETRY_MS = 1000;

/** A sample as reviewer care sees it. */
const arrival = (s: ReviewView): Arrival => ({ id: s.view.id, category: s.view.category, fields: s.view.texts.map((t) => t.field) });

/** `list` without the last occurrence of `id`. */
function dropLast(list: number[], id: number): number[] {
  const i = list.lastIndexOf(id);
  return i < 0 ? list : [...list.slice(0, i), ...list.slice(i + 1)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function draftOf(r: AnswerRecord | null): Draft {
  if (!r) return emptyDraft();
  return {
    q1: r.q1,
    q2: r.q2,
    q3: r.q3,
    verdicts: r.verdicts as Draft["verdicts"],
    note: r.note ?? "",
    exclude: r.exclude ?? false,
  };
}

export class ReviewSession {
  reviewer = $state("");
  query = $state<ReviewQuery>(emptyQuery());
  current = $state<ReviewView | null>(null);
  machine = $state<ReviewState>(initialState());
  /** Samples shown before this one, for ←. */
  trail = $state<number[]>([]);
  /** Samples answered this session, in order: what `u` goes back to. */
  answered = $state<number[]>([]);
  progress = $state({ done: 0, total: 0 });
  started = $state(false);
  finished = $state(false);
  error = $state<{ message: string; details: string[] } | null>(null);
  /** Set while answers wait for a busy project; cleared once they are stored. */
  busy = $state<string | null>(null);
  /** Answers handed to the background writer and not stored yet. */
  unsaved = $state(0);
  /** Key press to the next sample's frame on the last submit (for scripts/bench-app). */
  advanceMs = $state<number | null>(null);

  private preloaded: { after: number; next: Promise<ReviewView | null> } | null = null;
  private saves: Promise<unknown> = Promise.resolve();

  constructor(
    private api: ReviewApi = windowApi,
    private storage: DraftStore | null = typeof localStorage === "undefined" ? null : localStorage,
    private now: () => number = () => performance.now(),
    private retryMs: number = BUSY_RETRY_MS,
    /** Blurring, notices before the sample, breaks, and the clock of time per item. */
    readonly care: ReviewCare = new ReviewCare(),
  ) {
    this.reviewer = storage?.getItem("verdikt.reviewer") ?? "";
  }

  /** Another reviewer ends this session (answers already handed over are still stored). */
  setReviewer(name: string) {
    if (name !== this.reviewer) {
      this.current = null;
      this.started = false;
      this.finished = false;
      this.trail = [];
      this.answered = [];
      this.machine = initialState();
    }
    this.reviewer = name;
    this.storage?.setItem("verdikt.reviewer", name);
  }

  private draftKey(id: number): string {
    return `verdikt.draft.${this.reviewer}.${id}`;
  }

  /** Keeps the draft on screen where it survives the window. */
  private keepDraft() {
    if (!this.current || !this.storage) return;
    this.storage.setItem(this.draftKey(this.current.view.id), JSON.stringify(this.machine.draft));
  }

  private keptDraft(id: number): Draft | null {
    const raw = this.storage?.getItem(this.draftKey(id));
    if (!raw) return null;
    try {
      return { ...emptyDraft(), ...(JSON.parse(raw) as Partial<Draft>) };
    } catch {
      return null;
    }
  }

  /** Replaces the state machine (a key, a typed note); the draft is kept as it changes. */
  setMachine(next: ReviewState) {
    this.machine = next;
    this.keepDraft();
  }

  private show(s: ReviewView | null) {
    this.current = s;
    this.finished = s === null;
    const stored = this.query.adjudicate ? (s?.final_answer ?? null) : (s?.mine ?? null);
    const draft = s ? (this.keptDraft(s.view.id) ?? draftOf(stored)) : emptyDraft();
    this.machine = initialState(draft, (s?.disputed ?? []) as Field[], (s?.audited ?? []) as Field[]);
    // Time per item starts here, or once a notice covering the sample is answered.
    this.care.arrive(s ? arrival(s) : null, this.now());
    this.preloaded = s ? { after: s.view.id, next: this.api.next(this.reviewer, this.query, s.view.id) } : null;
    // A failed preload shows its error when the sample is needed, not now.
    this.preloaded?.next.catch(() => {});
  }

  /** The sample after the one on screen: preloaded while the reviewer reads. */
  private following(): Promise<ReviewView | null> {
    const id = this.current?.view.id ?? null;
    if (this.preloaded && this.preloaded.after === id) return this.preloaded.next;
    return this.api.next(this.reviewer, this.query, id);
  }

  private fail(e: unknown) {
    this.error = describe(e);
  }

  /** Starts (or restarts) the queue with the reviewer and filters chosen. */
  async start() {
    if (!this.reviewer) {
      this.error = { message: "Pick who you are under “Reviewer” first, or add yourself there.", details: [] };
      return;
    }
    this.error = null;
    try {
      await this.care.forReviewer(this.reviewer);
      const counts = await this.api.counts(this.reviewer, this.query);
      const all = counts.find((c) => c.language === null);
      this.progress = { done: 0, total: all ? all.waiting : counts.reduce((n, c) => n + c.waiting, 0) };
      this.trail = [];
      this.answered = [];
      this.started = true;
      this.show(await this.api.next(this.reviewer, this.query, null));
    } catch (e) {
      this.fail(e);
    }
  }

  /** Opens one sample by its internal id (`--open-sample`, a link from another screen). */
  async open(id: number) {
    this.error = null;
    try {
      await this.care.forReviewer(this.reviewer);
      this.started = true;
      this.show(await this.api.sample(id, this.reviewer));
    } catch (e) {
      this.fail(e);
    }
  }

  /** One key press; returns the effect the screen carries out itself (font, scroll, …). */
  key(key: string, at: number): Effect | null | undefined {
    const notice = this.care.notice;
    if (notice) {
      // A notice covers the sample: only its own keys work.
      const action = noticeKey(notice, key);
      if (!action) return undefined;
      this.notice(action);
      return null;
    }
    this.care.activity(this.now());
    if (!this.current) {
      // The queue is done: back and undo still work on the last sample.
      if (key === "ArrowLeft") void this.back();
      else if (key === "u") void this.undo();
      else return undefined;
      return null;
    }
    const step = onKey(this.machine, key);
    if (!step) return undefined;
    this.setMachine(step.state);
    const effect = step.effect;
    if (!effect) return null;
    switch (effect.kind) {
      case "submit":
        void this.submit(effect.answer, at);
        return null;
      case "skip":
        void this.skip();
        return null;
      case "back":
        void this.back();
        return null;
      case "undo":
        void this.undo();
        return null;
      case "reveal":
        this.care.toggleReveal();
        return null;
      case "reveal-always":
        void this.care.toggleAlways();
        return null;
      case "break":
        this.care.pause(this.now());
        return null;
      default:
        return effect;
    }
  }

  /** The reviewer answers the notice covering the sample (a key or a click). */
  notice(action: NoticeAction) {
    if (this.care.act(action, this.now())) void this.skip();
  }

  /** Shows the next sample at once and stores the answer in the background. */
  async submit(answer: CompleteAnswer, pressedAt: number) {
    const answered = this.current;
    if (!answered) return;
    const reviewer = this.reviewer;
    const adjudicating = this.query.adjudicate;
    // Time per item: the time the sample was on screen until the answer, without notices
    // covering it (the core stores it).
    const seconds = this.care.seconds(this.now());
    this.error = null;
    this.answered = [...this.answered, answered.view.id];
    this.unsaved += 1;
    const save = this.saves.then(() => this.store(answered, reviewer, { ...answer, seconds }, adjudicating));
    this.saves = save.catch(() => {});
    let next: ReviewView | null;
    try {
      next = await this.following();
    } catch (e) {
      this.fail(e);
      return;
    }
    this.trail = [...this.trail, answered.view.id];
    this.show(next);
    if (typeof requestAnimationFrame !== "undefined") {
      requestAnimationFrame(() => requestAnimationFrame(() => (this.advanceMs = this.now() - pressedAt)));
    }
  }

  /** Stores one answer, retrying while the project is busy; a refused answer puts the reviewer
   *  back on its sample with what they gave, so nothing they typed is lost. */
  private async store(sample: ReviewView, reviewer: string, answer: Answer, adjudicating: boolean) {
    const answerId = crypto.randomUUID();
    for (;;) {
      try {
        if (adjudicating) await this.api.adjudicate(sample.view.id, reviewer, answer, answerId);
        else await this.api.submit(sample.view.id, reviewer, answer, answerId);
        this.busy = null;
        this.unsaved -= 1;
        this.progress = advance(this.progress);
        this.storage?.removeItem(`verdikt.draft.${reviewer}.${sample.view.id}`);
        return;
      } catch (e) {
        if (e instanceof CommandError && e.busy) {
          this.busy = e.message;
          await sleep(this.retryMs);
          continue;
        }
        this.busy = null;
        this.unsaved -= 1;
        this.answered = dropLast(this.answered, sample.view.id);
        this.trail = dropLast(this.trail, sample.view.id);
        this.fail(e);
        this.current = sample;
        this.finished = false;
        this.care.arrive(arrival(sample), this.now());
        const back = initialState(
          { ...answer, note: answer.note ?? "", exclude: answer.exclude ?? false, verdicts: (answer.verdicts ?? {}) as Draft["verdicts"] },
          (sample.disputed ?? []) as Field[],
          (sample.audited ?? []) as Field[],
        );
        this.setMachine(back);
        return;
      }
    }
  }

  async skip() {
    const from = this.current;
    if (!from) return;
    try {
      const next = await this.following();
      this.trail = [...this.trail, from.view.id];
      this.show(next);
    } catch (e) {
      this.fail(e);
    }
  }

  async back() {
    const id = this.trail[this.trail.length - 1];
    if (id === undefined) return;
    this.error = null;
    try {
      await this.saves;
      this.trail = this.trail.slice(0, -1);
      this.show(await this.api.sample(id, this.reviewer));
    } catch (e) {
      this.fail(e);
    }
  }

  /** Undoes my last answer of this session (or, before any, my answer to the sample on
   *  screen) once every earlier answer is stored, and shows that sample. */
  async undo() {
    if (this.query.adjudicate) {
      this.error = {
        message: "A final answer is not undone: go back (←) and record a new one; the history keeps both.",
        details: [],
      };
      return;
    }
    const id = this.answered[this.answered.length - 1] ?? this.current?.view.id;
    if (id === undefined) return;
    this.error = null;
    try {
      await this.saves;
      await this.api.undo(id, this.reviewer, crypto.randomUUID());
      if (this.answered[this.answered.length - 1] === id) {
        this.answered = this.answered.slice(0, -1);
        this.progress = { ...this.progress, done: Math.max(0, this.progress.done - 1) };
      }
      this.storage?.removeItem(this.draftKey(id));
      this.show(await this.api.sample(id, this.reviewer));
    } catch (e) {
      this.fail(e);
    }
  }

  /** Resolves once every answer handed over so far is stored (or refused). */
  settled(): Promise<unknown> {
    return this.saves;
  }
}

export const session = new ReviewSession();
