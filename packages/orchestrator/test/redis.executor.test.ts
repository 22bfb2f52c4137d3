import { randomUUID } from "node:crypto";
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
executorContract("Redis (BullMQ) with one worker", async ({ engine, concurrency, post }): Promise<Executor> => {
  const queue = `test-${randomUUID().slice(0, 8)}`;
  const worker = await RedisWorker.start({ url: redis.url, queue, engine, post, concurrency });
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
