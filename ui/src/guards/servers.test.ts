import { describe, expect, it } from "vitest";
import type { ServerStatus } from "../bindings";
import { addresses, planText, rowsProblem, shareText } from "./servers";

describe("server rows", () => {
  it("sends every row, its URL trimmed, with its own concurrency", () => {
    expect(
      addresses([
        { url: " http://10.0.0.1:8080 ", concurrency: 8 },
        { url: "http://10.0.0.2:8080", concurrency: null },
      ]),
    ).toEqual([
      { url: "http://10.0.0.1:8080", concurrency: 8 },
      { url: "http://10.0.0.2:8080", concurrency: null },
    ]);
  });

  it("refuses an empty row and one server listed twice, as the core compares URLs", () => {
    expect(rowsProblem([{ url: "http://a:1", concurrency: 4 }])).toBeNull();
    expect(rowsProblem([{ url: "http://a:1", concurrency: 4 }, { url: "  ", concurrency: 4 }])).toMatch(/needs a URL/);
    expect(rowsProblem([{ url: "http://a:1/", concurrency: 4 }, { url: " http://a:1", concurrency: 2 }])).toBe(
      "http://a:1 is listed twice.",
    );
    expect(rowsProblem([{ url: "http://a:1", concurrency: 4 }, { url: "http://a:2", concurrency: 4 }])).toBeNull();
  });
});

describe("what the screen says", () => {
  const share = (out: string | null): ServerStatus => ({ url: "http://a:1", done: 12, texts_per_second: 3.456, out });

  it("gives a server's texts/s and says when the breaker took it out", () => {
    expect(shareText(share(null))).toBe("http://a:1 3.46 texts/s");
    expect(shareText(share("HTTP 503"))).toBe("http://a:1 3.46 texts/s (taken out)");
  });

  it("counts the judge's texts and tokens, and where they go, before it starts", () => {
    expect(planText({ texts: 3, prompt_tokens: 1234, already_done: 0 }, ["http://a:1", "http://b:1"])).toBe(
      "The judge will check 3 disputed texts: 1234 prompt tokens sent to http://a:1, http://b:1.",
    );
    expect(planText({ texts: 1, prompt_tokens: 400, already_done: 2 }, [])).toBe(
      "The judge will check 1 disputed text: 400 prompt tokens computed in this app (2 were checked before and are not sent again).",
    );
    expect(planText({ texts: 0, prompt_tokens: 0, already_done: 0 }, [])).toMatch(/^No disputed text is left/);
  });
});
