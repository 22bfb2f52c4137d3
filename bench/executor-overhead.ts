/**
 * Executor overhead: N no-op jobs (an engine that answers at once) one after another through
 *   1. direct calls of the same engine (the baseline),
 *   2. the in-process executor (LocalExecutor),
 *   3. the Redis executor with one worker (RedisExecutor + RedisWorker on a real redis-server),
 * in one run, and prints the time per job and the ratios against the baseline and the in-process one.
 *
 *   npx tsx bench/executor-overhead.ts                 # 50 jobs, 3 repeats
 *   npx tsx bench/executor-overhead.ts --jobs 200 --repeat 5
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { testSpec } from "../packages/orchestrator/src/executor.contract.ts";
import { type Executor, LocalExecutor, RedisExecutor, RedisWorker } from "../packages/orchestrator/src/index.ts";
import { startRedis } from "../packages/orchestrator/test/redis.fixture.ts";
import { noopEngine } from "./noop-engine.ts";

const { values } = parseArgs({ options: { jobs: { type: "string", default: "50" }, repeat: { type: "string", default: "3" } } });
const jobs = Number(values.jobs);
const repeat = Number(values.repeat);

const engine = noopEngine;

async function direct(): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) await engine.run(testSpec(`d${i}`), { onEvent: () => {}, logPath: "/dev/null" });
  return performance.now() - t0;
}

async function through(executor: Executor): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    let events = 0;
    const id = `j${randomUUID().slice(0, 8)}`;
    const out = await executor.submit({ id, spec: testSpec(id), logPath: "/dev/null", onStart: () => {}, onEvent: () => void events++ });
    if (out.status !== "succeeded" || events !== 2) throw new Error(`job ${id}: ${out.status}, ${events} events`);
  }
  return performance.now() - t0;
}

const redis = await startRedis();
const times = { direct: [] as number[], local: [] as number[], redis: [] as number[] };
try {
  for (let r = 0; r < repeat; r++) {
    times.direct.push(await direct());
    const local = new LocalExecutor({ engine, concurrency: 1 });
    times.local.push(await through(local));
    await local.close();
    const queue = `bench-${randomUUID().slice(0, 8)}`;
    const worker = await RedisWorker.start({ url: redis.url, queue, engine, concurrency: 1 });
    const remote = await RedisExecutor.open({ url: redis.url, queue });
    times.redis.push(await through(remote));
    await remote.close();
    await worker.close();
    const per = (ms: number) => `${((ms / jobs) * 1000).toFixed(0)} µs/job`;
    console.log(
      `[${r + 1}] direct ${per(times.direct.at(-1)!)}, in-process ${per(times.local.at(-1)!)}, Redis ${per(times.redis.at(-1)!)}`,
    );
  }
} finally {
  await redis.close();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [d, l, q] = [median(times.direct), median(times.local), median(times.redis)];
console.log(`\nmedians over ${repeat} run(s) of ${jobs} no-op jobs, one after another:`);
console.log(`  direct engine calls      ${((d / jobs) * 1000).toFixed(0)} µs per job`);
console.log(`  in-process executor      ${((l / jobs) * 1000).toFixed(0)} µs per job (${(l / d).toFixed(1)}x direct)`);
console.log(
  `  Redis executor, 1 worker ${((q / jobs) * 1000).toFixed(0)} µs per job (${(q / d).toFixed(0)}x direct, ${(q / l).toFixed(0)}x in-process)`,
);
