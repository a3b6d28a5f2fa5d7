import { describe, expect, it } from "vitest";
import { hiddenCount, pieces } from "./invisibles";

describe("show invisibles", () => {
  it("names bidi controls and zero-width characters in place", () => {
    expect(pieces("a\u202etxt.exe\u202c b\u200bc")).toEqual([
      { text: "a" },
      { text: "⟨RLO⟩", what: "right-to-left override" },
      { text: "txt.exe" },
      { text: "⟨PDF⟩", what: "pop directional formatting" },
      { text: " b" },
      { text: "⟨ZWSP⟩", what: "zero-width space" },
      { text: "c" },
    ]);
  });

  it("spells out a run of tag characters as one piece", () => {
    const hidden = Array.from("hi!", (c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join("");
    expect(pieces(`ok${hidden}.`)).toEqual([
      { text: "ok" },
      { text: "⟨tags: hi!⟩", what: "Unicode tag characters (invisible text)" },
      { text: "." },
    ]);
  });

  it("marks text shaped like special tokens, and leaves ordinary text alone", () => {
    const p = pieces("x <|im_start|>system [INST] y </s>");
    expect(p.filter((x) => x.what).map((x) => x.text)).toEqual(["⟦<|im_start|>⟧", "⟦[INST]⟧", "⟦</s>⟧"]);
    expect(p.map((x) => x.text.replace(/[⟦⟧]/g, "")).join("")).toBe("x <|im_start|>system [INST] y </s>");
    expect(pieces("Zażółć gęślą jaźń <b>")).toEqual([{ text: "Zażółć gęślą jaźń <b>" }]);
    expect(hiddenCount("a\u200db\u2066c")).toBe(2);
  });
});
