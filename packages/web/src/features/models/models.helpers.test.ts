import type { RegisteredModel } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { parseRowsJson, refOptions, resolveModelRef, resultColumns, rowsForPrediction, suggestModelName } from "./models.helpers.ts";

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
});
const model: RegisteredModel = {
  name: "juice",
  description: null,
  createdAt: "2025-01-01T00:00:00Z",
  updatedAt: "2025-01-01T00:00:00Z",
  aliases: { champion: 2 },
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
  it("lists result columns in first-seen order", () => {
    expect(
      resultColumns([
        { a: 1, prediction_label: "CH" },
        { a: 2, b: 3 },
      ]),
    ).toEqual(["a", "prediction_label", "b"]);
  });
});

describe("suggestModelName", () => {
  it("joins dataset and target into a valid registry name", () => {
    expect(suggestModelName("juice@v2", "Purchase")).toBe("juice-Purchase");
    expect(suggestModelName("my data", "price $")).toBe("my-data-price-");
    expect(suggestModelName(null, null)).toBe("model");
  });
});
