import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RowBatch } from "@caretflow/contracts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

const columns = [
  { name: "id", duckdbType: "BIGINT" },
  { name: "label", duckdbType: "VARCHAR" },
  { name: "at", duckdbType: "TIMESTAMP" },
  { name: "ok", duckdbType: "BOOLEAN" },
];

async function* batches(from: number, to: number, size: number, failAfter?: number): AsyncIterable<RowBatch> {
  for (let start = from; start < to; start += size) {
    if (failAfter !== undefined && start - from >= failAfter) throw new Error("source went away");
    const rows = [];
    for (let i = start; i < Math.min(to, start + size); i++)
      rows.push([String(i), `row ${i}`, `2026-01-01 00:00:${String(i % 60).padStart(2, "0")}`, i % 2 === 0 ? "t" : "f"]);
    yield { columns, rows };
  }
}

describe("DatasetStore.importBatches", () => {
  let fx: StoreFixture;
  beforeEach(async () => {
    fx = await openStoreFixture();
  });
  afterEach(async () => {
    await fx.close();
  });

  it("stores batches (text cells cast to the declared types) as a version, hashed like a file", async () => {
    const result = await fx.store.importBatches({
      name: "t",
      batches: batches(0, 2500, 700),
      source: { kind: "connection", connection: "pg", table: "public.t" },
    });
    expect(result.created).toBe(true);
    expect(result.rowsRead).toBe(2500);
    expect(result.version.rowCount).toBe(2500);
    expect(result.version.columns.map((c) => [c.name, c.kind])).toEqual([
      ["id", "integer"],
      ["label", "string"],
      ["at", "timestamp"],
      ["ok", "boolean"],
    ]);
    expect(result.version.source).toEqual({ kind: "connection", connection: "pg", table: "public.t" });
    const page = await fx.store.preview("t", 1, { offset: 0, limit: 2 });
    expect(page.rows[1]?.slice(0, 2)).toEqual([1, "row 1"]);
    expect(page.rows[1]?.[3]).toBe(false);
    // The same rows in other batch sizes (several Parquet parts) are the same content: no new version.
    const again = await fx.store.importBatches({ name: "t", batches: batches(0, 2500, 333), source: { kind: "connection" } });
    expect(again.created).toBe(false);
  });

  it("appends to a version with a watermark; no new rows means no new version", async () => {
    await fx.store.importBatches({ name: "inc", batches: batches(0, 10, 4), source: { kind: "connection" }, watermarkColumn: "id" });
    const v1 = await fx.store.getVersion("inc");
    expect(v1.source.watermark).toEqual({ column: "id", value: "9" });
    const r2 = await fx.store.importBatches({
      name: "inc",
      batches: batches(10, 15, 4),
      source: { kind: "connection" },
      appendTo: 1,
      watermarkColumn: "id",
    });
    expect(r2.created).toBe(true);
    expect(r2.version.rowCount).toBe(15);
    expect(r2.version.source.watermark).toEqual({ column: "id", value: "14" });
    const r3 = await fx.store.importBatches({
      name: "inc",
      batches: batches(15, 15, 4),
      source: { kind: "connection" },
      appendTo: 2,
      watermarkColumn: "id",
    });
    expect(r3.created).toBe(false);
    expect(r3.version.version).toBe(2);
  });

  it("a stream that fails midway leaves no version and no temporary file", async () => {
    await expect(
      fx.store.importBatches({ name: "broken", batches: batches(0, 1000, 100, 300), source: { kind: "connection" } }),
    ).rejects.toThrow("source went away");
    await expect(fx.store.get("broken")).rejects.toThrow(/does not exist/);
    const left = (await readdir(join(fx.root, ".tmp"))).filter((f) => f !== "duckdb");
    expect(left).toEqual([]);
  });

  it("a value that does not fit its declared type is a clear user error", async () => {
    async function* bad(): AsyncIterable<RowBatch> {
      yield { columns: [{ name: "n", duckdbType: "INTEGER" }], rows: [["1"], ["not a number"]] };
    }
    await expect(fx.store.importBatches({ name: "bad", batches: bad(), source: { kind: "connection" } })).rejects.toMatchObject({
      code: "source_value_unreadable",
    });
  });
});
