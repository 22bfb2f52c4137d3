import { CaretflowError } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { checkArtifactPath, checkRunId, checkVersion } from "./ids.validate.ts";
import { filterQuote } from "./mlflow.client.ts";
import { mlflowHttpError } from "./mlflow.errors.ts";
import { MlflowRun } from "./mlflow.types.ts";
import { modelSourceOf, parseModelRef } from "./registry.service.ts";
import { toRunSummary } from "./runs.service.ts";

const RUN = "0123456789abcdef0123456789abcdef";

function run(tags: Record<string, string>, outputs: string[] = []) {
  return MlflowRun.parse({
    info: { run_id: RUN, experiment_id: "3", status: "FINISHED", start_time: "1700000000000", run_name: "job-1" },
    data: {
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      metrics: [
        { key: "Accuracy", value: 0.81, step: "0" },
        { key: "broken", value: "NaN" },
      ],
    },
    outputs: { model_outputs: outputs.map((model_id) => ({ model_id, step: 0 })) },
  });
}

describe("identifier checks", () => {
  it.each([
    ["run id", () => checkRunId(RUN), RUN],
    ["version string", () => checkVersion("12"), 12],
    ["artifact path", () => checkArtifactPath("plots/roc.png"), "plots/roc.png"],
  ])("accepts a valid %s", (_n, f, want) => expect(f()).toBe(want));

  it.each([
    ["short run id", () => checkRunId("abc")],
    ["run id with a slash", () => checkRunId(`${RUN.slice(0, 31)}/`)],
    ["version 0", () => checkVersion(0)],
    ["version 1.5", () => checkVersion("1.5")],
    ["parent traversal", () => checkArtifactPath("../../etc/passwd")],
    ["absolute path", () => checkArtifactPath("/etc/passwd")],
    ["a URI", () => checkArtifactPath("file:///etc/passwd")],
    ["inner traversal", () => checkArtifactPath("plots/../../x")],
    ["a quote in a filter value", () => filterQuote("a' OR 1=1")],
  ])("refuses %s with a user error", (_n, f) => {
    expect(f).toThrow(CaretflowError);
    try {
      f();
    } catch (e) {
      expect((e as CaretflowError).kind).toBe("user");
    }
  });
});

describe("model references", () => {
  it.each([
    ["churn@champion", { name: "churn", alias: "champion" }],
    ["churn/3", { name: "churn", version: 3 }],
    ["my.model-2@prod_v2", { name: "my.model-2", alias: "prod_v2" }],
  ])("parses %s", (ref, want) => expect(parseModelRef(ref)).toEqual(want));

  it.each(["churn", "churn@", "churn/x", "@alias", "a/b/1", "churn@1x"])("refuses %s with a hint", (ref) => {
    expect(() => parseModelRef(ref)).toThrow(/not a model reference/);
  });
});

describe("model source of a run", () => {
  const M = `m-${"a".repeat(32)}`;
  it("uses the engine's tag and the logged model id it names", () => {
    expect(modelSourceOf(run({ "caretflow.model_source": `models:/${M}` }))).toEqual({ source: `models:/${M}`, modelId: M });
  });
  it("uses a runs:/ tag as is", () => {
    expect(modelSourceOf(run({ "caretflow.model_source": `runs:/${RUN}/model` }))).toEqual({ source: `runs:/${RUN}/model` });
  });
  it("falls back to the run's MLflow 3 logged model output", () => {
    expect(modelSourceOf(run({}, [M]))).toEqual({ source: `models:/${M}`, modelId: M });
  });
  it("falls back to the MLflow 2 layout", () => {
    expect(modelSourceOf(run({}))).toEqual({ source: `runs:/${RUN}/model` });
  });
  it("refuses a source that is a local path or climbs", () => {
    expect(() => modelSourceOf(run({ "caretflow.model_source": "file:///etc" }))).toThrow(/unusable model source/);
    expect(() => modelSourceOf(run({ "caretflow.model_source": "runs:/x/../../y" }))).toThrow(/unusable model source/);
  });
});

describe("run summary mapping", () => {
  it("maps caretflow tags and drops non-finite metrics", () => {
    const s = toRunSummary(
      run({
        "caretflow.task": "classification",
        "caretflow.dataset": "juice@v2",
        "caretflow.target": "Purchase",
        "caretflow.job_id": "j1",
        "caretflow.best_model": "Logistic Regression",
        "caretflow.best_run_id": RUN,
      }),
      "caretflow-juice",
    );
    expect(s).toEqual({
      runId: RUN,
      experimentId: "3",
      experimentName: "caretflow-juice",
      name: "job-1",
      status: "FINISHED",
      startTime: new Date(1700000000000).toISOString(),
      endTime: null,
      task: "classification",
      dataset: "juice@v2",
      target: "Purchase",
      jobId: "j1",
      bestModel: "Logistic Regression",
      bestRunId: RUN,
      metrics: { Accuracy: 0.81 },
    });
  });
});

describe("MLflow error mapping", () => {
  it("names the missing thing on 404", () => {
    const e = mlflowHttpError(404, JSON.stringify({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "Run x not found" }), {
      what: "run",
      id: RUN,
    });
    expect(e.status).toBe(404);
    expect(e.code).toBe("run_not_found");
    expect(e.message).toContain(RUN);
  });
  it("maps RESOURCE_ALREADY_EXISTS to 409", () => {
    expect(mlflowHttpError(400, JSON.stringify({ error_code: "RESOURCE_ALREADY_EXISTS", message: "exists" }), undefined).status).toBe(409);
  });
  it("maps other 4xx to a user error carrying MLflow's message", () => {
    const e = mlflowHttpError(400, JSON.stringify({ error_code: "INVALID_PARAMETER_VALUE", message: "bad filter" }), undefined);
    expect([e.kind, e.code, e.message]).toEqual(["user", "mlflow_invalid_parameter_value", "MLflow refused the request: bad filter"]);
  });
  it("maps 5xx and HTML bodies to an operational error", () => {
    const e = mlflowHttpError(500, "<html>oops</html>", undefined);
    expect([e.kind, e.status]).toEqual(["operational", 502]);
  });
});
