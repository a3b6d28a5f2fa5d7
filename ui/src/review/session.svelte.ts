// The review session as a store, not a screen: the reviewer, the queue filters, the sample on
// screen with its draft, the back trail and what undo goes back to live here, so switching
// screens and coming back finds the session exactly as it was.
//
// The promise: an answer is never lost and never stored twice. The draft of the sample on
// screen is kept in localStorage (`drafts.ts`, by project, reviewer and sample) as it changes,
// so a reload, a closed tab or a restarted window finds it again. An answer given is kept
// there too, with an answer id made once, before the next sample shows; it is stored one
// after another in the background (`saves`) and its draft is deleted only once the project
// acknowledged it. While the project is busy (another program writes) or the server cannot be
// reached, every command is retried, waiting longer each time and at once when the browser is
// back online, and the screen says so in a status line, never as an error. A retry, or a
// resend after a reload, carries the same answer id, so the project stores it once. One
// answer per sample is in flight at a time. Undo waits for the answers before it to be stored
// (sent first if offline), so it undoes what it says; a refused answer comes back on screen.
import type { Answer, AnswerRecord, LanguageProgress, ReviewQuery, ReviewView } from "../bindings";
import { commands } from "../bindings";
import { CommandError, call, describe } from "../lib/call";
import { UNREACHABLE } from "../lib/served";
import { Drafts, draftKey, type DraftStore, type Owner, type Unsent } from "./drafts";
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

export type { DraftStore } from "./drafts";

export const emptyQuery = (): ReviewQuery => ({
  language: null,
  reason: null,
  dataset: null,
  category: null,
  style: null,
  adjudicate: false,
});

/** The first wait before a command refused as busy is tried again; each wait doubles, up to
 *  `MAX_BACKOFF` times it. */
export const BUSY_RETRY_MS = 1000;
const MAX_BACKOFF = 16;

/** The status line while answers wait for the connection. */
export const OFFLINE = "Offline: your answer is kept here and will be sent when the connection is back.";

/** A sample as reviewer care sees it. */
const arrival = (s: ReviewView): Arrival => ({ id: s.view.id, category: s.view.category, fields: s.view.texts.map((t) => t.field) });

/** `list` without the last occurrence of `id`. */
function dropLast(list: number[], id: number): number[] {
  const i = list.lastIndexOf(id);
  return i < 0 ? list : [...list.slice(0, i), ...list.slice(i + 1)];
}

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
  /** The project's identity (from the review setup): drafts are kept per project. */
  project = $state("");
  /** Set while commands wait for a busy project; cleared once one goes through. */
  busy = $state<string | null>(null);
  /** The server could not be reached on the last try; cleared once a command goes through. */
  offline = $state(false);
  /** An undo waits for the answers before it to be stored. */
  undoWaiting = $state(false);
  /** Answers handed to the background writer and not stored yet. */
  unsaved = $state(0);
  /** Key press to the next sample's frame on the last submit (for scripts/bench-app). */
  advanceMs = $state<number | null>(null);

  private preloaded: { after: number; next: Promise<ReviewView | null> } | null = null;
  private saves: Promise<unknown> = Promise.resolve();
  private drafts: Drafts;
  /** Drafts (`draftKey`) whose answer is handed to the writer and not acknowledged yet. */
  private sending = new Set<string>();
  /** Retries waiting for their next attempt; `online` starts them at once. */
  private wakers = new Set<() => void>();

  constructor(
    private api: ReviewApi = windowApi,
    private storage: DraftStore | null = typeof localStorage === "undefined" ? null : localStorage,
    private now: () => number = () => performance.now(),
    private retryMs: number = BUSY_RETRY_MS,
    /** Blurring, notices before the sample, breaks, and the clock of time per item. */
    readonly care: ReviewCare = new ReviewCare(),
    /** Where `online` is heard (the window; tests give their own). */
    connection: EventTarget | null = typeof window === "undefined" ? null : window,
  ) {
    this.drafts = new Drafts(storage);
    this.reviewer = storage?.getItem("verdikt.reviewer") ?? "";
    connection?.addEventListener("online", () => this.online());
  }

  /** What the status line says while answers or the next sample wait for the connection. */
  get pending(): string | null {
    if (!this.offline) return null;
    if (this.unsaved === 0) return "Offline: waiting for the connection to come back.";
    return this.undoWaiting ? `${OFFLINE} Undo follows once it is stored.` : OFFLINE;
  }

  private get owner(): Owner {
    return { project: this.project, reviewer: this.reviewer };
  }

  private reset() {
    this.current = null;
    this.started = false;
    this.finished = false;
    this.trail = [];
    this.answered = [];
    this.machine = initialState();
  }

  /** Another reviewer ends this session (answers already handed over are still stored). */
  setReviewer(name: string) {
    if (name !== this.reviewer) this.reset();
    this.reviewer = name;
    this.storage?.setItem("verdikt.reviewer", name);
    this.resend();
  }

  /** The project reviewed (its identity from the review setup); another one ends the session. */
  setProject(id: string) {
    if (id !== this.project) this.reset();
    this.project = id;
    this.resend();
  }

  /** The browser is back online: every retry goes again now, and kept answers are sent. */
  online() {
    for (const wake of [...this.wakers]) wake();
    this.resend();
  }

  /** Sends the answers kept from before (a reload, a closed tab, another tab), under the
   *  answer ids they were given with. */
  private resend() {
    if (!this.reviewer) return;
    const owner = this.owner;
    for (const [sample, unsent] of this.drafts.unsent(owner)) {
      if (!this.sending.has(draftKey(owner, sample))) this.enqueue(sample, owner, unsent, null);
    }
  }

  /** Keeps the draft on screen where it survives the window. */
  private keepDraft() {
    if (this.current) this.drafts.keep(this.owner, this.current.view.id, this.machine.draft);
  }

  /** Waits before attempt `attempt + 1`: doubling each time, cut short by `online`. */
  private backoff(attempt: number): Promise<void> {
    const ms = this.retryMs * Math.min(2 ** attempt, MAX_BACKOFF);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /** `command` until it is not refused as busy (a busy project, an unreachable server), saying
   *  so meanwhile; any other refusal is thrown. */
  private async retrying<T>(command: () => Promise<T>): Promise<T> {
    let saidBusy = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const value = await command();
        this.offline = false;
        if (saidBusy) this.busy = null;
        return value;
      } catch (e) {
        if (!(e instanceof CommandError && e.busy)) throw e;
        if (e.message === UNREACHABLE) this.offline = true;
        else {
          this.busy = e.message;
          saidBusy = true;
        }
        await this.backoff(attempt);
      }
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
    const draft = s ? (this.drafts.get(this.owner, s.view.id)?.draft ?? draftOf(stored)) : emptyDraft();
    this.machine = initialState(draft, (s?.disputed ?? []) as Field[], (s?.audited ?? []) as Field[]);
    // Time per item starts here, or once a notice covering the sample is answered.
    this.care.arrive(s ? arrival(s) : null, this.now());
    const [reviewer, query] = [this.reviewer, this.query];
    this.preloaded = s ? { after: s.view.id, next: this.retrying(() => this.api.next(reviewer, query, s.view.id)) } : null;
    // A failed preload shows its error when the sample is needed, not now.
    this.preloaded?.next.catch(() => {});
  }

  /** The sample after the one on screen: preloaded while the reviewer reads. */
  private following(): Promise<ReviewView | null> {
    const id = this.current?.view.id ?? null;
    if (this.preloaded && this.preloaded.after === id) return this.preloaded.next;
    const [reviewer, query] = [this.reviewer, this.query];
    return this.retrying(() => this.api.next(reviewer, query, id));
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
      // Answers kept from before go first, so the queue no longer holds them.
      this.resend();
      await this.saves;
      const counts = await this.retrying(() => this.api.counts(this.reviewer, this.query));
      const all = counts.find((c) => c.language === null);
      this.progress = { done: 0, total: all ? all.waiting : counts.reduce((n, c) => n + c.waiting, 0) };
      this.trail = [];
      this.answered = [];
      this.started = true;
      this.show(await this.retrying(() => this.api.next(this.reviewer, this.query, null)));
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
      this.show(await this.retrying(() => this.api.sample(id, this.reviewer)));
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

  /** Keeps the answer with its answer id, shows the next sample and stores the answer in the
   *  background. The next sample shows once the answer is kept, not once it is stored: kept, it
   *  is sent again after a reload or a closed tab, so nothing is lost, and the reviewer does not
   *  wait for the network (or a busy project) between samples. */
  async submit(answer: CompleteAnswer, pressedAt: number) {
    const answered = this.current;
    if (!answered) return;
    const owner = this.owner;
    const id = answered.view.id;
    // One answer per sample in flight: the screen still shows it while the next one loads.
    if (this.sending.has(draftKey(owner, id))) return;
    // Time per item: the time the sample was on screen until the answer, without notices
    // covering it (the core stores it).
    const seconds = this.care.seconds(this.now());
    const unsent: Unsent = { answer: { ...answer, seconds }, answerId: crypto.randomUUID(), adjudicate: this.query.adjudicate };
    this.drafts.give(owner, id, this.machine.draft, unsent);
    this.error = null;
    this.answered = [...this.answered, id];
    this.enqueue(id, owner, unsent, answered);
    let next: ReviewView | null;
    try {
      next = await this.following();
    } catch (e) {
      this.fail(e);
      return;
    }
    this.trail = [...this.trail, id];
    this.show(next);
    if (typeof requestAnimationFrame !== "undefined") {
      requestAnimationFrame(() => requestAnimationFrame(() => (this.advanceMs = this.now() - pressedAt)));
    }
  }

  /** Hands a kept answer to the background writer, after the answers before it. */
  private enqueue(sample: number, owner: Owner, unsent: Unsent, view: ReviewView | null) {
    this.sending.add(draftKey(owner, sample));
    this.unsaved += 1;
    const save = this.saves.then(() => this.store(sample, owner, unsent, view));
    this.saves = save.catch(() => {});
  }

  /** Stores one kept answer, retried while busy or offline; acknowledged, its draft goes. A
   *  refused answer puts the reviewer back on its sample (`view`, when this session gave it)
   *  with what they gave, so nothing they typed is lost. */
  private async store(sample: number, owner: Owner, unsent: Unsent, view: ReviewView | null) {
    const { answer, answerId } = unsent;
    try {
      await this.retrying(() =>
        unsent.adjudicate
          ? this.api.adjudicate(sample, owner.reviewer, answer, answerId)
          : this.api.submit(sample, owner.reviewer, answer, answerId),
      );
      this.drafts.acknowledged(owner, sample, answerId);
      this.progress = advance(this.progress);
    } catch (e) {
      this.drafts.refused(owner, sample);
      this.answered = dropLast(this.answered, sample);
      this.trail = dropLast(this.trail, sample);
      this.fail(e);
      if (view && owner.reviewer === this.reviewer && owner.project === this.project) {
        this.current = view;
        this.finished = false;
        this.care.arrive(arrival(view), this.now());
        const back = initialState(
          { ...answer, note: answer.note ?? "", exclude: answer.exclude ?? false, verdicts: (answer.verdicts ?? {}) as Draft["verdicts"] },
          (view.disputed ?? []) as Field[],
          (view.audited ?? []) as Field[],
        );
        this.setMachine(back);
      }
    } finally {
      this.sending.delete(draftKey(owner, sample));
      this.unsaved -= 1;
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
      this.show(await this.retrying(() => this.api.sample(id, this.reviewer)));
    } catch (e) {
      this.fail(e);
    }
  }

  /** Undoes my last answer of this session (or, before any, my answer to the sample on
   *  screen) once every earlier answer is stored, and shows that sample. An answer still kept
   *  for sending is sent first (it may have been stored already, its acknowledgement lost, so
   *  dropping it would leave an answer the reviewer believes undone), then undone. */
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
    const undoId = crypto.randomUUID();
    try {
      this.undoWaiting = this.unsaved > 0;
      await this.saves;
      this.undoWaiting = false;
      await this.retrying(() => this.api.undo(id, this.reviewer, undoId));
      if (this.answered[this.answered.length - 1] === id) {
        this.answered = this.answered.slice(0, -1);
        this.progress = { ...this.progress, done: Math.max(0, this.progress.done - 1) };
      }
      this.drafts.forget(this.owner, id);
      this.show(await this.retrying(() => this.api.sample(id, this.reviewer)));
    } catch (e) {
      this.undoWaiting = false;
      this.fail(e);
    }
  }

  /** Resolves once every answer handed over so far is stored (or refused). */
  settled(): Promise<unknown> {
    return this.saves;
  }
}

export const session = new ReviewSession();
