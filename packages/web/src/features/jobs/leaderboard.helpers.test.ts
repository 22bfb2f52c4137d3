import type { LeaderboardRow } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { bestRow, lowerIsBetter, modelDisplayName, taskFromMetrics } from "../../lib/pycaret.ts";
import { metricBars, metricColumns } from "./leaderboard.helpers.ts";

const row = (id: string, metrics: Record<string, number | null>, rank?: number): LeaderboardRow => ({
  model_id: id,
  model_name: `${id} model`,
  metrics,
  fit_seconds: 1,
  ...(rank ? { rank } : {}),
});

describe("bestRow", () => {
  it("prefers the engine's rank 1", () => {
    const rows = [row("lr", { Accuracy: 0.9 }, 2), row("dt", { Accuracy: 0.8 }, 1)];
    expect(bestRow(rows, "Accuracy")?.model_id).toBe("dt");
  });
  it("otherwise takes the highest score so far", () => {
    expect(
      bestRow([row("lr", { Accuracy: 0.81 }), row("dt", { Accuracy: 0.83 }), row("nb", { Accuracy: null })], "Accuracy")?.model_id,
    ).toBe("dt");
  });
  it("and the lowest error for error metrics", () => {
    expect(bestRow([row("lr", { RMSE: 5000 }), row("gbr", { RMSE: 4500 })], "RMSE")?.model_id).toBe("gbr");
  });
  it("is null without rows", () => expect(bestRow([], "R2")).toBeNull());
});

describe("metrics", () => {
  it("knows which metrics are better small", () => {
    expect(lowerIsBetter("MAE")).toBe(true);
    expect(lowerIsBetter("TT (Sec)")).toBe(true);
    expect(lowerIsBetter("R2")).toBe(false);
  });
  it("tells the task from metric names", () => {
    expect(taskFromMetrics(["AUC", "TT (Sec)"])).toBe("classification");
    expect(taskFromMetrics(["RMSE"])).toBe("regression");
    expect(taskFromMetrics(["foo"])).toBeNull();
  });
  it("orders metric columns like PyCaret and keeps unknown ones at the end", () => {
    const rows = [row("lr", { "TT (Sec)": 0.1, AUC: 0.8, Accuracy: 0.7 })];
    expect(metricColumns(rows, ["Accuracy", "AUC", "F1"])).toEqual(["Accuracy", "AUC", "TT (Sec)"]);
  });
  it("sorts chart bars best first and skips missing values", () => {
    const rows = [row("a", { R2: 0.5 }), row("b", { R2: 0.8 }), row("c", { R2: null })];
    expect(metricBars(rows, "R2").map((b) => b.id)).toEqual(["b", "a"]);
    expect(metricBars([row("a", { MAE: 3 }), row("b", { MAE: 2 })], "MAE").map((b) => b.id)).toEqual(["b", "a"]);
  });
});

describe("modelDisplayName", () => {
  it("names PyCaret ids per task", () => {
    expect(modelDisplayName("ridge", "classification")).toBe("Ridge Classifier");
    expect(modelDisplayName("ridge", "regression")).toBe("Ridge Regression");
    expect(modelDisplayName("nope", "regression")).toBe("nope");
    expect(modelDisplayName(null, "regression")).toBeNull();
  });
});
