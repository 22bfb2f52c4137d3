import type { EngineEvent, LeaderboardRow } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { applyEngineEvent, EMPTY_PROGRESS, type JobCommand, nextStatus } from "./job.state.ts";

describe("nextStatus", () => {
  const table: Array<[Parameters<typeof nextStatus>[0], JobCommand, ReturnType<typeof nextStatus>]> = [
    ["queued", { type: "start" }, "running"],
    ["queued", { type: "cancel" }, "cancelled"],
    ["queued", { type: "abandon" }, "failed"],
    ["queued", { type: "finish", status: "succeeded" }, null],
    ["running", { type: "start" }, null],
    ["running", { type: "finish", status: "succeeded" }, "succeeded"],
    ["running", { type: "finish", status: "failed" }, "failed"],
    ["running", { type: "finish", status: "cancelled" }, "cancelled"],
    ["running", { type: "cancel" }, null],
    ["running", { type: "abandon" }, "failed"],
    ["succeeded", { type: "abandon" }, null],
    ["failed", { type: "start" }, null],
    ["cancelled", { type: "finish", status: "succeeded" }, null],
  ];
  it.each(table)("%s + %o -> %s", (from, cmd, to) => {
    expect(nextStatus(from, cmd)).toBe(to);
  });
});

describe("applyEngineEvent", () => {
  const base = { v: 1 as const, ts: "2026-01-01T00:00:00Z", job_id: "j1" };
  const row = (id: string, acc: number): LeaderboardRow => ({
    model_id: id,
    model_name: id.toUpperCase(),
    metrics: { Accuracy: acc },
    fit_seconds: 0.1,
  });

  it("tracks stage, progress and leaderboard, replacing a model's row", () => {
    const events: EngineEvent[] = [
      { ...base, seq: 0, type: "stage", stage: "compare", message: "comparing" },
      { ...base, seq: 1, type: "progress", done: 1, total: 2 },
      { ...base, seq: 2, type: "leaderboard_row", row: row("lr", 0.8) },
      { ...base, seq: 3, type: "leaderboard_row", row: row("dt", 0.7) },
      { ...base, seq: 4, type: "leaderboard_row", row: { ...row("lr", 0.81), rank: 1 } },
    ];
    const view = events.reduce(applyEngineEvent, EMPTY_PROGRESS);
    expect(view.stage).toBe("compare");
    expect(view.progress).toEqual({ done: 1, total: 2 });
    expect(view.leaderboard.map((r) => [r.model_id, r.metrics.Accuracy])).toEqual([
      ["dt", 0.7],
      ["lr", 0.81],
    ]);
  });

  it("takes the sorted leaderboard and result from a train finish, and errors", () => {
    const result = {
      kind: "train" as const,
      experiment_id: "1",
      parent_run_id: "p",
      best_run_id: "b",
      best_model_id: "lr",
      best_model_name: "LR",
      model_uri: "runs:/b/model",
      model_sha256: "x",
      sort_metric: "Accuracy",
      task: "classification" as const,
      outputs: [],
      timings: {},
      leaderboard: [
        { ...row("lr", 0.8), rank: 1 },
        { ...row("dt", 0.7), rank: 2 },
      ],
    };
    let view = applyEngineEvent(EMPTY_PROGRESS, { ...base, seq: 0, type: "leaderboard_row", row: row("dt", 0.7) });
    view = applyEngineEvent(view, { ...base, seq: 1, type: "error", error: { name: "X", message: "m", transient: false } });
    view = applyEngineEvent(view, { ...base, seq: 2, type: "finished", status: "succeeded", result });
    expect(view.result).toEqual(result);
    expect(view.leaderboard.map((r) => r.model_id)).toEqual(["lr", "dt"]);
    expect(view.error?.name).toBe("X");
  });
});
