import type { EngineEvent, JobSpec } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { type EngineRunner, LocalExecutor } from "./local.executor.ts";

/** An engine that finishes each job when told to, or when aborted. */
class ControlledEngine implements EngineRunner {
  readonly started: string[] = [];
  readonly #finish = new Map<string, () => void>();
  run(spec: JobSpec, opts: { onEvent: (e: EngineEvent) => void; signal?: AbortSignal }) {
    this.started.push(spec.job_id);
    return new Promise<{ status: "succeeded" | "cancelled" }>((resolve) => {
      this.#finish.set(spec.job_id, () => resolve({ status: "succeeded" }));
      opts.signal?.addEventListener("abort", () => resolve({ status: "cancelled" }));
    });
  }
  finish(id: string) {
    this.#finish.get(id)!();
  }
}

const spec = (id: string): JobSpec => ({
  v: 1,
  kind: "predict",
  job_id: id,
  tracking_uri: "http://127.0.0.1:1",
  model_uri: "models:/m/1",
  input: { name: "d", version: 1, content_hash: "h", rows: 1 },
});
const job = (id: string, started: string[] = []) => ({
  id,
  spec: spec(id),
  logPath: "/dev/null",
  onStart: () => {
    started.push(id);
  },
  onEvent: () => {},
});
const tick = () => new Promise((r) => setTimeout(r, 5));

describe("LocalExecutor", () => {
  it("runs at most `concurrency` jobs at once, in order", async () => {
    const engine = new ControlledEngine();
    const ex = new LocalExecutor({ engine, concurrency: 2 });
    const a = ex.submit(job("a"));
    const b = ex.submit(job("b"));
    const c = ex.submit(job("c"));
    await tick();
    expect(engine.started).toEqual(["a", "b"]);
    expect(ex.queuedCount).toBe(1);
    engine.finish("b");
    expect(await b).toEqual({ status: "succeeded" });
    await tick();
    expect(engine.started).toEqual(["a", "b", "c"]);
    engine.finish("a");
    engine.finish("c");
    expect((await Promise.all([a, c])).map((o) => o.status)).toEqual(["succeeded", "succeeded"]);
  });

  it("cancels a queued job without starting it and aborts a running one", async () => {
    const engine = new ControlledEngine();
    const ex = new LocalExecutor({ engine, concurrency: 1 });
    const started: string[] = [];
    const a = ex.submit(job("a", started));
    const b = ex.submit(job("b", started));
    await tick();
    expect(ex.cancel("b")).toBe("queued");
    expect(await b).toEqual({ status: "cancelled", neverStarted: true });
    expect(ex.cancel("a")).toBe("running");
    expect((await a).status).toBe("cancelled");
    expect(ex.cancel("zzz")).toBe("unknown");
    expect(started).toEqual(["a"]);
  });

  it("fails a job whose start hook throws and keeps going", async () => {
    const engine = new ControlledEngine();
    const ex = new LocalExecutor({ engine, concurrency: 1 });
    const bad = ex.submit({
      ...job("bad"),
      onStart: () => {
        throw new Error("disk full");
      },
    });
    const good = ex.submit(job("good"));
    const out = await bad;
    expect(out.status).toBe("failed");
    expect(out.error?.message).toBe("disk full");
    await tick();
    engine.finish("good");
    expect((await good).status).toBe("succeeded");
  });

  it("close() cancels queued jobs and aborts running ones", async () => {
    const engine = new ControlledEngine();
    const ex = new LocalExecutor({ engine, concurrency: 1 });
    const a = ex.submit(job("a"));
    const b = ex.submit(job("b"));
    await tick();
    await ex.close();
    expect((await a).status).toBe("cancelled");
    expect(await b).toMatchObject({ status: "cancelled", neverStarted: true });
  });
});
