import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { DatasetDetail, Health, ImportResult, Job, PreviewPage, RunDetail } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { client } from "./http.client.ts";

/**
 * Time-series forecasting through the API on the whole product (real DuckDB import, MLflow,
 * engine workers and scoring processes): pycaret_downloads.csv starts with a byte-order mark and
 * writes dates as 7/8/2021. One caretflow for the file.
 */
const HORIZON = 14;
const MODELS = ["naive", "snaive", "arima", "theta"];
let home: string;
let cf: StartedCaretflow;
let api: ReturnType<typeof client>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}
async function waitJob(id: string, timeoutMs = 600_000): Promise<Job> {
  return await until(
    `job ${id}`,
    async () => {
      const j = (await api.get<Job>(`/api/jobs/${id}`)).body;
      return ["succeeded", "failed", "cancelled"].includes(j.status) ? j : null;
    },
    timeoutMs,
  );
}
const rowsOf = (page: PreviewPage) => page.rows.map((r) => Object.fromEntries(page.columns.map((c, i) => [c.name, r[i]])));

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-fcst-"));
  cf = await startCaretflow({ home, port: 0, demo: false, log: () => {} });
  const res = await fetch(`${cf.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: cf.adminPassword }),
  });
  api = client(cf.url, { cookie: res.headers.get("set-cookie")!.split(";")[0]! });
  await until("engine ready", async () => (await api.get<Health>("/api/health")).body.engine.ready, 180_000);
}, 300_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
}, 120_000);

let trainJob: Job;

describe("forecasting through the API", () => {
  it("imports pycaret_downloads.csv: the byte-order mark is not part of the header", async () => {
    const csv = await readFile(resolve(import.meta.dirname, "../../../demo-data/pycaret_downloads.csv"));
    expect(csv.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const form = new FormData();
    form.append("file", new Blob([csv]), "pycaret_downloads.csv");
    const res = await api.raw("/api/datasets", { method: "POST", body: form });
    expect(res.status).toBe(201);
    const imported = (await res.json()) as ImportResult;
    expect(imported.version).toMatchObject({ dataset: "pycaret_downloads", version: 1, rowCount: 90 });
    const detail = (await api.get<DatasetDetail>("/api/datasets/pycaret_downloads")).body;
    const columns = detail.versions[0]!.columns;
    expect(columns.map((c) => c.name)).toEqual(["Date", "Total"]);
    // DuckDB may read 7/8/2021 as a date or leave it as text: the engine takes either.
    expect(["date", "string"]).toContain(columns[0]!.kind);
    expect(columns[1]!.kind).toBe("integer");
  });

  it("refuses a forecast the series is too short for, before queueing it", async () => {
    const r = await api.post<{ error: { code: string; message: string } }>("/api/jobs/train", {
      dataset: "pycaret_downloads",
      task: "time_series",
      date_column: "Date",
      target: "Total",
      horizon: 30,
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("series_too_short");
    const text = await api.post<{ error: { code: string } }>("/api/jobs/train", {
      dataset: "pycaret_downloads",
      task: "time_series",
      date_column: "Total",
      target: "Date",
    });
    expect(text.status).toBe(422);
    expect(text.body.error.code).toBe("column_kind_mismatch");
  });

  it("trains a forecaster: leaderboard by MASE, forecast details and the forecast as a dataset", async () => {
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "pycaret_downloads",
      task: "time_series",
      date_column: "Date",
      target: "Total",
      horizon: HORIZON,
      folds: 3,
      include: MODELS,
    });
    expect(started.status).toBe(202);
    trainJob = await waitJob(started.body.id);
    expect(trainJob.status, JSON.stringify(trainJob.error)).toBe("succeeded");
    const result = trainJob.result;
    if (result?.kind !== "train") throw new Error("no train result");
    expect(result.sort_metric).toBe("MASE");
    const mase = result.leaderboard.map((r) => r.metrics.MASE as number);
    expect(mase).toEqual([...mase].sort((a, b) => a - b));
    expect(result.leaderboard.map((r) => r.model_id).sort()).toEqual([...MODELS].sort());
    const details = result.details;
    if (details?.task !== "time_series") throw new Error("no time-series details");
    expect(details).toMatchObject({ frequency: "D", horizon: HORIZON, coverage: 0.9 });
    expect(details.forecast).toHaveLength(HORIZON);
    expect(details.forecast[0]!.period).toBe("2021-10-06");
    for (const p of details.forecast) {
      if (p.lower !== null && p.upper !== null) {
        expect(p.lower).toBeLessThanOrEqual(p.y_pred!);
        expect(p.y_pred!).toBeLessThanOrEqual(p.upper);
      }
    }
    expect(trainJob.outputDatasets).toEqual([{ role: "forecast", name: "pycaret_downloads-forecast", version: 1 }]);
    const stored = rowsOf((await api.get<PreviewPage>("/api/datasets/pycaret_downloads-forecast/versions/1/preview?limit=100")).body);
    expect(stored.map((r) => [r.period, r.y_pred])).toEqual(details.forecast.map((p) => [p.period, p.y_pred]));
    const best = (await api.get<RunDetail>(`/api/runs/${result.best_run_id}`)).body;
    const paths = best.artifacts.map((a) => a.path);
    expect(paths).toEqual(expect.arrayContaining(["model/model.pkl", "charts/forecast.json", "charts/acf.json", "plots/forecast.png"]));
  }, 900_000);

  it("registers the forecaster and forecasts the same numbers in batch and online", async () => {
    if (trainJob.result?.kind !== "train" || trainJob.result.details?.task !== "time_series") throw new Error("no forecast");
    const forecast = trainJob.result.details.forecast;
    const reg = await api.post<{ version: number }>("/api/models", {
      runId: trainJob.result.best_run_id,
      name: "downloads-forecaster",
      alias: "champion",
    });
    expect(reg.status).toBe(201);

    const started = await api.post<Job>("/api/jobs/predict", {
      model: "downloads-forecaster@champion",
      dataset: "pycaret_downloads",
      horizon: 20,
    });
    expect(started.status).toBe(202);
    const job = await waitJob(started.body.id);
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    expect(job.outputDatasets).toEqual([{ role: "predictions", name: "pycaret_downloads-predictions", version: 1 }]);
    const batch = rowsOf((await api.get<PreviewPage>("/api/datasets/pycaret_downloads-predictions/versions/1/preview?limit=100")).body);
    expect(batch).toHaveLength(20);
    expect(batch.slice(0, HORIZON).map((r) => [r.period, r.y_pred, r.lower, r.upper])).toEqual(
      forecast.map((p) => [p.period, p.y_pred, p.lower, p.upper]),
    );

    const online = await api.post<{ model: { task: string | null }; columns: string[]; predictions: Array<Record<string, unknown>> }>(
      "/api/predict",
      { model: "downloads-forecaster@champion", rows: [], horizon: 20 },
    );
    expect(online.status).toBe(200);
    expect(online.body.model.task).toBe("time_series");
    expect(online.body.columns).toEqual(["period", "y_pred", "lower", "upper"]);
    expect(online.body.predictions).toEqual(batch);
  }, 600_000);
});
