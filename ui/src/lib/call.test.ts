import { describe as suite, expect, it } from "vitest";
import { call, describe } from "./call";

suite("call", () => {
  it("turns an AppError into a message with its details", async () => {
    const failed = call(Promise.resolve({ status: "error" as const, error: { message: "bad file", details: ["a.jsonl:3: prompt: empty"], busy: false } }));
    const e = await failed.catch((x: unknown) => x);
    expect(describe(e)).toEqual({ message: "bad file", details: ["a.jsonl:3: prompt: empty"] });
  });

  it("turns Tauri's bare-string refusals into a message too", async () => {
    const refused = Promise.resolve({ status: "error", error: "split_run not allowed" } as never);
    const e = await call(refused).catch((x: unknown) => x);
    expect(describe(e)).toEqual({ message: "split_run not allowed", details: [] });
  });
});
