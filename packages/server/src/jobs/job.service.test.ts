import { copyFile, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { type EngineEvent, type Job, type JobSpec, TrainRequest, type TrainResult } from "@caretflow/contracts";
import type { EngineRunner } from "@caretflow/orchestrator";
import { afterAll, beforeAll, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";

/**
 * An engine that plays a script of events for each job, waiting for `release`
 * so tests can observe the queued and running states.
 */
class ScriptedEngine implements EngineRunner {
  readonly specs: JobSpec[] = [];
  outbox = "";
  labelsFrom = "";

  /** As the engine does for clustering: a labelled copy of the input in the job's outbox. */
  async writeLabels(jobId: string) {
    await mkdir(join(this.outbox, jobId), { recursive: true });
    await copyFile(this.labelsFrom, join(this.outbox, jobId, "labels.parquet"));
    return [{ role: "labels" as const, file: "labels.parquet", rows: 1070, columns: ["Cluster"] }];
  }
  readonly #gates = new Map<string, () => void>();
  /** Lets a job finish: the given one, or the oldest waiting. */
  release(jobId?: string) {
    const id = jobId ?? this.#gates.keys().next().value;
    if (id === undefined) return;
    this.#gates.get(id)?.();
    this.#gates.delete(id);
  }
  async run(spec: JobSpec, opts: { onEvent: (e: EngineEvent) => void; signal?: AbortSignal }) {
    this.specs.push(spec);
    const base = { v: 1 as const, job_id: spec.job_id, ts: new Date().toISOString() };
    let seq = 0;
    const emit = (e: Record<string, unknown>) => opts.onEvent({ ...base, seq: seq++, ...e } as EngineEvent);
    emit({ type: "stage", stage: "compare", message: "comparing" });
    emit({ type: "leaderboard_row", row: { model_id: "lr", model_name: "LR", metrics: { Accuracy: 0.8 }, fit_seconds: 0.1 } });
    emit({ type: "progress", done: 1, total: 2 });
    const cancelled = await new Promise<boolean>((resolve) => {
      this.#gates.set(spec.job_id, () => resolve(false));
      opts.signal?.addEventListener("abort", () => {
        this.#gates.delete(spec.job_id);
        resolve(true);
      });
    });
    if (cancelled) {
      emit({ type: "finished", status: "cancelled" });
      return { status: "cancelled" as const };
    }
    const outputs = spec.kind === "train" && spec.task === "clustering" ? await this.writeLabels(spec.job_id) : [];
    const result: TrainResult = {
      kind: "train",
      experiment_id: "1",
      parent_run_id: "p".repeat(32),
      best_run_id: "b".repeat(32),
      best_model_id: "lr",
      best_model_name: "LR",
      model_uri: `runs:/${"b".repeat(32)}/model`,
      model_sha256: "0".repeat(64),
      sort_metric: "Accuracy",
      task: spec.kind === "train" ? spec.task : "classification",
      outputs,
      timings: { compare: 1 },
      leaderboard: [
        { rank: 1, model_id: "lr", model_name: "LR", metrics: { Accuracy: 0.8 }, fit_seconds: 0.1 },
        { rank: 2, model_id: "dt", model_name: "DT", metrics: { Accuracy: 0.7 }, fit_seconds: 0.1 },
      ],
    };
    emit({ type: "finished", status: "succeeded", result });
    return { status: "succeeded" as const, result };
  }
}

let engine: ScriptedEngine;
let f: Awaited<ReturnType<typeof appFixture>>;

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
/** Waits for `fn` to hold (up to 45 s on a busy machine, inside the 60 s test limit); a wait that never ends fails here, not in the next assertion. */
async function until(fn: () => Promise<boolean>) {
  const deadline = Date.now() + 45_000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error("the awaited job state did not come within 45 s");
    await tick();
  }
}
const train = () =>
  f.jobs.startTrain(
    {
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      ignore_columns: [],
      text_columns: [],
      train_size: 0.7,
      folds: 3,
      seed: 1,
      use_gpu: "off",
      operation: "compare",
      include: ["lr", "dt"],
      exclude: [],
      custom_metrics: [],
      custom_models: [],
      setup: {},
      sort: "accuracy",
    },
    "default",
  );

forEachDatabase("JobService", (dbs) => {
  beforeAll(async () => {
    engine = new ScriptedEngine();
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { datasets: true, engine, trackingUri: "http://127.0.0.1:5000/mlflow", db });
    await f.store!.importFile({ path: new URL("../../../../demo-data/juice.csv", import.meta.url).pathname, name: "juice" });
    engine.outbox = join(f.dir, "datasets", ".outbox");
    // Any other table will do as the "labelled" copy; it must differ from juice v1 to make a new version.
    await f.store!.importFile({ path: new URL("../../../../demo-data/iris.csv", import.meta.url).pathname, name: "iris" });
    engine.labelsFrom = join(f.dir, "datasets", "iris", "v1.parquet");
  });
  afterAll(() => f.close());

  it("builds the engine spec, records every event with a gapless seq, and follows the engine to success", async () => {
    const job = await train();
    expect(job.status).toBe("queued");
    // The leaderboard row and the progress are separate events, each stored on its own: wait for both.
    await until(async () => {
      const j = await f.jobs.get(job.id);
      return j.leaderboard.length > 0 && j.progress !== null;
    });
    const running = await f.jobs.get(job.id);
    expect(running).toMatchObject({ status: "running", stage: "compare", progress: { done: 1, total: 2 } });
    const spec = engine.specs.at(-1)!;
    expect(spec).toMatchObject({
      kind: "train",
      job_id: job.id,
      tracking_uri: "http://127.0.0.1:5000/mlflow",
      experiment_name: "caretflow-juice",
      dataset: { name: "juice", version: 1, rows: 1070 },
      sort: "Accuracy",
      n_jobs: 1,
    });
    engine.release();
    await until(async () => (await f.jobs.get(job.id)).status === "succeeded");
    const done: Job = await f.jobs.get(job.id);
    expect(done.result?.kind).toBe("train");
    expect(done.leaderboard.map((r) => r.model_id)).toEqual(["lr", "dt"]);
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();
    const events = await f.jobs.events(job.id, 0);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => (e.type === "status" ? e.status : e.type === "engine" ? e.event.type : e.type))).toEqual([
      "queued",
      "running",
      "stage",
      "leaderboard_row",
      "progress",
      "finished",
      "succeeded",
    ]);
  });

  it("cancels a queued job at once and a running one through the engine", async () => {
    const a = await train();
    const b = await train();
    await until(async () => (await f.jobs.get(a.id)).status === "running");
    const cancelledB = await f.jobs.cancel(b.id);
    expect(cancelledB.status).toBe("cancelled");
    expect((await f.jobs.events(b.id, 0)).map((e) => (e.type === "status" ? e.status : e.type))).toEqual(["queued", "cancelled"]);
    const stillRunning = await f.jobs.cancel(a.id);
    expect(stillRunning.status).toBe("running");
    await until(async () => (await f.jobs.get(a.id)).status === "cancelled");
    expect((await f.jobs.get(a.id)).status).toBe("cancelled");
    await expect(f.jobs.cancel(a.id)).rejects.toMatchObject({ status: 409 });
  });

  it("fails jobs a previous process left behind", async () => {
    await f.repo.insert({
      id: "job_orphan",
      project: "default",
      kind: "train",
      request: { dataset: "juice", task: "classification", target: "Purchase" },
      logPath: "/dev/null",
      createdAt: new Date().toISOString(),
    });
    expect(await f.jobs.failAbandoned()).toBe(1);
    const j = await f.jobs.get("job_orphan");
    expect(j.status).toBe("failed");
    expect(j.error).toMatchObject({ name: "ServerRestarted", transient: true });
  });

  it("stores the tables a job leaves in its outbox as dataset versions, then empties the outbox", async () => {
    // Parsed as the route parses it (defaults filled in: the validation relies on them).
    const job = await f.jobs.startTrain(TrainRequest.parse({ dataset: "juice", task: "clustering", num_clusters: 3 }), "default");
    await until(async () => engine.specs.at(-1)?.job_id === job.id);
    expect(engine.specs.at(-1)).toMatchObject({ task: "clustering", num_clusters: 3, dataset: { name: "juice", version: 1 } });
    engine.release(job.id);
    await until(async () => (await f.jobs.get(job.id)).status === "succeeded");
    const done = await f.jobs.get(job.id);
    // Cluster labels are a new version of the input dataset, with its lineage.
    expect(done.outputDatasets).toEqual([{ role: "labels", name: "juice", version: 2 }]);
    const v2 = await f.store!.getVersion("juice", 2);
    expect(v2.source).toMatchObject({ kind: "derived", role: "labels", jobId: job.id, parent: { dataset: "juice", version: 1 } });
    expect(await readdir(engine.outbox)).toEqual([]);
  });

  it("lists jobs newest first", async () => {
    const jobs = await f.jobs.list("default");
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    const times = jobs.map((j) => j.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
  });
});
