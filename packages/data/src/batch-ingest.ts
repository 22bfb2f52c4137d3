import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type BatchCell, CaretflowError, type RowBatch, userError } from "@caretflow/contracts";
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import { checkColumnNames } from "./column-names.ts";
import { duckdbReason, PARQUET_WRITE_OPTIONS, sqlIdent, sqlString } from "./duckdb.ts";
import type { ProgressFn } from "./ingest.ts";

/** Rows kept in DuckDB before they are written out as one Parquet part: memory stays bounded whatever the source's size. */
export const ROWS_PER_PART = 100_000;

export interface BatchIngestOptions {
  conn: DuckDBConnection;
  batches: AsyncIterable<RowBatch>;
  /** Parquet file to write (must not exist; the caller owns its cleanup on failure). */
  target: string;
  workDir: string;
  /** A stored Parquet file whose rows come first (incremental imports append to the previous version). */
  appendTo?: string;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  rowsPerPart?: number;
}

/**
 * Stream row batches into one Parquet file: rows are appended to a DuckDB staging table and written
 * out as a Parquet part every `rowsPerPart` rows; the parts (after `appendTo`'s rows) are then copied
 * into `target`. Returns the number of rows read from the batches (0 writes no target).
 */
export async function batchesToParquet(opts: BatchIngestOptions): Promise<{ rowsRead: number }> {
  const { conn } = opts;
  const partsDir = join(opts.workDir, `parts-${randomUUID()}`);
  const stage = `stage_${randomUUID().replaceAll("-", "")}`;
  const rowsPerPart = opts.rowsPerPart ?? ROWS_PER_PART;
  const parts: string[] = [];
  let columns: RowBatch["columns"] | null = null;
  let appender: DuckDBAppender | null = null;
  let inStage = 0;
  let rowsRead = 0;

  const flushPart = async () => {
    if (!appender || inStage === 0) return;
    appender.closeSync();
    appender = null;
    const part = join(partsDir, `part-${String(parts.length).padStart(6, "0")}.parquet`);
    await conn.run(`COPY ${sqlIdent(stage)} TO ${sqlString(part)} (${PARQUET_WRITE_OPTIONS})`);
    parts.push(part);
    await conn.run(`DELETE FROM ${sqlIdent(stage)}`);
    inStage = 0;
  };

  await mkdir(partsDir, { recursive: true });
  const iterator = opts.batches[Symbol.asyncIterator]();
  let reading = false;
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      reading = true;
      const next = await iterator.next();
      reading = false;
      if (next.done) break;
      const batch = next.value;
      if (!columns) {
        columns = batch.columns;
        checkColumnNames(
          columns.map((c) => c.name),
          "The source",
        );
        const defs = columns.map((c) => `${sqlIdent(c.name)} ${c.duckdbType}`).join(", ");
        await conn.run(`CREATE TABLE ${sqlIdent(stage)} (${defs})`);
      } else if (!sameColumns(columns, batch.columns)) {
        throw new CaretflowError({
          code: "batch_columns_changed",
          kind: "bug",
          message: "The source changed its columns in the middle of a read",
        });
      }
      if (batch.rows.length === 0) continue;
      appender ??= await conn.createAppender(stage);
      for (const row of batch.rows) {
        for (const cell of row) appendCell(appender, cell);
        appender.endRow();
      }
      inStage += batch.rows.length;
      rowsRead += batch.rows.length;
      opts.onProgress?.({ stage: "reading", done: rowsRead });
      if (inStage >= rowsPerPart) await flushPart();
    }
    await flushPart();
    if (rowsRead === 0 || parts.length === 0) return { rowsRead: 0 };
    opts.onProgress?.({ stage: "writing" });
    const list = `[${parts.map(sqlString).join(", ")}]`;
    const select = opts.appendTo
      ? `SELECT * FROM read_parquet(${sqlString(opts.appendTo)}) UNION ALL BY NAME SELECT * FROM read_parquet(${list})`
      : `SELECT * FROM read_parquet(${list})`;
    await conn.run(`COPY (${select}) TO ${sqlString(opts.target)} (${PARQUET_WRITE_OPTIONS})`);
    return { rowsRead };
  } catch (error) {
    // The source's own errors (connection lost, cancelled...) pass through; DuckDB's mean a value did not fit.
    if (reading) throw error;
    await iterator.return?.().catch(() => undefined);
    if (error instanceof CaretflowError) throw error;
    if (opts.signal?.aborted) throw opts.signal.reason ?? error;
    throw castFailure(error);
  } finally {
    try {
      (appender as DuckDBAppender | null)?.closeSync();
    } catch {
      // the staging table goes away below either way
    }
    await conn.run(`DROP TABLE IF EXISTS ${sqlIdent(stage)}`).catch(() => undefined);
    await rm(partsDir, { recursive: true, force: true });
  }
}

function appendCell(appender: DuckDBAppender, cell: BatchCell): void {
  if (cell === null || cell === undefined) appender.appendNull();
  else if (typeof cell === "string") appender.appendVarchar(cell);
  else if (typeof cell === "boolean") appender.appendBoolean(cell);
  else if (typeof cell === "bigint") appender.appendBigInt(cell);
  else appender.appendDouble(cell);
}

function sameColumns(a: RowBatch["columns"], b: RowBatch["columns"]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]?.name && c.duckdbType === b[i]?.duckdbType);
}

function castFailure(error: unknown): CaretflowError {
  return userError(
    "source_value_unreadable",
    `A value from the source could not be stored: ${duckdbReason(error)}`,
    "Cast the column to text in a query (for example SELECT col::text AS col ...) and import the query instead.",
    422,
  );
}
