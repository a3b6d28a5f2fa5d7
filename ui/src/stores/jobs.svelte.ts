// Every long job of the window (import, guard run, download, triage, …) in one store, so a job's
// progress and outcome outlive the screen that started it: the header lists what runs, with
// cancel, and a screen that is opened again finds its job where it left it.
import { Channel } from "@tauri-apps/api/core";
import { commands } from "../bindings";
import { call, describe, jobId, type Result } from "../lib/call";

export type JobKind = "import" | "guard" | "download" | "triage" | "audit" | "top-up" | "pack" | "split" | "export";

/** Kinds that write much of the project: a second one waits until the first is done. */
const EXCLUSIVE: ReadonlySet<JobKind> = new Set(["import", "guard", "download", "triage"]);

export interface Job {
  id: string;
  kind: JobKind;
  /** What runs, in words ("Guard run llama-guard-3-1b"). */
  title: string;
  done: number;
  /** Null while the size is not known. */
  total: number | null;
  /** The progress line ("120 / 600 texts · 3.1 texts/s"). */
  text: string;
  /** The last progress message as the command sent it, for the screen's own detail. */
  last: unknown;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: { message: string; details: string[] } };

export interface ProgressView {
  done: number;
  total: number | null;
  text: string;
}

/** Opens a progress channel; the window's is Tauri's, tests give their own. */
export type OpenChannel = <P>(on: (p: P) => void) => Channel<P>;

const tauriChannel: OpenChannel = <P>(on: (p: P) => void) => {
  const c = new Channel<P>();
  c.onmessage = on;
  return c;
};

export class JobList {
  running = $state<Job[]>([]);
  /** The last outcome of each kind (its report, or its error). */
  outcomes = $state<Partial<Record<JobKind, Outcome>>>({});

  constructor(
    private openChannel: OpenChannel = tauriChannel,
    private cancelJob: (id: string) => Promise<unknown> = (id) => commands.jobCancel(id),
  ) {}

  of(kind: JobKind): Job | undefined {
    return this.running.find((j) => j.kind === kind);
  }

  /** Whether a job of `kind` may start now. */
  canStart(kind: JobKind): boolean {
    return !(EXCLUSIVE.has(kind) && this.of(kind));
  }

  /**
   * Runs one job: `invoke` calls the command with the job's id and its progress channel;
   * `view` turns a progress message into the header's words. Resolves to the command's value
   * (also kept as the kind's outcome); rejects with its error.
   */
  async start<P, T>(
    kind: JobKind,
    title: string,
    invoke: (id: string, channel: Channel<P>) => Promise<Result<T>>,
    view: (p: P) => ProgressView = () => ({ done: 0, total: null, text: "" }),
  ): Promise<T> {
    if (!this.canStart(kind)) {
      const other = this.of(kind)!;
      throw new Error(`${other.title} is still running: wait for it, or cancel it above.`);
    }
    const id = jobId(kind);
    const { [kind]: _previous, ...others } = this.outcomes;
    this.outcomes = others;
    this.running = [...this.running, { id, kind, title, done: 0, total: null, text: "starting…", last: null }];
    const channel = this.openChannel<P>((p) => {
      const v = view(p);
      this.running = this.running.map((j) => (j.id === id ? { ...j, ...v, last: p } : j));
    });
    try {
      const value = await call(invoke(id, channel));
      this.outcomes = { ...this.outcomes, [kind]: { ok: true, value } };
      return value;
    } catch (e) {
      this.outcomes = { ...this.outcomes, [kind]: { ok: false, error: describe(e) } };
      throw e;
    } finally {
      this.running = this.running.filter((j) => j.id !== id);
    }
  }

  /** The last value of a kind's job that succeeded and is not superseded by a failure. */
  result<T>(kind: JobKind): T | null {
    const o = this.outcomes[kind];
    return o && o.ok ? (o.value as T) : null;
  }

  async cancel(id: string): Promise<void> {
    await this.cancelJob(id);
  }
}

export const jobs = new JobList();
