import { describe, expect, it } from "vitest";
import { comparisonRows, tagChange } from "./models.edit.command.ts";

describe("models tag arguments", () => {
  it("turns KEY=VALUE into tags to set and --remove into tags to remove; the first = splits", () => {
    expect(tagChange(["team=risk", "query=a=b", "empty="], ["owner"])).toEqual({ team: "risk", query: "a=b", empty: "", owner: null });
  });

  it("refuses an argument without a key", () => {
    expect(() => tagChange(["=x"], [])).toThrow(/'=x' is not a tag/);
    expect(() => tagChange(["team"], [])).toThrow(/'team' is not a tag/);
  });
});

describe("models compare table", () => {
  it("lines up fields, metrics and params per version, marking params that differ", () => {
    const base = { runId: "r", aliases: [], modelName: "Ridge", task: "regression", dataset: "d@v1" };
    const rows = comparisonRows({
      model: "m",
      versions: [
        { ...base, version: 1, aliases: ["production"], metrics: { R2: 0.5 }, params: { alpha: "1", fold: "5" } },
        { ...base, version: 2, metrics: { R2: 0.6, MAE: 3 }, params: { alpha: "2", fold: "5" } },
      ],
    });
    expect(rows).toEqual([
      ["estimator", "Ridge", "Ridge"],
      ["aliases", "production", "-"],
      ["dataset", "d@v1", "d@v1"],
      ["run", "r", "r"],
      ["MAE", "-", "3"],
      ["R2", "0.5", "0.6"],
      ["* param alpha", "1", "2"],
      ["param fold", "5", "5"],
    ]);
  });
});
