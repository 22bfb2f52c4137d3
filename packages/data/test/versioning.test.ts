import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

let f: StoreFixture;
beforeEach(async () => {
  f = await openStoreFixture();
});
afterEach(async () => {
  await f.close();
});

async function csv(name: string, text: string): Promise<string> {
  const path = join(f.dir, name);
  await writeFile(path, text);
  return path;
}

describe("versioning", () => {
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
  it("hashing in blocks gives the hash of the row-by-row definition, over many blocks, nulls and every kind", async () => {
    // 200,000 rows of ~60 bytes: the first block and several sized ones; a small bound would only test one.
    const lines = ["i,f,s,d,b,t,n"];
    for (let i = 0; i < 200_000; i++) {
      const n = i % 7 === 0 ? "" : String(i * 3);
      lines.push(
        `${i},${i / 8},"text ""${i % 13}"", ok",2024-01-${String((i % 28) + 1).padStart(2, "0")},${i % 2 === 0},2024-02-03 04:05:${String(i % 60).padStart(2, "0")},${n}`,
      );
    }
    const path = await csv("many.csv", `${lines.join("\n")}\n`);
    const r = await f.store.importFile({ path, name: "many" });
    expect(r.version.rowCount).toBe(200_000);
    expect(r.phases?.map((p) => p.phase)).toEqual(["check", "schema", "copy", "count", "hash", "place"]);
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const { contentHashByRow } = await import("../src/content-hash.ts");
    const duck = await DuckDBInstance.create(":memory:");
    const conn = await duck.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      const v = await f.store.getVersion("many", 1);
      expect(await contentHashByRow(conn, v.path, v.columns)).toBe(r.version.contentHash);
    } finally {
      conn.closeSync();
      duck.closeSync();
    }
  });
});
