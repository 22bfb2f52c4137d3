import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { CaretflowError, type ColumnSchema, type SourceFormat } from "@caretflow/contracts";
import type { DuckDBConnection } from "@duckdb/node-api";
import { PARQUET_WRITE_OPTIONS, sqlString } from "./duckdb.ts";
import { describeStored, ingestToParquet, type ProgressFn } from "./ingest.ts";

/** One object of a store to read: its name in messages and how to write its bytes to a local file. */
export interface ObjectToRead {
  label: string;
  download(file: string, signal?: AbortSignal): Promise<void>;
}

export interface ObjectsIngestOptions {
  conn: DuckDBConnection;
  objects: readonly ObjectToRead[];
  format: SourceFormat;
  /** Parquet file to write (must not exist; the caller removes it on failure). */
  target: string;
  /** An empty folder of this import's own; the caller removes it (and what is left in it) afterwards. */
  workDir: string;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
}

/**
 * Read objects of one format into one Parquet file, one object at a time so that disk and memory
 * hold one object (plus the Parquet parts) whatever their number: each is downloaded to `workDir`,
 * read by the file ingest (ingestToParquet: the same parsing and errors as an uploaded file, the
 * message naming the object), and deleted; the parts are then unioned by column name (a column
 * missing from an object is null there, types widen to a common one).
 */
export async function objectsToParquet(opts: ObjectsIngestOptions): Promise<{ columns: ColumnSchema[]; rowCount: number }> {
  const { conn, objects, format, workDir, signal } = opts;
  const parts: string[] = [];
  const extension = format === "ndjson" ? "ndjson" : format;
  for (const [i, object] of objects.entries()) {
    signal?.throwIfAborted();
    opts.onProgress?.({ stage: "downloading", done: i, total: objects.length });
    const file = join(workDir, `object-${i}.${extension}`);
    const part = join(workDir, `part-${i}.parquet`);
    await object.download(file, signal);
    signal?.throwIfAborted();
    try {
      await ingestToParquet({ conn, path: file, format, target: part, workDir });
    } catch (error) {
      throw namingObject(error, object.label);
    } finally {
      await rm(file, { force: true });
    }
    parts.push(part);
  }
  signal?.throwIfAborted();
  opts.onProgress?.({ stage: "writing" });
  if (parts.length === 1) await rename(parts[0]!, opts.target);
  else {
    const list = `[${parts.map(sqlString).join(", ")}]`;
    await conn.run(
      `COPY (SELECT * FROM read_parquet(${list}, union_by_name = true)) TO ${sqlString(opts.target)} (${PARQUET_WRITE_OPTIONS})`,
    );
  }
  return describeStored(conn, opts.target);
}

/** The file ingest's error, its message saying which object it is about ("The file is empty" -> "Object 'k': the file is empty"). */
function namingObject(error: unknown, label: string): unknown {
  if (!(error instanceof CaretflowError)) return error;
  const message = `Object '${label}': ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}`;
  return new CaretflowError({
    code: error.code,
    kind: error.kind,
    status: error.status,
    message,
    ...(error.hint ? { hint: error.hint } : {}),
    ...(error.details === undefined ? {} : { details: error.details }),
    cause: error,
  });
}
