// Who is working, in words for the Curator screen's "Share with reviewers": a reviewer's
// progress in their own queue, where their answers came from, and how long ago something
// happened. Pure functions of what `share_activity` returns, so they are tested alone.
import type { AnswerSources, ReviewerActivity } from "../bindings";

/** "12 / 40 answered · pl 10 / 30, de 2 / 10": samples answered of their queue, per language. */
export function progressText(a: ReviewerActivity): string {
  const [overall, ...languages] = a.progress;
  if (!overall || overall.total === 0) return "nothing in their queue";
  const answered = (p: { total: number; waiting: number }) => `${p.total - p.waiting} / ${p.total}`;
  const each = languages.length > 1 ? ` · ${languages.map((l) => `${l.language} ${answered(l)}`).join(", ")}` : "";
  return `${answered(overall)} answered${each}`;
}

/** "window 3 · pack 1 · browser 8": only the sources that gave answers. */
export function sourcesText(s: AnswerSources): string {
  const parts: [string, number][] = [
    ["window", s.window],
    ["pack", s.pack],
    ["browser", s.browser],
    ["command line", s.cli],
    ["unrecorded", s.unrecorded],
  ];
  return (
    parts
      .filter(([, n]) => n > 0)
      .map(([name, n]) => `${name} ${n}`)
      .join(" · ") || "no answers yet"
  );
}

/** "just now", "5 min ago", "3 h ago", "2 d ago" for a stored UTC time (`…Z`); "never" for none. */
export function ago(at: string | null, now: number = Date.now()): string {
  if (!at) return "never";
  const then = Date.parse(at);
  if (Number.isNaN(then)) return at;
  const minutes = Math.floor(Math.max(0, now - then) / 60000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ago`;
  return `${Math.floor(minutes / (24 * 60))} d ago`;
}

/** "2 open · seen 3 min ago", or "none". */
export function sessionsText(a: ReviewerActivity, now: number = Date.now()): string {
  if (a.open_sessions === 0) return "none";
  return `${a.open_sessions} open · seen ${ago(a.last_seen_at, now)}`;
}
