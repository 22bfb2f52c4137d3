import { isAbsolute, join, resolve } from "node:path";
import { CaretflowError } from "@caretflow/contracts";
import Database from "better-sqlite3";
import { Kysely, type Migration, Migrator, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";

/**
 * Where the metadata lives: a SQLite file (embedded, one machine) or a PostgreSQL database (shared by
 * a server and workers on other machines). Both hold the same tables, made by the same migrations.
 */
export type DatabaseTarget = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

/** Connections one process holds at most; a server's requests, job events and pipeline steps share them. */
const POOL_SIZE = 10;
/** A statement running longer than this is cancelled by PostgreSQL: no metadata query should take a minute. */
const STATEMENT_TIMEOUT_MS = 60_000;
/** PostgreSQL's OIDs of bigint (count(*), row counts) and numeric: read as JavaScript numbers, as SQLite gives them. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * The metadata database a `--database` value names: a postgres:// or postgresql:// URL, or a SQLite file
 * path (relative to `cwd`). Anything else with a scheme (mysql://, sqlite://...) is refused.
 * @example databaseTarget("postgres://cf:pw@db:5432/caretflow") // { kind: "postgres", url }
 */
export function databaseTarget(raw: string, cwd = process.cwd()): DatabaseTarget {
  const value = raw.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") {
    let url: URL | null = null;
    try {
      url = new URL(value);
    } catch {}
    if (!url?.hostname || url.pathname.length <= 1) {
      throw invalidDatabase(`the database URL '${maskDatabaseUrl(value)}' names no host or no database`);
    }
    return { kind: "postgres", url: value };
  }
  if (scheme !== undefined || value === "") {
    throw invalidDatabase(`'${maskDatabaseUrl(value)}' is neither a PostgreSQL URL nor a SQLite file path`);
  }
  return { kind: "sqlite", path: isAbsolute(value) ? value : resolve(cwd, value) };
}

/**
 * The metadata database `--database` (or CARETFLOW_DATABASE_URL) names, else the home's SQLite file.
 * Checked before anything starts; a value that is neither a PostgreSQL URL nor a path is refused.
 */
export function metadataDatabase(home: string, raw = process.env.CARETFLOW_DATABASE_URL): DatabaseTarget {
  return raw?.trim() ? databaseTarget(raw) : { kind: "sqlite", path: join(home, "caretflow.db") };
}

function invalidDatabase(message: string): CaretflowError {
  return new CaretflowError({
    code: "invalid_database",
    kind: "user",
    message,
    hint: "Give a PostgreSQL URL (postgres://user:password@host:5432/caretflow) or the path of a SQLite file; leave it out for <home>/caretflow.db.",
  });
}

/** The URL with its password replaced by ***, for logs and messages. Text that is not a URL is returned as is. */
export function maskDatabaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not parseable, but it may still carry "user:password@": hide what sits between the colon and the @.
    return raw.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
  }
  if (url.password) url.password = "***";
  for (const key of [...url.searchParams.keys()]) if (/pass|secret/i.test(key)) url.searchParams.set(key, "***");
  return url.toString();
}

/** How the target is named in logs: the SQLite file's path, or the URL without its password. */
export function describeDatabase(target: DatabaseTarget): string {
  return target.kind === "sqlite" ? target.path : maskDatabaseUrl(target.url);
}

/**
 * Opens the metadata database: SQLite (created if needed, in WAL mode) or a pool on PostgreSQL, checked
 * with one query so a wrong URL, password or unreachable host fails here with a message that says so.
 * @example const db = await openDatabase<ServerTables>(databaseTarget(process.env.CARETFLOW_DATABASE_URL!));
 */
export async function openDatabase<DB>(target: DatabaseTarget | { sqlitePath: string }): Promise<Kysely<DB>> {
  const t: DatabaseTarget = "sqlitePath" in target ? { kind: "sqlite", path: target.sqlitePath } : target;
  if (t.kind === "sqlite") return openSqlite<DB>(t.path);
  const pool = new pg.Pool({
    connectionString: t.url,
    max: POOL_SIZE,
    connectionTimeoutMillis: 15_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: "caretflow",
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID || oid === NUMERIC_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its connection (a database restart) is dropped from the pool, not a crash.
  pool.on("error", () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new CaretflowError({
      code: "database_unavailable",
      kind: "operational",
      message: `could not connect to the PostgreSQL database ${maskDatabaseUrl(t.url)}: ${(err as Error).message}`,
      hint: "Check that the server is running and reachable from here, and the user, password and database name in the URL.",
      cause: err,
    });
  }
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

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
 * True for the errors a writer racing another one gets, on either database: a duplicate key
 * (isUniqueViolation), a busy SQLite file, or PostgreSQL giving up
 * on a serialization failure (40001) or deadlock (40P01). Trying again on fresh reads is safe.
 */
export function isWriteConflict(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string") return false;
  return isUniqueViolation(err) || code === "40001" || code === "40P01" || code.startsWith("SQLITE_BUSY");
}

/** A duplicate key on either database: SQLite's SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY, PostgreSQL's 23505. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
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
  // On PostgreSQL the migrator holds an advisory lock and runs in one transaction: a server and workers
  // starting together apply each migration once.
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
