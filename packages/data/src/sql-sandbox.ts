import type { DuckDBInstance } from "@duckdb/node-api";
import { openDuckDb, sqlString, withConnection } from "./duckdb.js";

/** What a sandboxed DuckDB may touch: exactly these files to read, and at most one folder to write. */
export interface SandboxOptions {
  /** Files the SQL may read (dataset version Parquet files); anything else is refused by DuckDB. */
  readable: string[];
  /** A folder the SQL may write into (a transform's output), if any. */
  writableDirectory?: string;
  /** Where DuckDB may spill; it must not be a folder with other data in it. */
  tempDirectory: string;
  /** DuckDB's memory limit for this sandbox, e.g. "1GB". */
  memoryLimit?: string;
  threads?: number;
}

/**
 * A DuckDB instance for SQL that a user wrote (SQL transforms, custom quality rules): file-system
 * access is off except for the named files and the one writable folder, and the configuration is
 * locked, so the SQL can neither read other files (`read_csv('/etc/passwd')`, `glob`, `ATTACH`)
 * nor switch access back on. Each sandbox is its own instance because these settings are global;
 * close it with `closeSync()` when done.
 */
export async function openSandbox(options: SandboxOptions): Promise<DuckDBInstance> {
  const instance = await openDuckDb({ tempDirectory: options.tempDirectory, threads: options.threads });
  const list = (items: string[]) => `[${items.map(sqlString).join(", ")}]`;
  const directories = [options.tempDirectory, ...(options.writableDirectory ? [options.writableDirectory] : [])].map((dir) =>
    dir.endsWith("/") ? dir : `${dir}/`,
  );
  await withConnection(instance, async (conn) => {
    await conn.run(`SET allowed_paths = ${list(options.readable)}`);
    await conn.run(`SET allowed_directories = ${list(directories)}`);
    if (options.memoryLimit) await conn.run(`SET memory_limit = ${sqlString(options.memoryLimit)}`);
    await conn.run("SET autoinstall_known_extensions = false");
    await conn.run("SET autoload_known_extensions = false");
    await conn.run("SET enable_external_access = false");
    await conn.run("SET lock_configuration = true");
  });
  return instance;
}
