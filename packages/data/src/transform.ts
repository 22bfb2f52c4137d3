import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { CaretflowError, type DatasetVersionRef, userError } from "@caretflow/contracts";
import type { DuckDBConnection } from "@duckdb/node-api";
import { describeQuery, PARQUET_WRITE_OPTIONS, sqlIdent, sqlString, withConnection } from "./duckdb.ts";
import { openSandbox } from "./sql-sandbox.ts";

/** A dataset named in a transform's SQL: `sales` (the latest version) or `"sales@3"` (version 3). */
export interface TransformReference {
  /** The table name as written in the SQL; the sandbox's view has exactly this name. */
  table: string;
  dataset: string;
  version?: number;
  /** 1-based line of the first mention, for error messages. */
  line: number;
}

/** A referenced dataset resolved to the exact version the transform reads. */
export interface TransformInput extends DatasetVersionRef {
  table: string;
  path: string;
}

export const TRANSFORM_DEFAULTS = { timeoutMs: 60_000, memoryLimit: "1GB" } as const;

/** The sandbox's view over the user's query; dataset names start with a letter or digit, so none can clash. */
const QUERY_VIEW = "__caretflow_transform";
const PINNED = /^(.+)@(\d+)$/;
/**
 * Functions a transform may not call: DuckDB's own catalog and settings (they would show the sandbox's
 * file paths, not data) and queries given as text, which the parser cannot look into.
 */
const REFUSED_FUNCTION = /^(duckdb_\w*|pragma_\w*|current_setting|getvariable|query|query_table|which_secret)$/i;

/**
 * The first function in `sql` that user-written SQL may not call (REFUSED_FUNCTION: DuckDB's catalog and
 * settings, queries given as text), found by DuckDB's parser without running anything; null when there
 * is none or the SQL does not parse (running it then reports the syntax error).
 */
export async function refusedFunctionIn(conn: DuckDBConnection, sql: string): Promise<string | null> {
  const reader = await conn.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
  const parsed = JSON.parse(String(reader.getRowsJS()[0]?.[0])) as { error: boolean; statements?: unknown[] };
  if (parsed.error) return null;
  return firstRefusedCall(parsed.statements ?? [])?.name ?? null;
}

/** The first call of a REFUSED_FUNCTION in a parsed statement tree (json_serialize_sql), with its offset. */
function firstRefusedCall(node: unknown): { name: string; at: number } | null {
  if (Array.isArray(node)) {
    for (const child of node) {
      const hit = firstRefusedCall(child);
      if (hit) return hit;
    }
    return null;
  }
  if (!node || typeof node !== "object") return null;
  const n = node as Record<string, unknown>;
  if (typeof n.function_name === "string" && REFUSED_FUNCTION.test(n.function_name))
    return { name: n.function_name, at: Number(n.query_location) };
  return firstRefusedCall(Object.values(n));
}

/**
 * Parse a transform's SQL with DuckDB's own parser (json_serialize_sql, which runs nothing) and list
 * the datasets it names as tables. Refuses anything but one SELECT (or WITH ... SELECT) statement,
 * and schema-qualified names. Names of common table expressions are not datasets.
 */
export async function transformReferences(conn: DuckDBConnection, sql: string): Promise<TransformReference[]> {
  if (sql.trim() === "") throw userError("query_empty", "The query is empty", "Write one SELECT statement over datasets.", 422);
  const reader = await conn.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
  const parsed = JSON.parse(String(reader.getRowsJS()[0]?.[0])) as {
    error: boolean;
    error_type?: string;
    error_message?: string;
    position?: string;
    statements?: unknown[];
  };
  if (parsed.error) {
    if (parsed.error_type === "parser") {
      const line = parsed.position === undefined ? undefined : lineAt(sql, Number(parsed.position));
      throw queryError(`The query has a syntax error: ${parsed.error_message ?? "unreadable SQL"}`, line);
    }
    throw onlySelect();
  }
  const statements = parsed.statements ?? [];
  if (statements.length === 0) throw userError("query_empty", "The query is empty", "Write one SELECT statement over datasets.", 422);
  if (statements.length > 1)
    throw userError(
      "query_several_statements",
      "The query holds more than one statement",
      "A transform is one SELECT (or WITH ... SELECT) statement; remove the ';' and what follows it.",
      422,
    );
  const refused = firstRefusedCall(statements);
  if (refused) {
    throw userError(
      "transform_function_refused",
      `The query calls ${refused.name}(), which a transform may not use: it reads DuckDB's own catalog or settings, not datasets`,
      "Read datasets as tables (FROM sales) and compute from their columns.",
      422,
      Number.isFinite(refused.at) && refused.at < sql.length ? { line: lineAt(sql, refused.at) } : undefined,
    );
  }
  const ctes = new Set<string>();
  const tables: { table: string; qualified: boolean; at: number }[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (!node || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    if (n.type === "BASE_TABLE" && typeof n.table_name === "string") {
      tables.push({ table: n.table_name, qualified: Boolean(n.schema_name || n.catalog_name), at: Number(n.query_location) });
    }
    const cteMap = n.cte_map as { map?: { key?: unknown }[] } | undefined;
    for (const entry of cteMap?.map ?? []) if (typeof entry.key === "string") ctes.add(entry.key.toLowerCase());
    for (const value of Object.values(n)) visit(value);
  };
  visit(statements);
  const references = new Map<string, TransformReference>();
  for (const t of tables) {
    const line = Number.isFinite(t.at) && t.at < sql.length ? lineAt(sql, t.at) : 1;
    if (t.qualified)
      throw queryError(
        `The query names the table '${t.table}' with a schema or catalog; datasets are named on their own`,
        line,
        'Write FROM sales (the latest version) or FROM "sales@3" (version 3), without a schema.',
      );
    if (ctes.has(t.table.toLowerCase()) || references.has(t.table)) continue;
    const pinned = PINNED.exec(t.table);
    references.set(
      t.table,
      pinned ? { table: t.table, dataset: pinned[1]!, version: Number(pinned[2]), line } : { table: t.table, dataset: t.table, line },
    );
  }
  return [...references.values()];
}

export interface ExecuteTransformOptions {
  sql: string;
  inputs: TransformInput[];
  /** A fresh folder for the sandbox's spill files and output; the caller removes it. */
  workDir: string;
  timeoutMs?: number;
  memoryLimit?: string;
  threads?: number;
  signal?: AbortSignal;
  /** preview: return the first `limit` rows; write: COPY the whole result to `<workDir>/out/result.parquet`. */
  mode: { preview: number } | { write: true };
}

/**
 * Run a transform in a fresh sandbox that may read only the inputs' Parquet files (as one view per
 * referenced name) and write only into `<workDir>/out`. The query is stopped (interrupted) after
 * `timeoutMs`. DuckDB's errors come back as 422s with their first line, the line of the query they
 * name, and no file paths.
 */
export async function executeTransform(
  opts: ExecuteTransformOptions,
): Promise<{ columns: { name: string; type: string }[]; rows: unknown[][]; output?: string }> {
  const tmp = join(opts.workDir, "tmp");
  const out = join(opts.workDir, "out");
  await mkdir(tmp, { recursive: true });
  await mkdir(out, { recursive: true });
  const sandbox = await openSandbox({
    readable: opts.inputs.map((i) => i.path),
    ...("write" in opts.mode ? { writableDirectory: out } : {}),
    tempDirectory: tmp,
    memoryLimit: opts.memoryLimit ?? TRANSFORM_DEFAULTS.memoryLimit,
    ...(opts.threads ? { threads: opts.threads } : {}),
  });
  const scrub = (text: string) => {
    let s = text;
    for (const i of opts.inputs) s = s.replaceAll(i.path, `${i.dataset}@${i.version}`);
    return s.replaceAll(opts.workDir, "<work>");
  };
  const timeoutMs = opts.timeoutMs ?? TRANSFORM_DEFAULTS.timeoutMs;
  try {
    return await withConnection(sandbox, async (conn) => {
      for (const input of opts.inputs)
        await conn.run(`CREATE VIEW ${sqlIdent(input.table)} AS SELECT * FROM read_parquet(${sqlString(input.path)})`);
      let timedOut = false;
      const stop = () => conn.interrupt();
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, timeoutMs);
      opts.signal?.addEventListener("abort", stop, { once: true });
      // An interrupt reaches only a running statement: between statements the flags are checked instead.
      const guard = () => {
        if (timedOut || opts.signal?.aborted) throw new Error("stopped between statements");
      };
      try {
        guard();
        // On the first line, so the lines DuckDB names are the query's own; a trailing ';' ends this statement.
        await conn.run(`CREATE VIEW ${sqlIdent(QUERY_VIEW)} AS ${opts.sql}`);
        const columns = await describeQuery(conn, `SELECT * FROM ${sqlIdent(QUERY_VIEW)}`);
        guard();
        if ("preview" in opts.mode) {
          const reader = await conn.runAndReadAll(`SELECT * FROM ${sqlIdent(QUERY_VIEW)} LIMIT ${Math.floor(opts.mode.preview)}`);
          return { columns, rows: reader.getRowsJS() as unknown[][] };
        }
        const output = join(out, "result.parquet");
        await conn.run(`COPY ${sqlIdent(QUERY_VIEW)} TO ${sqlString(output)} (${PARQUET_WRITE_OPTIONS})`);
        return { columns, rows: [], output };
      } catch (error) {
        if (timedOut)
          throw userError(
            "transform_timeout",
            `The query ran longer than ${formatSeconds(timeoutMs)} and was stopped; nothing was stored`,
            "Make the query cheaper (filter early, avoid joins without a condition), or ask an administrator for a longer limit.",
            422,
          );
        if (opts.signal?.aborted) throw cancelled();
        throw duckdbQueryError(error, scrub);
      } finally {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", stop);
      }
    });
  } finally {
    sandbox.closeSync();
  }
}

/** DuckDB's error as a 422: its first line (paths scrubbed) and the query line it names. */
function duckdbQueryError(error: unknown, scrub: (s: string) => string): CaretflowError {
  const message = error instanceof Error ? error.message : String(error);
  const first = (message.split("\n")[0] ?? message).trim();
  const lineMatch = /\nLINE (\d+):/.exec(message);
  const line = lineMatch ? Number(lineMatch[1]) : undefined;
  if (/disabled by configuration|Permission Error/i.test(first))
    return userError(
      "transform_access_refused",
      "A transform may read only datasets: file, network and database access is off",
      'Name datasets as tables (FROM sales, FROM "sales@3") instead of reading files or attaching databases.',
      422,
      line ? { line } : undefined,
    );
  if (/^Out of Memory Error/i.test(first))
    return userError(
      "transform_out_of_memory",
      `The query needed more memory than a transform may use: ${scrub(first.replace(/^Out of Memory Error: /, ""))}`,
      "Aggregate or filter earlier, or ask an administrator for a larger memory limit.",
      422,
    );
  return queryError(`DuckDB could not run the query: ${scrub(first)}`, line);
}

function cancelled(): CaretflowError {
  return new CaretflowError({
    code: "transform_cancelled",
    kind: "operational",
    status: 503,
    message: "The transform was cancelled before it finished; nothing was stored",
    hint: "Run it again.",
  });
}

function queryError(message: string, line?: number, hint?: string): CaretflowError {
  return userError(
    "transform_query_invalid",
    message,
    hint ?? (line ? `Fix line ${line} of the query, then preview again.` : "Fix the query, then preview again."),
    422,
    line ? { line } : undefined,
  );
}

function onlySelect(): CaretflowError {
  return userError(
    "query_not_read_only",
    "A transform is one SELECT (or WITH ... SELECT) statement; this query is something else",
    "Write a SELECT over datasets; COPY, ATTACH, CREATE, INSERT, SET and the like are refused.",
    422,
  );
}

function lineAt(sql: string, offset: number): number {
  return sql.slice(0, Math.max(0, offset)).split("\n").length;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
