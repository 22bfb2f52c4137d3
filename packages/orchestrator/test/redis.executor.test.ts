import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { EngineEvent } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executorContract, testSpec } from "../src/executor.contract.ts";
import type { EngineRunner, Executor } from "../src/executor.ts";
import { RedisExecutor, RedisWorker } from "../src/redis.executor.ts";
import { type RedisServer, startRedis } from "./redis.fixture.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.close();
});

// A worker in this process, reached only through the real Redis server: a queue of its own per test.
executorContract("Redis (BullMQ) with one worker", async ({ engine, concurrency, post, prepare }): Promise<Executor> => {
  const queue = `test-${randomUUID().slice(0, 8)}`;
  const worker = await RedisWorker.start({ url: redis.url, queue, engine, post, concurrency, ...(prepare ? { prepare } : {}) });
  const executor = await RedisExecutor.open({ url: redis.url, queue });
  return {
    submit: (job) => executor.submit(job),
    cancel: (id) => executor.cancel(id),
    counts: () => executor.counts(),
    close: async () => {
      await executor.close();
      await worker.close();
    },
  };
});

describe("RedisExecutor across a server restart", () => {
  /** An engine whose jobs emit events and finish when the test says. */
  const engineUnderTest = () => {
    const jobs = new Map<string, { emit: (e: EngineEvent) => void; end: () => void }>();
    const engine: EngineRunner = {
      run: (spec, opts) =>
        new Promise((resolve) => {
          jobs.set(spec.job_id, { emit: opts.onEvent, end: () => resolve({ status: "succeeded" }) });
          opts.signal?.addEventListener("abort", () => resolve({ status: "cancelled" }));
        }),
    };
    const emit = (id: string, seq: number) =>
      jobs.get(id)!.emit({ v: 1, seq, ts: new Date().toISOString(), job_id: id, type: "log", level: "info", message: `event ${seq}` });
    return { engine, jobs, emit };
  };
  const until = async (ready: () => boolean) => {
    for (let i = 0; i < 2000 && !ready(); i++) await new Promise((r) => setTimeout(r, 5));
    if (!ready()) throw new Error("timed out");
  };

  it("a job running and a job queued when the server stops are followed again by the next server, events included", async () => {
    const queue = `restart-${randomUUID().slice(0, 8)}`;
    const { engine, jobs, emit } = engineUnderTest();
    const worker = await RedisWorker.start({ url: redis.url, queue, engine, concurrency: 1 });
    try {
      const first = await RedisExecutor.open({ url: redis.url, queue });
      const seen: number[] = [];
      const a = first.submit({ id: "a", spec: testSpec("a"), logPath: "/dev/null", onStart: () => {}, onEvent: (e) => seen.push(e.seq) });
      const b = first.submit({ id: "b", spec: testSpec("b"), logPath: "/dev/null", onStart: () => {}, onEvent: () => {} });
      await until(() => jobs.has("a"));
      for (let seq = 0; seq < 3; seq++) emit("a", seq);
      await until(() => seen.length === 3);
      await first.close();
      expect(await a).toMatchObject({ detached: true });
      expect(await b).toMatchObject({ detached: true });

      // While no server follows: the job goes on and its events wait in the stream.
      for (let seq = 3; seq < 6; seq++) emit("a", seq);
      const second = await RedisExecutor.open({ url: redis.url, queue });
      const later: number[] = [];
      let bStarted = 0;
      const [a2, b2] = second.reattach([
        { id: "a", started: true, onStart: () => {}, onEvent: (e) => later.push(e.seq) },
        { id: "b", started: false, onStart: () => void bStarted++, onEvent: () => {} },
      ]);
      emit("a", 6);
      jobs.get("a")!.end();
      expect(await a2).toEqual({ status: "succeeded" });
      expect(later).toEqual([3, 4, 5, 6]);
      // The queued job was kept, and runs once the worker is free; its start hook runs on the new server.
      await until(() => jobs.has("b"));
      jobs.get("b")!.end();
      expect((await b2!).status).toBe("succeeded");
      expect(bStarted).toBe(1);
      await second.close();
    } finally {
      await worker.close();
    }
  });

  it("a job the queue no longer has and whose end nobody reported is lost", async () => {
    const queue = `lost-${randomUUID().slice(0, 8)}`;
    const executor = await RedisExecutor.open({ url: redis.url, queue, lostAfterMs: 50 });
    try {
      const [gone] = executor.reattach([{ id: "gone", started: true, onStart: () => {}, onEvent: () => {} }]);
      expect(await gone).toMatchObject({ status: "failed", error: { name: "JobLost", transient: true } });
    } finally {
      await executor.close();
    }
  });
});

describe("RedisWorker when the workers running a job die", () => {
  /** A worker process whose engine never ends a job; its output as it goes. */
  function hangingWorker(queue: string) {
    const proc = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "hanging-worker.ts"), redis.url, queue, "1000"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const child = { proc, out: "" };
    proc.stdout!.on("data", (d: Buffer) => {
      child.out += d.toString();
    });
    return child;
  }
  const waitFor = async (what: string, ready: () => boolean, ms = 30_000) => {
    const t0 = Date.now();
    while (!ready()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async (p: ChildProcess) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  };

  it("a job whose worker is killed each time it is taken ends failed as WorkerLost instead of hanging", async () => {
    const queue = `stalled-${randomUUID().slice(0, 8)}`;
    const executor = await RedisExecutor.open({ url: redis.url, queue });
    // A worker of this process checks for stalled jobs; a job of its own that never ends keeps it from taking `x`.
    let releaseBlocker: (() => void) | null = null;
    const checker = await RedisWorker.start({
      url: redis.url,
      queue,
      concurrency: 1,
      lockMs: 1000,
      engine: {
        run: (_spec, opts) =>
          new Promise((resolve) => {
            releaseBlocker = () => resolve({ status: "cancelled" });
            opts.signal?.addEventListener("abort", releaseBlocker);
          }),
      },
    });
    const children = [hangingWorker(queue), hangingWorker(queue)];
    try {
      const blocker = executor.submit({
        id: "blocker",
        spec: testSpec("blocker"),
        logPath: "/dev/null",
        onStart: () => {},
        onEvent: () => {},
      });
      await waitFor("the blocker to run", () => releaseBlocker !== null);
      await waitFor("the workers", () => children.every((c) => c.out.includes("ready")));
      const retries: number[] = [];
      const x = executor.submit({
        id: "x",
        spec: testSpec("x"),
        logPath: "/dev/null",
        onStart: () => {},
        onEvent: () => {},
        onRetry: (n) => void retries.push(n),
      });
      await waitFor("a worker to take x", () => children.some((c) => c.out.includes("taking job x")));
      const first = children.find((c) => c.out.includes("taking job x"))!;
      await kill(first.proc);
      const second = children.find((c) => c !== first)!;
      await waitFor("the other worker to take x again", () => second.out.includes("taking job x (attempt 2)"));
      await kill(second.proc);
      // The next worker to take it (this process's, once free) gives it up before running it.
      releaseBlocker!();
      expect((await blocker).status).toBe("cancelled");
      const t0 = Date.now();
      const ended = await Promise.race([x, new Promise((r) => setTimeout(() => r("still waiting"), 30_000))]);
      expect(ended, `workers: ${children.map((c) => c.out).join(" | ")}`).toMatchObject({
        status: "failed",
        error: { name: "WorkerLost", transient: true },
      });
      // Given up within a few lock periods, not left running.
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(retries).toEqual([2]);
    } finally {
      for (const c of children) await kill(c.proc);
      await executor.close();
      await checker.close();
    }
  }, 90_000);
});
