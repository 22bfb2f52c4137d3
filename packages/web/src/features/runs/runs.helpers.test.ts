import { describe, expect, it } from "vitest";
import {
  artifactTitle,
  childToRow,
  isImagePath,
  mlflowRunUrl,
  operationOf,
  parseDatasetRef,
  parseRunIds,
  reportPath,
  runRole,
} from "./runs.helpers.ts";

const id = (c: string) => c.repeat(32);

describe("runs helpers", () => {
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

  it("finds the report and reads operation tags", () => {
    expect(
      reportPath([
        { path: "report", isDir: true, size: null },
        { path: "report/report.html", isDir: false, size: 10 },
      ]),
    ).toBe("report/report.html");
    expect(reportPath([{ path: "plots/report.png", isDir: false, size: 1 }])).toBeNull();
    expect(operationOf({ "caretflow.operation": "tune", "caretflow.source_run_id": "abc" })).toEqual({ op: "tune", sourceRunId: "abc" });
    expect(operationOf({ "caretflow.role": "child" })).toBeNull();
    expect(runRole({ "caretflow.role": "final" })).toBe("final");
  });

  it("reads compared run ids from the address, dropping anything that is not a run id", () => {
    expect(parseRunIds(`${id("a")},nope,${id("b")},${id("a")}`)).toEqual([id("a"), id("b")]);
    expect(parseRunIds(null)).toEqual([]);
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
    const r = childToRow({ runId: "c2", name: "x", metrics: { acc: 0.8, acc_fold_1: 0.7 }, params: {} }, ["Accuracy"]);
    expect(r.metrics).toEqual({ acc: 0.8 });
    expect(r.model_id).toBe("c2");
  });
});
