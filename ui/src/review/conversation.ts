// A prompt that is a conversation, as the Review screen shows it: every earlier turn labelled
// by its role, the last user turn (the prompt the verdicts are about) marked, and a long
// history folded to its latest turns until the reviewer opens it. Texts are data: the
// component renders them as text nodes, never as HTML.
import type { Turn } from "../bindings";

/** Earlier turns shown while the history is folded (the latest ones, nearest the prompt). */
export const SHOWN_WHEN_FOLDED = 2;
/** A history longer than this is folded. */
export const FOLD_OVER = 4;

export type TurnLine = { role: Turn["role"]; label: string; text: string; last: boolean };

const LABELS: Record<Turn["role"], string> = { system: "System", user: "User", assistant: "Assistant" };

/** The lines of a conversation: the earlier turns, then the last user turn (the prompt). */
export function conversationLines(turns: Turn[], prompt: string): TurnLine[] {
  const lines: TurnLine[] = turns.map((t) => ({ role: t.role, label: LABELS[t.role], text: t.content, last: false }));
  lines.push({ role: "user", label: "User · last turn", text: prompt, last: true });
  return lines;
}

/** The earlier lines to show and how many are folded away. */
export function foldHistory(turns: Turn[], open: boolean): { shown: TurnLine[]; folded: number } {
  const lines = conversationLines(turns, "").slice(0, -1);
  if (open || lines.length <= FOLD_OVER) return { shown: lines, folded: 0 };
  return { shown: lines.slice(lines.length - SHOWN_WHEN_FOLDED), folded: lines.length - SHOWN_WHEN_FOLDED };
}
