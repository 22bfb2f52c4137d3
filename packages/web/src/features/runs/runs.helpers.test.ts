import { describe, expect, it } from "vitest";
import { artifactTitle, childToRow, headlineMetric, isImagePath, mlflowRunUrl, parseDatasetRef, runTask } from "./runs.helpers.ts";

describe("runs helpers", () => {
  it("reads the task from the tag, else from metrics", () => {
    expect(runTask({ task: "regression", metrics: {} })).toBe("regression");
    expect(runTask({ task: null, metrics: { Accuracy: 0.8 } })).toBe("classification");
    expect(runTask({ task: null, metrics: {} })).toBeNull();
  });

  it("picks the task's headline metric", () => {
    expect(headlineMetric({ task: "classification", metrics: { AUC: 0.9, Accuracy: 0.82 } })).toEqual({ name: "Accuracy", value: 0.82 });
    expect(headlineMetric({ task: "regression", metrics: { R2: 0.86 } })).toEqual({ name: "R2", value: 0.86 });
    expect(headlineMetric({ task: null, metrics: {} })).toBeNull();
  });

  it("parses dataset refs", () => {
    expect(parseDatasetRef("juice@v2")).toEqual({ name: "juice", version: 2 });
    expect(parseDatasetRef("juice")).toEqual({ name: "juice", version: null });
    expect(parseDatasetRef(null)).toBeNull();
  });

  it("links MLflow and names artifacts", () => {
    expect(mlflowRunUrl("1", "abc")).toBe("/mlflow/#/experiments/1/runs/abc");
    expect(isImagePath("plots/auc.png")).toBe(true);
    expect(isImagePath("model/MLmodel")).toBe(false);
    expect(artifactTitle("plots/feature_importance.png")).toBe("feature importance");
  });
});

describe("childToRow", () => {
  it("keeps the summary metrics and links the child run", () => {
    const r = childToRow(
      {
        runId: "c1",
        name: "Logistic Regression",
        metrics: { Accuracy: 0.8, Accuracy_fold_0: 0.7, "TT (Sec)": 0.4 },
        params: { model_id: "lr" },
      },
      "classification",
      ["Accuracy", "TT (Sec)"],
    );
    expect(r).toEqual({
      model_id: "lr",
      model_name: "Logistic Regression",
      metrics: { Accuracy: 0.8, "TT (Sec)": 0.4 },
      fit_seconds: 0.4,
      mlflow_run_id: "c1",
    });
  });
  it("falls back to non-fold metrics when the names are unknown", () => {
    const r = childToRow({ runId: "c2", name: "x", metrics: { acc: 0.8, acc_fold_1: 0.7 }, params: {} }, "classification", ["Accuracy"]);
    expect(r.metrics).toEqual({ acc: 0.8 });
    expect(r.model_id).toBe("c2");
  });
});
