import { describe, expect, it } from "vitest";
import { initialOpInputs, isRunOperation, operationFields, operationLabel, toOperation } from "./operation.form.ts";

const id = "a".repeat(32);

describe("operation forms from the Operation schema", () => {
  it("derives fields with kinds, defaults and bounds", () => {
    const tune = operationFields("tune");
    expect(tune.map((f) => [f.name, f.kind, f.required])).toEqual([
      ["search", "enum", false],
      ["n_iter", "integer", false],
      ["time_budget_minutes", "number", false],
      ["optimize", "metric", false],
      ["custom_grid", "json", false],
    ]);
    expect(tune[0]?.values).toEqual(["random", "grid", "optuna"]);
    expect(tune[1]).toMatchObject({ default: 10, min: 1, max: 1000 });
    expect(tune[2]?.help).toMatch(/stop searching/);
    expect(operationFields("blend").map((f) => [f.name, f.kind, f.required])).toEqual([
      ["with", "runs", true],
      ["method", "enum", false],
    ]);
    expect(operationFields("stack").find((f) => f.name === "meta_model")?.kind).toBe("model");
    expect(operationFields("create").map((f) => [f.name, f.kind])).toEqual([
      ["model", "model"],
      ["params", "json"],
    ]);
    expect(operationFields("finalize")).toEqual([]);
  });

  it("knows compare is a training mode, not an operation on a run", () => {
    expect(isRunOperation("compare")).toBe(false);
    expect(isRunOperation("calibrate")).toBe(true);
  });

  it("builds the request from the defaults, and from typed values", () => {
    const fields = operationFields("tune");
    expect(toOperation("tune", fields, initialOpInputs(fields))).toEqual({
      ok: true,
      operation: { op: "tune", search: "random", n_iter: 10 },
    });
    const typed = { ...initialOpInputs(fields), n_iter: "25", optimize: "AUC", custom_grid: '{"C": [0.1, 1]}' };
    expect(toOperation("tune", fields, typed)).toEqual({
      ok: true,
      operation: { op: "tune", search: "random", n_iter: 25, optimize: "AUC", custom_grid: { C: [0.1, 1] } },
    });
  });

  it("says what to fix, and lets the schema have the last word", () => {
    const blend = operationFields("blend");
    expect(toOperation("blend", blend, initialOpInputs(blend))).toEqual({ ok: false, errors: { with: "Pick at least one other run." } });
    expect(toOperation("blend", blend, { ...initialOpInputs(blend), with: [id] })).toEqual({
      ok: true,
      operation: { op: "blend", with: [{ run_id: id }], method: "auto" },
    });
    const tune = operationFields("tune");
    expect(toOperation("tune", tune, { ...initialOpInputs(tune), n_iter: "2.5" })).toEqual({
      ok: false,
      errors: { n_iter: "Use a whole number." },
    });
    const r = toOperation("tune", tune, { ...initialOpInputs(tune), n_iter: "5000" });
    expect(r.ok ? null : Object.keys(r.errors)).toEqual(["n_iter"]);
    const stack = operationFields("stack");
    expect(toOperation("stack", stack, { ...initialOpInputs(stack), with: [id], restack: true })).toEqual({
      ok: true,
      operation: { op: "stack", with: [{ run_id: id }], restack: true },
    });
  });

  it("labels operations", () => expect(operationLabel("optimize_threshold")).toBe("Optimize threshold"));
});
