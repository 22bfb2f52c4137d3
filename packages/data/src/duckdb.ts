import { FORMULA_TRIGGERS, neutralizeFormula } from "@caretflow/contracts";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/**
 * How every stored Parquet file is written: snappy, DuckDB's (and pandas') default. zstd makes files about a
 * third smaller but costs 8-15% of an import's time (bench/README.md); import speed was chosen.
 */
export const PARQUET_WRITE_OPTIONS = "FORMAT parquet, COMPRESSION snappy";

/** A single-quoted SQL string literal (paths, options); DuckDB table functions take no bound parameters for paths. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A double-quoted SQL identifier, safe for any column name. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * An in-memory DuckDB used only as a query engine over files; UTC so timestamps print the same everywhere.
 * `memoryLimit` (DuckDB's memory_limit, e.g. "512MB") bounds what its operators hold; beyond it they
 * spill to `tempDirectory`. Default: DuckDB's own (80% of the machine's memory).
 */
export async function openDuckDb(opts: { tempDirectory: string; threads?: number; memoryLimit?: string }): Promise<DuckDBInstance> {
  const config: Record<string, string> = { temp_directory: opts.tempDirectory };
  if (opts.threads) config.threads = String(opts.threads);
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  const instance = await DuckDBInstance.create(":memory:", config);
  const conn = await instance.connect();
  try {
    await conn.run("SET GLOBAL TimeZone = 'UTC'");
  } finally {
    conn.closeSync();
  }
  return instance;
}

/** Run `fn` on a fresh connection, so concurrent operations never share one. */
export async function withConnection<T>(instance: DuckDBInstance, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
  }
}

/**
 * A SQL expression that shows a column's values as a person expects to read them: 32-bit FLOAT values
 * by their shortest decimal form (0.1, not 0.10000000149011612), types JS cannot show faithfully (TIME,
 * INTERVAL, nested, BLOB...) as DuckDB prints them, everything else unchanged.
 */
export function displayExpr(column: { name: string; kind: string; duckdbType: string }): string {
  const id = sqlIdent(column.name);
  if (column.duckdbType === "FLOAT") return `CAST(CAST(${id} AS VARCHAR) AS DOUBLE)`;
  if (column.kind === "other") return `CAST(${id} AS VARCHAR)`;
  return id;
}

/**
 * A column as a CSV export writes it, under its neutralised name: text cells that a spreadsheet
 * would run as a formula get contracts' `neutralizeFormula` quote (the same rule, in SQL); numbers,
 * dates and booleans are written as they are, so -1.5 stays a number.
 */
export function exportExpr(column: { name: string; kind: string }): string {
  const id = sqlIdent(column.name);
  const as = sqlIdent(neutralizeFormula(column.name));
  if (column.kind !== "string") return `${id} AS ${as}`;
  const triggers = FORMULA_TRIGGERS.map(sqlString).join(", ");
  return `CASE WHEN left(${id}, 1) IN (${triggers}) THEN '''' || ${id} ELSE ${id} END AS ${as}`;
}

/** Column names and DuckDB type names of a query, without running it. */
export async function describeQuery(conn: DuckDBConnection, sql: string): Promise<{ name: string; type: string }[]> {
  const reader = await conn.runAndReadAll(`DESCRIBE ${sql}`);
  return reader.getRowsJS().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
}

/** First line of a DuckDB error message, without its "LINE 1: ..." SQL echo; paths are kept, SQL is not. */
export function duckdbReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split("\n")[0] ?? message).replace(/^[A-Za-z ]+ Error: /, "").trim();
}
