import type { EngineEvent, JobEvent, LeaderboardRow } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { emptyJobView, isTerminal, progressFraction, progressLabel, reduceJobEvent, reduceJobEvents } from "./job.state.ts";

const ts = (s: number) => new Date(Date.UTC(2025, 0, 1, 12, 0, s)).toISOString();
let engineSeq = 0;
const base = () => ({ v: 1 as const, seq: engineSeq++, ts: ts(engineSeq), job_id: "j1" });
const engine = (seq: number, event: EngineEvent): JobEvent => ({ seq, ts: ts(seq), type: "engine", event });
const status = (seq: number, s: "queued" | "running" | "succeeded" | "failed" | "cancelled"): JobEvent => ({
  seq,
  ts: ts(seq),
  type: "status",
  status: s,
});
const row = (id: string, acc: number, rank?: number): LeaderboardRow => ({
  model_id: id,
  model_name: id.toUpperCase(),
  metrics: { Accuracy: acc },
  fit_seconds: 0.1,
  ...(rank ? { rank } : {}),
});

const trainEvents: JobEvent[] = [
  status(1, "queued"),
  status(2, "running"),
  engine(3, { ...base(), type: "started", pid: 10, versions: { pycaret: "3.3.2" } }),
  engine(4, { ...base(), type: "stage", stage: "compare", message: "Comparing models" }),
  engine(5, { ...base(), type: "progress", done: 1, total: 3, message: "Training models" }),
  engine(6, { ...base(), type: "leaderboard_row", row: row("lr", 0.81) }),
  engine(7, { ...base(), type: "leaderboard_row", row: row("dt", 0.76) }),
];

describe("reduceJobEvent", () => {
  it("builds the leaderboard row by row, in arrival order", () => {
    const v = reduceJobEvents(emptyJobView, trainEvents);
    expect(v.status).toBe("running");
    expect(v.stage).toBe("compare");
    expect(v.leaderboard.map((r) => r.model_id)).toEqual(["lr", "dt"]);
    expect(v.lastSeq).toBe(7);
    expect(v.versions).toEqual({ pycaret: "3.3.2" });
  });

  it("starts the progress over when another worker takes the job (a lost attempt), keeping it running", () => {
    const lost: JobEvent = { seq: 8, ts: ts(8), type: "attempt", attempt: 2, reason: "worker_lost", message: "the worker stopped" };
    const v = reduceJobEvents(emptyJobView, [...trainEvents, lost]);
    expect(v).toMatchObject({ status: "running", stage: null, progress: null, leaderboard: [], lastSeq: 8 });
    expect(v.warnings).toEqual(["attempt 2: the worker stopped"]);
    const again = reduceJobEvent(v, engine(9, { ...base(), type: "leaderboard_row", row: row("lr", 0.8) }));
    expect(again.leaderboard.map((r) => r.model_id)).toEqual(["lr"]);
  });

  it("ignores events it has already applied, so a replay after reconnect adds no duplicates", () => {
    const once = reduceJobEvents(emptyJobView, trainEvents);
    const replayed = reduceJobEvents(once, trainEvents);
    expect(replayed).toBe(once);
    expect(replayed.leaderboard).toHaveLength(2);
  });

  it("replaces a row when the same model reports again", () => {
    const v = reduceJobEvents(emptyJobView, [...trainEvents, engine(8, { ...base(), type: "leaderboard_row", row: row("lr", 0.83) })]);
    expect(v.leaderboard).toHaveLength(2);
    expect(v.leaderboard[0]?.metrics.Accuracy).toBe(0.83);
  });

  it("takes the ranked leaderboard and result from the finished event", () => {
    const result = {
      kind: "train" as const,
      task: "classification" as const,
      outputs: [],
      timings: { total: 3 },
      experiment_id: "1",
      parent_run_id: "p",
      best_run_id: "b",
      best_model_id: "lr",
      best_model_name: "LR",
      model_uri: "runs:/b/model",
      model_sha256: "x",
      sort_metric: "Accuracy",
      leaderboard: [row("lr", 0.81, 1), row("dt", 0.76, 2)],
    };
    const v = reduceJobEvents(emptyJobView, [
      ...trainEvents,
      engine(8, { ...base(), type: "finished", status: "succeeded", result }),
      status(9, "succeeded"),
    ]);
    expect(v.status).toBe("succeeded");
    expect(v.result).toEqual(result);
    expect(v.leaderboard.map((r) => r.rank)).toEqual([1, 2]);
    expect(v.finishedAt).toBe(ts(9));
    expect(v.engineFinished).toBe("succeeded");
    expect(isTerminal(v.status)).toBe(true);
    expect(progressFraction(v)).toBe(1);
  });

  it("collects logged artifacts (the report, charts) once each, and operation runs", () => {
    const art = (seq: number, path: string, kind: "report" | "chart") =>
      engine(seq, { ...base(), type: "artifact", name: path, path, run_id: "r1", artifact_kind: kind });
    const v = reduceJobEvents(emptyJobView, [
      art(1, "charts/roc.json", "chart"),
      art(2, "report/report.html", "report"),
      art(3, "charts/roc.json", "chart"),
      engine(4, { ...base(), type: "run", role: "operation", run_id: "r2", name: "tune" }),
    ]);
    expect(v.artifacts.map((a) => a.path)).toEqual(["report/report.html", "charts/roc.json"]);
    expect(v.runs).toEqual([{ role: "operation", runId: "r2", name: "tune" }]);
  });

  it("keeps the engine's error for the error state", () => {
    const v = reduceJobEvents(emptyJobView, [
      status(1, "running"),
      engine(2, {
        ...base(),
        type: "error",
        error: { name: "TargetError", message: "target has one class", hint: "pick another column", transient: false },
      }),
      engine(3, { ...base(), type: "finished", status: "failed" }),
    ]);
    // the engine is done, but the job ends only with the server's status event
    expect(v.status).toBe("running");
    expect(v.engineFinished).toBe("failed");
    const done = reduceJobEvent(v, status(4, "failed"));
    expect(done.status).toBe("failed");
    expect(done.error?.hint).toBe("pick another column");
    expect(progressFraction(done)).toBeNull();
  });

  it("records the start time from the first running status when the engine has not started yet", () => {
    const v = reduceJobEvent(reduceJobEvent(emptyJobView, status(1, "queued")), status(2, "running"));
    expect(v.startedAt).toBe(ts(2));
  });

  it("keeps only the last 50 log lines", () => {
    const logs = Array.from({ length: 60 }, (_, i) => engine(i + 1, { ...base(), type: "log", level: "info", message: `line ${i}` }));
    const v = reduceJobEvents(emptyJobView, logs);
    expect(v.logs).toHaveLength(50);
    expect(v.logs.at(-1)?.message).toBe("line 59");
  });
});

describe("progress", () => {
  it("says which model of how many", () => {
    const v = reduceJobEvents(emptyJobView, trainEvents);
    expect(progressLabel(v)).toBe("Training models (1 of 3)");
    expect(progressFraction(v)).toBeCloseTo(1 / 3);
  });

  it("does not repeat a count the engine's message already has", () => {
    const v = reduceJobEvent(
      emptyJobView,
      engine(1, { ...base(), type: "progress", done: 1, total: 3, message: "Training Ridge (2 of 3)" }),
    );
    expect(progressLabel(v)).toBe("Training Ridge (2 of 3)");
  });

  it("falls back to the stage message before any progress", () => {
    const v = reduceJobEvents(emptyJobView, trainEvents.slice(0, 4));
    expect(progressLabel(v)).toBe("Comparing models");
    expect(progressFraction(v)).toBeNull();
  });
});
