import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Health, Job, PreviewPage, RunDetail } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { client } from "./http.client.ts";

/**
 * Operations on a training job's runs through the API, against the whole product on a temp home
 * (real MLflow, real engine workers): tune, blend and calibrate make runs under the training's
 * parent run, linked to their source; an operation run's model registers and predicts like a
 * final run's.
 */
let home: string;
let cf: StartedCaretflow;
let api: ReturnType<typeof client>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitJob(id: string, timeoutMs = 600_000): Promise<Job> {
  const t0 = Date.now();
  for (;;) {
    const j = (await api.get<Job>(`/api/jobs/${id}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(j.status)) return j;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for job ${id}`);
    await sleep(500);
  }
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-ops-"));
  cf = await startCaretflow({ home, port: 0, demo: true, log: () => {} });
  const res = await fetch(`${cf.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: cf.adminPassword }),
  });
  api = client(cf.url, { cookie: res.headers.get("set-cookie")!.split(";")[0]! });
  for (let i = 0; !(await api.get<Health>("/api/health")).body.engine.ready; i++) {
    if (i > 360) throw new Error("the engine did not get ready");
    await sleep(500);
  }
}, 300_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
}, 120_000);

describe("operations on a run", () => {
  let parentRunId = "";
  let bestRunId = "";
  let children: Record<string, string> = {};
  const operations: Record<string, { job: Job; source: string }> = {};

  it("trains juice, then tunes, blends and calibrates its runs, each job a new run under the parent", async () => {
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      include: ["lr", "dt"],
      folds: 3,
    });
    expect(started.status).toBe(202);
    const trained = await waitJob(started.body.id);
    expect(trained.status).toBe("succeeded");
    if (trained.result?.kind !== "train") throw new Error("no train result");
    parentRunId = trained.result.parent_run_id;
    bestRunId = trained.result.best_run_id;
    children = Object.fromEntries(trained.result.leaderboard.map((r) => [r.model_id, r.mlflow_run_id ?? ""]));

    const requests: Array<[string, string, unknown]> = [
      ["tune", children.lr!, { op: "tune", n_iter: 3 }],
      ["blend", children.lr!, { op: "blend", with: [{ run_id: children.dt }], method: "soft" }],
      // A parent run stands for its best model.
      ["calibrate", parentRunId, { op: "calibrate" }],
    ];
    for (const [op, runId, operation] of requests) {
      const r = await api.post<Job>(`/api/runs/${runId}/operations`, { operation });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(r.body.kind).toBe("operate");
      operations[op] = { job: r.body, source: runId === parentRunId ? bestRunId : runId };
    }
    for (const [op, entry] of Object.entries(operations)) {
      entry.job = await waitJob(entry.job.id);
      expect(entry.job.status, `${op}: ${JSON.stringify(entry.job.error)}`).toBe("succeeded");
      expect(entry.job.request).toMatchObject({ run: entry.source });
      const result = entry.job.result;
      if (result?.kind !== "operate") throw new Error(`${op}: no operate result`);
      expect(result).toMatchObject({ op, source_run_id: entry.source, parent_run_id: parentRunId });
      expect(entry.job.leaderboard[0]?.mlflow_run_id).toBe(result.best_run_id);
    }
    const tune = operations.tune!.job.result;
    if (tune?.kind !== "operate") throw new Error("no tune result");
    expect(tune.summary?.facts).toMatchObject({ candidates_tried: 3, optimize: "Accuracy" });
  }, 1_200_000);

  it("lists the operation runs as children of the parent, linked to their source runs", async () => {
    const parent = (await api.get<RunDetail>(`/api/runs/${parentRunId}`)).body;
    for (const [op, { job, source }] of Object.entries(operations)) {
      if (job.result?.kind !== "operate") throw new Error("no operate result");
      const runId = job.result.best_run_id;
      expect(parent.children.map((c) => c.runId)).toContain(runId);
      const run = (await api.get<RunDetail>(`/api/runs/${runId}`)).body;
      expect(run.status).toBe("FINISHED");
      expect(run.parentRunId).toBe(parentRunId);
      expect(run.tags).toMatchObject({
        "caretflow.role": "operation",
        "caretflow.operation": op,
        "caretflow.source_run_id": source,
        "caretflow.job_id": job.id,
      });
      // plots, charts and the report arrive with the evaluate job that follows each operation job
      expect(run.artifacts.map((a) => a.path)).toEqual(expect.arrayContaining(["model", "operation"]));
    }
  });

  it("registers a tuned model and predicts with it in batch and online, with the same answers", async () => {
    const tune = operations.tune!.job.result;
    if (tune?.kind !== "operate") throw new Error("no tune result");
    const reg = await api.post<{ version: number }>("/api/models", { runId: tune.best_run_id, name: "juice-tuned", alias: "champion" });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);

    const started = await api.post<Job>("/api/jobs/predict", { model: "juice-tuned@champion", dataset: "juice" });
    expect(started.status).toBe(202);
    const job = await waitJob(started.body.id);
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    const out = (
      await api.get<PreviewPage>(`/api/datasets/${job.outputDataset?.name}/versions/${job.outputDataset?.version}/preview?limit=30`)
    ).body;
    const labelAt = out.columns.findIndex((c) => c.name === "prediction_label");
    expect(labelAt).toBeGreaterThanOrEqual(0);

    const input = (await api.get<PreviewPage>("/api/datasets/juice/versions/1/preview?limit=30")).body;
    const rows = input.rows.map((r) => Object.fromEntries(input.columns.map((c, i) => [c.name, r[i]])));
    const online = await api.post<{ columns: string[]; predictions: Array<{ prediction_label: unknown }> }>("/api/predict", {
      model: "juice-tuned@champion",
      rows,
    });
    expect(online.status, JSON.stringify(online.body)).toBe(200);
    expect(online.body.columns).toEqual(job.result?.kind === "predict" ? job.result.prediction_columns : null);
    expect(online.body.predictions.map((p) => p.prediction_label)).toEqual(out.rows.map((r) => r[labelAt]));
  }, 600_000);

  it("refuses an unknown run or an invalid operation before queueing a job", async () => {
    const before = (await api.get<{ jobs: Job[] }>("/api/jobs")).body.jobs.length;
    const missing = await api.post<{ error: { code: string } }>(`/api/runs/${"0".repeat(32)}/operations`, {
      operation: { op: "finalize" },
    });
    expect(missing.status).toBe(404);
    const invalid = await api.post<{ error: { code: string; message: string } }>(`/api/runs/${children.lr}/operations`, {
      operation: { op: "tune", n_iter: 0 },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: "invalid_request", message: expect.stringContaining("operation.n_iter") });
    expect((await api.get<{ jobs: Job[] }>("/api/jobs")).body.jobs.length).toBe(before);
  });
});
