// Reviewer care, the decisions only (no Svelte, no Tauri, so vitest covers them): which texts
// are blurred, when a word goes before a hard category, when a pause is suggested, what a key
// does while a notice covers the sample, and the clock that counts only the time a sample was
// on screen. The settings come from the project (core `audit/care.rs`); the store that applies
// them is `care.svelte.ts`.
import type { CareSettings } from "../bindings";

/** How `field` of a sample in `category` shows: blurred (a blurred category and text), revealed
 *  on this sample, revealed because the reviewer always reveals the category, or null: it is
 *  not one the project blurs. */
export type Veil = "blurred" | "revealed" | "always" | null;

export function veil(
  settings: CareSettings | null,
  category: string | null,
  field: string,
  revealed: boolean,
  always: readonly string[],
): Veil {
  if (!settings || !category || !settings.blur_categories.includes(category) || !settings.blur_texts.includes(field)) return null;
  return always.includes(category) ? "always" : revealed ? "revealed" : "blurred";
}

/** The category to announce before this sample: a blurred one not yet announced this session. */
export function wordBefore(settings: CareSettings | null, category: string | null, announced: ReadonlySet<string>): string | null {
  if (!settings || !category || announced.has(category)) return null;
  return settings.blur_categories.includes(category) ? category : null;
}

/** No review for this long ends a stretch: the reviewer paused on their own. */
export const IDLE_ENDS_STRETCH_MS = 10 * 60_000;

/** A stretch of continuous review: when it began and when the reviewer last did something. */
export interface Stretch {
  since: number | null;
  last: number | null;
}

export const noStretch = (): Stretch => ({ since: null, last: null });

/** The stretch after review activity at `now` (a long gap starts a new one). */
export function active(s: Stretch, now: number): Stretch {
  const fresh = s.since === null || s.last === null || now - s.last >= IDLE_ENDS_STRETCH_MS;
  return { since: fresh ? now : s.since, last: now };
}

/** Whether the stretch is long enough that a pause is due. */
export function breakDue(settings: CareSettings | null, s: Stretch, now: number): boolean {
  const minutes = settings?.break_minutes ?? null;
  return minutes !== null && s.since !== null && now - s.since >= minutes * 60_000;
}

/** What may cover the sample before it shows: a word before a hard category, a suggested
 *  pause, or the pause itself. */
export type Notice =
  /** `texts`: those of the sample's texts the project blurs. */
  | { kind: "word"; category: string; texts: string[] }
  | { kind: "break"; minutes: number }
  | { kind: "on-break" };

/** What the reviewer does with a notice: go on to the sample (or "not now", or back from the
 *  pause), skip the sample unseen, or take the pause. */
export type NoticeAction = "dismiss" | "skip" | "take-break";

/** The keys of each notice, for its buttons and the key help. */
export const NOTICE_KEYS: Record<Notice["kind"], ReadonlyArray<[string, string, NoticeAction]>> = {
  word: [
    ["Space", " ", "dismiss"],
    ["→", "ArrowRight", "skip"],
  ],
  break: [
    ["b", "b", "take-break"],
    ["Esc", "Escape", "dismiss"],
  ],
  "on-break": [
    ["b", "b", "dismiss"],
    ["Space", " ", "dismiss"],
  ],
};

/** The action a key takes on a notice, or null (the key does nothing while it is shown).
 *  Enter is never one: a second Enter after an answer must not pass a notice unread. */
export function noticeKey(notice: Notice, key: string): NoticeAction | null {
  return NOTICE_KEYS[notice.kind].find(([, k]) => k === key)?.[2] ?? null;
}

/** Time a sample was on screen: from when it appeared, less the time a notice covered it. */
export class OnScreenClock {
  private start = 0;
  private held = 0;
  private heldSince: number | null = null;

  /** A sample appears at `now`, covered from the start when `covered`. */
  begin(now: number, covered: boolean) {
    this.start = now;
    this.held = 0;
    this.heldSince = covered ? now : null;
  }

  cover(now: number) {
    this.heldSince ??= now;
  }

  uncover(now: number) {
    if (this.heldSince === null) return;
    this.held += now - this.heldSince;
    this.heldSince = null;
  }

  seconds(now: number): number {
    const covered = this.heldSince === null ? 0 : now - this.heldSince;
    return Math.max(0, (now - this.start - this.held - covered) / 1000);
  }
}
