import { Operation } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { entryArg, operationCommands, operationFrom } from "./operation.flags.ts";

describe("operation flags come from the contract", () => {
  const commands = operationCommands();
  const byName = Object.fromEntries(commands.map((c) => [c.command, c]));

  it("has one command per operation, with every field of it as a flag", () => {
    expect(commands.map((c) => c.command)).toEqual(["create", "tune", "ensemble", "blend", "stack", "calibrate", "threshold", "finalize"]);
    for (const member of Operation.options) {
      const op = member.shape.op.value;
      const cmd = commands.find((c) => c.op === op);
      expect(cmd?.flags.map((f) => f.name).sort()).toEqual(
        Object.keys(member.shape)
          .filter((k) => k !== "op")
          .sort(),
      );
    }
  });

  it.each<[string, string, Record<string, unknown>]>([
    ["tune", "n-iter", { kind: "integer", min: 1, max: 1000 }],
    ["tune", "search", { kind: "enum", values: ["random", "grid", "optuna"] }],
    ["tune", "time-budget-minutes", { kind: "number" }],
    ["tune", "grid", { kind: "lists" }],
    ["create", "param", { kind: "entries" }],
    ["create", "model", { kind: "string" }],
    ["blend", "with", { kind: "runs", key: "run_id" }],
    ["stack", "restack", { kind: "boolean" }],
    ["threshold", "optimize", { kind: "string" }],
  ])("%s --%s is typed %j", (command, flag, type) => {
    expect(byName[command]?.flags.find((f) => f.flag === flag)?.type).toEqual(type);
  });

  it("takes required-ness, defaults and help from the schema", () => {
    const create = byName.create?.flags ?? [];
    expect(create.find((f) => f.name === "model")).toMatchObject({ required: true, help: expect.stringContaining("model id") });
    const tune = byName.tune?.flags ?? [];
    expect(tune.find((f) => f.name === "n_iter")).toMatchObject({ required: false, default: 10 });
    expect(tune.find((f) => f.name === "time_budget_minutes")).toMatchObject({ help: "stop searching after this long" });
    expect(byName.blend?.flags.find((f) => f.name === "with")?.required).toBe(true);
  });

  it("builds the operation the contract accepts from parsed options", () => {
    const tune = byName.tune;
    const blend = byName.blend;
    if (!tune || !blend) throw new Error("missing commands");
    const op = operationFrom(tune, { nIter: 5, grid: { C: [0.1, 1] }, json: true });
    expect(Operation.parse(op)).toEqual({ op: "tune", search: "random", n_iter: 5, custom_grid: { C: [0.1, 1] } });
    const runs = ["a".repeat(32), "b".repeat(32)];
    expect(operationFrom(blend, { with: runs })).toEqual({ op: "blend", with: runs.map((run_id) => ({ run_id })) });
  });

  it.each<[string, boolean, Record<string, unknown>]>([
    ["max_depth=3", false, { max_depth: 3 }],
    ["criterion=gini", false, { criterion: "gini" }],
    ["class_weight=null", false, { class_weight: null }],
    ["C=0.1,1,10", true, { C: [0.1, 1, 10] }],
    ["penalty=l1, l2", true, { penalty: ["l1", "l2"] }],
    ["fit_intercept=true,false", true, { fit_intercept: [true, false] }],
  ])("--param/--grid %s", (value, list, expected) => {
    expect(entryArg("--x", value, undefined, list)).toEqual(expected);
  });

  it("accumulates repeated entries and refuses malformed ones", () => {
    expect(entryArg("--grid", "b=1", { a: [2] }, true)).toEqual({ a: [2], b: [1] });
    expect(() => entryArg("--grid", "C", undefined, true)).toThrow("--grid takes NAME=V1,V2,..., got 'C'.");
    expect(() => entryArg("--grid", "C=", undefined, true)).toThrow("needs at least one value");
    expect(() => entryArg("--param", "=3", undefined, false)).toThrow("--param takes NAME=VALUE");
  });
});
