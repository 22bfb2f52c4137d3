import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Kysely, type Migration, type MigrationProvider, Migrator, SqliteDialect } from "kysely";
import { DatasetStore, type DataTables, dataMigrations } from "../src/index.ts";

export interface StoreFixture {
  dir: string;
  root: string;
  db: Kysely<DataTables>;
  store: DatasetStore;
  /** Open another store over the same root and database, as a second process would. */
  openAnother(): Promise<DatasetStore>;
  close(): Promise<void>;
}

class RecordProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/** A real SQLite metadata database (migrated) and a dataset store in a fresh temporary folder (or in `existing`, as another process left it). */
export async function openStoreFixture(existing?: string): Promise<StoreFixture> {
  const dir = existing ?? (await mkdtemp(join(tmpdir(), "caretflow-data-")));
  const root = join(dir, "datasets");
  const db = new Kysely<DataTables>({ dialect: new SqliteDialect({ database: new Database(join(dir, "meta.db")) }) });
  const { error } = await new Migrator({ db, provider: new RecordProvider(dataMigrations) }).migrateToLatest();
  if (error) throw error;
  const store = await DatasetStore.open({ root, db, threads: 2 });
  const others: DatasetStore[] = [];
  return {
    dir,
    root,
    db,
    store,
    async openAnother() {
      const other = await DatasetStore.open({ root, db, threads: 1 });
      others.push(other);
      return other;
    },
    async close() {
      for (const s of [store, ...others]) await s.close();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
