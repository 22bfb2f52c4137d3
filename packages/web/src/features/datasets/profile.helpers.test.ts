import type { ColumnProfile } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { columnFlags, compactNumber, histogramPoints, topValueShares } from "./profile.helpers.ts";

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
