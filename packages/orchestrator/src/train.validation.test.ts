import { CaretflowError, TrainRequest } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { CATALOG } from "../test/catalog.fixture.ts";
import { type TrainDatasetFacts, validateTrainRequest } from "./train.validation.ts";

const facts: TrainDatasetFacts = {
  dataset: "juice",
  version: 1,
  rowCount: 100,
  columns: [
    { name: "Purchase", kind: "string" },
    { name: "PriceCH", kind: "float" },
    { name: "Store7", kind: "string" },
    { name: "Notes", kind: "string" },
  ],
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

describe("validateTrainRequest (rules from the catalog)", () => {
  it("accepts a valid request and spells metrics as the engine does", () => {
    const out = validateTrainRequest(req({ include: ["lr", "dt"], sort: "accuracy" }), CATALOG, facts);
    expect("sort" in out && out.sort).toBe("Accuracy");
    expect(validateTrainRequest(req({ sort: "precision" }), CATALOG, facts)).toMatchObject({ sort: "Prec." });
    const reg = validateTrainRequest(req({ task: "regression", target: "PriceCH", sort: "r2" }), CATALOG, facts);
    expect("sort" in reg && reg.sort).toBe("R2");
  });

  it("accepts setup options the catalog lists, within their ranges", () => {
    const out = validateTrainRequest(req({ setup: { normalize: true, normalize_method: "minmax", pca_components: 0.9 } }), CATALOG, facts);
    expect("setup" in out && out.setup).toEqual({ normalize: true, normalize_method: "minmax", pca_components: 0.9 });
  });

  it.each([
    ["missing target", req({ target: "Nope" }), facts, "column_not_found"],
    ["all-null target", req({}), { ...facts, target: { nulls: 100, distinct: 0, count: 100 } }, "target_all_null"],
    ["empty dataset", req({}), { ...facts, rowCount: 0 }, "empty_dataset"],
    ["single class", req({}), { ...facts, target: { nulls: 0, distinct: 1, count: 100 } }, "target_single_class"],
    ["missing ignored column", req({ ignore_columns: ["Store7", "Gone"] }), facts, "column_not_found"],
    ["text column of numbers", req({ text_columns: ["PriceCH"] }), facts, "column_kind_mismatch"],
    ["target ignored", req({ ignore_columns: ["Purchase"] }), facts, "target_ignored"],
    ["unknown include", req({ include: ["lr", "gbr"] }), facts, "unknown_model"],
    ["not installed", req({ include: ["xgboost"] }), facts, "model_not_installed"],
    ["create without a model", req({ operation: "create" }), facts, "model_required"],
    ["unknown model to create", req({ operation: "create", model: "zzz" }), facts, "unknown_model"],
    ["nothing left", req({ include: ["lr"], exclude: ["lr"] }), facts, "no_models"],
    ["metric of another task", req({ sort: "R2" }), facts, "unknown_metric"],
    ["unknown setup option", req({ setup: { normalise: true } }), facts, "unknown_setup_option"],
    ["setup option of the wrong type", req({ setup: { normalize: "yes" } }), facts, "invalid_option"],
    ["setup enum out of its values", req({ setup: { normalize: true, normalize_method: "zzz" } }), facts, "invalid_option"],
    ["setup number below its minimum", req({ setup: { pca_components: -1 } }), facts, "invalid_option"],
    ["GPU required where none is", req({ use_gpu: "on" }), facts, "gpu_unavailable"],
    ["task the engine lacks", TrainRequest.parse({ dataset: "juice", task: "anomaly" }), facts, "unknown_task"],
    [
      "more clusters than rows",
      TrainRequest.parse({ dataset: "juice", task: "clustering", num_clusters: 100 }),
      facts,
      "too_many_clusters",
    ],
    [
      "clustering with every column ignored",
      TrainRequest.parse({ dataset: "juice", task: "clustering", ignore_columns: ["Purchase", "PriceCH", "Store7", "Notes"] }),
      facts,
      "no_features",
    ],
    ["clustering two rows", TrainRequest.parse({ dataset: "juice", task: "clustering" }), { ...facts, rowCount: 2 }, "too_few_rows"],
    [
      "topics on a number column",
      TrainRequest.parse({ dataset: "juice", task: "topics", text_column: "PriceCH" }),
      facts,
      "column_kind_mismatch",
    ],
  ] as const)("%s", (_name, r, f, code) => {
    expect(codeOf(() => validateTrainRequest(r, CATALOG, f))).toBe(code);
  });

  it("ignores options whose condition is not met (normalize_method without normalize)", () => {
    expect(codeOf(() => validateTrainRequest(req({ setup: { normalize_method: "zzz" } }), CATALOG, facts))).toBe(null);
  });

  const series: TrainDatasetFacts = {
    dataset: "pycaret_downloads",
    version: 1,
    rowCount: 90,
    columns: [
      { name: "Date", kind: "date" },
      { name: "Time", kind: "other" },
      { name: "Total", kind: "integer" },
      { name: "Note", kind: "string" },
      { name: "Temp", kind: "float" },
    ],
  };
  const ts = (over: Record<string, unknown>) =>
    TrainRequest.parse({ dataset: "pycaret_downloads", task: "time_series", date_column: "Date", target: "Total", ...over });

  it.each([
    ["a text target", ts({ target: "Note" }), series, "column_kind_mismatch"],
    ["a number as the date", ts({ date_column: "Temp" }), series, "column_kind_mismatch"],
    ["a text exogenous column", ts({ exogenous: ["Note"] }), series, "column_kind_mismatch"],
    ["the target as an exogenous column", ts({ exogenous: ["Temp", "Total"] }), series, "column_reused"],
    ["the date as the time column", ts({ time_column: "Date" }), series, "column_reused"],
    ["fewer rows than the hold-out and folds need", ts({ horizon: 30, folds: 3 }), series, "series_too_short"],
    ["a model the catalog lacks", ts({ include: ["prophet"] }), series, "unknown_model"],
  ] as const)("time series: refuses %s", (_name, r, f, code) => {
    expect(codeOf(() => validateTrainRequest(r, CATALOG, f))).toBe(code);
  });

  it("time series: accepts a date column of any date-like kind, and a short series whose gaps will be filled", () => {
    for (const kind of ["date", "timestamp", "string", "integer"] as const) {
      const columns = series.columns.map((c) => (c.name === "Date" ? { ...c, kind } : c));
      expect(codeOf(() => validateTrainRequest(ts({ exogenous: ["Temp"], time_column: "Time" }), CATALOG, { ...series, columns }))).toBe(
        null,
      );
    }
    // 90 rows hold 22 × 4 + 1 = 89 periods but not 23 × 4 + 1 = 93; once gaps are filled, rows say nothing of periods.
    expect(codeOf(() => validateTrainRequest(ts({ horizon: 22 }), CATALOG, series))).toBe(null);
    expect(codeOf(() => validateTrainRequest(ts({ horizon: 23 }), CATALOG, series))).toBe("series_too_short");
    expect(codeOf(() => validateTrainRequest(ts({ horizon: 30, gaps: "interpolate" }), CATALOG, series))).toBe(null);
  });

  it("allows a single-valued regression target and clustering without a target", () => {
    expect(
      codeOf(() =>
        validateTrainRequest(req({ task: "regression", target: "PriceCH" }), CATALOG, {
          ...facts,
          target: { nulls: 0, distinct: 1, count: 100 },
        }),
      ),
    ).toBe(null);
    expect(
      codeOf(() => validateTrainRequest(TrainRequest.parse({ dataset: "juice", task: "clustering", num_clusters: 3 }), CATALOG, facts)),
    ).toBe(null);
    const justBelow = TrainRequest.parse({ dataset: "juice", task: "clustering", num_clusters: 99, ignore_columns: ["Notes"] });
    expect(codeOf(() => validateTrainRequest(justBelow, CATALOG, facts))).toBe(null);
  });
});
