import { describe, expect, it } from "vitest";
import { commonFormat, globPrefix, globToRegExp, isGlob } from "./object-store.ts";

describe("globToRegExp", () => {
  it.each([
    ["sales/2024-*.csv", "sales/2024-01.csv", true],
    ["sales/2024-*.csv", "sales/2024-01/x.csv", false],
    ["sales/*.csv", "sales/.csv", true],
    ["sales/?.csv", "sales/a.csv", true],
    ["sales/?.csv", "sales/ab.csv", false],
    ["**/*.parquet", "a/b/c.parquet", true],
    ["**/*.parquet", "c.parquet", true],
    ["logs/**/*.json", "logs/x.json", true],
    ["logs/**/*.json", "logs/2024/01/x.json", true],
    ["logs/**", "logs/2024/01/x.json", true],
    ["a.b/(x)+[y].csv", "a.b/(x)+[y].csv", true],
    ["a.b/*.csv", "aXb/1.csv", false],
  ])("%s matches %s: %s", (glob, key, expected) => {
    expect(globToRegExp(glob).test(key)).toBe(expected);
  });

  it("lists from the literal folder before the first wildcard", () => {
    expect(globPrefix("sales/2024-*.csv")).toBe("sales/");
    expect(globPrefix("**/*.csv")).toBe("");
    expect(globPrefix("a/b/c.csv")).toBe("a/b/");
    expect(isGlob("a/b/c.csv")).toBe(false);
    expect(isGlob("a/?.csv")).toBe(true);
  });
});

describe("commonFormat", () => {
  it("is the one format of every key, from the extension", () => {
    expect(commonFormat(["a.csv", "b.CSV"])).toBe("csv");
    expect(commonFormat(["a.jsonl", "b.ndjson"])).toBe("ndjson");
  });

  it("refuses mixed formats and keys that are not CSV, TSV, Parquet or JSON", () => {
    expect(() => commonFormat(["a.csv", "b.parquet"])).toThrow(/different formats: 'a.csv' is csv, 'b.parquet' is parquet/);
    expect(() => commonFormat(["a.xlsx"])).toThrow(expect.objectContaining({ code: "unsupported_object_format" }));
    expect(() => commonFormat(["README"])).toThrow(expect.objectContaining({ code: "unsupported_object_format" }));
  });
});
