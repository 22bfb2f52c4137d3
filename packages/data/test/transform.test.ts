import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

let f: StoreFixture;

async function load(name: string, text: string): Promise<void> {
  const path = join(f.dir, `${name}-${Date.now()}.csv`);
  await writeFile(path, text);
  await f.store.importFile({ path, name, filename: `${name}.csv` });
}

/** The error a promise rejects with, as the API would send it. */
async function failure(p: Promise<unknown>): Promise<{ code: string; status: number; message: string; details?: unknown }> {
  try {
    await p;
  } catch (error) {
    return error as { code: string; status: number; message: string; details?: unknown };
  }
  throw new Error("expected a failure");
}

const JOIN = `SELECT s.region, r.manager, sum(s.amount) AS total
FROM sales s JOIN "region-managers" r ON s.region = r.region
GROUP BY ALL ORDER BY s.region`;

beforeAll(async () => {
  f = await openStoreFixture();
  await load("sales", "region,amount\nnorth,10\nsouth,5\nnorth,7\n");
  await load("region-managers", "region,manager\nnorth,Ana\nsouth,Bo\n");
});
afterAll(async () => {
  await f.close();
});

describe("SQL transforms", () => {
  it("joins two datasets into a new version that records the exact versions read", async () => {
    const result = await f.store.runTransform({ name: "totals", sql: JOIN });
    expect(result.created).toBe(true);
    expect(result.version).toMatchObject({ dataset: "totals", version: 1, rowCount: 2 });
    expect(result.version.source).toEqual({
      kind: "transform",
      sql: JOIN,
      inputs: [
        { dataset: "sales", version: 1 },
        { dataset: "region-managers", version: 1 },
      ],
    });
    const page = await f.store.preview("totals", 1, { offset: 0, limit: 10 });
    expect(page.rows).toEqual([
      ["north", "Ana", 17],
      ["south", "Bo", 5],
    ]);
  });

  it("stores nothing new when the inputs have not changed, and a new version when they have", async () => {
    const again = await f.store.runTransform({ name: "totals", sql: JOIN });
    expect(again.created).toBe(false);
    expect(again.version.version).toBe(1);

    await load("sales", "region,amount\nnorth,10\nsouth,5\nnorth,7\nsouth,1\n");
    const next = await f.store.runTransform({ name: "totals", sql: JOIN });
    expect(next).toMatchObject({ created: true, version: { version: 2 } });
    expect(next.version.source.inputs).toContainEqual({ dataset: "sales", version: 2 });
  });

  it('reads a pinned version with "name@N" and the latest with the bare name', async () => {
    const sql = `SELECT 'old' AS v, count(*) AS n FROM "sales@1" UNION ALL SELECT 'new', count(*) FROM sales;`;
    const preview = await f.store.previewTransform({ sql, limit: 10 });
    expect(preview.rows).toEqual([
      ["old", 3],
      ["new", 4],
    ]);
    expect(preview.inputs).toEqual([
      { dataset: "sales", version: 1 },
      { dataset: "sales", version: 2 },
    ]);
    expect(preview.columns.map((c) => [c.name, c.kind])).toEqual([
      ["v", "string"],
      ["n", "integer"],
    ]);
    // CTE names are not datasets.
    const cte = await f.store.previewTransform({
      sql: "WITH north AS (SELECT * FROM sales WHERE region = 'north') SELECT count(*) FROM north",
      limit: 5,
    });
    expect(cte.inputs).toEqual([{ dataset: "sales", version: 2 }]);
  });

  it("previews without storing anything", async () => {
    const before = await f.store.list();
    const preview = await f.store.previewTransform({ sql: "SELECT * FROM sales", limit: 2 });
    expect(preview.rows).toHaveLength(2);
    expect(await f.store.list()).toEqual(before);
    expect(await readdir(join(f.root, ".tmp"))).not.toContainEqual(expect.stringMatching(/^transform-/));
  });

  it("refuses file access, other statements and several statements, with clear messages", async () => {
    const cases: [string, string, RegExp][] = [
      ["SELECT * FROM read_csv('/etc/passwd')", "transform_access_refused", /may read only datasets/],
      ["SELECT * FROM sales, read_parquet('/etc/hosts')", "transform_access_refused", /may read only datasets/],
      ["ATTACH '/tmp/x.db' AS x", "query_not_read_only", /one SELECT/],
      ["COPY (SELECT * FROM sales) TO '/tmp/out.csv'", "query_not_read_only", /one SELECT/],
      ["SELECT * FROM sales; SELECT 1", "query_several_statements", /more than one statement/],
      ["SELECT 1; DROP TABLE sales", "query_not_read_only", /one SELECT/],
      ["SELECT * FROM main.sales", "transform_query_invalid", /schema or catalog/],
      ["SELECT sql FROM sales, duckdb_views()", "transform_function_refused", /duckdb_views\(\), which a transform may not use/],
      ["SELECT * FROM sales, query('SELECT 1')", "transform_function_refused", /query\(\)/],
      ["SELECT current_setting('temp_directory')", "transform_function_refused", /current_setting/],
    ];
    for (const [sql, code, message] of cases) {
      const error = await failure(f.store.runTransform({ name: "escape", sql }));
      expect(error, sql).toMatchObject({ code, status: 422 });
      expect(error.message, sql).toMatch(message);
      expect(error.message, sql).not.toContain(f.root);
    }
    await expect(f.store.get("escape")).rejects.toMatchObject({ status: 404 });
  });

  it("names an unknown dataset, a missing version, and a dataset the caller may not read", async () => {
    const unknown = await failure(f.store.previewTransform({ sql: "SELECT *\nFROM sales\nJOIN salse USING (region)", limit: 5 }));
    expect(unknown).toMatchObject({ code: "transform_dataset_not_found", status: 404, details: { line: 3, dataset: "salse" } });
    expect(unknown.message).toContain("'salse'");

    const version = await failure(f.store.previewTransform({ sql: 'SELECT * FROM "sales@9"', limit: 5 }));
    expect(version).toMatchObject({ code: "transform_version_not_found", status: 404 });
    expect(version.message).toContain("versions 1 to 2");

    const hidden = await failure(f.store.runTransform({ name: "t2", sql: JOIN, canRead: (d) => d !== "region-managers" }));
    expect(hidden).toMatchObject({ code: "transform_dataset_not_found", status: 404 });
    expect(hidden.message).toContain("'region-managers'");
  });

  it("reports DuckDB's errors with the line they name and no file paths", async () => {
    const syntax = await failure(f.store.previewTransform({ sql: "SELECT region\nFORM sales", limit: 5 }));
    expect(syntax).toMatchObject({ code: "transform_query_invalid", status: 422 });
    expect(syntax.message).toMatch(/syntax error/);

    const column = await failure(f.store.previewTransform({ sql: "SELECT region,\n  amount,\n  nope\nFROM sales", limit: 5 }));
    expect(column).toMatchObject({ code: "transform_query_invalid", status: 422, details: { line: 3 } });
    expect(column.message).toMatch(/nope/);
    expect(column.message).not.toMatch(/\.parquet|\/tmp\//);
  });

  it("interrupts a query over the time limit and stores nothing", async () => {
    const started = Date.now();
    const error = await failure(
      f.store.runTransform({
        name: "slow",
        sql: "SELECT sum(a.range * b.range) AS s FROM range(100000000) a, range(1000) b",
        timeoutMs: 500,
      }),
    );
    expect(error).toMatchObject({ code: "transform_timeout", status: 422 });
    expect(Date.now() - started).toBeLessThan(15_000);
    await expect(f.store.get("slow")).rejects.toMatchObject({ status: 404 });
    expect(await readdir(join(f.root, ".tmp"))).not.toContainEqual(expect.stringMatching(/^transform-/));
  });

  it("interrupts a query whose caller gave up (a closed request), storing nothing", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const error = await failure(
      f.store.runTransform({
        name: "abandoned",
        sql: "SELECT sum(a.range * b.range) AS s FROM range(100000000) a, range(1000) b",
        signal: controller.signal,
      }),
    );
    expect(error).toMatchObject({ code: "transform_cancelled", status: 503 });
    expect(Date.now() - started).toBeLessThan(15_000);
    await expect(f.store.get("abandoned")).rejects.toMatchObject({ status: 404 });
  });

  it("stops a query over the memory limit with a clear message and stores nothing", async () => {
    const error = await failure(
      f.store.runTransform({
        name: "huge",
        sql: "SELECT string_agg(repeat(region, 1000), ',') AS s FROM sales, range(200000)",
        memoryLimit: "32MB",
      }),
    );
    expect(error).toMatchObject({ code: "transform_out_of_memory", status: 422 });
    expect(error.message).toMatch(/more memory than a transform may use/);
    await expect(f.store.get("huge")).rejects.toMatchObject({ status: 404 });
  });

  it("refuses an empty result, storing nothing", async () => {
    const empty = await failure(f.store.runTransform({ name: "none", sql: "SELECT * FROM sales WHERE amount < 0" }));
    expect(empty).toMatchObject({ code: "no_rows", status: 422 });
    await expect(f.store.get("none")).rejects.toMatchObject({ status: 404 });
  });
});
