import type { ColumnProfile, DatasetProfile } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  columnFlags,
  compactNumber,
  correlationChart,
  histogramPoints,
  missingPatternRows,
  nullsChart,
  topValueShares,
} from "./profile.helpers.ts";

const col = (over: Partial<ColumnProfile>): ColumnProfile => ({
  name: "c",
  kind: "string",
  duckdbType: "VARCHAR",
  count: 100,
  nulls: 0,
  nullFraction: 0,
  distinct: 2,
  min: null,
  max: null,
  mean: null,
  std: null,
  topValues: [],
  histogram: null,
  ...over,
});

describe("compactNumber", () => {
  it.each([
    [0, "0"],
    [12, "12"],
    [1234, "1.23k"],
    [16884.924, "16.9k"],
    [2_500_000, "2.5M"],
    [0.0123, "0.012"],
    [-1500, "-1.5k"],
  ])("%s -> %s", (v, s) => expect(compactNumber(v)).toBe(s));
});

describe("histogramPoints", () => {
  it("labels bins by their lower edge and keeps the range for tooltips", () => {
    expect(
      histogramPoints([
        { lo: 0, hi: 1000, count: 3 },
        { lo: 1000, hi: 2000, count: 5 },
      ]),
    ).toEqual([
      { label: "0", range: "0 – 1,000", count: 3 },
      { label: "1k", range: "1,000 – 2,000", count: 5 },
    ]);
  });
});

describe("topValueShares", () => {
  it("divides by the non-null count and names nulls", () => {
    const c = col({
      count: 10,
      nulls: 2,
      topValues: [
        { value: "CH", count: 6 },
        { value: null, count: 2 },
      ],
    });
    expect(topValueShares(c)).toEqual([
      { value: "CH", count: 6, share: 0.75 },
      { value: "null", count: 2, share: 0.25 },
    ]);
  });
});

describe("columnFlags", () => {
  it("flags missing values, constants and id-like columns", () => {
    expect(columnFlags(col({ nulls: 5, nullFraction: 0.05 }), 100)).toEqual(["5.0% missing"]);
    expect(columnFlags(col({ distinct: 1 }), 100)).toEqual(["constant"]);
    expect(columnFlags(col({ kind: "integer", distinct: 100 }), 100)).toEqual(["unique (an id?)"]);
    expect(columnFlags(col({ kind: "float", distinct: 100 }), 100)).toEqual([]);
  });
});

describe("profile charts", () => {
  const profile: DatasetProfile = {
    dataset: "d",
    version: 1,
    rowCount: 10,
    columns: [],
    shape: 2,
    correlations: {
      columns: ["a", "b", "k"],
      matrix: [
        [1, 0.876, null],
        [0.876, 1, null],
        [null, null, null],
      ],
    },
    missing: {
      columns: ["a", "s"],
      nullsPerColumn: [
        { column: "a", nulls: 3 },
        { column: "b", nulls: 0 },
        { column: "s", nulls: 1 },
      ],
      patterns: [
        { missing: [], count: 6 },
        { missing: ["a"], count: 3 },
        { missing: ["a", "s"], count: 1 },
      ],
      otherRows: 0,
    },
  };

  it("correlations become a labelled heatmap with two decimals", () => {
    const chart = correlationChart(profile)!;
    expect(chart.x.categories).toEqual(["a", "b", "k"]);
    expect(chart.values[0]).toEqual([1, 0.88, null]);
    expect(correlationChart({ ...profile, correlations: { columns: ["a"], matrix: [[1]] } })).toBeNull();
    expect(correlationChart({ ...profile, correlations: undefined })).toBeNull();
  });

  it("nulls per column become bars over the columns that have any", () => {
    expect(nullsChart(profile)!.series[0]!.points).toEqual([
      ["a", 3],
      ["s", 1],
    ]);
    expect(nullsChart({ ...profile, missing: { ...profile.missing!, nullsPerColumn: [{ column: "a", nulls: 0 }] } })).toBeNull();
  });

  it("patterns become rows of marks with their share of rows", () => {
    expect(missingPatternRows(profile)).toEqual([
      { key: "(complete)", marks: [false, false], count: 6, share: 0.6 },
      { key: "a", marks: [true, false], count: 3, share: 0.3 },
      { key: "a\u0000s", marks: [true, true], count: 1, share: 0.1 },
    ]);
  });
});
