import { describe, expect, it } from "vitest";
import type { Legend, ProjectGuards } from "../bindings";
import { describeGuards, legendOf } from "./provenance";

const legend: Legend[] = [
  { key: "any", label: "any guard", explanation: "unsafe when at least one guard says unsafe" },
  { key: "human_adjudicated", label: "human-adjudicated", explanation: "reviewers first" },
  { key: "judge_adjudicated", label: "judge-adjudicated (the paper's protocol)", explanation: "the judge decides disputes" },
];

describe("provenance", () => {
  it("finds the rule of a column by its prefix, and none for other columns", () => {
    expect(legendOf(legend, "judge_adjudicated_share")?.label).toBe("judge-adjudicated (the paper's protocol)");
    expect(legendOf(legend, "any_low95")?.key).toBe("any");
    expect(legendOf(legend, "awaiting_judge")).toBeUndefined();
    expect(legendOf(legend, "anything")).toBeUndefined();
  });

  it("names the guards, the judge and the keep rule with how each was set", () => {
    const g: ProjectGuards = {
      runs: [1, 2],
      chosen: false,
      judge: 3,
      judge_chosen: true,
      keep_rule: "adjudicated",
      keep_rule_chosen: false,
    };
    expect(describeGuards(g)).toBe("Guards: run 1, run 2 (default); judge: run 3 (chosen); keep rule: adjudicated (default).");
    expect(describeGuards({ ...g, judge: null })).toContain("judge: none (the paper's protocol is off)");
  });
});
