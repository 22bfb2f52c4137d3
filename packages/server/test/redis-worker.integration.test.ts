import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatasetDetail, Health, Job, JobEvent } from "@caretflow/contracts";
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
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "jewellery",
      task: "clustering",
      include: ["kmeans", "hclust", "birch"],
    });
    expect(started.status).toBe(202);
    const t0 = Date.now();
    while ((await job(started.body.id)).status !== "running") {
      if (Date.now() - t0 > 60_000) throw new Error("the job did not start");
      await sleep(200);
    }
    expect((await api.post<Job>(`/api/jobs/${started.body.id}/cancel`, {})).status).toBe(200);
    const ended = await waitJob(started.body.id, 60_000);
    expect(ended.status).toBe("cancelled");
  });

  it("follows a job running on the worker again after the server restarts, storing each event once", async () => {
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "jewellery",
      task: "clustering",
      include: ["kmeans", "hclust", "birch"],
    });
    expect(started.status).toBe(202);
    const id = started.body.id;
    const t0 = Date.now();
    while (!(await readJobEvents(cf.url, id, api.headers(), { stopAfter: 4 })).some((e) => e.type === "engine")) {
      if (Date.now() - t0 > 60_000) throw new Error("the job did not start");
      await sleep(200);
    }
    await cf.close();
    cf = await startCaretflow({ home, port: 0, log: () => {}, redisUrl: redis.url });
    api = client(cf.url, { cookie });
    const ended = await waitJob(id);
    expect(ended.status, JSON.stringify(ended.error)).toBe("succeeded");
    const events: JobEvent[] = await readJobEvents(cf.url, id, api.headers());
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const engineSeqs = events.flatMap((e) => (e.type === "engine" ? [e.event.seq] : []));
    expect(engineSeqs).toEqual([...new Set(engineSeqs)].sort((a, b) => a - b));
    expect(events.filter((e) => e.type === "status").map((e) => (e.type === "status" ? e.status : ""))).toEqual([
      "queued",
      "running",
      "succeeded",
    ]);
  });
});
