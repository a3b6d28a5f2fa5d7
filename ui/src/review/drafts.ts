// Drafts that survive the tab: the answer being written for a sample, and an answer given but
// not yet acknowledged by the project, kept in localStorage (the browser's, or the window's web
// view's) under the project's identity, the reviewer and the sample. Written on every change,
// read back when the sample is shown again or the session starts, and deleted only once the
// project acknowledged the committed answer. An answer waiting to be sent keeps the answer id it
// was first sent with, so sending it again (after a reload, a dropped connection, a restarted
// server) stores it once.
//
// What is read back was written by this page, but localStorage is shared by everything on the
// origin: a record is taken apart field by field and anything unexpected is dropped, so a draft
// only ever holds the reviewer's own choices and text (rendered as text by the screen).
import type { Answer } from "../bindings";
import { emptyDraft, type Draft, type Field, type FieldVerdict } from "./machine";

/** Where drafts are kept (localStorage; tests give their own). */
export interface DraftStore {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** An answer given and kept until the project acknowledges it. */
export interface Unsent {
  answer: Answer;
  /** Made once, when the answer was given; every resend carries it. */
  answerId: string;
  /** A final answer of the adjudication queue. */
  adjudicate: boolean;
}

export interface Kept {
  draft: Draft;
  unsent: Unsent | null;
}

/** Whose drafts: one project (its identity from the review setup) and one reviewer. */
export interface Owner {
  project: string;
  reviewer: string;
}

const FIELDS: Field[] = ["prompt", "chosen", "rejected", "response"];

// `/` never appears in an encoded part, so no two owners share a prefix.
const prefix = (o: Owner) => `verdikt.draft.v2/${encodeURIComponent(o.project)}/${encodeURIComponent(o.reviewer)}/`;
export const draftKey = (o: Owner, sample: number) => `${prefix(o)}${sample}`;

const oneOf = <T extends string>(v: unknown, allowed: readonly T[]): T | null =>
  typeof v === "string" && (allowed as readonly string[]).includes(v) ? (v as T) : null;

function verdicts(v: unknown): Partial<Record<Field, FieldVerdict>> {
  const out: Partial<Record<Field, FieldVerdict>> = {};
  if (typeof v !== "object" || v === null) return out;
  for (const f of FIELDS) {
    const fv = (v as Record<string, unknown>)[f] as { verdict?: unknown; categories?: unknown } | undefined;
    const verdict = oneOf(fv?.verdict, ["safe", "unsafe"] as const);
    if (!verdict) continue;
    const categories = Array.isArray(fv?.categories) ? fv.categories.filter((c): c is string => typeof c === "string") : [];
    out[f] = { verdict, categories };
  }
  return out;
}

function draft(v: unknown): Draft {
  const d = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  return {
    ...emptyDraft(),
    q1: oneOf(d.q1, ["yes", "no"] as const),
    q2: oneOf(d.q2, ["yes", "no"] as const),
    q3: oneOf(d.q3, ["yes", "no", "na"] as const),
    verdicts: verdicts(d.verdicts),
    note: typeof d.note === "string" ? d.note : "",
    exclude: d.exclude === true,
  };
}

function unsent(v: unknown): Unsent | null {
  if (typeof v !== "object" || v === null) return null;
  const u = v as Record<string, unknown>;
  const a = draft(u.answer);
  const seconds = (u.answer as { seconds?: unknown } | null)?.seconds;
  if (typeof u.answerId !== "string" || !u.answerId || !a.q1 || !a.q2 || !a.q3) return null;
  return {
    answer: { ...a, q1: a.q1, q2: a.q2, q3: a.q3, seconds: typeof seconds === "number" ? seconds : null },
    answerId: u.answerId,
    adjudicate: u.adjudicate === true,
  };
}

/** The drafts of one store; every method is safe without a store (nothing is kept then). */
export class Drafts {
  constructor(private storage: DraftStore | null) {}

  get(owner: Owner, sample: number): Kept | null {
    const raw = this.storage?.getItem(draftKey(owner, sample));
    if (!raw) return null;
    try {
      const v = JSON.parse(raw) as { draft?: unknown; unsent?: unknown };
      return { draft: draft(v.draft), unsent: unsent(v.unsent) };
    } catch {
      return null;
    }
  }

  private put(owner: Owner, sample: number, kept: Kept) {
    try {
      this.storage?.setItem(draftKey(owner, sample), JSON.stringify(kept));
    } catch {
      // A full or refused store: the draft is still on screen; nothing else to do.
    }
  }

  /** The draft being written; an answer waiting to be sent for the sample stays as it is. */
  keep(owner: Owner, sample: number, d: Draft) {
    this.put(owner, sample, { draft: d, unsent: this.get(owner, sample)?.unsent ?? null });
  }

  /** An answer given: kept, with its answer id, until `acknowledged`. */
  give(owner: Owner, sample: number, d: Draft, u: Unsent) {
    this.put(owner, sample, { draft: d, unsent: u });
  }

  /** The project stored the answer sent under `answerId`: its draft goes (unless another answer
   *  was given for the sample since, which stays to be sent). */
  acknowledged(owner: Owner, sample: number, answerId: string) {
    const kept = this.get(owner, sample);
    if (!kept || !kept.unsent || kept.unsent.answerId === answerId) this.forget(owner, sample);
  }

  /** The project refused the answer: it is a draft again, to be changed and given anew. */
  refused(owner: Owner, sample: number) {
    const kept = this.get(owner, sample);
    if (kept) this.put(owner, sample, { draft: kept.draft, unsent: null });
  }

  forget(owner: Owner, sample: number) {
    this.storage?.removeItem(draftKey(owner, sample));
  }

  /** The owner's answers waiting to be sent, by sample. */
  unsent(owner: Owner): [number, Unsent][] {
    const start = prefix(owner);
    const keys: string[] = [];
    for (let i = 0; i < (this.storage?.length ?? 0); i++) {
      const k = this.storage!.key(i);
      if (k?.startsWith(start) && /^\d+$/.test(k.slice(start.length))) keys.push(k);
    }
    const out: [number, Unsent][] = [];
    for (const k of keys) {
      const sample = Number(k.slice(start.length));
      const u = this.get(owner, sample)?.unsent;
      if (u) out.push([sample, u]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }
}
