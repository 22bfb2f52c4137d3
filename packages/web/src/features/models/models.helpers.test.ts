import type { RegisteredModel } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  explanationBars,
  paramRows,
  parseRowsJson,
  parseVersionList,
  predictionTable,
  refOptions,
  resolveModelRef,
  rowsForPrediction,
  suggestModelName,
} from "./models.helpers.ts";

const version = (v: number, aliases: string[] = []) => ({
  name: "juice",
  version: v,
  runId: `r${v}`,
  source: "x",
  status: "READY",
  aliases,
  createdAt: "2025-01-01T00:00:00Z",
  description: null,
  modelName: v === 2 ? "Logistic Regression" : null,
  tags: {},
});
const model: RegisteredModel = {
  name: "juice",
  description: null,
  createdAt: "2025-01-01T00:00:00Z",
  updatedAt: "2025-01-01T00:00:00Z",
  aliases: { champion: 2 },
  tags: {},
  versions: [version(1), version(2, ["champion"])],
};

describe("model refs", () => {
  it("resolves aliases, versions and bare names", () => {
    expect(resolveModelRef([model], "juice@champion")?.version).toBe(2);
    expect(resolveModelRef([model], "juice/1")?.version).toBe(1);
    expect(resolveModelRef([model], "juice")?.version).toBe(2);
    expect(resolveModelRef([model], "juice@nope")).toBeNull();
    expect(resolveModelRef([model], "other@champion")).toBeNull();
  });
  it("offers aliases first, then versions newest first", () => {
    expect(refOptions(model).map((o) => o.ref)).toEqual(["juice@champion", "juice/2", "juice/1"]);
    expect(refOptions(model)[1]?.label).toBe("version 2 · Logistic Regression");
  });
});

describe("online input", () => {
  const page = {
    columns: [
      { name: "Id", kind: "integer" as const, duckdbType: "BIGINT", nullable: false },
      { name: "Purchase", kind: "string" as const, duckdbType: "VARCHAR", nullable: false },
      { name: "Price", kind: "float" as const, duckdbType: "DOUBLE", nullable: true },
    ],
    rows: [
      [1, "CH", 1.75],
      [2, "MM", null],
      [3, "CH", 2.1],
    ],
    offset: 0,
    limit: 3,
    total: 3,
  };
  it("drops the target from the example rows", () => {
    expect(rowsForPrediction(page, "Purchase", 2)).toEqual([
      { Id: 1, Price: 1.75 },
      { Id: 2, Price: null },
    ]);
  });
  it("parses one object or a list, and explains bad input", () => {
    expect(parseRowsJson('{"a": 1}')).toEqual({ ok: true, rows: [{ a: 1 }] });
    expect(parseRowsJson('[{"a": 1}, {"a": 2}]')).toEqual({ ok: true, rows: [{ a: 1 }, { a: 2 }] });
    expect(parseRowsJson("[1, 2]")).toMatchObject({ ok: false, error: expect.stringMatching(/object of column names/) });
    expect(parseRowsJson("[]")).toMatchObject({ ok: false });
    expect(parseRowsJson("{oops")).toMatchObject({ ok: false, error: expect.stringMatching(/not valid JSON/) });
  });
  it("accepts no rows only where the model needs none (a forecaster takes a horizon)", () => {
    expect(parseRowsJson("[]").ok).toBe(false);
    expect(parseRowsJson("[]", { allowEmpty: true })).toEqual({ ok: true, rows: [] });
    expect(parseRowsJson("  ", { allowEmpty: true })).toEqual({ ok: true, rows: [] });
  });

  it("puts the prediction columns first, then the inputs", () => {
    const t = predictionTable(
      [
        { a: 1, b: "x" },
        { a: 2, c: 3 },
      ],
      {
        columns: ["prediction_label", "prediction_score_CH", "prediction_score_MM"],
        predictions: [
          { prediction_label: "CH", prediction_score_CH: 0.7, prediction_score_MM: 0.3 },
          { prediction_label: "MM", prediction_score_CH: 0.2, prediction_score_MM: 0.8 },
        ],
      },
    );
    expect(t.columns).toEqual(["prediction_label", "prediction_score_CH", "prediction_score_MM", "a", "b", "c"]);
    expect(t.rows[1]).toEqual({ a: 2, c: 3, prediction_label: "MM", prediction_score_CH: 0.2, prediction_score_MM: 0.8 });
  });

  it("forecasts have no input rows: the rows are the predictions", () => {
    const t = predictionTable([], { columns: ["period", "y_pred"], predictions: [{ period: "2026-01", y_pred: 3 }] });
    expect(t).toEqual({ columns: ["period", "y_pred"], rows: [{ period: "2026-01", y_pred: 3 }] });
  });
});

describe("explanationBars", () => {
  const x = {
    target: "probability of MM",
    base: 0.4,
    contributions: [
      { feature: "a", value: 1, shap: 0.05 },
      { feature: "b", value: "x", shap: -0.2 },
      { feature: "c", value: null, shap: 0.1 },
      { feature: "d", value: 2, shap: 0.01 },
    ],
  };
  it("lists contributions largest first, sized against the largest, and adds up to the prediction", () => {
    const { bars, total } = explanationBars(x);
    expect(bars.map((b) => [b.label, b.shap, Math.round(b.size * 1000) / 1000])).toEqual([
      ["b = x", -0.2, 1],
      ["c = —", 0.1, 0.5],
      ["a = 1", 0.05, 0.25],
      ["d = 2", 0.01, 0.05],
    ]);
    expect(total).toBeCloseTo(0.36);
  });
  it("sums the rest into one bar past the top ones", () => {
    const { bars } = explanationBars(x, 2);
    expect(bars.map((b) => b.label)).toEqual(["b = x", "c = —", "2 other features"]);
    expect(bars[2]?.shap).toBeCloseTo(0.06);
  });
});

describe("suggestModelName", () => {
  it("joins dataset and target into a valid registry name", () => {
    expect(suggestModelName("juice@v2", "Purchase")).toBe("juice-Purchase");
    expect(suggestModelName("my data", "price $")).toBe("my-data-price-");
    expect(suggestModelName(null, null)).toBe("model");
  });
});

describe("version comparison", () => {
  it("lines up the parameters of the versions' runs and marks those that differ", () => {
    const rows = paramRows([{ params: { fold: "5", C: "1.0" } }, { params: { fold: "5", C: "0.5", max_iter: "100" } }]);
    expect(rows).toEqual([
      { param: "C", values: ["1.0", "0.5"], differs: true },
      { param: "fold", values: ["5", "5"], differs: false },
      { param: "max_iter", values: [null, "100"], differs: true },
    ]);
  });

  it("reads the version list of the address, dropping what is not a version", () => {
    expect(parseVersionList("3, 1,x,3,0,-2")).toEqual([3, 1]);
    expect(parseVersionList(null)).toEqual([]);
  });
});
