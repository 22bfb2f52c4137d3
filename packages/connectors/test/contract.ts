import type { RowBatch } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import type { Connector } from "../src/index.ts";

/** What a source under test holds, for the contract suite to check against. */
export interface ContractFixtures {
  /** A table with `rowCount` rows (at least 3) and an integer `watermarkColumn` holding 1..rowCount. */
  table: string;
  rowCount: number;
  watermarkColumn: string;
  /** A discover path under which `table` is listed (its `path` equals `table`). */
  tableParent: string;
  missingTable: string;
  /** Secret values that must never appear in any error. */
  secrets: string[];
}

async function collect(batches: AsyncIterable<RowBatch>): Promise<RowBatch[]> {
  const out: RowBatch[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

/**
 * The suite every connector passes, run against a real server. `make` returns a connector for the
 * fixture source (the suite closes it).
 */
export function connectorContract(label: string, make: () => Promise<{ connector: Connector; fixtures: ContractFixtures }>): void {
  describe(`connector contract: ${label}`, () => {
    const use = async <T>(fn: (c: Connector, f: ContractFixtures) => Promise<T>): Promise<T> => {
      const { connector, fixtures } = await make();
      try {
        return await fn(connector, fixtures);
      } finally {
        await connector.close();
      }
    };

    it("tests the connection", () =>
      use(async (c) => {
        const r = await c.test();
        expect(r.ok).toBe(true);
        expect(r.host).toBeTruthy();
      }));

    it("discovers the table under its parent, and the table's columns", () =>
      use(async (c, f) => {
        expect((await c.discover()).length).toBeGreaterThan(0);
        const below = await c.discover(f.tableParent);
        const entry = below.find((n) => n.path === f.table);
        expect(entry).toBeDefined();
        const columns = await c.discover(f.table);
        expect(columns.map((n) => n.name)).toContain(f.watermarkColumn);
      }));

    it("previews at most `limit` rows", () =>
      use(async (c, f) => {
        const p = await c.preview({ table: f.table }, 2);
        expect(p.rows).toHaveLength(2);
        expect(p.columns.map((col) => col.name)).toContain(f.watermarkColumn);
      }));

    it("reads every row in batches whose columns never change", () =>
      use(async (c, f) => {
        const batches = await collect(c.read({ table: f.table }, { batchRows: 2 }));
        expect(batches.length).toBeGreaterThan(1);
        expect(batches.reduce((n, b) => n + b.rows.length, 0)).toBe(f.rowCount);
        for (const b of batches) {
          expect(b.columns).toEqual(batches[0]!.columns);
          for (const row of b.rows) expect(row).toHaveLength(b.columns.length);
        }
      }));

    it("reads incrementally above a watermark, in watermark order", () =>
      use(async (c, f) => {
        const all = await collect(c.readIncremental({ table: f.table }, f.watermarkColumn, null));
        expect(all.reduce((n, b) => n + b.rows.length, 0)).toBe(f.rowCount);
        const after = String(f.rowCount - 2);
        const rest = await collect(c.readIncremental({ table: f.table }, f.watermarkColumn, after));
        const index = rest[0]!.columns.findIndex((col) => col.name === f.watermarkColumn);
        const values = rest.flatMap((b) => b.rows.map((r) => Number(r[index])));
        expect(values).toEqual([f.rowCount - 1, f.rowCount]);
      }));

    it("stops when the signal aborts", () =>
      use(async (c, f) => {
        const controller = new AbortController();
        const seen: RowBatch[] = [];
        await expect(
          (async () => {
            for await (const b of c.read({ table: f.table }, { batchRows: 1, signal: controller.signal })) {
              seen.push(b);
              controller.abort(new Error("stopped by the test"));
            }
          })(),
        ).rejects.toThrow("stopped by the test");
        expect(seen).toHaveLength(1);
        // The connector is still usable afterwards.
        expect((await c.preview({ table: f.table }, 1)).rows).toHaveLength(1);
      }));

    it("says a missing table is missing, with no secret in the message", () =>
      use(async (c, f) => {
        const error = await collect(c.read({ table: f.missingTable })).then(
          () => null,
          (e: unknown) => e as { code: string; message: string; hint?: string },
        );
        expect(error?.code).toBe("source_table_not_found");
        for (const s of f.secrets) expect(`${error?.message} ${error?.hint}`).not.toContain(s);
      }));
  });
}
