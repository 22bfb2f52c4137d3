import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Catalog, type EngineEvent, type JobSpec, type TrainResult } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineHost, ScoringPool } from "../src/index.ts";
import { startMlflow } from "./helpers/mlflow-server.ts";

/**
 * The host against the real engine (engine/caretflow_engine), real PyCaret
 * and a real MLflow server: a short train, a cancel, and batch vs online scoring.
 */
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
const engineDir = join(repo, "engine");
const python = join(engineDir, ".venv/bin/python");
const mlflowBin = join(engineDir, ".venv/bin/mlflow");
const exec = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), "caretflow-engine-it-"));

let mlflow: { url: string; stop: () => Promise<void> };
let host: EngineHost;
let scoring: ScoringPool;
// The engine finds datasets by name and version under its data root, as caretflow's store lays them out.
const dataRoot = join(tmp, "datasets");
const juice = join(dataRoot, "juice", "v1.parquet");
const sample = join(dataRoot, "juice-sample", "v1.parquet");
let rows: Record<string, unknown>[] = [];

/**
 * Runs a snippet in the engine's interpreter. It leaves with os._exit once its output is flushed: pyarrow's
 * thread pool can abort the interpreter's normal teardown ("terminate called without an active exception")
 * after the work is done, which is no part of what these tests check.
 */
async function py(code: string, ...args: string[]): Promise<string> {
  const script = `${code}\nimport os, sys\nsys.stdout.flush()\nos._exit(0)`;
  const { stdout } = await exec(python, ["-c", script, ...args], { timeout: 120_000, maxBuffer: 16 << 20 });
  return stdout;
}

function trainSpec(jobId: string, include: string[]): JobSpec {
  return {
    v: 1,
    kind: "train",
    job_id: jobId,
    tracking_uri: mlflow.url,
    experiment_name: "caretflow-juice",
    dataset: { name: "juice", version: 1, content_hash: "test-hash", rows: 1070 },
    task: "classification",
    target: "Purchase",
    ignore_columns: [],
    text_columns: [],
    train_size: 0.7,
    folds: 3,
    seed: 123,
    use_gpu: "off",
    operation: "compare",
    include,
    exclude: [],
    custom_metrics: [],
    custom_models: [],
    setup: {},
    n_jobs: 1,
    workers: 1,
    tags: {},
  };
}

function expectWellFormed(events: EngineEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  expect(events.filter((e) => e.type === "finished")).toHaveLength(1);
  expect(events.at(-1)?.type).toBe("finished");
}

async function runStatus(runId: string): Promise<string> {
  const r = await fetch(`${mlflow.url}/api/2.0/mlflow/runs/get?run_id=${runId}`);
  const body = (await r.json()) as { run: { info: { status: string } } };
  return body.run.info.status;
}

describe("EngineHost with the real engine", () => {
  beforeAll(async () => {
    mkdirSync(join(tmp, "mlflow"), { recursive: true });
    for (const d of ["juice", "juice-sample"]) mkdirSync(join(dataRoot, d), { recursive: true });
    [mlflow] = await Promise.all([
      startMlflow(mlflowBin, join(tmp, "mlflow")),
      py(
        "import sys, pandas as pd; d = pd.read_csv(sys.argv[1]); d.to_parquet(sys.argv[2]); d.head(25).drop(columns=['Purchase']).to_parquet(sys.argv[3])",
        join(repo, "demo-data/juice.csv"),
        juice,
        sample,
      ),
    ]);
    rows = JSON.parse(await py("import sys, pandas as pd; print(pd.read_parquet(sys.argv[1]).to_json(orient='records'))", sample));
    const env = { CARETFLOW_DATA_ROOT: dataRoot };
    host = await EngineHost.start({ python, engineDir, logDir: join(tmp, "logs"), workers: 1, cancelGraceMs: 15_000, env });
    scoring = new ScoringPool({ python, engineDir, trackingUri: mlflow.url, logDir: join(tmp, "logs"), env });
    await host.waitReady(300_000);
  }, 400_000);

  afterAll(async () => {
    await Promise.allSettled([host?.close(), scoring?.close()]);
    await mlflow?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  let trained: TrainResult;

  it("reports the engine's library versions once warm", () => {
    expect(host.status()).toMatchObject({ ready: true, versions: { pycaret: expect.stringMatching(/^3\./) } });
  });

  it("publishes a catalog that parses with the contract's schema, for every task family", async () => {
    const out = await host.run(
      { v: 1, kind: "catalog", job_id: "it-catalog" },
      { onEvent: () => {}, logPath: join(tmp, "jobs/it-catalog.log") },
    );
    expect(out.error).toBeUndefined();
    expect(out.result?.kind).toBe("catalog");
    const catalog = Catalog.parse(out.result?.kind === "catalog" ? out.result.catalog : null);
    const classification = catalog.tasks.find((t) => t.task === "classification");
    expect(classification?.models.map((m) => m.id)).toEqual(expect.arrayContaining(["lr", "dt", "rf", "lightgbm"]));
    expect(classification?.metrics.find((m) => m.name === "Accuracy")?.greaterIsBetter).toBe(true);
    expect(classification?.fields.find((f) => f.name === "target")).toMatchObject({ type: "column", required: true });
    // Setup defaults are PyCaret's own (read from setup()'s signature).
    expect(classification?.fields.find((f) => f.name === "normalize_method")).toMatchObject({ scope: "setup", default: "zscore" });
    expect(catalog.tasks.find((t) => t.task === "regression")?.defaultSort).toBe("R2");
    const forecasting = catalog.tasks.find((t) => t.task === "time_series");
    expect(forecasting).toMatchObject({ family: "forecasting", defaultSort: "MASE", operations: ["compare", "create"] });
    expect(forecasting?.models.map((m) => m.id)).toEqual(expect.arrayContaining(["naive", "snaive", "arima", "auto_arima", "ets"]));
    expect(forecasting?.models.filter((m) => m.turbo).map((m) => m.id)).not.toContain("ets");
  }, 300_000);

  it("trains lr and dt on juice: leaderboard rows stream in, the run is logged to MLflow", async () => {
    const events: EngineEvent[] = [];
    const t0 = Date.now();
    const out = await host.run(trainSpec("it-train", ["lr", "dt"]), {
      onEvent: (e) => events.push(e),
      logPath: join(tmp, "jobs/it-train.log"),
    });
    const firstEventMs = Date.parse(events[0]!.ts) - t0;
    expect(out.error).toBeUndefined();
    expect(out.status).toBe("succeeded");
    expectWellFormed(events);
    expect(events.filter((e) => e.type === "leaderboard_row")).toHaveLength(2);
    expect(out.result?.kind).toBe("train");
    trained = out.result as TrainResult;
    expect(trained.leaderboard.map((r) => r.model_id).sort()).toEqual(["dt", "lr"]);
    expect(trained.leaderboard[0]?.metrics.Accuracy).toBeGreaterThan(0.7);
    expect(await runStatus(trained.parent_run_id)).toBe("FINISHED");
    console.log(`warm worker: first event ${firstEventMs} ms after run(); train took ${Date.now() - t0} ms`);
  }, 600_000);

  it("cancels a train mid-comparison: cancelled within seconds, MLflow parent run KILLED", async () => {
    const events: EngineEvent[] = [];
    const ac = new AbortController();
    let abortedAt = 0;
    const out = await host.run(trainSpec("it-cancel", ["lr", "dt", "rf", "et", "ridge"]), {
      onEvent: (e) => {
        events.push(e);
        if (!abortedAt && e.type === "progress") {
          abortedAt = Date.now();
          ac.abort();
        }
      },
      logPath: join(tmp, "jobs/it-cancel.log"),
      signal: ac.signal,
    });
    const stopMs = Date.now() - abortedAt;
    expect(out.status).toBe("cancelled");
    expectWellFormed(events);
    const parent = events.find((e): e is Extract<EngineEvent, { type: "run" }> => e.type === "run" && e.role === "parent");
    expect(parent).toBeDefined();
    expect(await runStatus(parent!.run_id)).toBe("KILLED");
    expect(stopMs).toBeLessThan(15_000);
    console.log(`cancel took ${stopMs} ms`);
  }, 600_000);

  it("stops a job over its memory limit (its own, lower than the host's) and says so, naming the stage", async () => {
    const limited = await EngineHost.start({
      python,
      engineDir,
      logDir: join(tmp, "logs-limited"),
      workers: 1,
      // The host allows far more; the job's own limit (a pipeline step's resources.memory) is what stops it.
      jobMemoryMb: 8000,
      env: { CARETFLOW_DATA_ROOT: dataRoot },
    });
    try {
      await limited.waitReady(300_000);
      // degree-5 products of juice's features: tens of thousands of columns, far over 400 MB
      const spec = {
        ...trainSpec("it-oom", ["dt"]),
        setup: { polynomial_features: true, polynomial_degree: 5 },
        memory_mb: 400,
      } as JobSpec;
      const out = await limited.run(spec, { onEvent: () => {}, logPath: join(tmp, "jobs/it-oom.log") });
      expect(out.status).toBe("failed");
      expect(out.error?.name).toBe("OutOfMemory");
      expect(out.error?.message).toMatch(/^Out of memory at stage setup: the job used \d+ MB, over its limit of 400 MB/);
      expect(out.error?.hint).toContain("resources.memory");
      expect(limited.status().ready).toBe(true); // the worker lives on
    } finally {
      await limited.close();
    }
  }, 600_000);

  it("scores the same rows identically in a batch predict job and in a warm scoring process", async () => {
    const events: EngineEvent[] = [];
    const batch = await host.run(
      {
        v: 1,
        kind: "predict",
        job_id: "it-predict",
        tracking_uri: mlflow.url,
        model_uri: trained.model_uri,
        model_sha256: trained.model_sha256,
        input: { name: "juice-sample", version: 1, content_hash: "h", rows: 25 },
      },
      { onEvent: (e) => events.push(e), logPath: join(tmp, "jobs/it-predict.log") },
    );
    expect(batch.error).toBeUndefined();
    expect(batch.status).toBe("succeeded");
    expectWellFormed(events);
    expect(batch.result?.kind === "predict" && batch.result.output.file).toBe("predictions.parquet");
    const output = join(dataRoot, ".outbox", "it-predict", "predictions.parquet");
    const batchPreds = JSON.parse(
      await py(
        "import sys, pandas as pd; print(pd.read_parquet(sys.argv[1])[['prediction_label','prediction_score']].to_json(orient='records'))",
        output,
      ),
    ) as Array<{ prediction_label: unknown; prediction_score: number }>;

    const model = { uri: trained.model_uri, sha256: trained.model_sha256, key: "it/1" };
    const online = (await scoring.predict(model, rows)).predictions;
    expect(online).toHaveLength(rows.length);
    expect(online.map((p) => [p.prediction_label, p.prediction_score])).toEqual(
      batchPreds.map((p) => [p.prediction_label, p.prediction_score]),
    );

    const t0 = Date.now();
    await scoring.predict(model, rows.slice(0, 1));
    console.log(`warm online predict of 1 row: ${Date.now() - t0} ms`);

    // A hash that does not match is refused before the pickle is loaded.
    await expect(scoring.predict({ ...model, sha256: "0".repeat(64), key: "it/bad" }, rows)).rejects.toMatchObject({ kind: "user" });
  }, 600_000);
});
