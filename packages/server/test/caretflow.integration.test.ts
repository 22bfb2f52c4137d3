import { copyFile, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  Health,
  Job,
  JobEvent,
  PipelineRun,
  PreviewPage,
  RegisteredModel,
  RunDetail,
  RunSummary,
  SetupPreview,
} from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqlite } from "../src/db/database.ts";
import type { ServerTables } from "../src/db/server.tables.ts";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { client, readJobEvents } from "./http.client.ts";

/**
 * The whole product on a temp home: real MLflow, real engine (PyCaret), real
 * DuckDB and SQLite. One instance for the file, restarted once at the end.
 */
let home: string;
let cf: StartedCaretflow;
let firstPassword: string | null;
let cookie: string;
let api: ReturnType<typeof client>;
const lines: string[] = [];
const repo = join(import.meta.dirname, "..", "..", "..");

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

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-it-"));
  cf = await startCaretflow({ home, port: 0, demo: true, log: (l) => lines.push(l) });
  firstPassword = cf.adminPassword;
  const res = await fetch(`${cf.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: firstPassword }),
  });
  cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  api = client(cf.url, { cookie });
  await until("engine ready", async () => (await api.get<Health>("/api/health")).body.engine.ready, 180_000);
}, 300_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
}, 120_000);

let trainJob: Job;
let trainEvents: JobEvent[] = [];

describe("caretflow end to end", () => {
  it("starts with a generated password, a private home and a CLI token", async () => {
    expect(firstPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // The password goes back to the caller only; it never reaches the log.
    expect(lines.join("\n")).not.toContain(firstPassword);
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect((await stat(join(home, "cli.json"))).mode & 0o777).toBe(0o600);
    const cli = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { url: string; token: string };
    expect(cli.url).toBe(cf.url);
    const me = await client(cf.url, { token: cli.token }).get<{ user: { username: string } }>("/api/auth/me");
    expect(me.body.user.username).toBe("admin");
    const h = (await api.get<Health>("/api/health")).body;
    expect(h).toMatchObject({ status: "ok", server: { ready: true }, mlflow: { ready: true }, engine: { ready: true } });
  });

  it("has one demo dataset per task", async () => {
    const { body } = await api.get<{ datasets: Array<{ name: string; rowCount: number }> }>("/api/datasets");
    // Row counts of demo-data/*.csv (spam is Windows-1252, imported with its encoding named).
    expect(body.datasets.map((d) => [d.name, d.rowCount]).sort()).toEqual([
      ["anomaly", 1000],
      ["france", 8557],
      ["insurance", 1338],
      ["iris", 150],
      ["jewellery", 505],
      ["juice", 1070],
      ["pycaret_downloads", 90],
      ["spam", 5572],
    ]);
  });

  it("previews what setup options do to the data: sample rows before and after preprocessing", async () => {
    const r = await api.post<SetupPreview>("/api/datasets/juice/versions/1/setup-preview", {
      task: "classification",
      target: "Purchase",
      ignore_columns: ["Id"],
      setup: { normalize: true, pca: true, pca_components: 3 },
      rows: 4,
    });
    expect(r.status).toBe(200);
    expect(r.body.before.rows).toHaveLength(4);
    expect(r.body.before.columns).not.toContain("Id");
    expect(r.body.before.columns).not.toContain("Purchase");
    expect(r.body.after.columns).toEqual(["pca0", "pca1", "pca2"]);
    expect(r.body.removed).toContain("LoyalCH");
    expect(r.body.steps).toEqual(expect.arrayContaining(["normalize", "pca"]));
    const bad = await api.post<{ error: { code: string; hint: string } }>("/api/datasets/juice/versions/1/setup-preview", {
      task: "classification",
      target: "Purchase",
      setup: { normalise: true },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("unknown_setup_option");
    expect(bad.body.error.hint).toContain("normalize");
  }, 300_000);

  it("refuses an impossible training request before queueing it", async () => {
    const before = (await api.get<{ jobs: Job[] }>("/api/jobs")).body.jobs.length;
    const r = await api.post<{ error: { code: string } }>("/api/jobs/train", { dataset: "juice", task: "classification", target: "Nope" });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("column_not_found");
    expect((await api.get<{ jobs: Job[] }>("/api/jobs")).body.jobs.length).toBe(before);
  });

  it("trains on juice, streaming events that resume after a reconnect without gaps or duplicates", async () => {
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      include: ["lr", "dt", "ridge"],
      folds: 3,
    });
    expect(started.status).toBe(202);
    expect(started.body.status).toBe("queued");
    const id = started.body.id;
    // Drop the connection after a few events, then resume from the last one seen.
    const first = await readJobEvents(cf.url, id, api.headers(), { stopAfter: 4 });
    const rest = await readJobEvents(cf.url, id, api.headers(), { lastEventId: first.at(-1)!.seq });
    trainEvents = [...first, ...rest];
    expect(trainEvents.map((e) => e.seq)).toEqual(trainEvents.map((_, i) => i + 1));
    expect(trainEvents[0]).toMatchObject({ type: "status", status: "queued" });
    expect(trainEvents.at(-1)).toMatchObject({ type: "status", status: "succeeded" });
    const engineEvents = trainEvents.flatMap((e) => (e.type === "engine" ? [e.event] : []));
    expect(engineEvents.filter((e) => e.type === "finished")).toHaveLength(1);
    expect(engineEvents.filter((e) => e.type === "leaderboard_row").length).toBeGreaterThanOrEqual(3);

    trainJob = await waitJob(id);
    expect(trainJob.status).toBe("succeeded");
    expect(trainJob.result?.kind).toBe("train");
    expect(trainJob.leaderboard.map((r) => r.model_id).sort()).toEqual(["dt", "lr", "ridge"]);
    const best = trainJob.leaderboard[0]!;
    expect(best.metrics.Accuracy).toBeGreaterThanOrEqual(0.78);
    // A full replay equals what the two connections saw together.
    const replay = await readJobEvents(cf.url, id, api.headers());
    expect(replay).toEqual(trainEvents);
    const log = await api.raw(`/api/jobs/${id}/log`);
    expect(log.status).toBe(200);
  }, 900_000);

  it("evaluates the trained model in a job of its own, then serves its plots, charts and report, refusing traversal", async () => {
    if (trainJob.result?.kind !== "train") throw new Error("no train result");
    const { parent_run_id, best_run_id } = trainJob.result;
    const evaluation = await until("the evaluate job queued after training", async () =>
      (await api.get<{ jobs: Job[] }>("/api/jobs")).body.jobs.find(
        (j) => j.kind === "evaluate" && "after" in j.request && j.request.after === trainJob.id,
      ),
    );
    const evaluated = await waitJob(evaluation.id);
    expect(evaluated.status).toBe("succeeded");
    expect(evaluated.result?.kind === "evaluate" && evaluated.result.charts).toEqual(
      expect.arrayContaining(["confusion_matrix", "permutation_importance", "shap_summary"]),
    );
    const runs = (await api.get<{ runs: RunSummary[] }>("/api/runs")).body.runs;
    expect(runs.map((r) => r.runId)).toContain(parent_run_id);
    const parent = (await api.get<RunDetail>(`/api/runs/${parent_run_id}`)).body;
    expect(parent.children.length).toBeGreaterThanOrEqual(3);
    const best = (await api.get<RunDetail>(`/api/runs/${best_run_id}`)).body;
    const plot = best.artifacts.find((a) => !a.isDir && a.path.endsWith(".png"));
    expect(plot).toBeDefined();
    const png = await api.raw(`/api/runs/${best_run_id}/artifacts/${plot!.path}`);
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
    const chart = await api.get<{ type: string; id: string }>(`/api/runs/${best_run_id}/artifacts/charts/confusion_matrix.json`);
    expect(chart.body).toMatchObject({ type: "heatmap", id: "confusion_matrix" });
    const report = await api.raw(`/api/runs/${best_run_id}/artifacts/report/report.html`);
    expect(report.status).toBe(200);
    expect(report.headers.get("content-security-policy")).toContain("sandbox");
    expect(await report.text()).toContain("<h2>Leaderboard</h2>");
    const evil = await api.raw(`/api/runs/${best_run_id}/artifacts/..%2F..%2Fmlflow.db`);
    expect(evil.status).toBe(400);
  });

  it("a job whose process is killed says how and where it died and leaves no MLflow run running", async () => {
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      include: ["lr", "rf", "et", "gbc"],
      folds: 3,
    });
    const id = started.body.id;
    // Kill the job's process (pid from its started event) once the first model is done; the stream ends with the job.
    let pid = 0;
    let killed = false;
    const all = await readJobEvents(cf.url, id, api.headers(), {
      onEvent: (e) => {
        if (e.type !== "engine") return;
        if (e.event.type === "started") pid = e.event.pid;
        if (e.event.type === "leaderboard_row" && !killed && pid > 0) {
          killed = true;
          process.kill(pid, "SIGKILL");
        }
      },
    });
    expect(killed).toBe(true);
    const events = all.flatMap((e) => (e.type === "engine" ? [e.event] : []));
    const job = await waitJob(id);
    expect(job.status).toBe("failed");
    expect(job.error?.name).toBe("EngineCrashed");
    expect(job.error?.message).toMatch(/was killed by SIGKILL at stage compare/);
    expect(job.error?.hint).toContain("out-of-memory killer");
    const runIds = events.flatMap((e) => (e.type === "run" ? [e.run_id] : []));
    expect(runIds.length).toBeGreaterThan(0);
    for (const runId of runIds) {
      const run = (await api.get<RunDetail>(`/api/runs/${runId}`)).body;
      expect(run.status).not.toBe("RUNNING");
    }
  }, 600_000);

  let modelVersion = 0;
  it("registers the best model with an alias", async () => {
    if (trainJob.result?.kind !== "train") throw new Error("no train result");
    const reg = await api.post<{ name: string; version: number; aliases: string[] }>("/api/models", {
      runId: trainJob.result.best_run_id,
      name: "juice-model",
      alias: "champion",
    });
    expect(reg.status).toBe(201);
    modelVersion = reg.body.version;
    const model = (await api.get<RegisteredModel>("/api/models/juice-model")).body;
    expect(model.aliases.champion).toBe(modelVersion);
    const models = (await api.get<{ models: RegisteredModel[] }>("/api/models")).body.models;
    expect(models.map((m) => m.name)).toContain("juice-model");
  });

  it("gives the same answers in batch and online prediction", async () => {
    const started = await api.post<Job>("/api/jobs/predict", { model: "juice-model@champion", dataset: "juice" });
    expect(started.status).toBe(202);
    const job = await waitJob(started.body.id);
    expect(job.status).toBe("succeeded");
    expect(job.outputDataset).toEqual({ name: "juice-predictions", version: 1 });
    expect(job.outputDatasets).toEqual([{ role: "predictions", name: "juice-predictions", version: 1 }]);
    const out = (await api.get<PreviewPage>("/api/datasets/juice-predictions/versions/1/preview?limit=20")).body;
    const labelAt = out.columns.findIndex((c) => c.name === "prediction_label");
    expect(labelAt).toBeGreaterThanOrEqual(0);
    const input = (await api.get<PreviewPage>("/api/datasets/juice/versions/1/preview?limit=20")).body;
    const rows = input.rows.map((r) => Object.fromEntries(input.columns.map((c, i) => [c.name, r[i]])));
    const online = await api.post<{
      model: { name: string; version: number; task: string | null };
      columns: string[];
      predictions: Array<{ prediction_label: unknown }>;
      elapsedMs: number;
    }>("/api/predict", { model: "juice-model@champion", rows });
    expect(online.status).toBe(200);
    expect(online.body.model).toEqual({ name: "juice-model", version: modelVersion, task: "classification" });
    // Online and batch scoring answer with the same columns (the best model decides: ridge has no probabilities).
    expect(online.body.columns).toEqual(job.result?.kind === "predict" ? job.result.prediction_columns : null);
    expect(online.body.columns[0]).toBe("prediction_label");
    expect(online.body.predictions.map((p) => p.prediction_label)).toEqual(out.rows.map((r) => r[labelAt]));
    const csv = await api.raw("/api/datasets/juice-predictions/versions/1/download");
    expect((await csv.text()).split("\n")[0]).toContain("prediction_label");
  }, 600_000);

  it("runs the retrain pipeline on the demo data: import, check, train, compare with the champion, register, promote, score", async () => {
    const yaml = await readFile(join(repo, "examples", "pipelines", "retrain-juice.yaml"), "utf8");
    await copyFile(join(repo, "demo-data", "juice.csv"), join(home, "files", "juice.csv"));
    expect((await api.put<unknown>("/api/pipelines", { yaml, files: {} })).status).toBe(200);
    const runPipeline = async () => {
      const started = await api.post<PipelineRun>("/api/pipelines/retrain-juice/runs", {});
      expect(started.status).toBe(202);
      return await until(
        "the pipeline run",
        async () => {
          const r = (await api.get<PipelineRun>(`/api/pipeline-runs/${started.body.id}`)).body;
          return ["succeeded", "failed", "cancelled"].includes(r.status) ? r : null;
        },
        600_000,
      );
    };
    const statuses = (r: PipelineRun) => Object.fromEntries(r.steps.map((s) => [s.id, s.status]));
    const step = (r: PipelineRun, id: string) => r.steps.find((s) => s.id === id)!;

    const first = await runPipeline();
    expect(first.status, JSON.stringify(first.error)).toBe("succeeded");
    expect(Object.values(statuses(first)).every((st) => st === "succeeded")).toBe(true);
    expect(step(first, "import").outputs).toEqual({ dataset: "juice-nightly", version: 1 });
    expect(step(first, "evaluate").outputs).toMatchObject({ better: true, champion_metric: null });
    expect(step(first, "register").outputs).toEqual({ model: "juice-pipeline", version: 1 });
    const model = (await api.get<RegisteredModel>("/api/models/juice-pipeline")).body;
    expect(model.aliases.champion).toBe(1);
    expect(step(first, "score").outputs).toEqual({ dataset: "juice-nightly-predictions", version: 1 });
    const trainJob = (await api.get<Job>(`/api/jobs/${step(first, "train").jobId}`)).body;
    expect(trainJob.status).toBe("succeeded");
    expect(step(first, "train").outputs.best_run_id).toBe(trainJob.result?.kind === "train" ? trainJob.result.best_run_id : null);

    // The same file again: the training is reused, and the champion, being that very model, is not beaten.
    const second = await runPipeline();
    expect(second.status, JSON.stringify(second.error)).toBe("succeeded");
    expect(step(second, "train")).toMatchObject({ status: "succeeded", reusedFrom: first.id });
    expect(step(second, "evaluate").outputs).toMatchObject({ better: false });
    expect(statuses(second)).toMatchObject({ register: "skipped", promote: "skipped", score: "skipped" });
    expect((await api.get<RegisteredModel>("/api/models/juice-pipeline")).body.aliases.champion).toBe(1);
  }, 900_000);

  it("trains a multiclass model on iris: per-class hold-out metrics, and a probability per class in batch and online", async () => {
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "iris",
      task: "classification",
      target: "species",
      include: ["lr", "lda", "nb", "dt", "knn"],
      folds: 5,
      sort: "F1",
    });
    expect(started.status).toBe(202);
    const job = await waitJob(started.body.id);
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    if (job.result?.kind !== "train") throw new Error("no train result");
    expect(job.leaderboard.map((r) => r.model_id).sort()).toEqual(["dt", "knn", "lda", "lr", "nb"]);
    expect(job.leaderboard[0]!.metrics.F1).toBeGreaterThanOrEqual(0.9);
    const f1s = job.leaderboard.map((r) => r.metrics.F1 ?? 0);
    expect(f1s).toEqual([...f1s].sort((a, b) => b - a));
    const details = job.result.details;
    if (details?.task !== "classification") throw new Error(`classification details expected, got ${JSON.stringify(details)}`);
    const classes = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"];
    expect([...details.classes].sort()).toEqual(classes);
    expect(details.per_class.map((c) => c.class).sort()).toEqual(classes);
    // PyCaret's hold-out split is 30% of 150 rows, stratified: 15 of each species.
    expect(details.per_class.reduce((n, c) => n + c.support, 0)).toBe(45);
    for (const c of details.per_class) for (const v of [c.precision, c.recall, c.f1]) expect(v).toBeGreaterThanOrEqual(0.7);

    const reg = await api.post<{ version: number }>("/api/models", { runId: job.result.best_run_id, name: "iris-model" });
    expect(reg.status).toBe(201);
    const ref = `iris-model/${reg.body.version}`;
    const predicting = await api.post<Job>("/api/jobs/predict", { model: ref, dataset: "iris" });
    expect(predicting.status, JSON.stringify(predicting.body)).toBe(202);
    const batchJob = await waitJob(predicting.body.id);
    expect(batchJob.status, JSON.stringify(batchJob.error)).toBe("succeeded");
    const out = (await api.get<PreviewPage>(`/api/datasets/${batchJob.outputDataset!.name}/versions/1/preview?limit=150`)).body;
    const scoreColumns = details.classes.map((c) => `prediction_score_${c}`);
    expect(out.columns.map((c) => c.name)).toEqual(expect.arrayContaining(["prediction_label", "prediction_score", ...scoreColumns]));
    const at = (name: string) => out.columns.findIndex((c) => c.name === name);
    const batch = out.rows.map((r) => ({ label: r[at("prediction_label")], probs: scoreColumns.map((c) => Number(r[at(c)])) }));
    expect(batch).toHaveLength(150);
    for (const b of batch) {
      expect(b.probs.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 3);
      expect(b.label).toBe(details.classes[b.probs.indexOf(Math.max(...b.probs))]);
    }
    expect(new Set(batch.map((b) => b.label)).size).toBe(3);
    const correct = batch.filter((b, i) => b.label === out.rows[i]![at("species")]).length;
    expect(correct / 150).toBeGreaterThanOrEqual(0.9);

    const input = (await api.get<PreviewPage>("/api/datasets/iris/versions/1/preview?limit=150")).body;
    const rows = input.rows.map((r) =>
      Object.fromEntries(input.columns.filter((c) => c.name !== "species").map((c) => [c.name, r[input.columns.indexOf(c)]])),
    );
    const online = await api.post<{ columns: string[]; predictions: Array<Record<string, unknown>> }>("/api/predict", { model: ref, rows });
    expect(online.status).toBe(200);
    expect(online.body.columns).toEqual(batchJob.result?.kind === "predict" ? batchJob.result.prediction_columns : null);
    for (const [i, p] of online.body.predictions.entries()) {
      expect(p.prediction_label).toBe(batch[i]!.label);
      for (const [k, c] of scoreColumns.entries()) expect(Number(p[c])).toBeCloseTo(batch[i]!.probs[k]!, 6);
    }
  }, 900_000);

  it("cancels a running job within seconds and its MLflow run ends KILLED", async () => {
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "insurance",
      task: "regression",
      target: "charges",
      include: ["rf", "et", "gbr", "ada", "knn", "dt"],
    });
    const id = started.body.id;
    let parentRunId: string | null = null;
    const events = readJobEvents(cf.url, id, api.headers(), {
      onEvent: (e) => {
        if (e.type === "engine" && e.event.type === "run" && e.event.role === "parent") parentRunId = e.event.run_id;
      },
    });
    await until("the parent run", async () => parentRunId, 300_000);
    const cancelAt = Date.now();
    const cancelled = await api.post<Job>(`/api/jobs/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    const all = await events;
    expect(Date.now() - cancelAt).toBeLessThan(30_000);
    expect(all.at(-1)).toMatchObject({ type: "status", status: "cancelled" });
    expect((await api.get<Job>(`/api/jobs/${id}`)).body.status).toBe("cancelled");
    const run = (await api.get<RunDetail>(`/api/runs/${parentRunId}`)).body;
    expect(run.status).toBe("KILLED");
    // A finished job cannot be cancelled again.
    expect((await api.post(`/api/jobs/${id}/cancel`)).status).toBe(409);
  }, 600_000);

  it("proxies MLflow's own UI behind the same sign-in", async () => {
    expect((await fetch(`${cf.url}/mlflow/`)).status).toBe(401);
    const ui = await api.raw("/mlflow/");
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/<html/i);
    const search = await api.raw("/mlflow/ajax-api/2.0/mlflow/experiments/search", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ max_results: 10 }),
    });
    expect(search.status).toBe(200);
    expect(((await search.json()) as { experiments: unknown[] }).experiments.length).toBeGreaterThan(0);
  });

  it("restarts keeping datasets, runs, models and the CLI token; unfinished jobs become ServerRestarted", async () => {
    const cliBefore = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { token: string };
    // An MLflow run the dead job had opened, still RUNNING (created through the /mlflow proxy).
    const created = await api.raw("/mlflow/api/2.0/mlflow/runs/create", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ experiment_id: "0", run_name: "left running" }),
    });
    expect(created.status).toBe(200);
    const orphanRunId = ((await created.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
    await cf.close();
    // Leave a job behind as a crashed process would.
    const db = openSqlite<ServerTables>(join(home, "caretflow.db"));
    await (db as Kysely<ServerTables>)
      .insertInto("jobs")
      .values({
        id: "job_left_running",
        project: "default",
        kind: "train",
        status: "running",
        request_json: JSON.stringify({ dataset: "juice", task: "classification", target: "Purchase" }),
        stage: "compare",
        progress_json: null,
        leaderboard_json: "[]",
        result_json: null,
        error_json: null,
        output_dataset_json: null,
        log_path: join(home, "jobs", "job_left_running.log"),
        last_seq: 1,
        created_at: new Date().toISOString(),
        started_at: new Date().toISOString(),
        finished_at: null,
      })
      .execute();
    const ts = new Date().toISOString();
    await db
      .insertInto("job_events")
      .values({
        job_id: "job_left_running",
        seq: 1,
        ts,
        type: "engine",
        body_json: JSON.stringify({
          type: "engine",
          event: { v: 1, seq: 0, ts, job_id: "job_left_running", type: "run", role: "parent", run_id: orphanRunId, name: "parent" },
        }),
      })
      .execute();
    await db.destroy();

    // The fast restart: serve at once, MLflow comes up in the background.
    cf = await startCaretflow({ home, port: 0, demo: true, log: (l) => lines.push(l), waitForMlflow: false });
    expect(cf.adminPassword).toBeNull();
    const cliAfter = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { url: string; token: string };
    expect(cliAfter.token).toBe(cliBefore.token);
    const again = client(cf.url, { token: cliAfter.token });
    const datasets = (await again.get<{ datasets: Array<{ name: string }> }>("/api/datasets")).body.datasets.map((d) => d.name);
    expect(datasets.sort()).toEqual([
      "anomaly",
      "france",
      "insurance",
      "iris",
      "iris-predictions",
      "jewellery",
      "juice",
      "juice-nightly",
      "juice-nightly-predictions",
      "juice-predictions",
      "pycaret_downloads",
      "spam",
    ]);
    await until("MLflow after restart", async () => (await again.get<Health>("/api/health")).body.mlflow.ready, 180_000);
    const runs = (await again.get<{ runs: RunSummary[] }>("/api/runs")).body.runs;
    expect(runs.map((r) => r.runId)).toContain(trainJob.result?.kind === "train" ? trainJob.result.parent_run_id : "");
    expect((await again.get<RegisteredModel>("/api/models/juice-model")).body.aliases.champion).toBeGreaterThan(0);
    const left = (await again.get<Job>("/api/jobs/job_left_running")).body;
    expect(left.status).toBe("failed");
    expect(left.error).toMatchObject({ name: "ServerRestarted" });
    expect(left.error?.hint).toBeTruthy();
    await until(
      "the orphan run to end",
      async () => (await again.get<RunDetail>(`/api/runs/${orphanRunId}`)).body.status === "KILLED",
      30_000,
    );
    const leftEvents = await readJobEvents(cf.url, "job_left_running", again.headers());
    expect(leftEvents.map((e) => e.seq)).toEqual([1, 2]);
    expect(leftEvents[1]).toMatchObject({ type: "status", status: "failed" });
    // The password is never logged, on the first start or later ones.
    expect(lines.filter((l) => l.includes(firstPassword!))).toHaveLength(0);
  }, 300_000);
});
