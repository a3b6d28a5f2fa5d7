// The Guards screen's server rows and what it says about a run's servers, kept apart from the
// screen so the rules (which rows are sent, when two rows name one server, how a share reads)
// are tested without a window.
import type { GuardServerAddress, Plan, ServerStatus } from "../bindings";

export interface ServerRow {
  url: string;
  concurrency: number | null;
}

/** How the core compares URLs: without surrounding blanks and without a trailing `/`. */
const same = (url: string) => url.trim().replace(/\/+$/, "");

/** The rows as the run takes them: each URL without surrounding blanks. */
export function addresses(rows: ServerRow[]): GuardServerAddress[] {
  return rows.map((r) => ({ url: r.url.trim(), concurrency: r.concurrency }));
}

/**
 * What keeps the rows from being sent, in words, or null: an empty URL, or one server listed
 * twice (it would count its share twice and split its triples' prompt cache).
 */
export function rowsProblem(rows: ServerRow[]): string | null {
  if (rows.some((r) => same(r.url) === "")) return "Every server row needs a URL (or remove the row).";
  const seen = new Set<string>();
  for (const r of rows) {
    const url = same(r.url);
    if (seen.has(url)) return `${url} is listed twice.`;
    seen.add(url);
  }
  return null;
}

/** One server's share of a run, for the job list's line. */
export function shareText(s: ServerStatus): string {
  return `${s.url} ${s.texts_per_second.toFixed(2)} texts/s${s.out !== null ? " (taken out)" : ""}`;
}

/** What a judge run would send, before the user lets it start. */
export function planText(plan: Plan, urls: string[]): string {
  const where = urls.length ? `sent to ${urls.join(", ")}` : "computed in this app";
  const before = plan.already_done ? ` (${plan.already_done} were checked before and are not sent again)` : "";
  if (plan.texts === 0) return `No disputed text is left to check${before}: the guards agree on every selected text.`;
  return `The judge will check ${plan.texts} disputed ${plan.texts === 1 ? "text" : "texts"}: ${plan.prompt_tokens} prompt tokens ${where}${before}.`;
}
