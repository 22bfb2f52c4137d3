import type { EngineEvent, Job, JobSpec, TrainResult } from "@caretflow/contracts";
import type { EngineRunner } from "@caretflow/orchestrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";

/**
 * An engine that plays a script of events for each job, waiting for `release`
 * so tests can observe the queued and running states.
 */
class ScriptedEngine implements EngineRunner {
  readonly specs: JobSpec[] = [];
  #gates: Array<() => void> = [];
  release() {
    this.#gates.shift()?.();
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
      this.#gates.push(() => resolve(false));
      opts.signal?.addEventListener("abort", () => resolve(true));
    });
    if (cancelled) {
      emit({ type: "finished", status: "cancelled" });
      return { status: "cancelled" as const };
    }
    const result: TrainResult = {
      kind: "train",
      experiment_id: "1",
      parent_run_id: "p".repeat(32),
      best_run_id: "b".repeat(32),
      best_model_id: "lr",
      best_model_name: "LR",
      model_uri: "runs:/b/model",
      model_sha256: "0".repeat(64),
      sort_metric: "Accuracy",
      leaderboard: [
        { rank: 1, model_id: "lr", model_name: "LR", metrics: { Accuracy: 0.8 }, fit_seconds: 0.1 },
        { rank: 2, model_id: "dt", model_name: "DT", metrics: { Accuracy: 0.7 }, fit_seconds: 0.1 },
      ],
    };
    emit({ type: "finished", status: "succeeded", result });
    return { status: "succeeded" as const, result };
  }
}

const engine = new ScriptedEngine();
let f: Awaited<ReturnType<typeof appFixture>>;
beforeAll(async () => {
  f = await appFixture({}, { datasets: true, engine, trackingUri: "http://127.0.0.1:5000/mlflow" });
  await f.store!.importFile({ path: new URL("../../../../demo-data/juice.csv", import.meta.url).pathname, name: "juice" });
});
afterAll(() => f.close());

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
async function until(fn: () => Promise<boolean>) {
  for (let i = 0; i < 200 && !(await fn()); i++) await tick();
}
const train = () =>
  f.jobs.startTrain({
    dataset: "juice",
    task: "classification",
    target: "Purchase",
    ignoreColumns: [],
    trainSize: 0.7,
    folds: 3,
    seed: 1,
    include: ["lr", "dt"],
    exclude: [],
    sort: "accuracy",
  });

describe("JobService", () => {
  it("builds the engine spec, records every event with a gapless seq, and follows the engine to success", async () => {
    const job = await train();
    expect(job.status).toBe("queued");
    await until(async () => (await f.jobs.get(job.id)).leaderboard.length > 0);
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
    expect(events.map((e) => (e.type === "status" ? e.status : e.event.type))).toEqual([
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

  it("lists jobs newest first", async () => {
    const jobs = await f.jobs.list();
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    const times = jobs.map((j) => j.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
  });
});
