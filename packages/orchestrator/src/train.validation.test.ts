import { CaretflowError, TrainRequest } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { type TrainDatasetFacts, validateTrainRequest } from "./train.validation.ts";

const facts: TrainDatasetFacts = {
  dataset: "juice",
  version: 1,
  rowCount: 100,
  columns: ["Purchase", "PriceCH", "Store7"],
  target: { nulls: 0, distinct: 2, count: 100 },
};
const req = (over: Record<string, unknown>) =>
  TrainRequest.parse({ dataset: "juice", task: "classification", target: "Purchase", ...over });

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(CaretflowError);
    expect((e as CaretflowError).status).toBe(422);
    expect((e as CaretflowError).hint).toBeTruthy();
    return (e as CaretflowError).code;
  }
}

describe("validateTrainRequest", () => {
  it("accepts a valid request and normalizes the sort metric", () => {
    const out = validateTrainRequest(req({ include: ["lr", "dt"], sort: "accuracy" }), facts);
    expect(out.sort).toBe("Accuracy");
    expect(validateTrainRequest(req({ task: "regression", target: "PriceCH", sort: "r2" }), facts).sort).toBe("R2");
  });

  it.each([
    ["missing target", req({ target: "Nope" }), facts, "target_not_found"],
    ["all-null target", req({}), { ...facts, target: { nulls: 100, distinct: 0, count: 100 } }, "target_all_null"],
    ["empty dataset", req({}), { ...facts, rowCount: 0, target: { nulls: 0, distinct: 0, count: 0 } }, "target_all_null"],
    ["single class", req({}), { ...facts, target: { nulls: 0, distinct: 1, count: 100 } }, "target_single_class"],
    ["missing ignored column", req({ ignoreColumns: ["Store7", "Gone"] }), facts, "ignore_column_not_found"],
    ["target ignored", req({ ignoreColumns: ["Purchase"] }), facts, "target_ignored"],
    ["unknown include", req({ include: ["lr", "gbr"] }), facts, "unknown_model"],
    ["not installed", req({ include: ["xgboost"] }), facts, "unknown_model"],
    ["unknown exclude", req({ exclude: ["zzz"] }), facts, "unknown_model"],
    ["nothing left", req({ include: ["lr"], exclude: ["lr"] }), facts, "no_models"],
    ["bad sort metric", req({ sort: "R2" }), facts, "unknown_sort_metric"],
  ] as const)("%s", (_name, r, f, code) => {
    expect(codeOf(() => validateTrainRequest(r, f))).toBe(code);
  });

  it("allows a single-valued regression target", () => {
    expect(
      codeOf(() => validateTrainRequest(req({ task: "regression" }), { ...facts, target: { nulls: 0, distinct: 1, count: 100 } })),
    ).toBe(null);
  });
});
