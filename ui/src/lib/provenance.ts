// Which rule produced a figure, and which guards it was computed with, in words: the Results
// screen puts these beside every ASR table column and chart, and above the report.
import type { Legend, ProjectGuards } from "../bindings";

/** The legend entry that explains a column (`judge_adjudicated_share` → `judge_adjudicated`). */
export function legendOf(legend: Legend[], column: string): Legend | undefined {
  return legend
    .filter((l) => column === l.key || column.startsWith(`${l.key}_`))
    .sort((a, b) => b.key.length - a.key.length)[0];
}

/** The guards, judge and keep rule in force, in one line. */
export function describeGuards(g: ProjectGuards): string {
  const runs = g.runs.length ? g.runs.map((r) => `run ${r}`).join(", ") : "none";
  const judge = g.judge === null ? "none (the paper's protocol is off)" : `run ${g.judge}`;
  const how = (chosen: boolean) => (chosen ? "chosen" : "default");
  return `Guards: ${runs} (${how(g.chosen)}); judge: ${judge} (${how(g.judge_chosen)}); keep rule: ${g.keep_rule} (${how(g.keep_rule_chosen)}).`;
}
