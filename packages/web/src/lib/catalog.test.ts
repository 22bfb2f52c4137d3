import { Catalog, type LeaderboardRow, type TaskCatalog } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  bestIndex,
  bestRow,
  defaultSort,
  headlineMetric,
  horizonField,
  lowerIsBetter,
  metricColumns,
  modelName,
  summaryMetrics,
  taskLabel,
} from "./catalog.ts";
import catalogJson from "./fixtures/catalog.json" with { type: "json" };

const catalog = Catalog.parse(catalogJson);
const cls = catalog.tasks.find((t) => t.task === "classification") as TaskCatalog;
const reg = catalog.tasks.find((t) => t.task === "regression") as TaskCatalog;
const row = (id: string, metrics: Record<string, number | null>, rank?: number): LeaderboardRow => ({
  model_id: id,
  model_name: `${id} model`,
  metrics,
  fit_seconds: 1,
  ...(rank ? { rank } : {}),
});

describe("metric direction from the catalog", () => {
  it.each([
    [reg, "MAE", true],
    [reg, "R2", false],
    [cls, "Prec.", false],
    [cls, "Prec", false],
    [cls, "TT (Sec)", true],
    [cls, "TT_Sec", true],
    [cls, "nope", null],
    [undefined, "R2", null],
  ] as const)("%#: %s", (task, metric, expected) => {
    expect(lowerIsBetter(task, metric)).toBe(expected);
  });
});

describe("bestRow", () => {
  it("prefers the engine's rank 1", () => {
    expect(bestRow([row("lr", { Accuracy: 0.9 }, 2), row("dt", { Accuracy: 0.8 }, 1)], "Accuracy", cls)?.model_id).toBe("dt");
  });
  it("otherwise takes the best value so far in the metric's direction", () => {
    expect(
      bestRow([row("lr", { Accuracy: 0.81 }), row("dt", { Accuracy: 0.83 }), row("nb", { Accuracy: null })], "Accuracy", cls)?.model_id,
    ).toBe("dt");
    expect(bestRow([row("lr", { RMSE: 5000 }), row("gbr", { RMSE: 4500 })], "RMSE", reg)?.model_id).toBe("gbr");
  });
  it("marks nothing when the direction is unknown or there are no rows", () => {
    expect(bestRow([row("a", { Foo: 1 }), row("b", { Foo: 2 })], "Foo", cls)).toBeNull();
    expect(bestRow([], "R2", reg)).toBeNull();
  });
});

describe("bestIndex", () => {
  it.each([
    [[0.5, 0.8, null], false, 1],
    [[3, 2, 4], true, 1],
    [[3, null], true, -1],
    [[1, 2], null, -1],
  ] as const)("%j lower=%s -> %i", (values, lower, expected) => {
    expect(bestIndex(values, lower)).toBe(expected);
  });
});

describe("names and columns", () => {
  it("orders metric columns like the catalog, training time next, unknown ones last", () => {
    expect(metricColumns([row("lr", { "TT (Sec)": 0.1, zeta: 1, AUC: 0.8, Accuracy: 0.7 })], cls)).toEqual([
      "Accuracy",
      "AUC",
      "TT (Sec)",
      "zeta",
    ]);
  });
  it("names models per task, and tasks by their label", () => {
    expect(modelName(cls, "ridge")).toBe("Ridge Classifier");
    expect(modelName(reg, "ridge")).toBe("Ridge Regression");
    expect(modelName(reg, "nope")).toBe("nope");
    expect(taskLabel(catalog, "regression")).toBe(reg.label);
    expect(taskLabel(catalog, "unknown_task")).toBe("unknown_task");
    expect(defaultSort(cls)).toBe("Accuracy");
  });
  it("picks a run's headline metric: the task's default sort, else the first summary metric", () => {
    expect(headlineMetric({ metrics: { AUC: 0.9, Accuracy: 0.82 } }, cls)).toEqual({ name: "Accuracy", value: 0.82 });
    expect(headlineMetric({ metrics: { "holdout.R2": 0.1, Silhouette: 0.4 } }, undefined)).toEqual({ name: "Silhouette", value: 0.4 });
    expect(headlineMetric({ metrics: {} }, reg)).toBeNull();
    expect(summaryMetrics({ R2: 1, R2_fold_0: 2 })).toEqual([["R2", 1]]);
  });
});

describe("horizonField", () => {
  it("finds the horizon a forecasting task's requests take, and none elsewhere", () => {
    const horizon = {
      name: "horizon",
      scope: "spec" as const,
      label: "Horizon",
      type: "integer" as const,
      required: false,
      default: 12,
      help: "periods",
      group: "Data",
      advanced: false,
    };
    expect(horizonField({ ...reg, fields: [...reg.fields, horizon] })).toEqual(horizon);
    expect(horizonField(reg)).toBeUndefined();
    expect(horizonField(undefined)).toBeUndefined();
  });
});
