import type { EngineEvent, JobResult, JobSpec } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import type { EngineRunner, ExecutionOutcome, Executor, ExecutorJob, PostStep, PostStepRunner, PrepareJob } from "./executor.ts";

/**
 * The contract every Executor passes (the in-process one, and each queue-backed one against a real
 * server): order and concurrency, cancel, close, events and post-steps. `make` builds a fresh executor
 * over the given engine and post-step runner, running at most `concurrency` jobs at once.
 */
export function executorContract(
  name: string,
  make: (o: { engine: EngineRunner; concurrency: number; post: PostStepRunner; prepare?: PrepareJob }) => Promise<Executor> | Executor,
): void {
  describe(`Executor contract: ${name}`, () => {
    it("runs at most `concurrency` jobs at once, first in first out", async () => {
      const engine = new ControlledEngine();
      const ex = await make({ engine, concurrency: 2, post: new RecordingSteps() });
      try {
        const a = ex.submit(job("a"));
        const b = ex.submit(job("b"));
        const c = ex.submit(job("c"));
        await until(() => engine.started.length === 2);
        expect(engine.started).toEqual(["a", "b"]);
        expect(await ex.counts()).toEqual({ running: 2, queued: 1 });
        engine.finish("b");
        expect(await b).toEqual({ status: "succeeded" });
        await until(() => engine.started.length === 3);
        expect(engine.started).toEqual(["a", "b", "c"]);
        engine.finish("a");
        engine.finish("c");
        expect((await Promise.all([a, c])).map((o) => o.status)).toEqual(["succeeded", "succeeded"]);
        expect(await ex.counts()).toEqual({ running: 0, queued: 0 });
      } finally {
        await ex.close();
      }
    });

    it("cancels a queued job without starting it and aborts a running one", async () => {
      const engine = new ControlledEngine();
      const ex = await make({ engine, concurrency: 1, post: new RecordingSteps() });
      try {
        const started: string[] = [];
        const a = ex.submit(job("a", started));
        const b = ex.submit(job("b", started));
        await until(() => engine.started.length === 1);
        expect(await ex.cancel("b")).toBe("queued");
        expect(await b).toEqual({ status: "cancelled", neverStarted: true });
        expect(await ex.cancel("a")).toBe("running");
        expect((await a).status).toBe("cancelled");
        expect(await ex.cancel("zzz")).toBe("unknown");
        expect(started).toEqual(["a"]);
      } finally {
        await ex.close();
      }
    });

    it("refuses a second job with the same id while the first is queued or running", async () => {
      const engine = new ControlledEngine();
      const ex = await make({ engine, concurrency: 1, post: new RecordingSteps() });
      try {
        const a = ex.submit(job("a"));
        await expect(ex.submit(job("a"))).rejects.toThrow(/already submitted/);
        await until(() => engine.started.length === 1);
        engine.finish("a");
        expect((await a).status).toBe("succeeded");
      } finally {
        await ex.close();
      }
    });

    it("fails a job whose start hook throws and keeps going", async () => {
      const engine = new ControlledEngine();
      const ex = await make({ engine, concurrency: 1, post: new RecordingSteps() });
      try {
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
        await until(() => engine.started.includes("good"));
        engine.finish("good");
        expect((await good).status).toBe("succeeded");
        expect(engine.started).toEqual(["good"]);
      } finally {
        await ex.close();
      }
    });

    it("passes every engine event to the job, in order, before its outcome", async () => {
      const engine = new ControlledEngine();
      const ex = await make({ engine, concurrency: 1, post: new RecordingSteps() });
      try {
        const seen: number[] = [];
        const a = ex.submit({ ...job("a"), onEvent: (e) => seen.push(e.seq) });
        await until(() => engine.started.length === 1);
        for (let seq = 1; seq <= 50; seq++) engine.emit("a", seq);
        engine.finish("a");
        expect((await a).status).toBe("succeeded");
        expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      } finally {
        await ex.close();
      }
    });

    it("runs the post-steps in order after a success and returns what they stored", async () => {
      const engine = new ControlledEngine();
      const post = new RecordingSteps();
      const ex = await make({ engine, concurrency: 1, post });
      try {
        const steps: PostStep[] = [{ step: "record_model" }, { step: "store_outputs", project: "p", input: INPUT }];
        const a = ex.submit({ ...job("a"), post: steps });
        await until(() => engine.started.length === 1);
        engine.finish("a", {
          kind: "predict",
          rows: 1,
          output: { role: "predictions", file: "x.parquet", rows: 1, columns: ["label"] },
          prediction_columns: ["label"],
        });
        const out = await a;
        expect(out.status).toBe("succeeded");
        expect(out.outputs).toEqual([{ role: "predictions", name: "a-out", version: 1 }]);
        expect(post.ran).toEqual([
          ["a", "record_model", "succeeded"],
          ["a", "store_outputs", "succeeded"],
        ]);
      } finally {
        await ex.close();
      }
    });

    it("after a failure runs only the outputs step (which empties the outbox); a throwing step fails the job", async () => {
      const engine = new ControlledEngine();
      const post = new RecordingSteps();
      const ex = await make({ engine, concurrency: 1, post });
      try {
        const steps: PostStep[] = [{ step: "record_model" }, { step: "store_outputs", project: "p", input: INPUT }];
        const failed = ex.submit({ ...job("failed"), post: steps });
        await until(() => engine.started.length === 1);
        engine.fail("failed");
        const out = await failed;
        expect(out.status).toBe("failed");
        expect(out.outputs).toBeUndefined();
        expect(post.ran).toEqual([["failed", "store_outputs", "failed"]]);

        post.throwOn = "record_model";
        const broken = ex.submit({ ...job("broken"), post: steps });
        await until(() => engine.started.length === 2);
        engine.finish("broken");
        const b = await broken;
        expect(b.status).toBe("failed");
        expect(b.error).toMatchObject({ name: "model_digest_mismatch", message: "digest mismatch", transient: false });
      } finally {
        await ex.close();
      }
    });

    it("prepares each job before its engine runs; a failed preparation fails the job with its code and hint", async () => {
      const engine = new ControlledEngine();
      const prepared: string[] = [];
      const prepare: PrepareJob = async (spec) => {
        prepared.push(`${spec.job_id}:${engine.started.length}`);
        if (spec.job_id === "bad") {
          throw Object.assign(new Error("the file of 'd' version 1 is damaged"), {
            code: "dataset_file_corrupt",
            kind: "operational",
            hint: "Restore it.",
          });
        }
      };
      const ex = await make({ engine, concurrency: 1, post: new RecordingSteps(), prepare });
      try {
        const bad = await ex.submit(job("bad"));
        expect(bad).toMatchObject({
          status: "failed",
          error: { name: "dataset_file_corrupt", message: "the file of 'd' version 1 is damaged", hint: "Restore it.", transient: true },
        });
        expect(engine.started).toEqual([]);
        const good = ex.submit(job("good"));
        await until(() => engine.started.length === 1);
        engine.finish("good");
        expect((await good).status).toBe("succeeded");
        expect(prepared).toEqual(["bad:0", "good:0"]);
      } finally {
        await ex.close();
      }
    });

    it("after close(), a job is refused as cancelled and never runs", async () => {
      const engine = new ControlledEngine();
      const ex = await make({ engine, concurrency: 1, post: new RecordingSteps() });
      await ex.close();
      expect(await ex.submit(job("late"))).toMatchObject({ status: "cancelled", neverStarted: true });
      expect(engine.started).toEqual([]);
    });
  });
}

const INPUT = { dataset: "d", version: 1, contentHash: "h", rowCount: 1 };

/** An engine that finishes each job when told to, or when aborted, and emits events on demand. */
class ControlledEngine implements EngineRunner {
  readonly started: string[] = [];
  readonly #jobs = new Map<string, { end: (o: Awaited<ReturnType<EngineRunner["run"]>>) => void; emit: (e: EngineEvent) => void }>();

  run(spec: JobSpec, opts: { onEvent: (e: EngineEvent) => void; signal?: AbortSignal }) {
    this.started.push(spec.job_id);
    return new Promise<Awaited<ReturnType<EngineRunner["run"]>>>((resolve) => {
      this.#jobs.set(spec.job_id, { end: resolve, emit: opts.onEvent });
      opts.signal?.addEventListener("abort", () => resolve({ status: "cancelled" }));
    });
  }

  finish(id: string, result?: JobResult) {
    this.#jobs.get(id)!.end({ status: "succeeded", ...(result ? { result } : {}) });
  }

  fail(id: string) {
    this.#jobs.get(id)!.end({ status: "failed", error: { name: "EngineError", message: "boom", transient: false } });
  }

  emit(id: string, seq: number) {
    this.#jobs.get(id)!.emit({ v: 1, seq, ts: new Date().toISOString(), job_id: id, type: "log", level: "info", message: `event ${seq}` });
  }
}

/** Records the steps it runs; `store_outputs` reports one output named after the job. */
class RecordingSteps implements PostStepRunner {
  readonly ran: Array<[string, PostStep["step"], ExecutionOutcome["status"]]> = [];
  throwOn: PostStep["step"] | null = null;

  async run(jobId: string, step: PostStep, outcome: ExecutionOutcome) {
    this.ran.push([jobId, step.step, outcome.status]);
    if (this.throwOn === step.step) throw Object.assign(new Error("digest mismatch"), { code: "model_digest_mismatch", kind: "user" });
    if (step.step !== "store_outputs" || outcome.status !== "succeeded") return step.step === "store_outputs" ? { outputs: [] } : {};
    return { outputs: [{ role: "predictions", name: `${jobId}-out`, version: 1 }] };
  }
}

/** A small valid spec for a job whose engine is a test double (what it says is never read). */
export const testSpec = (id: string): JobSpec => ({
  v: 1,
  kind: "predict",
  job_id: id,
  tracking_uri: "http://127.0.0.1:1",
  model_uri: "models:/m/1",
  input: { name: "d", version: 1, content_hash: "h", rows: 1 },
});

function job(id: string, started: string[] = []): ExecutorJob {
  return {
    id,
    spec: testSpec(id),
    logPath: "/dev/null",
    onStart: () => {
      started.push(id);
    },
    onEvent: () => {},
  };
}

/** Waits until `ready()` holds (an executor on a queue starts jobs a little later than one in process). */
async function until(ready: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the executor");
    await new Promise((r) => setTimeout(r, 5));
  }
}
