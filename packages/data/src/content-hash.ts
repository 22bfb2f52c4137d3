import { createHash } from "node:crypto";
import type { ColumnSchema } from "@caretflow/contracts";
import type { DuckDBConnection } from "@duckdb/node-api";
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

/** Rows hashed in the first block; later blocks are sized from the text the previous one made. */
const FIRST_BLOCK_ROWS = 65_536;
/** About how much canonical text one block makes (memory held at once, in DuckDB and in JS). */
const BLOCK_TEXT_BYTES = 8 * 1024 * 1024;

/**
 * sha256 (hex) of the canonical form of a stored table: the header line, then one line per row in
 * stored order, each a JSON array of the values cast to VARCHAR by DuckDB (floats first to DOUBLE; null for NULL).
 * Same table from CSV or Parquet => same hash when names, kinds and values agree.
 *
 * DuckDB builds the lines of a block of rows (chosen by the Parquet file's row numbers, which it reads
 * without scanning the rest) in parallel and joins them in order, so JavaScript hashes a few large
 * strings instead of one per row; memory stays bounded by the block size (about 32 MB of text).
 */
export async function contentHash(conn: DuckDBConnection, parquetPath: string, columns: readonly ColumnSchema[]): Promise<string> {
  // A column of that name would hide the row number DuckDB adds; hash row by row instead.
  if (columns.some((c) => c.name.toLowerCase() === "file_row_number")) return contentHashByRow(conn, parquetPath, columns);
  const hash = createHash("sha256");
  hash.update(canonicalHeader(columns));
  const list = columns.map((c) => `CAST(${canonicalValue(c)} AS VARCHAR)`).join(", ");
  const file = `read_parquet(${sqlString(parquetPath)}, file_row_number = true)`;
  const total = Number((await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(parquetPath)})`)).getRowsJS()[0]?.[0] ?? 0);
  let rows = FIRST_BLOCK_ROWS;
  for (let start = 0; start < total; ) {
    const end = start + rows;
    const reader = await conn.runAndReadAll(
      `SELECT string_agg(line, chr(10) ORDER BY n) FROM (SELECT file_row_number AS n, CAST(to_json([${list}]) AS VARCHAR) AS line FROM ${file} WHERE file_row_number >= ${start} AND file_row_number < ${end})`,
    );
    const text = reader.getRowsJS()[0]?.[0];
    const hashed = Math.min(rows, total - start);
    start = end;
    if (typeof text !== "string") continue;
    hash.update(text);
    hash.update("\n");
    // The next block makes about BLOCK_TEXT_BYTES of text at this block's bytes per row.
    rows = Math.max(1024, Math.floor(BLOCK_TEXT_BYTES / Math.max(1, text.length / hashed)));
  }
  return hash.digest("hex");
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
