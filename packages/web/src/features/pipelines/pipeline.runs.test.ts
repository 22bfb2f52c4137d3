import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { modelEdges, stepId } from "./pipeline.model.ts";
import {
  attemptsLabel,
  initialParamTexts,
  isRunActive,
  readRunFilters,
  runGraph,
  runParams,
  stepCountsText,
  stepDurationMs,
  writeRunFilters,
} from "./pipeline.runs.ts";

const example = readFileSync(fileURLToPath(new URL("../../../../../examples/pipelines/nightly-retrain.yaml", import.meta.url)), "utf8");

describe("run view helpers", () => {
  it.each([
    ["queued", true],
    ["running", true],
    ["succeeded", false],
    ["failed", false],
    ["cancelled", false],
  ] as const)("a %s run is active: %s", (status, active) => {
    expect(isRunActive(status)).toBe(active);
  });

  it("times a step from its start to its end, or to now while it runs", () => {
    const now = Date.parse("2026-01-01T00:01:00Z");
    expect(stepDurationMs({ startedAt: null, finishedAt: null }, now)).toBeNull();
    expect(stepDurationMs({ startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:05Z" }, now)).toBe(5000);
    expect(stepDurationMs({ startedAt: "2026-01-01T00:00:30Z", finishedAt: null }, now)).toBe(30_000);
  });

  it("names the attempt once a step was retried", () => {
    const attempt = { attempt: 1, status: "failed", startedAt: "", finishedAt: null, error: null } as const;
    expect(attemptsLabel({ attempts: [] })).toBe("");
    expect(attemptsLabel({ attempts: [attempt] })).toBe("");
    expect(attemptsLabel({ attempts: [attempt, { ...attempt, attempt: 2 }] })).toBe("attempt 2");
  });

  it("counts steps by state in a run's order", () => {
    expect(stepCountsText({ pending: 2, succeeded: 3, running: 1 })).toBe("3 succeeded · 1 running · 2 pending");
    expect(stepCountsText({})).toBe("");
  });
});

describe("runs list filters in the address", () => {
  it("reads known filters and drops unknown values", () => {
    expect(readRunFilters(new URLSearchParams("pipeline=nightly&status=failed&trigger=schedule"))).toEqual({
      pipeline: "nightly",
      status: "failed",
      trigger: "schedule",
    });
    expect(readRunFilters(new URLSearchParams("status=exploded&trigger=&pipeline=%20"))).toEqual({});
  });

  it("writes only the set filters", () => {
    expect(writeRunFilters({ status: "running" }).toString()).toBe("status=running");
    expect(readRunFilters(writeRunFilters({ pipeline: "a", trigger: "manual" }))).toEqual({ pipeline: "a", trigger: "manual" });
  });
});

describe("the run form's params", () => {
  const params = {
    dataset: { type: "string", default: "sales" },
    min_auc: { type: "number", default: 0.8 },
    force: { type: "boolean" },
  } as const;

  it("starts with the defaults", () => {
    expect(initialParamTexts(params)).toEqual({ dataset: "sales", min_auc: "0.8", force: "" });
  });

  it("types each value as its param declares and leaves empty ones to their defaults", () => {
    expect(runParams(params, { dataset: "churn", min_auc: "0.9", force: "true" })).toEqual({
      ok: true,
      params: { dataset: "churn", min_auc: 0.9, force: true },
    });
    expect(runParams(params, { dataset: "", min_auc: "", force: "" })).toEqual({ ok: true, params: {} });
  });

  it("names a value that is not of its type", () => {
    expect(runParams(params, { min_auc: "high", force: "yes" })).toEqual({
      ok: false,
      problems: { min_auc: "min_auc is a number; 'high' is not one", force: "force is true or false" },
    });
  });
});

describe("the graph a run is drawn on", () => {
  const ran = (ids: string[]) => ({ steps: ids.map((id) => ({ id, type: "notify" })) }) as never;

  it("is the pipeline's graph when the run has the same steps", () => {
    const m = runGraph(example, ran(["import", "check", "train", "evaluate", "register", "promote"]));
    expect(m.steps.map(stepId)).toEqual(["import", "check", "train", "evaluate", "register", "promote"]);
    expect(modelEdges(m)).toHaveLength(5);
  });

  it("keeps the run's steps when the pipeline has changed since", () => {
    const m = runGraph(example, ran(["import", "check", "old_step"]));
    expect(m.steps.map(stepId)).toEqual(["import", "check", "old_step"]);
    expect(modelEdges(m)).toHaveLength(1);
    expect(runGraph(null, ran(["a", "b"])).steps.map(stepId)).toEqual(["a", "b"]);
  });
});
