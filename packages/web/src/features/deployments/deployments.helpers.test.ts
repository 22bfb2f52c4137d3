import { CaretflowError, type ModelVersion, type RegisteredModel, type ServingVersion } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  DRIFT_SCHEDULES,
  driftScheduleText,
  EMPTY_POLICY,
  exampleRef,
  fieldIssues,
  isSettling,
  overallState,
  parseDriftSchedule,
  parseTargetValue,
  policyFromForm,
  policyText,
  policyToForm,
  targetChoices,
  targetText,
  targetValue,
} from "./deployments.helpers.ts";

const version = (v: number, over: Partial<ModelVersion> = {}): ModelVersion => ({
  name: "churn",
  version: v,
  runId: `run-${v}`,
  source: "models:/m",
  status: "READY",
  aliases: [],
  createdAt: "2026-12-01T00:00:00Z",
  description: null,
  modelName: null,
  tags: {},
  ...over,
});

const model: RegisteredModel = {
  name: "churn",
  description: null,
  createdAt: "2026-12-01T00:00:00Z",
  updatedAt: "2026-12-01T00:00:00Z",
  aliases: { staging: 3, production: 2 },
  tags: {},
  versions: [version(1), version(3, { modelName: "Decision Tree Classifier" }), version(2, { modelName: "Logistic Regression" })],
};

const serving = (over: Partial<ServingVersion>): ServingVersion => ({
  version: 1,
  role: "target",
  weight: 100,
  health: "ready",
  pid: 10,
  restarts: 0,
  ...over,
});

describe("targets", () => {
  it.each([
    [{ alias: "production" }, "churn@production", "@production"],
    [{ version: 12 }, "churn/12", "/12"],
  ] as const)("%j reads %s and round-trips through a select value", (target, text, value) => {
    expect(targetText("churn", target)).toBe(text);
    expect(targetValue(target)).toBe(value);
    expect(parseTargetValue(value)).toEqual(target);
  });

  it.each(["", "@", "/0", "/-1", "/1.5", "@1abc", "production", "@pro duction"])("refuses %j", (value) => {
    expect(parseTargetValue(value)).toBeNull();
  });

  it("offers the aliases first, by name, then versions newest first with their model names", () => {
    expect(targetChoices(model)).toEqual([
      { value: "@production", label: "@production (now version 2)" },
      { value: "@staging", label: "@staging (now version 3)" },
      { value: "/3", label: "version 3 · Decision Tree Classifier" },
      { value: "/2", label: "version 2 · Logistic Regression" },
      { value: "/1", label: "version 1" },
    ]);
    expect(targetChoices(undefined)).toEqual([]);
  });
});

describe("policies", () => {
  it("describes each kind in a line", () => {
    expect(policyText("churn", { kind: "single" })).toBe("single version");
    expect(
      policyText("churn", {
        kind: "ab",
        splits: [
          { target: { version: 2 }, weight: 10 },
          { target: { alias: "staging" }, weight: 5 },
        ],
      }),
    ).toBe("A/B: churn/2 10%, churn@staging 5%");
    expect(policyText("churn", { kind: "shadow", shadow: { version: 3 } })).toBe("shadow: churn/3");
    expect(
      policyText("churn", {
        kind: "canary",
        canary: { version: 3 },
        startPercent: 5,
        stepPercent: 10,
        intervalSeconds: 600,
        maxPercent: 50,
      }),
    ).toBe("canary: churn/3 from 5% +10% every 600 s up to 50%");
  });

  it("builds each kind from the editor's fields, and back", () => {
    const ab = { ...EMPTY_POLICY, kind: "ab" as const, splits: [{ target: "/2", weight: "30" }] };
    expect(policyFromForm(ab)).toEqual({ policy: { kind: "ab", splits: [{ target: { version: 2 }, weight: 30 }] } });
    expect(policyFromForm({ ...EMPTY_POLICY, kind: "shadow", shadow: "@staging" })).toEqual({
      policy: { kind: "shadow", shadow: { alias: "staging" } },
    });
    const canary = { ...EMPTY_POLICY, kind: "canary" as const, canary: "/3", startPercent: "1", maxPercent: "20" };
    const built = policyFromForm(canary);
    expect(built).toEqual({
      policy: { kind: "canary", canary: { version: 3 }, startPercent: 1, stepPercent: 10, intervalSeconds: 600, maxPercent: 20 },
    });
    expect(policyFromForm(EMPTY_POLICY)).toEqual({ policy: { kind: "single" } });
    // What is stored comes back to the same fields.
    expect(
      policyToForm({ kind: "canary", canary: { version: 3 }, startPercent: 1, stepPercent: 10, intervalSeconds: 600, maxPercent: 20 }),
    ).toEqual(canary);
    expect(policyToForm({ kind: "ab", splits: [{ target: { version: 2 }, weight: 30 }] })).toEqual(ab);
    expect(policyToForm({ kind: "single" })).toEqual(EMPTY_POLICY);
  });

  it("names the fields still to fill, not ranges (the API checks those)", () => {
    expect(
      policyFromForm({
        ...EMPTY_POLICY,
        kind: "ab",
        splits: [
          { target: "", weight: "" },
          { target: "/2", weight: "150" },
        ],
      }),
    ).toEqual({
      errors: { "splits.0.target": "Choose a version or alias.", "splits.0.weight": "Give a number." },
    });
    expect(policyFromForm({ ...EMPTY_POLICY, kind: "shadow" })).toEqual({ errors: { shadow: "Choose a version or alias." } });
    expect(policyFromForm({ ...EMPTY_POLICY, kind: "canary", canary: "/2", stepPercent: "ten" })).toEqual({
      errors: { stepPercent: "Give a number." },
    });
  });

  it("puts the API's validation messages under the fields they concern", () => {
    const err = new CaretflowError({
      code: "invalid_request",
      message: "invalid",
      status: 400,
      details: {
        issues: [
          { path: "policy.splits.0.weight", message: "at most 100" },
          { path: "policy.splits", message: "the weights add up to more than 100" },
          { path: "policy.shadow.version", message: "no such version" },
          { path: "name", message: "letters, digits and dashes" },
          { path: "name", message: "a second message for the same field is dropped" },
          { message: "no path: left to the error box" },
        ],
      },
    });
    expect(fieldIssues(err)).toEqual({
      "splits.0.weight": "at most 100",
      splits: "the weights add up to more than 100",
      shadow: "no such version",
      name: "letters, digits and dashes",
    });
    expect(fieldIssues(new CaretflowError({ code: "deployment_exists", message: "exists", status: 409 }))).toEqual({});
    expect(fieldIssues(new Error("network"))).toEqual({});
  });
});

describe("state", () => {
  const base = { status: "active" as const, problem: null };

  it.each([
    ["paused", { ...base, status: "paused" as const, serving: [] }, "paused"],
    ["all ready", { ...base, serving: [serving({}), serving({ version: 2, role: "shadow", weight: 0 })] }, "healthy"],
    ["a shadow restarting", { ...base, serving: [serving({}), serving({ version: 2, role: "shadow", health: "restarting" })] }, "degraded"],
    ["one of two answering", { ...base, serving: [serving({}), serving({ version: 2, role: "split", health: "failed" })] }, "degraded"],
    ["the only one restarting", { ...base, serving: [serving({ health: "restarting" })] }, "starting"],
    ["the only one failed", { ...base, serving: [serving({ health: "failed" })] }, "down"],
    ["nothing loaded, starting", { ...base, problem: "starting", serving: [] }, "starting"],
    ["nothing loaded, an alias unset", { ...base, problem: "alias production is unset", serving: [] }, "down"],
    ["a shadow only", { ...base, serving: [serving({ role: "shadow", weight: 0 })] }, "down"],
  ] as const)("%s: %s", (_name, d, label) => {
    expect(overallState({ ...d, serving: [...d.serving] }).label).toBe(label);
  });

  it("reads again while something starts, not while paused or settled", () => {
    expect(isSettling({ ...base, serving: [serving({ health: "starting" })] })).toBe(true);
    expect(isSettling({ ...base, problem: "starting", serving: [] })).toBe(true);
    expect(isSettling({ ...base, serving: [serving({})] })).toBe(false);
    expect(isSettling({ ...base, status: "paused", problem: "starting", serving: [] })).toBe(false);
  });

  it("takes the example rows from the version serving as target, else from the target itself", () => {
    expect(exampleRef({ model: "churn", target: { alias: "production" }, serving: [serving({ version: 4 })] })).toBe("churn/4");
    expect(exampleRef({ model: "churn", target: { alias: "production" }, serving: [] })).toBe("churn@production");
  });
});

describe("drift schedule", () => {
  it("maps select values to the API's driftEvery and back to words", () => {
    expect(DRIFT_SCHEDULES.map((s) => parseDriftSchedule(s.value))).toEqual([null, "1h", "6h", "1d", "7d"]);
    expect(parseDriftSchedule("2h")).toBeNull();
    expect(driftScheduleText("1d")).toBe("every day");
    expect(driftScheduleText(null)).toBe("only on demand");
  });
});
