import { createHash } from "node:crypto";
import type { ColumnSchema } from "@caretflow/contracts";
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlIdent, sqlString } from "./duckdb.ts";

/**
 * Version tag of the canonical form. The hash also depends on DuckDB's `hash()` function, so the tag
 * stored with a version names the DuckDB release that computed it (see contentHashFormat); change the
 * tag (and docs/datasets.md) if the definition ever changes.
 */
export const CONTENT_HASH_FORMAT = "caretflow-content-v2";

/** Versions stored before the format was recorded hashed the v1 canonical text (docs/datasets.md). */
export const LEGACY_CONTENT_HASH_FORMAT = "caretflow-content-v1";

/** The format tag stored with each new version: the definition plus the DuckDB release whose hash() it used. */
export async function contentHashFormat(conn: DuckDBConnection): Promise<string> {
  const version = (await conn.runAndReadAll("SELECT version()")).getRowsJS()[0]?.[0];
  return `${CONTENT_HASH_FORMAT}+duckdb-${String(version ?? "unknown").replace(/^v/, "")}`;
}

/**
 * Each value as the type its kind hashes as, so the same data hashes alike whatever the file held:
 * INTEGER and BIGINT, DECIMAL 1.50 and DOUBLE 1.5, a naive timestamp and the same instant with a time zone.
 */
function canonicalValue(c: Pick<ColumnSchema, "name" | "kind">): string {
  const id = sqlIdent(c.name);
  switch (c.kind) {
    case "integer":
      return `CAST(${id} AS HUGEINT)`;
    case "float":
      return `CAST(${id} AS DOUBLE)`;
    case "boolean":
    case "string":
    case "date":
      return id;
    case "timestamp":
      return `epoch_ns(${id})`;
    default:
      return `CAST(${id} AS VARCHAR)`;
  }
}

/** The first line hashed: the format tag, the row count and the columns' names and logical kinds. */
export function canonicalHeader(columns: readonly Pick<ColumnSchema, "name" | "kind">[], rows: number): string {
  return `${JSON.stringify({ format: CONTENT_HASH_FORMAT, rows, columns: columns.map((c) => [c.name, c.kind]) })}\n`;
}

/**
 * sha256 (hex) of a stored table's content, computed by DuckDB in one parallel scan of the Parquet file:
 * for every row, DuckDB's 64-bit `hash()` of its row number and its values, XORed over the table; the
 * digest covers the header line (with the row count) and that value. Two different tables hash alike with
 * a chance of about 2^-64.
 * Reordering rows or columns, renaming a column or changing one value changes it. It identifies content
 * (re-imports of unchanged data store nothing) and is not a signature: DuckDB's hash is not cryptographic.
 */
export async function contentHash(
  conn: DuckDBConnection,
  parquetPath: string,
  columns: readonly Pick<ColumnSchema, "name" | "kind">[],
  /** How rows are numbered: by the Parquet reader (the default) or in scan order (used when a column is named file_row_number). */
  numbering: "reader" | "scan" = "reader",
): Promise<string> {
  const names = new Set(columns.map((c) => c.name.toLowerCase()));
  let alias = "caretflow_row";
  while (names.has(alias)) alias = `_${alias}`;
  const n = sqlIdent(alias);
  const values = columns.map(canonicalValue);
  const forward = [n, ...values].join(", ");
  // A column named file_row_number hides the reader's row number; number the rows in scan order instead.
  const rowsWithNumber =
    numbering === "scan" || names.has("file_row_number")
      ? `(SELECT *, row_number() OVER () - 1 AS ${n} FROM read_parquet(${sqlString(parquetPath)}))`
      : `(SELECT *, file_row_number AS ${n} FROM read_parquet(${sqlString(parquetPath)}, file_row_number = true))`;
  const reader = await conn.runAndReadAll(
    `SELECT count(*), CAST(coalesce(bit_xor(hash(${forward})), 0) AS VARCHAR) FROM ${rowsWithNumber}`,
  );
  const [rows, xor] = reader.getRowsJS()[0] ?? [0, "0"];
  return createHash("sha256")
    .update(canonicalHeader(columns, Number(rows)))
    .update(`${String(xor)}\n`)
    .digest("hex");
}
