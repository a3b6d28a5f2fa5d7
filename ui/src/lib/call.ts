// Turns the generated bindings' `Result` into a value or a thrown, readable error.
import type { AppError } from "../bindings";

export type Result<T> = { status: "ok"; data: T } | { status: "error"; error: AppError };

export class CommandError extends Error {
  details: string[];
  /** The project was busy with another writer: nothing was stored, the same call may retry. */
  busy: boolean;
  constructor(e: Omit<AppError, "busy"> & { busy?: boolean }) {
    super(e.message);
    this.details = e.details;
    this.busy = e.busy ?? false;
  }
}

export async function call<T>(p: Promise<Result<T>>): Promise<T> {
  let r: Result<T>;
  try {
    r = await p;
  } catch (e) {
    // A command that panicked or could not be invoked: still words, never a silent nothing.
    throw new CommandError({ message: String(e), details: [] });
  }
  if (r.status === "error") {
    // Tauri's own refusals (permissions, arguments) arrive as bare strings, not AppErrors.
    const e = r.error as AppError | string;
    throw new CommandError(typeof e === "string" ? { message: e, details: [] } : e);
  }
  return r.data;
}

/** A readable message and its details for any thrown value. */
export function describe(e: unknown): { message: string; details: string[] } {
  if (e instanceof CommandError) return { message: e.message, details: e.details };
  if (e instanceof Error) return { message: e.message, details: [] };
  return { message: String(e), details: [] };
}

let jobCounter = 0;
/** A fresh id for a long job, so the window can cancel it. */
export function jobId(kind: string): string {
  jobCounter += 1;
  return `${kind}-${Date.now()}-${jobCounter}`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "?";
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** An SVG document as an image source: shown as an <img>, nothing in it can run. */
export function svgImage(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(bin)}`;
}
