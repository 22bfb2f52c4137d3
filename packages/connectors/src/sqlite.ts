import { realpathSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import {
  CaretflowError,
  type ConnectionPreview,
  type ConnectionTestResult,
  type ConnectorSource,
  type DiscoverNode,
  notFound,
  type RowBatch,
  SqliteSettings,
  userError,
} from "@caretflow/contracts";
import Database from "better-sqlite3";
import type { Connector, ConnectorContext, ConnectorType, ReadOptions } from "./connector.ts";
import { splitName } from "./postgres.ts";
import { checkReadOnlyQuery, queryOf } from "./sql-check.ts";

const DEFAULT_BATCH_ROWS = 10_000;
/** SQLite's own schema of the main database file. */
const MAIN = "main";

/** SQLite database files stored by the server (settings name the file under the server's connection-files folder). */
export const sqliteType: ConnectorType<typeof SqliteSettings> = {
  type: "sqlite",
  label: "SQLite database file",
  settings: SqliteSettings,
  secrets: [],
  requiredSecrets: [],
  create: (settings, ctx) => new SqliteConnector(settings, ctx),
};

/**
 * The file `name` under `root`, refused unless it stays there: no absolute path, no `..`, and its real
 * path (symlinks followed) must be inside the root's real path.
 */
export function fileUnderRoot(root: string, name: string): string {
  const refuse = () =>
    userError(
      "sqlite_file_refused",
      `'${name}' is not a file caretflow stores`,
      "Upload the database file with caretflow connections create NAME --type sqlite --file PATH.",
      400,
    );
  if (isAbsolute(name) || name.split(/[\\/]/).includes("..") || name.includes("\0")) throw refuse();
  let real: string;
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(resolve(root, name));
  } catch {
    throw new CaretflowError({
      code: "source_file_missing",
      status: 404,
      message: `the SQLite file '${name}' is not stored on this server`,
      hint: "Upload it again: caretflow connections create NAME --type sqlite --file PATH.",
    });
  }
  const rel = relative(realRoot, real);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) throw refuse();
  return real;
}

class SqliteConnector implements Connector {
  constructor(
    private readonly settings: SqliteSettings,
    private readonly ctx: ConnectorContext,
  ) {}

  async test(): Promise<ConnectionTestResult> {
    return this.withDb((db) => {
      const version = db.prepare("SELECT sqlite_version() AS v").get() as { v: string };
      db.prepare("SELECT count(*) FROM sqlite_schema").get(); // fails on a file that is not a database
      return { ok: true as const, host: this.settings.file, serverVersion: `SQLite ${version.v}` };
    });
  }

  async discover(path?: string): Promise<DiscoverNode[]> {
    const parts = path ? splitName(path) : [];
    return this.withDb((db) => {
      if (parts.length === 0) return [{ name: MAIN, path: MAIN, kind: "schema" as const }];
      if (parts.length === 1 && parts[0] === MAIN) {
        const rows = db
          .prepare(
            "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
          )
          .all() as { name: string; type: string }[];
        return rows.map((r) => ({
          name: r.name,
          path: `${MAIN}.${r.name}`,
          kind: r.type === "view" ? ("view" as const) : ("table" as const),
          rowEstimate: Number((db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(r.name)}`).get() as { n: number }).n),
        }));
      }
      if (parts.length === 1) throw notFound("schema", parts[0]!, "Browse the connection without a path: its tables are under main.");
      const table = this.tableOf(parts);
      const columns = db.prepare("SELECT name, type FROM pragma_table_info(?)").all(table) as { name: string; type: string }[];
      if (columns.length === 0) throw tableNotFound(path ?? table);
      return columns.map((c) => ({ name: c.name, path: `${MAIN}.${table}.${c.name}`, kind: "column" as const, type: c.type || "ANY" }));
    });
  }

  async preview(source: ConnectorSource, limit: number): Promise<ConnectionPreview> {
    const n = Math.min(1000, Math.max(1, Math.floor(limit)));
    const preview: ConnectionPreview = { columns: [], rows: [] };
    for await (const batch of this.stream(() => `SELECT * FROM (\n${this.baseSql(source)}\n) LIMIT ${n}`, [], { batchRows: n })) {
      preview.columns = [...batch.columns];
      for (const row of batch.rows) preview.rows.push([...row]);
    }
    return preview;
  }

  read(source: ConnectorSource, opts: ReadOptions = {}): AsyncIterable<RowBatch> {
    return this.stream(() => this.baseSql(source), [], opts);
  }

  readIncremental(source: ConnectorSource, watermarkColumn: string, after: string | null, opts: ReadOptions = {}): AsyncIterable<RowBatch> {
    const col = quoteIdent(watermarkColumn);
    const where = after === null ? "" : ` WHERE ${col} > ?`;
    // A numeric watermark is compared as a number (SQLite orders every number before every text).
    const param = after !== null && /^-?\d+(\.\d+)?$/.test(after) ? Number(after) : after;
    return this.stream(() => `SELECT * FROM (\n${this.baseSql(source)}\n)${where} ORDER BY ${col}`, param === null ? [] : [param], opts);
  }

  async close(): Promise<void> {}

  // ------------------------------------------------------------------ internals

  /** The table of `schema.table` or `table`; only the main schema exists. */
  private tableOf(parts: string[]): string {
    if (parts.length === 1) return parts[0]!;
    if (parts.length === 2 && parts[0] === MAIN) return parts[1]!;
    throw tableNotFound(parts.join("."));
  }

  private baseSql(source: ConnectorSource): string {
    if ("table" in source) return `SELECT * FROM ${quoteIdent(this.tableOf(splitName(source.table)))}`;
    return checkReadOnlyQuery(queryOf(source));
  }

  /** A read-only handle of its own (a read in progress keeps its handle busy), closed after `fn`. */
  private open(): Database.Database {
    const root = this.ctx.fileRoot;
    if (!root)
      throw new CaretflowError({
        code: "sqlite_not_configured",
        kind: "operational",
        message: "this server stores no SQLite files",
        hint: "Use a caretflow server started from its home folder.",
      });
    const file = fileUnderRoot(root, this.settings.file);
    try {
      return new Database(file, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw explain(error);
    }
  }

  private withDb<T>(fn: (db: Database.Database) => T): T {
    const db = this.open();
    try {
      return fn(db);
    } catch (error) {
      throw explain(error);
    } finally {
      db.close();
    }
  }

  private async *stream(sql: () => string, params: unknown[], opts: ReadOptions): AsyncGenerator<RowBatch> {
    const statement = sql();
    const size = Math.max(1, opts.batchRows ?? DEFAULT_BATCH_ROWS);
    const db = this.open();
    try {
      let stmt: Database.Statement;
      try {
        stmt = db.prepare(statement);
      } catch (error) {
        throw explain(error);
      }
      // Only statements that read: ATTACH, PRAGMA writes and the like are refused before they run.
      if (!stmt.reader)
        throw userError("query_not_read_only", "the query does not return rows", "Write one SELECT (or WITH ... SELECT) statement.", 400);
      stmt.raw(true);
      stmt.safeIntegers(true);
      const columns = stmt.columns().map((c) => ({ name: c.name, duckdbType: duckdbType(c.type) }));
      const rows: RowBatch["rows"][number][] = [];
      const iterator = stmt.iterate(...params) as IterableIterator<unknown[]>;
      try {
        for (const raw of iterator) {
          rows.push(raw.map((v, i) => cell(v, columns[i]!.duckdbType)));
          if (rows.length >= size) {
            opts.signal?.throwIfAborted();
            yield { columns, rows: rows.splice(0) };
            opts.signal?.throwIfAborted();
          }
        }
      } catch (error) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? error;
        throw explain(error);
      } finally {
        iterator.return?.();
      }
      opts.signal?.throwIfAborted();
      yield { columns, rows };
    } finally {
      db.close();
    }
  }
}

/** The DuckDB type a declared SQLite column type maps to (SQLite's affinity rules); expressions and untyped columns are text. */
function duckdbType(declared: string | null): string {
  const t = (declared ?? "").toUpperCase();
  if (t.includes("INT")) return "BIGINT";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB") || t.includes("NUMERIC") || t.includes("DECIMAL")) return "DOUBLE";
  return "VARCHAR";
}

/** A SQLite value as a batch cell of its column's type (DuckDB casts text to the column's type). */
function cell(v: unknown, type: string): RowBatch["rows"][number][number] {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString("base64");
  if (type === "VARCHAR") return String(v);
  if (type === "DOUBLE" && typeof v === "bigint") return Number(v);
  if (typeof v === "bigint" || typeof v === "number") return v;
  return String(v);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function tableNotFound(name: string): CaretflowError {
  return new CaretflowError({
    code: "source_table_not_found",
    status: 404,
    message: `SQLite: table '${name}' does not exist`,
    hint: "Browse the connection (caretflow connections browse NAME main) to see its tables.",
  });
}

/** A clear CaretflowError for a better-sqlite3 error. */
function explain(error: unknown): CaretflowError {
  if (error instanceof CaretflowError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const missing = /^no such table: (.+)$/.exec(message);
  if (missing) return tableNotFound(missing[1]!);
  if (/file is not a database|database disk image is malformed/.test(message))
    return userError(
      "sqlite_file_invalid",
      "the stored file is not a SQLite database",
      "Upload a .sqlite or .db file made by SQLite 3.",
      400,
    );
  if (/^no such column|syntax error|^near /.test(message))
    return userError(
      "query_invalid",
      `SQLite: ${message}`,
      "Check the query against the tables (caretflow connections browse NAME main).",
      400,
    );
  return new CaretflowError({ code: "source_error", kind: "operational", status: 502, message: `SQLite: ${message}` });
}
