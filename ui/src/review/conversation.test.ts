import { describe, expect, it } from "vitest";
import { render } from "svelte/server";
import type { Turn } from "../bindings";
import Conversation from "./Conversation.svelte";
import { FOLD_OVER, SHOWN_WHEN_FOLDED, conversationLines, foldHistory } from "./conversation";

const turn = (role: Turn["role"], content: string): Turn => ({ role, content });

const hostile = `<img src=x onerror=alert(1)><script>alert(2)</script>`;
const turns = [turn("system", "Be careful."), turn("user", hostile), turn("assistant", "Hello & welcome")];

describe("conversation in Review", () => {
  it("labels every turn and marks the last user turn", () => {
    const lines = conversationLines(turns, "And now?");
    expect(lines.map((l) => [l.label, l.last])).toEqual([
      ["System", false],
      ["User", false],
      ["Assistant", false],
      ["User · last turn", true],
    ]);
    expect(lines[3].text).toBe("And now?");
  });

  it("folds a long history to its latest turns until opened", () => {
    const long = Array.from({ length: FOLD_OVER + 3 }, (_, i) => turn(i % 2 ? "assistant" : "user", `t${i}`));
    const folded = foldHistory(long, false);
    expect(folded.folded).toBe(long.length - SHOWN_WHEN_FOLDED);
    expect(folded.shown.map((l) => l.text)).toEqual(long.slice(-SHOWN_WHEN_FOLDED).map((t) => t.content));
    expect(foldHistory(long, true)).toEqual({ shown: conversationLines(long, "").slice(0, -1), folded: 0 });
    expect(foldHistory(turns, false).folded).toBe(0);
  });

  it("renders turns as text, never as HTML", () => {
    const { body } = render(Conversation, { props: { turns, language: "pl" } });
    expect(body).not.toContain("<img");
    expect(body).not.toContain("<script>");
    expect(body).toContain("&lt;img src=x onerror=alert(1)>&lt;script>alert(2)&lt;/script>");
    expect(body).toContain("Hello &amp; welcome");
    for (const label of ["System", "User", "Assistant", "User · last turn"]) expect(body).toContain(label);
    expect(body).not.toContain("unfold-turns");
  });

  it("renders a folded history with a button to open it", () => {
    const long = Array.from({ length: 8 }, (_, i) => turn(i % 2 ? "assistant" : "user", `turn ${i}`));
    const { body } = render(Conversation, { props: { turns: long, language: "en" } });
    expect(body).toContain("show 6 earlier turns");
    expect(body).not.toContain("turn 0<");
    expect(body).toContain("turn 7");
  });
});
