import { describe, expect, it } from "vitest";
import type { Channel } from "@tauri-apps/api/core";
import { JobList } from "./jobs.svelte";

/** A channel the test feeds by hand, in place of Tauri's. */
function fakeChannels() {
  const open: ((p: unknown) => void)[] = [];
  const openChannel = <P>(on: (p: P) => void) => {
    open.push(on as (p: unknown) => void);
    return {} as Channel<P>;
  };
  return { open, openChannel };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("jobs store", () => {
  it("keeps a job's progress and outcome outside any screen, and refuses a second guard run", async () => {
    const { open, openChannel } = fakeChannels();
    const cancelled: string[] = [];
    const list = new JobList(openChannel, async (id) => cancelled.push(id));
    const done = deferred<{ status: "ok"; data: string }>();
    const run = list.start<{ n: number }, string>("guard", "Guard run", () => done.promise, (p) => ({
      done: p.n,
      total: 10,
      text: `${p.n} / 10 texts`,
    }));
    expect(list.running).toHaveLength(1);
    open[0]({ n: 4 });
    expect(list.of("guard")).toMatchObject({ done: 4, total: 10, text: "4 / 10 texts" });

    expect(list.canStart("guard")).toBe(false);
    await expect(list.start("guard", "Another", () => done.promise)).rejects.toThrow(/still running/);
    expect(list.canStart("export")).toBe(true);

    await list.cancel(list.of("guard")!.id);
    expect(cancelled).toHaveLength(1);
    done.resolve({ status: "ok", data: "run 1 done" });
    await expect(run).resolves.toBe("run 1 done");
    expect(list.running).toHaveLength(0);
    expect(list.result<string>("guard")).toBe("run 1 done");
  });

  it("keeps a failed job's error as its kind's outcome", async () => {
    const list = new JobList(fakeChannels().openChannel, async () => {});
    const failed = list.start("import", "Import", async () => ({
      status: "error" as const,
      error: { message: "bad.jsonl:3: prompt: empty", details: [], busy: false },
    }));
    await expect(failed).rejects.toThrow("bad.jsonl:3");
    expect(list.outcomes.import).toEqual({ ok: false, error: { message: "bad.jsonl:3: prompt: empty", details: [] } });
    expect(list.result("import")).toBeNull();
  });
});
