// Reviewer care as a store beside the review session (`session.svelte.ts` calls it as samples
// appear and keys arrive): which texts of the sample on screen are blurred, the samples revealed
// this session, the reviewer's "always reveal" categories (kept in the project, per reviewer),
// the categories announced this session, the stretch of continuous review, the notice covering
// the sample if any, and the clock of time on screen. The decisions are `care.ts`'s.
import type { CareSettings } from "../bindings";
import { commands } from "../bindings";
import { call, describe } from "../lib/call";
import { OnScreenClock, active, breakDue, noStretch, veil, wordBefore, type Notice, type NoticeAction, type Stretch, type Veil } from "./care";

/** What care needs from the project: a reviewer's "always reveal" categories. */
export interface CareApi {
  reveals(reviewer: string): Promise<string[]>;
  setReveal(reviewer: string, category: string, always: boolean): Promise<string[]>;
}

export const windowCareApi: CareApi = {
  reveals: (r) => call(commands.reviewerRevealsGet(r)),
  setReveal: (r, c, always) => call(commands.reviewerRevealSet(r, c, always)),
};

/** What care needs to know of a sample: its id, category and the texts it has. */
export interface Arrival {
  id: number;
  category: string | null;
  fields: string[];
}

export class ReviewCare {
  /** The project's settings (from the Review screen's setup); none: nothing is blurred. */
  settings = $state<CareSettings | null>(null);
  /** Categories the reviewer sees unblurred on every sample. */
  always = $state<string[]>([]);
  /** The sample on screen. */
  sample = $state<Arrival | null>(null);
  /** Samples revealed this session (going back to one keeps it revealed). */
  revealed = $state<number[]>([]);
  notices = $state<Notice[]>([]);
  error = $state<{ message: string; details: string[] } | null>(null);

  private reviewer = "";
  private announced = new Set<string>();
  private stretch: Stretch = noStretch();
  private clock = new OnScreenClock();

  constructor(private api: CareApi = windowCareApi) {}

  /** The notice covering the sample, if any. */
  get notice(): Notice | null {
    return this.notices[0] ?? null;
  }

  /** A session starts (the queue or one sample opened): for a new reviewer, a new session
   *  with nothing announced or revealed and their own choices, read before a sample shows. */
  async forReviewer(name: string) {
    if (name === this.reviewer) return;
    this.reviewer = name;
    this.announced = new Set();
    this.revealed = [];
    this.notices = [];
    this.stretch = noStretch();
    this.always = [];
    if (!name) return;
    try {
      const always = await this.api.reveals(name);
      if (this.reviewer === name) this.always = always;
    } catch (e) {
      this.error = describe(e);
    }
  }

  /** Review activity (a key): keeps the stretch going. */
  activity(now: number) {
    this.stretch = active(this.stretch, now);
  }

  /** A sample appears (or none, the queue done): a pause due or a hard category's first
   *  sample covers it first, and its clock starts when it is uncovered. */
  arrive(sample: Arrival | null, now: number) {
    this.sample = sample;
    this.notices = [];
    if (sample) {
      this.activity(now);
      const minutes = this.settings?.break_minutes;
      if (minutes && breakDue(this.settings, this.stretch, now)) this.notices.push({ kind: "break", minutes });
      const word = wordBefore(this.settings, sample.category, this.announced);
      if (word) {
        this.announced.add(word);
        const texts = sample.fields.filter((f) => this.settings?.blur_texts.includes(f));
        this.notices.push({ kind: "word", category: word, texts });
      }
    }
    this.clock.begin(now, this.notices.length > 0);
  }

  /** Seconds the sample on screen has been seen (time per item). */
  seconds(now: number): number {
    return this.clock.seconds(now);
  }

  /** How `field` of the sample on screen shows (blurred, revealed, always revealed, or not
   *  a blurred text). */
  veil(field: string): Veil {
    const s = this.sample;
    return s ? veil(this.settings, s.category, field, this.revealed.includes(s.id), this.always) : null;
  }

  blurred(field: string): boolean {
    return this.veil(field) === "blurred";
  }

  /** Whether the sample on screen has a blurred category (so v and V mean something). */
  private hard(): string | null {
    const c = this.sample?.category ?? null;
    return c && this.settings?.blur_categories.includes(c) ? c : null;
  }

  /** v: reveals the blurred texts of the sample on screen, or blurs them again. */
  toggleReveal() {
    const s = this.sample;
    if (!s || !this.hard()) return;
    this.revealed = this.revealed.includes(s.id) ? this.revealed.filter((id) => id !== s.id) : [...this.revealed, s.id];
  }

  /** Shift+V: the reviewer sees this sample's category unblurred always, or no longer. */
  async toggleAlways() {
    const category = this.hard();
    if (!category || !this.reviewer) return;
    try {
      this.always = await this.api.setReveal(this.reviewer, category, !this.always.includes(category));
    } catch (e) {
      this.error = describe(e);
    }
  }

  /** b: a pause now, the sample covered and its clock stopped until the reviewer is back. */
  pause(now: number) {
    if (!this.sample) return;
    this.notices = [{ kind: "on-break" }];
    this.clock.cover(now);
  }

  /** The reviewer answers the notice on screen; returns true when the sample is to be skipped. */
  act(action: NoticeAction, now: number): boolean {
    const n = this.notice;
    if (!n) return false;
    if (action === "take-break" && n.kind === "break") {
      this.notices = [{ kind: "on-break" }, ...this.notices.slice(1)];
      return false;
    }
    if (action === "skip") {
      this.notices = [];
      return true;
    }
    // Not now, or back from the pause: a new stretch begins either way.
    if (n.kind !== "word") this.stretch = { since: now, last: now };
    this.notices = this.notices.slice(1);
    if (this.notices.length === 0) this.clock.uncover(now);
    return false;
  }
}
