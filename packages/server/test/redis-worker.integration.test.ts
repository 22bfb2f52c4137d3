import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatasetDetail, Health, Job, JobEvent, PipelineRun } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedis } from "../../orchestrator/test/redis.fixture.ts";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { type StartedWorker, startWorker } from "../src/worker.ts";
import { client, readJobEvents } from "./http.client.ts";

/**
 * The server queues jobs on a real Redis server and a `caretflow worker` on the same home runs them:
 * real MLflow, real engine (PyCaret) in the worker, real dataset store. The server runs no job itself:
 * with the worker stopped, a job stays queued until a worker starts.
 */
let home: string;
let redis: RedisServer;
let cf: StartedCaretflow;
let worker: StartedWorker | null = null;
let api: ReturnType<typeof client>;
let cookie: string;
const workerLines: string[] = [];
/** What the restarted server logged, shown when a run does not end. */
const serverLines: string[] = [];

const repo = join(import.meta.dirname, "..", "..", "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function job(id: string): Promise<Job> {
  return (await api.get<Job>(`/api/jobs/${id}`)).body;
}

async function waitJob(id: string, timeoutMs = 600_000): Promise<Job> {
  const t0 = Date.now();
  for (;;) {
    const j = await job(id);
    if (["succeeded", "failed", "cancelled"].includes(j.status)) return j;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} still ${j.status}`);
    await sleep(500);
  }
}

/** A clustering job of three models (several seconds); its id. */
async function startLongJob(): Promise<string> {
  const started = await api.post<Job>("/api/jobs/train", {
    dataset: "jewellery",
    task: "clustering",
    include: ["kmeans", "hclust", "birch"],
  });
  expect(started.status).toBe(202);
  return started.body.id;
}

/** The same long job started by a pipeline's train step: the run's id and the step's job id once it has one. */
async function startLongPipeline(): Promise<{ runId: string; jobId: string }> {
  const yaml = `version: 1
name: long
steps:
  - id: train
    type: train
    with: { dataset: jewellery, task: clustering, include: [kmeans, hclust, birch] }
`;
  expect((await api.put<unknown>("/api/pipelines", { yaml, files: {} })).status).toBe(200);
  const run = await api.post<PipelineRun>("/api/pipelines/long/runs", { force: true });
  expect(run.status).toBe(202);
  const t0 = Date.now();
  for (;;) {
    const jobId = (await pipelineRun(run.body.id)).steps[0]!.jobId;
    if (jobId) return { runId: run.body.id, jobId };
    if (Date.now() - t0 > 60_000) throw new Error("the train step started no job");
    await sleep(200);
  }
}

async function pipelineRun(id: string): Promise<PipelineRun> {
  return (await api.get<PipelineRun>(`/api/pipeline-runs/${id}`)).body;
}

async function waitPipelineRun(id: string, timeoutMs = 120_000): Promise<PipelineRun> {
  const t0 = Date.now();
  for (;;) {
    const r = await pipelineRun(id);
    if (["succeeded", "failed", "cancelled"].includes(r.status)) return r;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`pipeline run ${id} still ${r.status}: ${JSON.stringify(r.steps)}\n${serverLines.join("\n")}`);
    await sleep(500);
  }
}

const newWorker = () => startWorker({ home, redisUrl: redis.url, log: (l) => workerLines.push(l) });

beforeAll(async () => {
  redis = await startRedis();
  home = await mkdtemp(join(tmpdir(), "caretflow-redis-"));
  cf = await startCaretflow({ home, port: 0, log: () => {}, redisUrl: redis.url });
  const res = await fetch(`${cf.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: cf.adminPassword }),
  });
  cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  api = client(cf.url, { cookie });
  const t0 = Date.now();
  while (!(await api.get<Health>("/api/health")).body.mlflow.ready) {
    if (Date.now() - t0 > 180_000) throw new Error("MLflow not ready");
    await sleep(500);
  }
  const form = new FormData();
  form.append("file", new Blob([await readFile(join(repo, "demo-data", "jewellery.csv"))]), "jewellery.csv");
  expect((await api.raw("/api/datasets", { method: "POST", body: form })).status).toBe(201);
}, 300_000);

afterAll(async () => {
  await worker?.close();
  await cf?.close();
  await redis?.close();
  if (home) await rm(home, { recursive: true, force: true });
}, 120_000);

describe("jobs on a worker through Redis", () => {
  let clusters: Job;

  it("keeps a job queued while no worker runs, then a worker takes it, streams its events and stores its outputs", async () => {
    const started = await api.post<Job>("/api/jobs/train", { dataset: "jewellery", task: "clustering", include: ["kmeans"] });
    expect(started.status).toBe(202);
    await sleep(3000);
    // The server runs no job itself.
    expect((await job(started.body.id)).status).toBe("queued");

    worker = await newWorker();
    clusters = await waitJob(started.body.id);
    expect(clusters.status, JSON.stringify(clusters.error)).toBe("succeeded");
    expect(workerLines.join("\n")).toContain("worker ready");
    // Events crossed Redis in order, each stored once: the stream replays a gapless sequence.
    const events: JobEvent[] = await readJobEvents(cf.url, started.body.id, api.headers());
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]).toMatchObject({ type: "status", status: "queued" });
    expect(events.find((e) => e.type === "status" && e.status === "running")).toBeDefined();
    expect(events.filter((e) => e.type === "engine").length).toBeGreaterThan(3);
    expect(events.at(-1)).toMatchObject({ type: "status", status: "succeeded" });
    // The post-step ran on the worker: the labels are the input's version 2, recorded in the shared database.
    expect(clusters.outputDatasets).toEqual([{ role: "labels", name: "jewellery", version: 2 }]);
    const detail = (await api.get<DatasetDetail>("/api/datasets/jewellery")).body;
    expect(detail.versions.find((v) => v.version === 2)?.source).toMatchObject({ kind: "derived", role: "labels", jobId: clusters.id });
  });

  it("runs the evaluation the server queues after training on the worker too", async () => {
    const t0 = Date.now();
    let evaluation: Job | undefined;
    while (!evaluation) {
      evaluation = (await api.get<{ jobs: Job[] }>("/api/jobs")).body.jobs.find((j) => j.kind === "evaluate");
      if (Date.now() - t0 > 60_000) throw new Error("no evaluation job was queued");
      if (!evaluation) await sleep(500);
    }
    expect((await waitJob(evaluation.id)).status).toBe("succeeded");
  });

  it("cancels a job running on the worker", async () => {
    const id = await startLongJob();
    const t0 = Date.now();
    while ((await job(id)).status !== "running") {
      if (Date.now() - t0 > 60_000) throw new Error("the job did not start");
      await sleep(200);
    }
    expect((await api.post<Job>(`/api/jobs/${id}/cancel`, {})).status).toBe(200);
    const ended = await waitJob(id, 60_000);
    expect(ended.status).toBe("cancelled");
  });

  it("follows a pipeline run and its job running on the worker again after the server restarts, storing each event once", async () => {
    const { runId, jobId: id } = await startLongPipeline();
    const t0 = Date.now();
    while (!(await readJobEvents(cf.url, id, api.headers(), { stopAfter: 4 })).some((e) => e.type === "engine")) {
      if (Date.now() - t0 > 60_000) throw new Error("the job did not start");
      await sleep(200);
    }
    await cf.close();
    cf = await startCaretflow({ home, port: 0, log: (l) => serverLines.push(l), redisUrl: redis.url });
    api = client(cf.url, { cookie });
    const ended = await waitJob(id);
    expect(ended.status, JSON.stringify(ended.error)).toBe("succeeded");
    // The run went on with the same job: one attempt, the job's best run as the step's output.
    const run = await waitPipelineRun(runId);
    expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
    expect(run.steps[0]).toMatchObject({
      jobId: id,
      status: "succeeded",
      outputs: { best_run_id: (ended.result as { best_run_id: string }).best_run_id },
    });
    expect(run.steps[0]!.attempts).toHaveLength(1);
    const log = await (await api.raw(`/api/pipeline-runs/${runId}/logs?step=train`)).text();
    expect(log).toContain(`following job ${id} again`);
    const events: JobEvent[] = await readJobEvents(cf.url, id, api.headers());
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const engineSeqs = events.flatMap((e) => (e.type === "engine" ? [e.event.seq] : []));
    expect(engineSeqs).toEqual([...new Set(engineSeqs)].sort((a, b) => a - b));
    expect(events.filter((e) => e.type === "status").map((e) => (e.type === "status" ? e.status : ""))).toEqual([
      "queued",
      "running",
      "succeeded",
    ]);
  }, 300_000);

  it("retries a pipeline step's job on another worker when the worker running it is killed, recording the lost attempt", async () => {
    await worker?.close();
    worker = null;
    // Two `caretflow worker` processes whose hold on a job lapses after 3 s unless renewed.
    const children: Array<{ proc: ChildProcess; out: string }> = [];
    const spawnWorker = () => {
      const proc = spawn(process.execPath, [join(repo, "packages/cli/bin/caretflow.js"), "worker", "--redis", redis.url, "--home", home], {
        env: { ...process.env, CARETFLOW_WORKER_LOCK_MS: "3000" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const child = { proc, out: "" };
      proc.stderr!.on("data", (d: Buffer) => {
        child.out += d.toString();
      });
      proc.stdout!.resume();
      children.push(child);
      return child;
    };
    try {
      spawnWorker();
      spawnWorker();
      const t0 = Date.now();
      while (!children.every((c) => c.out.includes("worker ready"))) {
        if (Date.now() - t0 > 120_000) throw new Error(`workers did not start: ${children.map((c) => c.out).join("\n")}`);
        await sleep(200);
      }
      const { runId, jobId: id } = await startLongPipeline();
      let running: (typeof children)[number] | undefined;
      while (!running) {
        running = children.find((c) => c.out.includes(`taking job ${id}`));
        if (Date.now() - t0 > 120_000) throw new Error("no worker took the job");
        if (!running) await sleep(100);
      }
      while ((await job(id)).status !== "running") await sleep(100);
      const killedAt = Date.now();
      const exited = new Promise((r) => running!.proc.once("exit", r));
      running.proc.kill("SIGKILL");
      await exited;

      const ended = await waitJob(id, 180_000);
      expect(ended.status, JSON.stringify(ended.error)).toBe("succeeded");
      const other = children.find((c) => c !== running)!;
      expect(other.out).toContain(`taking job ${id} (attempt 2)`);
      const events: JobEvent[] = await readJobEvents(cf.url, id, api.headers());
      const attempt = events.find((e) => e.type === "attempt");
      expect(attempt).toMatchObject({ type: "attempt", attempt: 2, reason: "worker_lost" });
      // Taken over within a bounded time: the 3 s hold lapses and the other worker's check (every 3 s) moves it.
      expect(Date.parse(attempt!.ts) - killedAt).toBeLessThan(30_000);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => e.type === "status").map((e) => (e.type === "status" ? e.status : ""))).toEqual([
        "queued",
        "running",
        "succeeded",
      ]);
      // The pipeline step waited through it: it succeeded, its log names the lost attempt.
      const run = await waitPipelineRun(runId);
      expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
      const log = await (await api.raw(`/api/pipeline-runs/${runId}/logs?step=train`)).text();
      expect(log).toContain("job attempt 2, worker_lost");
    } finally {
      for (const c of children) {
        if (c.proc.exitCode === null && c.proc.signalCode === null) {
          const exited = new Promise((r) => c.proc.once("exit", r));
          c.proc.kill("SIGTERM");
          await exited;
        }
      }
    }
  }, 300_000);
});
