/**
 * A `RedisWorker` whose engine never finishes a job, as a process of its own so a test can SIGKILL it
 * mid-job: `node --import tsx hanging-worker.ts REDIS_URL QUEUE LOCK_MS`. Prints "ready", then
 * "taking job ID" as it takes jobs.
 */
import { RedisWorker } from "../src/redis.executor.ts";

const [url, queue, lockMs] = process.argv.slice(2) as [string, string, string];
await RedisWorker.start({
  url,
  queue,
  concurrency: 1,
  lockMs: Number(lockMs),
  engine: { run: () => new Promise(() => {}) },
  log: (line) => console.log(line),
});
console.log("ready");
