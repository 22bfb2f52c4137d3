/**
 * Scale-out: the same training jobs queued at once on a caretflow server started with --redis, run by
 * one worker, then by two workers (each running one job at a time), on this machine. Prints both wall
 * times (first queued to last training job finished) and the throughput ratio.
 *
 *   npx tsx bench/scale-out.ts --include lr,dt,ridge,rf,et,lightgbm   # the figure in bench/README.md
 *   npx tsx bench/scale-out.ts --jobs 8 --include lr,dt,ridge          # short jobs
 *
 * Each job compares its models in one process (compare workers 1), so a worker uses one core; the
 * evaluation job the server queues after each training job runs on the workers too, after the
 * training jobs queued before it.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Job } from "@caretflow/contracts";
import { type StartedWorker, startCaretflow, startWorker } from "@caretflow/server";
import { startRedis } from "../packages/orchestrator/test/redis.fixture.ts";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: { jobs: { type: "string", default: "8" }, include: { type: "string", default: "lr,dt,ridge" } },
});
const count = Number(values.jobs);
const include = values.include!.split(",");

const redis = await startRedis();
const home = await mkdtemp(join(tmpdir(), "caretflow-scale-"));
const cf = await startCaretflow({ home, port: 0, log: () => {}, redisUrl: redis.url, compareWorkers: 1 });
const workers: StartedWorker[] = [];
try {
  const login = await fetch(`${cf.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: cf.adminPassword }),
  });
  const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${cf.url}${path}`, {
      method,
      headers: { cookie, ...(body && !(body instanceof FormData) ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: body instanceof FormData ? body : JSON.stringify(body) } : {}),
    });
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const form = new FormData();
  form.append("file", new Blob([await readFile(join(root, "demo-data", "juice.csv"))]), "juice.csv");
  await call("POST", "/api/datasets", form);
  for (let t0 = Date.now(); !(await call<{ mlflow: { ready: boolean } }>("GET", "/api/health")).mlflow.ready; ) {
    if (Date.now() - t0 > 180_000) throw new Error("MLflow did not start");
    await new Promise((r) => setTimeout(r, 500));
  }

  /** Queues `count` training jobs at once and waits for all of them; seconds from the first queued to the last finished. */
  const round = async (): Promise<number> => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const job = await call<Job>("POST", "/api/jobs/train", { dataset: "juice", task: "classification", target: "Purchase", include });
      ids.push(job.id);
    }
    const ended: Job[] = [];
    for (const id of ids) {
      for (;;) {
        const job = await call<Job>("GET", `/api/jobs/${id}`);
        if (job.status === "succeeded") {
          ended.push(job);
          break;
        }
        if (job.status === "failed" || job.status === "cancelled") throw new Error(`job ${id} ${job.status}: ${JSON.stringify(job.error)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const first = Math.min(...ended.map((j) => Date.parse(j.createdAt)));
    const last = Math.max(...ended.map((j) => Date.parse(j.finishedAt!)));
    // How many ran at once at most (from their start and end times).
    const edges = ended.flatMap((j) => [
      [Date.parse(j.startedAt!), 1],
      [Date.parse(j.finishedAt!), -1],
    ]);
    let running = 0;
    let most = 0;
    for (const [, d] of edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!)) {
      running += d!;
      most = Math.max(most, running);
    }
    console.log(`  at most ${most} training job(s) running at once`);
    return (last - first) / 1000;
  };
  /** Waits until no job is queued or running (the evaluations of the previous round). */
  const idle = async () => {
    for (;;) {
      const { jobs } = await call<{ jobs: Job[] }>("GET", "/api/jobs");
      if (!jobs.some((j) => j.status === "queued" || j.status === "running")) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  workers.push(await startWorker({ home, redisUrl: redis.url, log: () => {} }));
  // One job first, so both rounds start with warm workers and a started MLflow.
  await call<Job>("POST", "/api/jobs/train", { dataset: "juice", task: "classification", target: "Purchase", include: ["lr"] });
  await idle();
  const one = await round();
  console.log(`${count} training jobs on 1 worker:  ${one.toFixed(1)} s`);
  await idle();

  workers.push(await startWorker({ home, redisUrl: redis.url, log: () => {} }));
  const two = await round();
  console.log(`${count} training jobs on 2 workers: ${two.toFixed(1)} s`);
  await idle();
  console.log(`\nthroughput, 2 workers / 1 worker: ${(one / two).toFixed(2)}x (${include.join(",")}, juice, ${count} jobs)`);
} finally {
  for (const w of workers) await w.close();
  await cf.close();
  await redis.close();
  await rm(home, { recursive: true, force: true });
}
