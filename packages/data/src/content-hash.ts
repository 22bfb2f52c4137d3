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

/**
 * sha256 (hex) of the canonical form of a stored table: the header line, then one line per row in
 * stored order, each a JSON array of the values cast to VARCHAR by DuckDB (floats first to DOUBLE; null for NULL). Streaming,
 * so memory stays bounded. Same table from CSV or Parquet => same hash when names, kinds and values agree.
 */
export async function contentHash(conn: DuckDBConnection, parquetPath: string, columns: readonly ColumnSchema[]): Promise<string> {
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
