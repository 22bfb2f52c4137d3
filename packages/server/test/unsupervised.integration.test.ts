import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatasetDetail, ImportResult, Job, OnlinePredictResponse, PreviewPage } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { signIn, type TestClient, waitReady } from "./http.client.ts";

/**
 * Clustering and anomaly detection through the HTTP API on a temp home: real MLflow, real engine
 * (PyCaret), real dataset store. Datasets are uploaded, trained on, their labels stored as the
 * input's next version, and the models registered and scored in batch and online.
 */
let home: string;
let cf: StartedCaretflow;
let api: TestClient;

const repo = join(import.meta.dirname, "..", "..", "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitJob(id: string, timeoutMs = 600_000): Promise<Job> {
  const t0 = Date.now();
  for (;;) {
    const job = (await api.get<Job>(`/api/jobs/${id}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} still ${job.status}`);
    await sleep(500);
  }
}

async function upload(file: string): Promise<ImportResult> {
  const form = new FormData();
  form.append("file", new Blob([await readFile(join(repo, "demo-data", file))]), file);
  const res = await api.raw("/api/datasets", { method: "POST", body: form });
  expect(res.status).toBe(201);
  return (await res.json()) as ImportResult;
}

async function preview(name: string, version: number, limit = 1000) {
  const page = (await api.get<PreviewPage>(`/api/datasets/${name}/versions/${version}/preview?limit=${limit}`)).body;
  return {
    columns: page.columns.map((c) => c.name),
    rows: page.rows.map((r) => Object.fromEntries(page.columns.map((c, i) => [c.name, r[i]]))),
  };
}

async function train(body: Record<string, unknown>): Promise<Job> {
  const started = await api.post<Job>("/api/jobs/train", body);
  expect(started.status).toBe(202);
  const job = await waitJob(started.body.id);
  expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
  return job;
}

/** Registers the job's best model, scores `dataset` v1 in batch and its first rows online. */
async function registerAndScore(job: Job, name: string, dataset: string, columns: string[]) {
  if (job.result?.kind !== "train") throw new Error("no train result");
  const reg = await api.post<{ version: number }>("/api/models", { runId: job.result.best_run_id, name, alias: "champion" });
  expect(reg.status).toBe(201);
  const started = await api.post<Job>("/api/jobs/predict", { model: `${name}@champion`, dataset, version: 1 });
  expect(started.status).toBe(202);
  const predicted = await waitJob(started.body.id);
  expect(predicted.status, JSON.stringify(predicted.error)).toBe("succeeded");
  expect(predicted.outputDatasets).toEqual([{ role: "predictions", name: `${dataset}-predictions`, version: 1 }]);
  expect(predicted.result?.kind === "predict" && predicted.result.prediction_columns).toEqual(columns);
  const batch = await preview(`${dataset}-predictions`, 1);
  const input = await preview(dataset, 1, 25);
  const online = await api.post<OnlinePredictResponse>("/api/predict", { model: `${name}@champion`, rows: input.rows });
  expect(online.status).toBe(200);
  expect(online.body.columns).toEqual(columns);
  expect(online.body.model).toEqual({ name, version: reg.body.version, task: job.result.task });
  return { batch, online: online.body.predictions };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-unsup-"));
  cf = await startCaretflow({ home, port: 0, log: () => {} });
  api = await signIn(cf.url, cf.adminPassword ?? "");
  await waitReady(api, "engine");
}, 300_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
}, 120_000);

describe("clustering and anomaly detection end to end", () => {
  let clusters: Job;
  let anomalies: Job;

  it("imports jewellery and anomaly through POST /api/datasets", async () => {
    expect((await upload("jewellery.csv")).version).toMatchObject({ dataset: "jewellery", version: 1, rowCount: 505, columnCount: 4 });
    expect((await upload("anomaly.csv")).version).toMatchObject({ dataset: "anomaly", version: 1, rowCount: 1000, columnCount: 10 });
  });

  it("refuses more clusters than rows before queueing", async () => {
    const head = (await readFile(join(repo, "demo-data", "jewellery.csv"), "utf8")).split("\n").slice(0, 9).join("\n");
    const form = new FormData();
    form.append("file", new Blob([head]), "jewellery-head.csv");
    expect((await api.raw("/api/datasets", { method: "POST", body: form })).status).toBe(201);
    const r = await api.post<{ error: { code: string; hint: string } }>("/api/jobs/train", {
      dataset: "jewellery-head",
      task: "clustering",
      num_clusters: 8,
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("too_many_clusters");
    expect(r.body.error.hint).toContain("at most 7");
  });

  it("compares clustering models, picks the elbow's cluster count and stores the labels as version 2", async () => {
    clusters = await train({ dataset: "jewellery", task: "clustering", include: ["kmeans", "hclust"] });
    if (clusters.result?.kind !== "train") throw new Error("no train result");
    const { details, leaderboard, sort_metric } = clusters.result;
    expect(sort_metric).toBe("Silhouette");
    expect(leaderboard.map((r) => r.model_id).sort()).toEqual(["hclust", "kmeans"]);
    expect(leaderboard[0]!.metrics.Silhouette!).toBeGreaterThanOrEqual(leaderboard[1]!.metrics.Silhouette!);
    if (details?.task !== "clustering") throw new Error("no clustering details");
    expect(details.clusters_from).toBe("elbow");
    expect(details.num_clusters).toBe(details.suggested_clusters);
    expect(Object.values(details.cluster_sizes).reduce((a, b) => a + b, 0)).toBe(505);

    expect(clusters.outputDatasets).toEqual([{ role: "labels", name: "jewellery", version: 2 }]);
    const detail = (await api.get<DatasetDetail>("/api/datasets/jewellery")).body;
    const v2 = detail.versions.find((v) => v.version === 2)!;
    expect(v2).toMatchObject({ rowCount: 505, columnCount: 5 });
    expect(v2.source).toMatchObject({
      kind: "derived",
      role: "labels",
      parent: { dataset: "jewellery", version: 1 },
      jobId: clusters.id,
      runId: clusters.result.best_run_id,
    });
    const labels = await preview("jewellery", 2);
    expect(labels.columns).toEqual(["Age", "Income", "SpendingScore", "Savings", "Cluster"]);
    const sizes: Record<string, number> = {};
    for (const row of labels.rows) sizes[String(row.Cluster)] = (sizes[String(row.Cluster)] ?? 0) + 1;
    expect(sizes).toEqual(details.cluster_sizes);
  }, 900_000);

  it("scores the clustering model in batch and online with the same clusters training assigned", async () => {
    const { batch, online } = await registerAndScore(clusters, "jewellery-clusters", "jewellery", ["Cluster"]);
    const labels = (await preview("jewellery", 2)).rows.map((r) => r.Cluster);
    expect(batch.rows.map((r) => r.Cluster)).toEqual(labels);
    expect(online.map((p) => p.Cluster)).toEqual(labels.slice(0, online.length));
  }, 600_000);

  it("flags the requested share of anomalies with a score for every row", async () => {
    anomalies = await train({ dataset: "anomaly", task: "anomaly", operation: "create", model: "iforest", fraction: 0.1 });
    if (anomalies.result?.kind !== "train") throw new Error("no train result");
    const details = anomalies.result.details;
    if (details?.task !== "anomaly") throw new Error("no anomaly details");
    expect(details).toMatchObject({ rows: 1000, fraction: 0.1, scoring: "model" });
    expect(details.anomalies).toBeGreaterThanOrEqual(90);
    expect(details.anomalies).toBeLessThanOrEqual(110);
    expect(anomalies.outputDatasets).toEqual([{ role: "labels", name: "anomaly", version: 2 }]);
    const labels = await preview("anomaly", 2);
    expect(labels.columns.slice(-2)).toEqual(["Anomaly", "Anomaly_Score"]);
    expect(labels.rows.filter((r) => r.Anomaly === 1)).toHaveLength(details.anomalies);
    expect(labels.rows.every((r) => typeof r.Anomaly_Score === "number")).toBe(true);
  }, 900_000);

  it("scores the detector in batch and online alike", async () => {
    const { batch, online } = await registerAndScore(anomalies, "anomaly-detector", "anomaly", ["Anomaly", "Anomaly_Score"]);
    expect(batch.rows).toHaveLength(1000);
    expect(online.map((p) => p.Anomaly)).toEqual(batch.rows.slice(0, online.length).map((r) => r.Anomaly));
    online.forEach((p, i) => {
      expect(p.Anomaly_Score as number).toBeCloseTo(batch.rows[i]!.Anomaly_Score as number, 9);
    });
    // An isolation forest scores the training rows as it did in training.
    const labels = (await preview("anomaly", 2)).rows.map((r) => r.Anomaly);
    expect(batch.rows.map((r) => r.Anomaly)).toEqual(labels);
  }, 600_000);
});
