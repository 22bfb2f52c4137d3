import type { LeaderboardRow } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { metricBars, rowKey } from "./leaderboard.helpers.ts";

const row = (id: string, metrics: Record<string, number | null>): LeaderboardRow => ({
  model_id: id,
  model_name: `${id} model`,
  metrics,
  fit_seconds: 1,
});

describe("metricBars", () => {
  it("sorts bars best first by the metric's direction and skips missing values", () => {
    const rows = [row("a", { R2: 0.5 }), row("b", { R2: 0.8 }), row("c", { R2: null })];
    expect(metricBars(rows, "R2", false).map((b) => b.key)).toEqual(["b", "a"]);
    expect(metricBars([row("a", { MAE: 3 }), row("b", { MAE: 2 })], "MAE", true).map((b) => b.key)).toEqual(["b", "a"]);
  });
  it("keys rows by their run, so an operation's source and result (same model id) stay apart", () => {
    const source = { ...row("lr", { Accuracy: 0.81 }), mlflow_run_id: "r1" };
    const tuned = { ...row("lr", { Accuracy: 0.82 }), mlflow_run_id: "r2" };
    expect(metricBars([source, tuned], "Accuracy", false).map((b) => [b.key, b.row])).toEqual([
      ["r2", tuned],
      ["r1", source],
    ]);
    expect(rowKey(row("dt", {}))).toBe("dt");
  });
});
