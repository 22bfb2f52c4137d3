import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

// One small table, written by the test in every supported format.
const header = ["id", "name", "score", "joined", "active"];
const rows: [number, string, number, string, boolean][] = [
  [1, "Ann", 1.5, "2024-01-31", true],
  [2, "Bo, Jr.", -2.25, "2023-12-01", false],
  [3, 'Cy "the" guy', 1000000.125, "2022-02-28", true],
  [4, "Dée", 0, "2021-07-04", false],
];
const expectedKinds = ["integer", "string", "float", "date", "boolean"];

function csvField(v: unknown): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

let f: StoreFixture;
let dir: string;

beforeAll(async () => {
  f = await openStoreFixture();
  dir = f.dir;
  await writeFile(join(dir, "t.csv"), `${[header, ...rows].map((r) => r.map(csvField).join(",")).join("\n")}\n`);
  await writeFile(join(dir, "t.tsv"), `${[header, ...rows].map((r) => r.join("\t")).join("\n")}\n`);
  const objects = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
  await writeFile(join(dir, "t.json"), JSON.stringify(objects, null, 2));
  await writeFile(join(dir, "t.ndjson"), `${objects.map((o) => JSON.stringify(o)).join("\n")}\n`);
  // Parquet written by an independent DuckDB instance with explicit types.
  const duck = await DuckDBInstance.create(":memory:");
  const conn = await duck.connect();
  const values = rows.map((r) => `(${r[0]}, '${r[1].replaceAll("'", "''")}', ${r[2]}, DATE '${r[3]}', ${r[4]})`).join(", ");
  await conn.run(
    `COPY (SELECT * FROM (VALUES ${values}) AS v(id, name, score, joined, active)) TO '${join(dir, "t.parquet")}' (FORMAT parquet)`,
  );
  conn.closeSync();
  duck.closeSync();
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(XLSX_SHEET);
  ws.addRow(header);
  for (const r of rows) ws.addRow([r[0], r[1], r[2], new Date(`${r[3]}T00:00:00Z`), r[4]]);
  wb.addWorksheet("ignored").addRow(["not", "read"]);
  await wb.xlsx.writeFile(join(dir, "t.xlsx"));
});

afterAll(async () => {
  await f?.close();
});

const XLSX_SHEET = "data";

describe.each(["csv", "tsv", "json", "ndjson", "parquet", "xlsx"] as const)("importing %s", (format) => {
  it("stores a version with the schema, row count and values of the source", async () => {
    const events: string[] = [];
    const result = await f.store.importFile({
      path: join(dir, `t.${format}`),
      name: `t-${format}`,
      filename: `t.${format}`,
      source: { kind: "upload" },
      onProgress: (p) => events.push(p.stage),
    });
    expect(result.created).toBe(true);
    const v = result.version;
    expect(v).toMatchObject({ dataset: `t-${format}`, version: 1, rowCount: rows.length, columnCount: header.length });
    // A workbook's version records the sheet it was read from.
    expect(v.source).toEqual({ kind: "upload", format, filename: `t.${format}`, ...(format === "xlsx" ? { sheet: XLSX_SHEET } : {}) });
    expect(v.columns.map((c) => c.name)).toEqual(header);
    expect(v.columns.map((c) => c.kind)).toEqual(expectedKinds);
    expect(v.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(v.sizeBytes).toBeGreaterThan(0);
    expect(events).toEqual(expect.arrayContaining(["reading", "writing", "hashing", "storing", "done"]));

    const page = await f.store.preview(`t-${format}`, 1, { offset: 0, limit: 10 });
    expect(page.rows).toEqual(rows);
    const stored = await f.store.getVersion(`t-${format}`);
    expect(stored.path).toBe(join(f.root, `t-${format}`, "v1.parquet"));
  });
});

describe("content hash", () => {
  it("is the same for the same table whatever the source format", async () => {
    const hashes = new Set<string>();
    for (const format of ["csv", "tsv", "json", "ndjson", "parquet", "xlsx"]) {
      hashes.add((await f.store.getVersion(`t-${format}`)).contentHash);
    }
    // Parquet here stores INTEGER (not BIGINT) for id; the hash uses logical kinds, so it still agrees.
    expect(hashes.size).toBe(1);
  });

  it("differs when one value differs", async () => {
    const changed = rows.map((r) => [...r]);
    changed[2]![2] = 1000000.126;
    await writeFile(join(dir, "changed.csv"), `${[header, ...changed].map((r) => r.map(csvField).join(",")).join("\n")}\n`);
    const r = await f.store.importFile({ path: join(dir, "changed.csv"), name: "changed" });
    expect(r.version.contentHash).not.toBe((await f.store.getVersion("t-csv")).contentHash);
  });
});

describe("type inference", () => {
  it("keeps yes/no text as text and true/false as boolean, like pandas", async () => {
    await writeFile(join(dir, "flags.csv"), "yn,tf,tf2\nyes,true,TRUE\nno,false,False\n");
    const r = await f.store.importFile({ path: join(dir, "flags.csv"), name: "flags" });
    expect(r.version.columns.map((c) => c.kind)).toEqual(["string", "boolean", "boolean"]);
    expect((await f.store.preview("flags", 1, { offset: 0, limit: 5 })).rows).toEqual([
      ["yes", true, true],
      ["no", false, false],
    ]);
  });

  it("keeps a column text when a yes or t appears late among true/false values, and the other booleans boolean", async () => {
    const lines = ["late,flag,n"];
    for (let i = 0; i < 30_000; i++) lines.push(`${i % 2 === 0 ? "true" : "False"},${i % 3 === 0 ? "TRUE" : "false"},${i}`);
    lines.push("yes,true,30000", ",,30001");
    await writeFile(join(dir, "late-flags.csv"), `${lines.join("\n")}\n`);
    const r = await f.store.importFile({ path: join(dir, "late-flags.csv"), name: "late-flags" });
    expect(r.version.columns.map((c) => [c.name, c.kind])).toEqual([
      ["late", "string"],
      ["flag", "boolean"],
      ["n", "integer"],
    ]);
    expect(r.version.rowCount).toBe(30_002);
    const tail = await f.store.preview("late-flags", 1, { offset: 29_999, limit: 5 });
    expect(tail.rows).toEqual([
      ["False", false, 29_999],
      ["yes", true, 30_000],
      [null, null, 30_001],
    ]);
  });

  it("infers from every row, so a late text value makes the column text", async () => {
    const lines = ["code"];
    for (let i = 0; i < 30_000; i++) lines.push(String(i));
    lines.push("X-1");
    await writeFile(join(dir, "late.csv"), `${lines.join("\n")}\n`);
    const r = await f.store.importFile({ path: join(dir, "late.csv"), name: "late" });
    expect(r.version.columns[0]).toMatchObject({ name: "code", kind: "string" });
    expect(r.version.rowCount).toBe(30_001);
  });

  it("types a column from every row when the sampled rows cannot decide it: empty at first, a late decimal, a late date in another form", async () => {
    // Past the 20,480 rows DuckDB's sniffer samples: the import reads with the sampled types, meets a value
    // that does not fit (or found a column with no value to type), and infers from every row instead.
    const lines = ["id,later,amount,day"];
    for (let i = 0; i < 25_000; i++) lines.push(`${i},,${i},2024-01-${String((i % 28) + 1).padStart(2, "0")}`);
    lines.push("25000,7,2.5,03/02/2024", "25001,8,3,2024-02-04");
    await writeFile(join(dir, "sampled.csv"), `${lines.join("\n")}\n`);
    const r = await f.store.importFile({ path: join(dir, "sampled.csv"), name: "sampled" });
    expect(r.version.columns.map((c) => [c.name, c.kind])).toEqual([
      ["id", "integer"],
      ["later", "integer"],
      ["amount", "float"],
      ["day", "string"],
    ]);
    expect(r.version.rowCount).toBe(25_002);
    const tail = await f.store.preview("sampled", 1, { offset: 24_999, limit: 5 });
    expect(tail.rows).toEqual([
      [24_999, null, 24_999, "2024-01-24"],
      [25_000, 7, 2.5, "03/02/2024"],
      [25_001, 8, 3, "2024-02-04"],
    ]);
    // The same file with the late rows fitting the sampled types is read in one pass (schema, then one copy).
    const fits = ["id,amount,day", ...lines.slice(1, 25_001).map((l) => l.replace(/^(\d+),,/, "$1,")), "25000,25000,2024-02-03"];
    await writeFile(join(dir, "fits.csv"), `${fits.join("\n")}\n`);
    const one = await f.store.importFile({ path: join(dir, "fits.csv"), name: "fits" });
    expect(one.version.columns.map((c) => c.kind)).toEqual(["integer", "integer", "date"]);
  });

  it("stores mixed JSON values as text and keeps missing keys as null", async () => {
    await writeFile(join(dir, "mixed.ndjson"), '{"a": 1, "b": "x"}\n{"a": "two"}\n');
    const r = await f.store.importFile({ path: join(dir, "mixed.ndjson"), name: "mixed" });
    expect(r.version.columns).toEqual([
      { name: "a", kind: "string", duckdbType: "VARCHAR", nullable: false },
      { name: "b", kind: "string", duckdbType: "VARCHAR", nullable: true },
    ]);
    expect((await f.store.preview("mixed", 1, { offset: 0, limit: 5 })).rows).toEqual([
      ["1", "x"],
      ["two", null],
    ]);
  });

  it("stores Excel date cells as DATE, or TIMESTAMP when any has a time of day", async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet("s");
    ws.addRow(["day", "at"]);
    ws.addRow([new Date("2024-01-01T00:00:00Z"), new Date("2024-01-01T00:00:00Z")]);
    ws.addRow([new Date("2024-01-02T00:00:00Z"), new Date("2024-01-02T10:30:00Z")]);
    await wb.xlsx.writeFile(join(dir, "dates.xlsx"));
    const r = await f.store.importFile({ path: join(dir, "dates.xlsx"), name: "dates" });
    expect(r.version.columns.map((c) => c.duckdbType)).toEqual(["DATE", "TIMESTAMP"]);
    expect((await f.store.preview("dates", 1, { offset: 0, limit: 5 })).rows).toEqual([
      ["2024-01-01", "2024-01-01T00:00:00.000Z"],
      ["2024-01-02", "2024-01-02T10:30:00.000Z"],
    ]);
  });

  it("reads only the first sheet of a multi-sheet workbook, without leaking open files", async () => {
    const wb = new ExcelJS.Workbook();
    const first = wb.addWorksheet("first");
    first.addRow(["x"]);
    for (let i = 0; i < 100; i++) first.addRow([i]);
    wb.addWorksheet("second").addRow(["y"]);
    wb.addWorksheet("third").addRow(["z"]);
    const openFiles = () => readdirSync("/proc/self/fd").length;
    let before = 0;
    for (let i = 0; i < 4; i++) {
      first.addRow([1000 + i]);
      await wb.xlsx.writeFile(join(dir, `multi${i}.xlsx`));
      if (i === 1) before = openFiles();
      const r = await f.store.importFile({ path: join(dir, `multi${i}.xlsx`), name: "multi" });
      expect(r.version).toMatchObject({ version: i + 1, rowCount: 101 + i, columns: [expect.objectContaining({ name: "x" })] });
    }
    if (process.platform === "linux") expect(openFiles()).toBeLessThanOrEqual(before);
  });

  it("reads the sheet an import names, refuses a sheet the workbook does not have with its list, and records the sheet", async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet("Sales 2024").addRows([["x"], [1], [2]]);
    wb.addWorksheet("Q&A <notes>").addRows([
      ["question", "answer"],
      ["why", 42],
    ]);
    wb.addWorksheet("third").addRows([["z"], [true]]);
    const path = join(dir, "sheets.xlsx");
    await wb.xlsx.writeFile(path);

    const first = await f.store.importFile({ path, name: "sheets" });
    expect(first.version).toMatchObject({ rowCount: 2, columns: [expect.objectContaining({ name: "x" })] });
    expect(first.version.source.sheet).toBe("Sales 2024");

    const second = await f.store.importFile({ path, name: "sheets", sheet: "Q&A <notes>" });
    expect(second.version).toMatchObject({ version: 2, rowCount: 1, source: { sheet: "Q&A <notes>", format: "xlsx" } });
    expect(second.version.columns.map((c) => c.name)).toEqual(["question", "answer"]);
    expect((await f.store.preview("sheets", 2, { offset: 0, limit: 5 })).rows).toEqual([["why", 42]]);

    await expect(f.store.importFile({ path, name: "sheets", sheet: "sales 2024" })).rejects.toMatchObject({
      status: 422,
      code: "sheet_not_found",
      message: "The workbook has no sheet named 'sales 2024'; its sheets are 'Sales 2024', 'Q&A <notes>', 'third'",
      hint: expect.stringContaining("--sheet NAME"),
    });
    const csv = join(dir, "plain.csv");
    await writeFile(csv, "a\n1\n");
    await expect(f.store.importFile({ path: csv, name: "plain", sheet: "x" })).rejects.toMatchObject({
      status: 422,
      code: "sheet_not_applicable",
    });
    expect((await f.store.get("sheets")).versions).toHaveLength(2);
  });

  it("reads Excel formulas by their cached result and skips blank rows", async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet("s");
    ws.addRow(["x", "double"]);
    ws.addRow([2, { formula: "A2*2", result: 4 }]);
    ws.addRow([]);
    ws.getRow(4).values = [3, { formula: "A4*2", result: 6 }];
    await wb.xlsx.writeFile(join(dir, "formula.xlsx"));
    const r = await f.store.importFile({ path: join(dir, "formula.xlsx"), name: "formula" });
    expect((await f.store.preview("formula", 1, { offset: 0, limit: 5 })).rows).toEqual([
      [2, 4],
      [3, 6],
    ]);
    expect(r.version.rowCount).toBe(2);
  });
});

describe("CSV dialect", () => {
  it("handles column names that need quoting in SQL", async () => {
    await writeFile(join(dir, "names.csv"), '"we""ird",select,Größe in cm,"a,b"\n1,x,180.5,y\n2,z,170,w\n');
    const r = await f.store.importFile({ path: join(dir, "names.csv"), name: "names" });
    expect(r.version.columns.map((c) => c.name)).toEqual(['we"ird', "select", "Größe in cm", "a,b"]);
    expect((await f.store.preview("names", 1, { offset: 0, limit: 5 })).rows[1]).toEqual([2, "z", 170, "w"]);
    const p = await f.store.profile("names", 1);
    expect(p.columns.map((c) => c.distinct)).toEqual([2, 2, 2, 2]);
    expect(await f.store.columnFacts("names", 1, 'we"ird')).toMatchObject({ exists: true, distinct: 2 });
  });

  it("reads Excel's 'CSV UTF-8' (byte-order mark) like plain UTF-8", async () => {
    await writeFile(join(dir, "bom.csv"), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("Name,n\nAnn,1\n")]));
    await writeFile(join(dir, "nobom.csv"), "Name,n\nAnn,1\n");
    const a = await f.store.importFile({ path: join(dir, "bom.csv"), name: "bom" });
    const b = await f.store.importFile({ path: join(dir, "nobom.csv"), name: "nobom" });
    expect(a.version.columns.map((c) => c.name)).toEqual(["Name", "n"]);
    expect(a.version.contentHash).toBe(b.version.contentHash);
  });

  it("reads a semicolon-separated .csv when the header has semicolons and no comma", async () => {
    await writeFile(join(dir, "semi.csv"), "city;price\nLyon;1,5\nNice;2\n");
    const r = await f.store.importFile({ path: join(dir, "semi.csv"), name: "semi" });
    expect(r.version.columns.map((c) => c.name)).toEqual(["city", "price"]);
    expect((await f.store.preview("semi", 1, { offset: 0, limit: 5 })).rows).toEqual([
      ["Lyon", "1,5"],
      ["Nice", "2"],
    ]);
  });

  it("keeps lines starting with '#' and never takes a later line as the header", async () => {
    await writeFile(join(dir, "hash.csv"), "tag,n\n#x,2\n#y,3\nz,4\n");
    const r = await f.store.importFile({ path: join(dir, "hash.csv"), name: "hash" });
    expect(r.version.rowCount).toBe(3);
    expect((await f.store.preview("hash", 1, { offset: 0, limit: 5 })).rows.map((row) => row[0])).toEqual(["#x", "#y", "z"]);
  });
});

describe("Parquet written by other tools", () => {
  it("drops pandas' index column and shows FLOAT values by their shortest decimal", async () => {
    const duck = await DuckDBInstance.create(":memory:");
    const conn = await duck.connect();
    const path = join(dir, "pandas.parquet");
    await conn.run(
      `COPY (SELECT * FROM (VALUES (1, 0.1::FLOAT, 5), (2, 0.3::FLOAT, 6), (3, 0.2::FLOAT, 7)) AS v(i, prediction_score, __index_level_0__)) TO '${path}' (FORMAT parquet)`,
    );
    conn.closeSync();
    duck.closeSync();
    const r = await f.store.importFile({ path, name: "pandas" });
    expect(r.version.columns.map((c) => [c.name, c.duckdbType])).toEqual([
      ["i", "INTEGER"],
      ["prediction_score", "FLOAT"],
    ]);
    expect((await f.store.preview("pandas", 1, { offset: 0, limit: 5 })).rows).toEqual([
      [1, 0.1],
      [2, 0.3],
      [3, 0.2],
    ]);
    const score = (await f.store.profile("pandas", 1)).columns[1]!;
    expect(score).toMatchObject({ min: 0.1, max: 0.3 });
    expect(score.histogram!.reduce((a, b) => a + b.count, 0)).toBe(3);
  });
});
