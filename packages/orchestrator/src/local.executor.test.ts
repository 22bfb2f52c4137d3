import type { JobSpec } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { executorContract, testSpec } from "./executor.contract.ts";
import type { EngineRunner } from "./executor.ts";
import { LocalExecutor } from "./local.executor.ts";

executorContract("in-process (LocalExecutor)", (o) => new LocalExecutor(o));

describe("LocalExecutor", () => {
  it("close() cancels queued jobs and aborts running ones (the jobs run in the closing process)", async () => {
    const aborted: string[] = [];
    const engine: EngineRunner = {
      run: (spec: JobSpec, opts) =>
        new Promise((resolve) => {
          opts.signal?.addEventListener("abort", () => {
            aborted.push(spec.job_id);
            resolve({ status: "cancelled" });
          });
        }),
    };
    const ex = new LocalExecutor({ engine, concurrency: 1 });
    const job = (id: string) => ({
      id,
      spec: testSpec(id),
      logPath: "/dev/null",
      onStart: () => {},
      onEvent: () => {},
    });
    const a = ex.submit(job("a"));
    const b = ex.submit(job("b"));
    await new Promise((r) => setTimeout(r, 5));
    await ex.close();
    expect((await a).status).toBe("cancelled");
    expect(await b).toMatchObject({ status: "cancelled", neverStarted: true });
    expect(aborted).toEqual(["a"]);
  });
});
