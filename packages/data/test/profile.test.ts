import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ColumnProfile } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

const insuranceCsv = resolve(import.meta.dirname, "../../../demo-data/insurance.csv");

// The CSV parsed by the test itself (insurance.csv has no quoted fields), to check DuckDB's numbers independently.
let header: string[];
let records: string[][];
let f: StoreFixture;

beforeAll(async () => {
  const lines = (await readFile(insuranceCsv, "utf8")).trim().split(/\r?\n/);
  header = lines[0]!.split(",");
  records = lines.slice(1).map((l) => l.split(","));
  f = await openStoreFixture();
  await f.store.importFile({ path: insuranceCsv, name: "insurance", source: { kind: "demo" } });
});
afterAll(async () => {
  await f?.close();
});

function numbers(column: string): number[] {
  const i = header.indexOf(column);
  return records.map((r) => Number(r[i]));
}

function sampleStd(xs: number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
}

describe("profile of demo-data/insurance.csv", () => {
  let columns: Map<string, ColumnProfile>;
  beforeAll(async () => {
    const profile = await f.store.profile("insurance", 1);
    expect(profile).toMatchObject({ dataset: "insurance", version: 1, rowCount: records.length });
    columns = new Map(profile.columns.map((c) => [c.name, c]));
    expect([...columns.keys()]).toEqual(header);
  });

  it.each(["age", "bmi", "children", "charges"])("numeric column %s matches values computed from the CSV text", (name) => {
    const xs = numbers(name);
    const c = columns.get(name)!;
    expect(c.count).toBe(xs.length);
    expect(c.nulls).toBe(0);
    expect(c.nullFraction).toBe(0);
    expect(c.distinct).toBe(new Set(xs).size);
    expect(c.min).toBe(Math.min(...xs));
    expect(c.max).toBe(Math.max(...xs));
    expect(c.mean).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / xs.length, 6);
    expect(c.std).toBeCloseTo(sampleStd(xs), 6);
    // Histogram: bins cover [min, max] without gaps and count every value once.
    const h = c.histogram!;
    expect(h[0]!.lo).toBe(c.min);
    expect(h[h.length - 1]!.hi).toBe(c.max);
    for (let i = 1; i < h.length; i++) expect(h[i]!.lo).toBeCloseTo(h[i - 1]!.hi, 9);
    expect(h.reduce((a, b) => a + b.count, 0)).toBe(xs.length);
  });

  it("charges: 20 equal-width bins with the counts computed from the CSV", () => {
    const xs = numbers("charges");
    const min = Math.min(...xs);
    const width = (Math.max(...xs) - min) / 20;
    const expected = new Array(20).fill(0);
    for (const x of xs) expected[Math.min(19, Math.floor((x - min) / width))]++;
    expect(columns.get("charges")!.histogram!.map((b) => b.count)).toEqual(expected);
  });

  it("children: one bin per value for a small integer range", () => {
    const xs = numbers("children");
    const h = columns.get("children")!.histogram!;
    expect(h).toHaveLength(6);
    expect(h.map((b) => b.count)).toEqual([0, 1, 2, 3, 4, 5].map((v) => xs.filter((x) => x === v).length));
  });

  it("string column region: distinct count and top values with their counts", () => {
    const i = header.indexOf("region");
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r[i]!, (counts.get(r[i]!) ?? 0) + 1);
    const c = columns.get("region")!;
    expect(c.kind).toBe("string");
    expect(c.distinct).toBe(counts.size);
    expect(c.mean).toBeNull();
    expect(c.histogram).toBeNull();
    expect(c.min).toBe([...counts.keys()].sort()[0]);
    const expected = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([value, count]) => ({ value, count }));
    expect(c.topValues).toEqual(expected);
  });

  it("top values list at most 10 entries, most frequent first", () => {
    const xs = numbers("age");
    const c = columns.get("age")!;
    expect(c.topValues).toHaveLength(10);
    expect(c.topValues[0]).toEqual({ value: "18", count: xs.filter((x) => x === 18).length });
    for (let i = 1; i < 10; i++) expect(c.topValues[i]!.count).toBeLessThanOrEqual(c.topValues[i - 1]!.count);
  });

  it("is computed once and kept with the version", async () => {
    const row = await f.db
      .selectFrom("dataset_versions")
      .select("profile_json")
      .where("dataset", "=", "insurance")
      .executeTakeFirstOrThrow();
    expect(row.profile_json).not.toBeNull();
    expect(await f.store.profile("insurance", 1)).toEqual(JSON.parse(row.profile_json!));
  });
});

describe("profile of columns with nulls, dates and booleans", () => {
  it("counts nulls and reports dates and booleans sensibly", async () => {
    const path = join(f.dir, "mixed.csv");
    await writeFile(path, "n,d,b,s\n1,2024-01-01,true,a\n,2024-03-05,false,\n3,,true,b\n,2023-12-31,,a\n");
    await f.store.importFile({ path, name: "mixed" });
    const p = await f.store.profile("mixed", 1);
    const [n, d, b, s] = p.columns;
    expect(n).toMatchObject({ kind: "integer", count: 2, nulls: 2, nullFraction: 0.5, distinct: 2, min: 1, max: 3, mean: 2 });
    expect(n!.std).toBeCloseTo(Math.SQRT2, 12);
    expect(d).toMatchObject({ kind: "date", nulls: 1, min: "2023-12-31", max: "2024-03-05", mean: null, histogram: null });
    expect(b).toMatchObject({
      kind: "boolean",
      nulls: 1,
      min: "false",
      max: "true",
      topValues: [
        { value: "true", count: 2 },
        { value: "false", count: 1 },
      ],
    });
    expect(b!.mean).toBeCloseTo(2 / 3, 12);
    expect(s).toMatchObject({
      kind: "string",
      nulls: 1,
      distinct: 2,
      topValues: [
        { value: "a", count: 2 },
        { value: "b", count: 1 },
      ],
    });
  });
});

describe("correlations and missing-value pattern", () => {
  function pearson(xs: number[], ys: number[]): number {
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < xs.length; i++) {
      sxy += (xs[i]! - mx) * (ys[i]! - my);
      sxx += (xs[i]! - mx) ** 2;
      syy += (ys[i]! - my) ** 2;
    }
    return sxy / Math.sqrt(sxx * syy);
  }

  it("correlates every pair of numeric columns as Pearson's r computed from the CSV text", async () => {
    const p = await f.store.profile("insurance", 1);
    const cols = ["age", "bmi", "children", "charges"];
    expect(p.correlations!.columns).toEqual(cols);
    const m = p.correlations!.matrix;
    cols.forEach((a, i) => {
      cols.forEach((b, j) => {
        expect(m[i]![j]).toBeCloseTo(i === j ? 1 : pearson(numbers(a), numbers(b)), 9);
      });
    });
  });

  it("groups rows by which columns are null, most frequent pattern first, with nulls per column", async () => {
    const p = await f.store.profile("mixed", 1);
    // Rows: complete; n and s null; d null; n and b null.
    expect(p.missing).toEqual({
      columns: ["n", "d", "b", "s"],
      nullsPerColumn: [
        { column: "n", nulls: 2 },
        { column: "d", nulls: 1 },
        { column: "b", nulls: 1 },
        { column: "s", nulls: 1 },
      ],
      patterns: expect.arrayContaining([
        { missing: [], count: 1 },
        { missing: ["n", "s"], count: 1 },
        { missing: ["d"], count: 1 },
        { missing: ["n", "b"], count: 1 },
      ]),
      otherRows: 0,
    });
    expect(p.missing!.patterns).toHaveLength(4);
    const full = await f.store.profile("insurance", 1);
    expect(full.missing!.patterns).toEqual([{ missing: [], count: records.length }]);
  });

  it("recomputes a profile stored in the older shape (no correlations, no missing pattern)", async () => {
    const current = await f.store.profile("insurance", 1);
    const { shape: _s, correlations: _c, missing: _m, ...old } = current;
    await f.db
      .updateTable("dataset_versions")
      .set({ profile_json: JSON.stringify(old) })
      .where("dataset", "=", "insurance")
      .execute();
    const again = await f.store.profile("insurance", 1);
    expect(again).toEqual(current);
    const row = await f.db
      .selectFrom("dataset_versions")
      .select("profile_json")
      .where("dataset", "=", "insurance")
      .executeTakeFirstOrThrow();
    expect(JSON.parse(row.profile_json!).shape).toBe(current.shape);
  });
});

describe("preview", () => {
  it("pages through rows in file order", async () => {
    const first = await f.store.preview("insurance", 1, { offset: 0, limit: 50 });
    expect(first).toMatchObject({ offset: 0, limit: 50, total: records.length });
    expect(first.columns.map((c) => c.name)).toEqual(header);
    expect(first.rows).toHaveLength(50);
    const page = await f.store.preview("insurance", 1, { offset: 100, limit: 25 });
    expect(page.rows).toHaveLength(25);
    // Compare with the CSV text: numbers as numbers, smoker (yes/no) as text.
    page.rows.forEach((row, k) => {
      const csv = records[100 + k]!;
      expect(row).toEqual(csv.map((v, i) => (["sex", "smoker", "region"].includes(header[i]!) ? v : Number(v))));
    });
    const last = await f.store.preview("insurance", 1, { offset: records.length - 10, limit: 50 });
    expect(last.rows).toHaveLength(10);
    expect((await f.store.preview("insurance", 1, { offset: records.length, limit: 50 })).rows).toEqual([]);
  });

  it("returns JSON-safe values: big integers as strings, dates as ISO strings", async () => {
    const path = join(f.dir, "types.csv");
    await writeFile(path, "big,small,day,at\n9007199254740993,5,2024-02-29,2024-02-29 13:45:00\n1,6,2024-03-01,2024-03-01 00:00:01\n");
    await f.store.importFile({ path, name: "types" });
    const page = await f.store.preview("types", 1, { offset: 0, limit: 10 });
    expect(page.columns.map((c) => c.kind)).toEqual(["integer", "integer", "date", "timestamp"]);
    expect(page.rows).toEqual([
      ["9007199254740993", 5, "2024-02-29", "2024-02-29T13:45:00.000Z"],
      [1, 6, "2024-03-01", "2024-03-01T00:00:01.000Z"],
    ]);
    expect(JSON.parse(JSON.stringify(page))).toEqual(page);
  });
});

describe("columnFacts", () => {
  it("describes a target column, or says it does not exist", async () => {
    expect(await f.store.columnFacts("insurance", 1, "smoker")).toEqual({
      exists: true,
      nulls: 0,
      distinct: 2,
      count: records.length,
      kind: "string",
    });
    expect(await f.store.columnFacts("insurance", 1, "charges")).toMatchObject({
      exists: true,
      kind: "float",
      distinct: new Set(numbers("charges")).size,
    });
    expect(await f.store.columnFacts("insurance", 1, "Charges")).toMatchObject({ exists: false, kind: null });
    expect(await f.store.columnFacts("mixed", 1, "n")).toEqual({ exists: true, nulls: 2, distinct: 2, count: 4, kind: "integer" });
  });
});

describe("exportCsv", () => {
  it("writes a CSV that imports back to the same content", async () => {
    const path = await f.store.exportCsv("insurance", 1);
    expect(path).toBe(join(f.root, "insurance", "v1.safe.csv"));
    expect(await f.store.exportCsv("insurance", 1)).toBe(path);
    const text = await readFile(path, "utf8");
    expect(text.split("\n")[0]).toBe(header.join(","));
    const again = await f.store.importFile({ path, name: "insurance" });
    expect(again.created).toBe(false);
  });
});
