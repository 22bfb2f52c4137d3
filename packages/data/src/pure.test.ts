import { describe, expect, it } from "vitest";
import { columnKindOf } from "./column-kind.ts";
import { checkColumnNames } from "./column-names.ts";
import { datasetNameFromFilename } from "./dataset-name.ts";
import { columnLetter, excelDateText, plainCellValue } from "./excel.reader.ts";
import { formatFromFilename } from "./formats.ts";
import { toJsonSafe } from "./json-safe.ts";
import { binLayout } from "./profile.ts";
import { sniffBytes } from "./sniff.ts";

describe("datasetNameFromFilename", () => {
  it.each([
    ["Juice Sales.csv", "juice-sales"],
    ["/tmp/uploads/insurance.csv", "insurance"],
    ["C:\\data\\Q3 report (final).xlsx", "q3-report-final"],
    ["Crème brûlée.parquet", "creme-brulee"],
    ["__weird__name__.json", "weird__name"],
    ["...", "dataset"],
    ["データ.csv", "dataset"],
    [`${"x".repeat(100)}.csv`, "x".repeat(64)],
  ])("%s -> %s", (input, expected) => {
    expect(datasetNameFromFilename(input)).toBe(expected);
  });
});

describe("formatFromFilename", () => {
  it.each([
    ["a.csv", "csv"],
    ["A.CSV", "csv"],
    ["a.tsv", "tsv"],
    ["a.parquet", "parquet"],
    ["a.json", "json"],
    ["a.jsonl", "ndjson"],
    ["a.ndjson", "ndjson"],
    ["a.xlsx", "xlsx"],
  ])("%s -> %s", (name, format) => {
    expect(formatFromFilename(name)).toBe(format);
  });

  it("lists the supported extensions for an unknown one", () => {
    expect(() => formatFromFilename("notes.txt")).toThrow(/'\.txt'/);
    try {
      formatFromFilename("notes.txt");
    } catch (e) {
      expect((e as { hint: string }).hint).toContain(".csv, .tsv");
      expect((e as { status: number }).status).toBe(415);
    }
  });

  it("explains old .xls workbooks", () => {
    try {
      formatFromFilename("old.xls");
      expect.unreachable();
    } catch (e) {
      expect((e as { hint: string }).hint).toMatch(/save it as \.xlsx/);
    }
  });
});

describe("columnKindOf", () => {
  it.each([
    ["BIGINT", "integer"],
    ["UTINYINT", "integer"],
    ["DOUBLE", "float"],
    ["DECIMAL(10,2)", "float"],
    ["BOOLEAN", "boolean"],
    ["VARCHAR", "string"],
    ["DATE", "date"],
    ["TIMESTAMP WITH TIME ZONE", "timestamp"],
    ["TIMESTAMP_NS", "timestamp"],
    ["INTEGER[]", "other"],
    ["TIME", "other"],
  ])("%s -> %s", (type, kind) => {
    expect(columnKindOf(type)).toBe(kind);
  });
});

describe("checkColumnNames", () => {
  it("accepts unique names", () => expect(() => checkColumnNames(["a", "b", "c"])).not.toThrow());
  it("names the position of an empty name", () =>
    expect(() => checkColumnNames(["a", " ", "c"])).toThrow(/empty column name at position 2 \(of 3\)/));
  it("treats case variants as duplicates", () =>
    expect(() => checkColumnNames(["Age", "x", "age"])).toThrow(/'age' twice: at positions 1 and 3/));
});

describe("toJsonSafe", () => {
  it.each([
    [12n, "integer", 12],
    [9007199254740993n, "integer", "9007199254740993"],
    [Number.NaN, "float", "NaN"],
    [Number.POSITIVE_INFINITY, "float", "Infinity"],
    [new Date("2024-01-31T00:00:00Z"), "date", "2024-01-31"],
    [new Date("2024-01-31T12:30:00Z"), "timestamp", "2024-01-31T12:30:00.000Z"],
    [null, "string", null],
    [true, "boolean", true],
  ] as const)("%s (%s)", (value, kind, expected) => {
    expect(toJsonSafe(value, kind)).toEqual(expected);
  });
});

describe("excel cells", () => {
  it.each([
    [{ formula: "A1+1", result: 3 }, 3],
    [{ richText: [{ text: "a" }, { text: "b" }] }, "ab"],
    [{ text: "site", hyperlink: "https://example.org" }, "site"],
    [{ error: "#N/A" }, null],
    [new Date("2024-02-03T00:00:00Z"), "2024-02-03 00:00:00"],
    [new Date("2024-02-03T04:05:06Z"), "2024-02-03 04:05:06"],
    [undefined, null],
  ])("%j -> %j", (cell, expected) => {
    expect(plainCellValue(cell)).toEqual(expected);
  });
  it("dates keep milliseconds when present", () =>
    expect(excelDateText(new Date("2024-02-03T04:05:06.250Z"))).toBe("2024-02-03 04:05:06.250"));
  it.each([
    [1, "A"],
    [26, "Z"],
    [27, "AA"],
    [703, "AAA"],
  ])("column %i is %s", (i, letter) => expect(columnLetter(i)).toBe(letter));
});

describe("binLayout", () => {
  it("uses 20 equal bins for floats", () => expect(binLayout(0, 10, false)).toEqual({ lo: 0, width: 0.5, bins: 20 }));
  it("uses one bin per value for small integer ranges", () => expect(binLayout(0, 5, true)).toEqual({ lo: 0, width: 5 / 6, bins: 6 }));
  it("uses 20 bins for wide integer ranges", () => expect(binLayout(18, 64, true).bins).toBe(20));
  it("uses a single bin for a constant column", () => expect(binLayout(3, 3, false)).toEqual({ lo: 3, width: 0, bins: 1 }));
});

describe("sniffBytes", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  it.each([
    ["empty", bytes(), "empty"],
    ["text", new TextEncoder().encode("a,b\n1,2\n"), "text"],
    ["zip", bytes(0x50, 0x4b, 0x03, 0x04, 0, 0), "zip"],
    ["parquet", new TextEncoder().encode("PAR1\0\0"), "parquet"],
    ["UTF-16 with BOM", bytes(0xff, 0xfe, 0x61, 0), "utf16"],
    ["UTF-16 without BOM", new Uint8Array(Buffer.from("a,b\n1,2\n", "utf16le")), "utf16"],
    ["binary", bytes(0x01, 0x02, 0x00, 0x9f, 0x41, 0x00, 0x03, 0x10, 0x11), "binary"],
  ])("%s", (_name, input, type) => {
    expect(sniffBytes(input).type).toBe(type);
  });
});
