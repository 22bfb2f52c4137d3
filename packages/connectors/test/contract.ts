import type { RowBatch } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import type { DatasetStore } from "../../data/src/index.ts";
import { type Connector, type ObjectStoreConnector, objectsToRead } from "../src/index.ts";

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

/**
 * What an object store under test holds. Each CSV object has the columns `id,name` (the glob's
 * objects may add columns; they are unioned by name).
 */
export interface ObjectStoreFixtures {
  /** A discover path that lists `objectKey` among its entries (with `objectPath` as the path). */
  folder: string;
  /** The path of one CSV object as discover shows it, and what to import it by. */
  objectPath: string;
  objectRows: number;
  /** A glob matching `globCount` CSV objects holding `globRows` rows in all; one of them has an extra column `extraColumn`. */
  glob: string;
  globCount: number;
  globRows: number;
  extraColumn: string;
  /** A glob matching a CSV and a Parquet object. */
  mixedGlob: string;
  /** A glob matching nothing. */
  emptyGlob: string;
  missingObject: string;
  /** An object path in a bucket that does not exist. */
  missingBucketObject: string;
  /**
   * A connector to the same store with a wrong secret. Left out only where the emulator checks no
   * credentials at all (fake-gcs-server); the store's own test file says so.
   */
  wrongCredentials?: () => Connector;
  /** Secret values that must never appear in any error. */
  secrets: string[];
}

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (error) {
    return error as { code: string; message: string; hint?: string };
  }
  throw new Error("expected a failure");
}

/**
 * The suite every object store connector passes against its real emulator: browse, match a key or a
 * glob, read them into ONE dataset version through a real dataset store, and say clearly what is
 * missing or refused, never quoting a secret.
 */
export function objectStoreContract(
  label: string,
  make: () => Promise<{ connector: ObjectStoreConnector; fixtures: ObjectStoreFixtures; store: DatasetStore }>,
  opts: { checksCredentials: boolean } = { checksCredentials: true },
): void {
  describe(`object store contract: ${label}`, () => {
    const use = async <T>(fn: (c: ObjectStoreConnector, f: ObjectStoreFixtures, store: DatasetStore) => Promise<T>): Promise<T> => {
      const { connector, fixtures, store } = await make();
      try {
        return await fn(connector, fixtures, store);
      } finally {
        await connector.close();
      }
    };
    const noSecret = (f: ObjectStoreFixtures, e: { message: string; hint?: string }) => {
      for (const s of f.secrets) expect(`${e.message} ${e.hint}`).not.toContain(s);
    };

    it("tests the connection", () =>
      use(async (c) => {
        const r = await c.test();
        expect(r.ok).toBe(true);
        expect(r.host).toBeTruthy();
      }));

    it("lists containers or prefixes at the top, and the object with its size below its folder", () =>
      use(async (c, f) => {
        expect((await c.discover()).length).toBeGreaterThan(0);
        const below = await c.discover(f.folder);
        const entry = below.find((n) => n.path === f.objectPath);
        expect(entry?.kind).toBe("object");
        expect(entry?.type).toMatch(/^\d+ bytes/);
      }));

    it("reads one object into a dataset version and previews it", () =>
      use(async (c, f, store) => {
        const m = await c.match(f.objectPath);
        expect(m.objects).toHaveLength(1);
        expect(m.format).toBe("csv");
        const preview = await store.previewObjects({ objects: objectsToRead(c, m.objects), format: m.format, limit: 2 });
        expect(preview.rows).toHaveLength(2);
        expect(preview.columns.map((col) => col.name)).toEqual(["id", "name"]);
        const r = await store.importObjects({
          name: `one-${label}`,
          format: m.format,
          objects: objectsToRead(c, m.objects),
          source: { kind: "connection", connection: label, object: f.objectPath, objectCount: 1 },
        });
        expect(r.version.rowCount).toBe(f.objectRows);
        expect(r.version.source).toMatchObject({
          kind: "connection",
          connection: label,
          object: f.objectPath,
          objectCount: 1,
          format: "csv",
        });
      }));

    it("reads a glob's objects as ONE version, columns unioned by name", () =>
      use(async (c, f, store) => {
        const m = await c.match(f.glob);
        expect(m.objects).toHaveLength(f.globCount);
        const r = await store.importObjects({
          name: `glob-${label}`,
          format: m.format,
          objects: objectsToRead(c, m.objects),
          source: { kind: "connection", connection: label, object: f.glob, objectCount: m.objects.length },
        });
        expect(r.version.rowCount).toBe(f.globRows);
        expect(r.version.columns.map((col) => col.name)).toEqual(expect.arrayContaining(["id", "name", f.extraColumn]));
        expect(r.version.source.objectCount).toBe(f.globCount);
      }));

    it("refuses a glob that matches nothing, or objects of mixed formats", () =>
      use(async (c, f) => {
        expect((await errorOf(c.match(f.emptyGlob))).code).toBe("no_objects_match");
        expect((await errorOf(c.match(f.mixedGlob))).code).toBe("objects_mixed_formats");
      }));

    it("says a missing object and a missing bucket each with its own code", () =>
      use(async (c, f) => {
        const object = await errorOf(c.match(f.missingObject));
        expect(object.code).toBe("source_object_not_found");
        noSecret(f, object);
        const bucket = await errorOf(c.match(f.missingBucketObject));
        expect(bucket.code).toBe("source_bucket_not_found");
        noSecret(f, bucket);
      }));

    it("stops a download when the signal aborts, leaving no file", () =>
      use(async (c, f, store) => {
        const m = await c.match(f.glob);
        const controller = new AbortController();
        controller.abort(new Error("stopped by the test"));
        const error = await errorOf(
          store.importObjects({
            name: `cancel-${label}`,
            format: m.format,
            objects: objectsToRead(c, m.objects),
            source: { kind: "connection", connection: label, object: f.glob },
            signal: controller.signal,
          }),
        );
        expect(error.code).toBe("import_cancelled");
        await expect(store.get(`cancel-${label}`)).rejects.toThrow();
      }));

    // Registered only where the emulator checks credentials (fake-gcs-server checks none).
    if (opts.checksCredentials)
      it("says wrong credentials are refused, with no secret in the message", async () => {
        const { fixtures: f } = await make();
        if (!f.wrongCredentials) throw new Error("the fixtures name no wrongCredentials connector");
        const wrong = f.wrongCredentials();
        try {
          const error = await errorOf(wrong.test());
          expect(error.code).toBe("connection_auth_failed");
          noSecret(f, error);
        } finally {
          await wrong.close();
        }
      });
  });
}
