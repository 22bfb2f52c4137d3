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

/**
 * A metadata database made elsewhere (e.g. PostgreSQL), migrated; `reopen` opens another connection to
 * it, as another process would (left out for SQLite: two connections in one thread would wait
 * synchronously on each other's locks, so the stores share one).
 */
export interface FixtureDatabase {
  db: Kysely<DataTables>;
  reopen?: () => Promise<Kysely<DataTables>>;
}

/**
 * A real metadata database (SQLite in the folder unless `database` is given; migrated) and a dataset
 * store in a fresh temporary folder (or in `existing`, as another process left it).
 */
export async function openStoreFixture(existing?: string, database?: FixtureDatabase): Promise<StoreFixture> {
  const dir = existing ?? (await mkdtemp(join(tmpdir(), "caretflow-data-")));
  const root = join(dir, "datasets");
  const db = database?.db ?? new Kysely<DataTables>({ dialect: new SqliteDialect({ database: new Database(join(dir, "meta.db")) }) });
  if (!database) {
    const { error } = await new Migrator({ db, provider: new RecordProvider(dataMigrations) }).migrateToLatest();
    if (error) throw error;
  }
  const store = await DatasetStore.open({ root, db, threads: 2 });
  const others: DatasetStore[] = [];
  const otherDbs: Kysely<DataTables>[] = [];
  return {
    dir,
    root,
    db,
    store,
    async openAnother() {
      const otherDb = database?.reopen ? await database.reopen() : db;
      if (otherDb !== db) otherDbs.push(otherDb);
      const other = await DatasetStore.open({ root, db: otherDb, threads: 1 });
      others.push(other);
      return other;
    },
    async close() {
      for (const s of [store, ...others]) await s.close();
      for (const d of otherDbs) await d.destroy();
      // A database given by the caller is the caller's to close.
      if (!database) await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
