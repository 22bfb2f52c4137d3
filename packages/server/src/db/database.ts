import Database from "better-sqlite3";
import { Kysely, type Migration, Migrator, SqliteDialect } from "kysely";

/** Opens (creating if needed) the SQLite metadata database in WAL mode. */
export function openSqlite<DB>(path: string): Kysely<DB> {
  const sqlite = new Database(path);
  // WAL lets readers (SSE replays, lists) proceed while a job's events are written.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("synchronous = NORMAL");
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
}

/**
 * Applies every pending migration of the given sets (server + packages), in name order.
 * Throws with the failing migration's name when one fails.
 */
export async function migrateToLatest(db: Kysely<unknown>, ...sets: Array<Record<string, Migration>>): Promise<string[]> {
  const all: Record<string, Migration> = {};
  for (const set of sets) {
    for (const [name, m] of Object.entries(set)) {
      if (name in all) throw new Error(`duplicate migration name ${name}`);
      all[name] = m;
    }
  }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => all } });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error) {
    throw new Error(
      `database migration ${failed?.migrationName ?? "(unknown)"} failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
