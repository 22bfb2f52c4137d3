import { randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { executorContract } from "../src/executor.contract.ts";
import type { Executor } from "../src/executor.ts";
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
