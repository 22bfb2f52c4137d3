import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Kysely, type Migration, Migrator, SqliteDialect, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../server/test/databases.ts";
import { DatasetStore, type DataTables, dataMigrations } from "../src/index.ts";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

const provider = (migrations: Record<string, Migration>) => ({ getMigrations: async () => migrations });

describe("the catalog migration", () => {
  it("keeps datasets made before it valid, with an unknown owner and no tags, and can be undone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "caretflow-data-migration-"));
    const db = new Kysely<DataTables>({ dialect: new SqliteDialect({ database: new Database(join(dir, "meta.db")) }) });
    try {
      const migrator = new Migrator({ db, provider: provider(dataMigrations) });
      const first = await migrator.migrateTo("20261129_10_data_create_dataset_tables");
      expect(first.error).toBeUndefined();
      // A dataset as the first schema stored it (no owner column yet).
      await sql`INSERT INTO datasets (name, description, created_at, updated_at) VALUES ('old', 'kept from before', '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z')`.execute(
        db,
      );
      await sql`INSERT INTO dataset_versions (dataset, version, row_count, column_count, columns_json, content_hash, size_bytes, source_json, created_at)
        VALUES ('old', 1, 2, 1, '[{"name":"a","kind":"integer","duckdbType":"BIGINT","nullable":false}]', 'h', 10, '{"kind":"upload","filename":"old.csv"}', '2026-11-30T00:00:00Z')`.execute(
        db,
      );
      const { error } = await migrator.migrateToLatest();
      expect(error).toBeUndefined();
      const store = await DatasetStore.open({ root: join(dir, "datasets"), db, threads: 1 });
      try {
        expect(await store.catalog()).toMatchObject([
          { name: "old", description: "kept from before", owner: null, tags: [], columnNames: ["a"], sizeBytes: 10 },
        ]);
        expect(await store.setTags("old", { add: ["legacy"], remove: [] })).toEqual(["legacy"]);
      } finally {
        await store.close();
      }
      await db.deleteFrom("dataset_tags").execute();
      const down = await migrator.migrateTo("20261129_10_data_create_dataset_tables");
      expect(down.error).toBeUndefined();
      const columns = await sql<{ name: string }>`SELECT name FROM pragma_table_info('datasets')`.execute(db);
      expect(columns.rows.map((r) => r.name)).not.toContain("owner");
    } finally {
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

forEachDatabase("owners and tags in the store", (dbs) => {
  let f: StoreFixture;
  beforeAll(async () => {
    const { db } = await dbs.fresh<DataTables>({ migrations: [dataMigrations] });
    f = await openStoreFixture(undefined, { db });
  });
  afterAll(() => f.close());

  it("records the creator as owner; later versions by others keep it", async () => {
    const a = join(f.dir, "a.csv");
    await writeFile(a, "x,y\n1,2\n");
    await f.store.importFile({ path: a, name: "owned", owner: "ana" });
    await writeFile(a, "x,y\n1,2\n3,4\n");
    await f.store.importFile({ path: a, name: "owned", owner: "bob" });
    const [entry] = (await f.store.catalog()).filter((e) => e.name === "owned");
    expect(entry).toMatchObject({ owner: "ana", latestVersion: 2, rowCount: 2, columnNames: ["x", "y"] });
    expect(entry!.sources.map((s) => s.kind)).toEqual(["file", "file"]);
    expect((await f.store.get("owned")).owner).toBe("ana");
  });

  it("adds and removes tags idempotently, and refuses an unknown dataset", async () => {
    expect(await f.store.setTags("owned", { add: ["b", "a"], remove: [] })).toEqual(["a", "b"]);
    expect(await f.store.setTags("owned", { add: ["a"], remove: ["zzz"] })).toEqual(["a", "b"]);
    expect(await f.store.setTags("owned", { add: [], remove: ["a"] })).toEqual(["b"]);
    await expect(f.store.setTags("ghost", { add: ["a"], remove: [] })).rejects.toMatchObject({ status: 404 });
  });
});
