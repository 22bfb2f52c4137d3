import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../server/src/db/database.ts";
import { forEachDatabase } from "../../server/test/databases.ts";
import type { DataTables } from "../src/index.ts";
import { dataMigrations } from "../src/migrations.ts";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

let f: StoreFixture;
afterEach(async () => {
  await f.close();
});

async function csv(name: string, text: string): Promise<string> {
  const path = join(f.dir, name);
  await writeFile(path, text);
  return path;
}

forEachDatabase("versioning", (dbs) => {
  beforeEach(async () => {
    const { db, target } = await dbs.fresh<DataTables>({ migrations: [dataMigrations] });
    f = await openStoreFixture(undefined, {
      db,
      ...(target.kind === "postgres" ? { reopen: () => openDatabase<DataTables>(target) } : {}),
    });
  });

  it("makes a new version for changed content and none for identical content", async () => {
    const a = await csv("a.csv", "x,y\n1,2\n");
    const b = await csv("b.csv", "x,y\n1,3\n");
    const first = await f.store.importFile({ path: a, name: "sales" });
    expect(first).toMatchObject({ created: true, version: { version: 1 } });
    const firstFile = await stat(join(f.root, "sales", "v1.parquet"));

    const again = await f.store.importFile({ path: a, name: "sales" });
    expect(again.created).toBe(false);
    expect(again.version).toEqual(first.version);
    expect((await stat(join(f.root, "sales", "v1.parquet"))).mtimeMs).toBe(firstFile.mtimeMs);

    // Same table, different bytes (CRLF, no final newline): same content, no new version.
    const crlf = await csv("a-crlf.csv", "x,y\r\n1,2");
    expect((await f.store.importFile({ path: crlf, name: "sales" })).created).toBe(false);

    const second = await f.store.importFile({ path: b, name: "sales" });
    expect(second).toMatchObject({ created: true, version: { version: 2 } });
    // Back to the first content: it differs from the latest, so it is a new version.
    const third = await f.store.importFile({ path: a, name: "sales" });
    expect(third).toMatchObject({ created: true, version: { version: 3, contentHash: first.version.contentHash } });

    const detail = await f.store.get("sales");
    expect(detail).toMatchObject({ name: "sales", latestVersion: 3, versionCount: 3, rowCount: 1, columnCount: 2 });
    expect(detail.versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect((await f.store.getVersion("sales")).version).toBe(3);
    expect((await f.store.getVersion("sales", 2)).contentHash).toBe(second.version.contentHash);
    expect((await readdir(join(f.root, "sales"))).sort()).toEqual(["v1.parquet", "v2.parquet", "v3.parquet"]);
    expect(await f.store.list()).toEqual([
      expect.objectContaining({ name: "sales", latestVersion: 3, versionCount: 3, rowCount: 1, columnCount: 2 }),
    ]);
  });

  it("gives concurrent imports of one name distinct, consecutive versions", async () => {
    const paths = await Promise.all([1, 2, 3, 4, 5].map((i) => csv(`c${i}.csv`, `x\n${i}\n`)));
    const results = await Promise.all(paths.map((path) => f.store.importFile({ path, name: "busy" })));
    expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(results.every((r) => r.created)).toBe(true);
  });

  it("gives distinct versions when two stores (two processes) import into the same database", async () => {
    const other = await f.openAnother();
    const paths = await Promise.all(Array.from({ length: 16 }, (_x, i) => i + 1).map((i) => csv(`p${i}.csv`, `x\n${i}\n`)));
    // Enough imports that the two writers race for the same version number (the retry path runs).
    const results = await Promise.all(paths.map((path, i) => (i % 2 === 0 ? f.store : other).importFile({ path, name: "shared" })));
    expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_x, i) => i + 1));
    // Each version's file holds the content its metadata row describes.
    for (const r of results) {
      const page = await f.store.preview("shared", r.version.version, { offset: 0, limit: 1 });
      const v = await f.store.getVersion("shared", r.version.version);
      expect(v.contentHash).toBe(r.version.contentHash);
      expect(page.rows).toHaveLength(1);
    }
    const values = await Promise.all(
      results.map(async (r) => (await f.store.preview("shared", r.version.version, { offset: 0, limit: 1 })).rows[0]![0]),
    );
    expect(values.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 16 }, (_x, i) => i + 1));
  });

  it("stores identical concurrent imports once", async () => {
    const path = await csv("same.csv", "x\n1\n");
    const results = await Promise.all([1, 2, 3].map(() => f.store.importFile({ path, name: "once" })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await f.store.get("once")).versionCount).toBe(1);
  });

  it("records lineage for prediction outputs", async () => {
    const path = await csv("pred.csv", "x,prediction_label\n1,a\n");
    const r = await f.store.importFile({
      path,
      name: "sales-predictions",
      format: "csv",
      source: { kind: "prediction", parent: { dataset: "sales", version: 2 }, model: "m@champion", jobId: "job-1" },
    });
    expect(r.version.source).toEqual({
      kind: "prediction",
      format: "csv",
      parent: { dataset: "sales", version: 2 },
      model: "m@champion",
      jobId: "job-1",
    });
  });
});

describe("lookups", () => {
  beforeEach(async () => {
    f = await openStoreFixture();
  });

  it("says what to do when a dataset or version does not exist", async () => {
    await expect(f.store.get("nope")).rejects.toMatchObject({
      status: 404,
      code: "dataset_not_found",
      hint: expect.stringContaining("datasets list"),
    });
    await expect(f.store.getVersion("nope")).rejects.toMatchObject({ status: 404 });
    await f.store.importFile({ path: await csv("a.csv", "x\n1\n"), name: "one" });
    await expect(f.store.getVersion("one", 7)).rejects.toMatchObject({
      status: 404,
      code: "dataset_version_not_found",
      hint: "Dataset 'one' has versions 1 to 1.",
    });
  });

  it("refuses names that are not valid dataset names (no path traversal)", async () => {
    const path = await csv("a.csv", "x\n1\n");
    for (const name of ["../etc", "a/b", "", ".hidden", "x".repeat(65)]) {
      await expect(f.store.importFile({ path, name })).rejects.toMatchObject({ status: 400, code: "invalid_dataset_name" });
    }
    expect(await readdir(f.root)).toEqual([".tmp"]);
  });
});

describe("content hash", () => {
  beforeEach(async () => {
    f = await openStoreFixture();
  });

  async function withDuck<T>(fn: (conn: import("@duckdb/node-api").DuckDBConnection) => Promise<T>): Promise<T> {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const duck = await DuckDBInstance.create(":memory:");
    const conn = await duck.connect();
    try {
      return await fn(conn);
    } finally {
      conn.closeSync();
      duck.closeSync();
    }
  }

  it("numbers rows alike whether the reader or the scan order numbers them, over several row groups, nulls and every kind", async () => {
    // 300,000 rows: three of DuckDB's row groups, so the reader's parallel scan has several to order.
    const lines = ["i,f,s,d,b,t,n"];
    for (let i = 0; i < 300_000; i++) {
      const n = i % 7 === 0 ? "" : String(i * 3);
      lines.push(
        `${i},${i / 8},"text ""${i % 13}"", ok",2024-01-${String((i % 28) + 1).padStart(2, "0")},${i % 2 === 0},2024-02-03 04:05:${String(i % 60).padStart(2, "0")},${n}`,
      );
    }
    const path = await csv("many.csv", `${lines.join("\n")}\n`);
    const r = await f.store.importFile({ path, name: "many" });
    expect(r.version.rowCount).toBe(300_000);
    expect(r.phases?.map((p) => p.phase)).toEqual(["check", "schema", "copy", "count", "hash", "place"]);
    expect(r.version.columns.map((c) => c.kind)).toEqual(["integer", "float", "string", "date", "boolean", "timestamp", "integer"]);
    const { contentHash } = await import("../src/content-hash.ts");
    const v = await f.store.getVersion("many", 1);
    await withDuck(async (conn) => {
      expect(await contentHash(conn, v.path, v.columns, "reader")).toBe(r.version.contentHash);
      expect(await contentHash(conn, v.path, v.columns, "scan")).toBe(r.version.contentHash);
    });
  });

  it("changes when rows swap, a value changes or a column is renamed; not when only the stored types differ", async () => {
    const { contentHash } = await import("../src/content-hash.ts");
    const hashOf = (select: string) =>
      withDuck(async (conn) => {
        const file = join(f.dir, `h-${Math.random().toString(36).slice(2)}.parquet`);
        await conn.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
        const described = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowsJS();
        const { columnKindOf } = await import("../src/column-kind.ts");
        const columns = described.map((d) => ({ name: String(d[0]), kind: columnKindOf(String(d[1])) }));
        return contentHash(conn, file, columns);
      });
    const base = await hashOf("SELECT * FROM (VALUES (1, 1.5, 'a'), (2, 2.25, NULL)) t(id, x, s)");
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(
      await hashOf(
        "SELECT CAST(id AS INTEGER) AS id, CAST(x AS DECIMAL(10,2)) AS x, s FROM (VALUES (1, 1.5, 'a'), (2, 2.25, NULL)) t(id, x, s)",
      ),
    ).toBe(base);
    expect(await hashOf("SELECT * FROM (VALUES (2, 2.25, NULL), (1, 1.5, 'a')) t(id, x, s)")).not.toBe(base);
    expect(await hashOf("SELECT * FROM (VALUES (1, 1.5, 'a'), (2, 2.25, 'b')) t(id, x, s)")).not.toBe(base);
    expect(await hashOf("SELECT * FROM (VALUES (1, 1.5, 'a'), (2, 2.25, NULL)) t(id, x, s2)")).not.toBe(base);
    expect(await hashOf("SELECT * FROM (VALUES (1, 1.5, 'a'), (2, 2.25, NULL), (2, 2.25, NULL)) t(id, x, s)")).not.toBe(base);
  });

  it("a version hashed under an earlier format still makes an unchanged re-import store nothing", async () => {
    const path = await csv("legacy.csv", "a,b\n1,x\n2,y\n");
    const first = await f.store.importFile({ path, name: "legacy" });
    // As stored before the format was recorded: another hash (v1's text form) and no format.
    await f.db
      .updateTable("dataset_versions")
      .set({ content_hash: "0".repeat(64), content_hash_format: null })
      .where("dataset", "=", "legacy")
      .execute();
    const again = await f.store.importFile({ path, name: "legacy" });
    expect(again).toMatchObject({ created: false, version: { version: 1, contentHash: "0".repeat(64) } });
    const changed = await f.store.importFile({ path: await csv("legacy2.csv", "a,b\n1,x\n2,z\n"), name: "legacy" });
    expect(changed).toMatchObject({ created: true, version: { version: 2 } });
    expect(first.version.contentHash).not.toBe(changed.version.contentHash);
  });
});
