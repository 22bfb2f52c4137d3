import { createHash } from "node:crypto";
import type { ColumnSchema } from "@caretflow/contracts";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { sqlIdent, sqlString } from "./duckdb.ts";

/** Version tag of the canonical form; change it (and docs/datasets.md) if the definition ever changes. */
export const CONTENT_HASH_FORMAT = "caretflow-content-v1";

/** The first line of the canonical form: format tag and the columns' names and logical kinds. */
export function canonicalHeader(columns: readonly Pick<ColumnSchema, "name" | "kind">[]): string {
  return `${JSON.stringify({ format: CONTENT_HASH_FORMAT, columns: columns.map((c) => [c.name, c.kind]) })}\n`;
}

/** Floats are compared as DOUBLE, so DECIMAL 1.50 and DOUBLE 1.5 (CSV vs Parquet) print alike. */
function canonicalValue(c: ColumnSchema): string {
  return c.kind === "float" ? `CAST(${sqlIdent(c.name)} AS DOUBLE)` : sqlIdent(c.name);
}

/** Rows hashed in the first block; later blocks are sized from the text it made. */
const FIRST_BLOCK_ROWS = 65_536;
/** About how much canonical text one block makes (held at once per block in flight, in DuckDB and in JS). */
const BLOCK_TEXT_BYTES = 8 * 1024 * 1024;
/** Most blocks in flight at once (each on its own connection). */
const MAX_PARALLEL_BLOCKS = 8;

/**
 * sha256 (hex) of the canonical form of a stored table: the header line, then one line per row in
 * stored order, each a JSON array of the values cast to VARCHAR by DuckDB (floats first to DOUBLE; null for NULL).
 * Same table from CSV or Parquet => same hash when names, kinds and values agree.
 *
 * DuckDB builds the lines of a block of rows (chosen by the Parquet file's row numbers, which it reads
 * without scanning the rest) and joins them in order, so JavaScript hashes a few large strings instead
 * of one per row. A block is about one row group, which one DuckDB thread reads; so as many blocks as
 * DuckDB has threads (at most 8) run at once, each on its own connection, and are hashed in order.
 * Memory stays bounded by the blocks in flight (about 8 MB of text each).
 */
export async function contentHash(duck: DuckDBInstance, parquetPath: string, columns: readonly ColumnSchema[]): Promise<string> {
  // A column of that name would hide the row number DuckDB adds; hash row by row instead.
  if (columns.some((c) => c.name.toLowerCase() === "file_row_number")) {
    const conn = await duck.connect();
    try {
      return await contentHashByRow(conn, parquetPath, columns);
    } finally {
      conn.closeSync();
    }
  }
  const hash = createHash("sha256");
  hash.update(canonicalHeader(columns));
  const list = columns.map((c) => `CAST(${canonicalValue(c)} AS VARCHAR)`).join(", ");
  const file = `read_parquet(${sqlString(parquetPath)}, file_row_number = true)`;
  const block = async (conn: DuckDBConnection, start: number, end: number): Promise<string | null> => {
    const reader = await conn.runAndReadAll(
      `SELECT string_agg(line, chr(10) ORDER BY n) FROM (SELECT file_row_number AS n, CAST(to_json([${list}]) AS VARCHAR) AS line FROM ${file} WHERE file_row_number >= ${start} AND file_row_number < ${end})`,
    );
    const text = reader.getRowsJS()[0]?.[0];
    return typeof text === "string" ? text : null;
  };
  const first = await duck.connect();
  const conns = [first];
  const pending: (Promise<string | null> | undefined)[] = [];
  try {
    const total = Number(
      (await first.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(parquetPath)})`)).getRowsJS()[0]?.[0] ?? 0,
    );
    const threads = Number((await first.runAndReadAll("SELECT current_setting('threads')")).getRowsJS()[0]?.[0] ?? 1);
    // The first block sizes the others.
    const firstText = await block(first, 0, FIRST_BLOCK_ROWS);
    if (firstText === null) return hash.digest("hex");
    hash.update(firstText);
    hash.update("\n");
    const firstRows = Math.min(FIRST_BLOCK_ROWS, total);
    const rows = Math.max(1024, Math.floor(BLOCK_TEXT_BYTES / Math.max(1, firstText.length / firstRows)));
    const starts: number[] = [];
    for (let s = FIRST_BLOCK_ROWS; s < total; s += rows) starts.push(s);
    const parallel = Math.max(1, Math.min(MAX_PARALLEL_BLOCKS, threads, starts.length));
    while (conns.length < parallel) conns.push(await duck.connect());
    // Block i runs on connection i % parallel, once block i - parallel there is hashed: at most `parallel` in flight.
    const launch = (i: number) => {
      pending[i] = block(conns[i % parallel]!, starts[i]!, starts[i]! + rows);
      // Kept from rejecting unobserved while earlier blocks are awaited; the await below sees the error.
      pending[i]!.catch(() => undefined);
    };
    for (let i = 0; i < parallel; i++) launch(i);
    for (let i = 0; i < starts.length; i++) {
      const text = await pending[i];
      pending[i] = undefined;
      if (i + parallel < starts.length) launch(i + parallel);
      if (text === null || text === undefined) continue;
      hash.update(text);
      hash.update("\n");
    }
    return hash.digest("hex");
  } finally {
    // After an error, blocks still running on other connections finish before their connections close.
    await Promise.allSettled(pending.filter((p) => p !== undefined));
    for (const c of conns) c.closeSync();
  }
}

/** The same hash as contentHash, streamed one row at a time (slower: every line crosses into JavaScript). */
export async function contentHashByRow(conn: DuckDBConnection, parquetPath: string, columns: readonly ColumnSchema[]): Promise<string> {
  const hash = createHash("sha256");
  hash.update(canonicalHeader(columns));
  const list = columns.map((c) => `CAST(${canonicalValue(c)} AS VARCHAR)`).join(", ");
  const result = await conn.stream(`SELECT CAST(to_json([${list}]) AS VARCHAR) FROM read_parquet(${sqlString(parquetPath)})`);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (const line of chunk.getColumnValues(0)) hash.update(`${String(line)}\n`);
  }
  return hash.digest("hex");
}
