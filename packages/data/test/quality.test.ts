import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DatasetVersion, QualityCheck, QualityRuleResult, RowBatch } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunnableRule, runQualityRules } from "../src/quality.ts";
import { suggestRules } from "../src/quality-suggest.ts";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

let f: StoreFixture;
let version: Awaited<ReturnType<StoreFixture["store"]["getVersion"]>>;
const NOW = new Date("2024-03-10T12:00:00Z");

beforeAll(async () => {
  f = await openStoreFixture();
  const path = join(f.dir, "orders.csv");
  await writeFile(
    path,
    [
      "order_id,price,status,code,placed_at,note",
      "1,10.5,paid,AB-1,2024-03-10 06:00:00,x",
      "2,999,paid,AB-2,2024-03-09 12:00:00,",
      "3,1200,refunded,AB-3,2024-03-08 00:00:00,y",
      "4,-3,paid,zz,2024-03-01 00:00:00,",
      "4,50,lost,AB-5,2024-03-02 00:00:00,z",
      "",
    ].join("\n"),
  );
  await f.store.importFile({ path, name: "orders" });
  version = await f.store.getVersion("orders", 1);
  const people = join(f.dir, "people.csv");
  const lines = ["customer_id,age,plan,comment"];
  for (let i = 1; i <= 20; i++) lines.push(`${i},${20 + i},${i % 2 ? "basic" : "pro"},${i % 3 ? "" : `c${i}`}`);
  await writeFile(people, `${lines.join("\n")}\n`);
  await f.store.importFile({ path: people, name: "people" });
});
afterAll(async () => {
  await f?.close();
});

let n = 0;
async function run(check: QualityCheck, extra: { now?: Date; sqlTimeoutMs?: number } = {}): Promise<QualityRuleResult> {
  const rule: RunnableRule = { id: `r${++n}`, name: `rule ${n}`, check, severity: "blocking" };
  const [result] = await runQualityRules([rule], {
    parquetPath: version.path,
    columns: version.columns,
    rowCount: version.rowCount,
    versionCreatedAt: version.createdAt,
    workDir: join(f.dir, `q${n}`),
    now: extra.now ?? NOW,
    ...(extra.sqlTimeoutMs ? { sqlTimeoutMs: extra.sqlTimeoutMs } : {}),
  });
  return result!;
}

describe("quality rules on a real DuckDB", () => {
  it("not null: passes on a full column, fails with the null rows as examples", async () => {
    expect(await run({ type: "not_null", column: "price" })).toMatchObject({ passed: true, failing: 0 });
    const r = await run({ type: "not_null", column: "note" });
    expect(r).toMatchObject({ passed: false, failing: 2, message: "2 rows are null" });
    expect(r.examples.map((e) => e.order_id)).toEqual([2, 4]);
  });

  it("unique: passes on distinct values, fails naming the repeated value", async () => {
    expect(await run({ type: "unique", column: "code" })).toMatchObject({ passed: true });
    const r = await run({ type: "unique", column: "order_id" });
    expect(r).toMatchObject({ passed: false, failing: 2, examples: [{ value: 4, rows: 2 }] });
    expect(r.message).toBe("2 rows share a value with another row (1 repeated value)");
  });

  it("range: counts rows below min or above max", async () => {
    expect(await run({ type: "range", column: "price", min: -10, max: 1200 })).toMatchObject({ passed: true });
    const r = await run({ type: "range", column: "price", min: 0, max: 1000 });
    expect(r).toMatchObject({ passed: false, failing: 2, message: "2 rows out of range" });
    expect(r.examples.map((e) => e.price).sort()).toEqual([-3, 1200]);
    expect(await run({ type: "range", column: "price", min: 0 })).toMatchObject({ failing: 1 });
    expect(await run({ type: "range", column: "status", max: 1 })).toMatchObject({
      passed: false,
      message: "column 'status' is string, not numeric",
    });
  });

  it("allowed values: counts rows with another value", async () => {
    expect(await run({ type: "allowed_values", column: "status", values: ["paid", "refunded", "lost"] })).toMatchObject({ passed: true });
    const r = await run({ type: "allowed_values", column: "status", values: ["paid", "refunded"] });
    expect(r).toMatchObject({ passed: false, failing: 1, examples: [{ order_id: 4, status: "lost" }] });
  });

  it("regex: uses a full match, and reports a bad pattern instead of throwing", async () => {
    expect(await run({ type: "regex", column: "code", pattern: "[A-Z]{2}-\\d+|zz" })).toMatchObject({ passed: true });
    // A full match: "AB-1" contains "B-1" but is not all of it.
    expect(await run({ type: "regex", column: "code", pattern: "B-\\d" })).toMatchObject({ passed: false, failing: 5 });
    expect(await run({ type: "regex", column: "code", pattern: "[A-Z]{2}-\\d+" })).toMatchObject({
      failing: 1,
      examples: [{ code: "zz" }],
    });
    const bad = await run({ type: "regex", column: "code", pattern: "(" });
    expect(bad.passed).toBe(false);
    expect(bad.message).toMatch(/not a valid regular expression/);
  });

  it("row count: inside and outside the range", async () => {
    expect(await run({ type: "row_count", min: 5, max: 5 })).toMatchObject({ passed: true, message: "5 rows (expected 5 to 5)" });
    expect(await run({ type: "row_count", min: 100 })).toMatchObject({
      passed: false,
      failing: 1,
      message: "5 rows (expected at least 100)",
    });
  });

  it("freshness: the newest timestamp, or the version's own age", async () => {
    expect(await run({ type: "freshness", column: "placed_at", maxAgeHours: 12 })).toMatchObject({ passed: true });
    const stale = await run({ type: "freshness", column: "placed_at", maxAgeHours: 1 });
    expect(stale).toMatchObject({ passed: false, failing: 1 });
    expect(stale.message).toBe("the newest placed_at (2024-03-10T06:00:00.000Z) is 6 hours old (at most 1 hours allowed)");
    const created = new Date(version.createdAt);
    expect(await run({ type: "freshness", maxAgeHours: 24 }, { now: new Date(created.getTime() + 3_600_000) })).toMatchObject({
      passed: true,
    });
    expect(await run({ type: "freshness", maxAgeHours: 24 }, { now: new Date(created.getTime() + 3 * 86_400_000) })).toMatchObject({
      passed: false,
    });
    expect(await run({ type: "freshness", column: "price", maxAgeHours: 1 })).toMatchObject({ passed: false });
  });

  it("custom SQL: the rows the query returns fail the rule", async () => {
    expect(await run({ type: "sql", sql: "SELECT * FROM data WHERE price > 5000" })).toMatchObject({ passed: true, failing: 0 });
    const r = await run({
      type: "sql",
      sql: "-- refunds must be small\nWITH r AS (SELECT * FROM data WHERE status = 'refunded') SELECT order_id, price FROM r WHERE price > 100;",
    });
    expect(r).toMatchObject({ passed: false, failing: 1, examples: [{ order_id: 3, price: 1200 }] });
  });

  it("custom SQL: the sandbox refuses other files, and more than one statement", async () => {
    for (const sql of [
      "SELECT * FROM read_csv('/etc/passwd')",
      // Another dataset's Parquet file, which a plain DuckDB would read.
      `SELECT * FROM read_parquet('${join(f.root, "people", "v1.parquet")}')`,
      "SELECT * FROM glob('/etc/*')",
    ]) {
      const r = await run({ type: "sql", sql });
      expect(r.passed, sql).toBe(false);
      expect(r.message, sql).toMatch(/could not run: .*(Permission|disabled|not allowed)/i);
      expect(r.examples).toEqual([]);
    }
    const two = await run({ type: "sql", sql: "SELECT 1; SELECT 2" });
    expect(two).toMatchObject({ passed: false, message: "the SQL must be one SELECT or WITH statement" });
    const sneaky = await run({ type: "sql", sql: "SELECT 1) AS x; COPY (SELECT 1) TO '/tmp/x.csv' --" });
    expect(sneaky.passed).toBe(false);
    // DuckDB's catalog would show the server path of the version's file: refused before it runs.
    for (const sql of ["SELECT sql FROM duckdb_views()", "SELECT * FROM data WHERE current_setting('temp_directory') IS NOT NULL"]) {
      const r = await run({ type: "sql", sql });
      expect(r, sql).toMatchObject({ passed: false, failing: 0, examples: [] });
      expect(r.message, sql).toMatch(/reads DuckDB's own catalog or settings/);
    }
  });

  it("custom SQL: a query past its time limit is stopped and reported", async () => {
    const slow = "SELECT count(*) AS c FROM range(100000000000) a WHERE a.range % 7 = 8 HAVING c >= 0";
    const started = Date.now();
    const r = await run({ type: "sql", sql: slow }, { sqlTimeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r).toMatchObject({ passed: false, message: "the SQL ran longer than 0.3 s and was stopped" });
  });

  it("a rule naming a column the version lacks fails and says so", async () => {
    expect(await run({ type: "not_null", column: "nope" })).toMatchObject({
      passed: false,
      message: "column 'nope' is not in this version",
    });
  });
});

describe("suggested rules", () => {
  it("suggests not null, unique ids, ranges and allowed values from the profile", async () => {
    const profile = await f.store.profile("people", 1);
    expect(suggestRules(profile)).toEqual([
      { type: "not_null", column: "customer_id" },
      { type: "unique", column: "customer_id" },
      { type: "not_null", column: "age" },
      { type: "range", column: "age", min: 21, max: 40 },
      { type: "not_null", column: "plan" },
      { type: "allowed_values", column: "plan", values: ["basic", "pro"] },
    ]);
    // Already there: not suggested again.
    expect(suggestRules(profile, [{ type: "range", column: "age", min: 0, max: 120 }]).some((c) => c.type === "range")).toBe(false);
  });
});

describe("the store's new-version event", () => {
  it("fires once per new version, for files and for batch streams, and not for identical content", async () => {
    const seen: string[] = [];
    const off = f.store.onVersionCreated((v: DatasetVersion) => seen.push(`${v.dataset}@${v.version}`));
    try {
      const path = join(f.dir, "ev.csv");
      await writeFile(path, "a\n1\n");
      await f.store.importFile({ path, name: "ev" });
      await f.store.importFile({ path, name: "ev" });
      async function* rows(): AsyncIterable<RowBatch> {
        yield { columns: [{ name: "a", duckdbType: "BIGINT" }], rows: [["1"], ["2"]] };
      }
      await f.store.importBatches({ name: "ev", batches: rows(), source: { kind: "connection" } });
      expect(seen).toEqual(["ev@1", "ev@2"]);
    } finally {
      off();
    }
    await writeFile(join(f.dir, "ev2.csv"), "a\n3\n");
    await f.store.importFile({ path: join(f.dir, "ev2.csv"), name: "ev" });
    expect(seen).toHaveLength(2);
  });
});
