import { isIP } from "node:net";
import {
  CaretflowError,
  type ConnectionPreview,
  type ConnectionTestResult,
  type ConnectorSource,
  type DiscoverNode,
  notFound,
  PostgresSettings,
  type RowBatch,
  userError,
} from "@caretflow/contracts";
import pg from "pg";
import Cursor from "pg-cursor";
import type { Connector, ConnectorContext, ConnectorType, ReadOptions } from "./connector.ts";
import { connectWithFailover, reachFailure, UNREACHABLE_CODES } from "./failover.ts";
import { checkReadOnlyQuery, queryOf } from "./sql-check.ts";

/** Every value arrives as PostgreSQL's text form; DuckDB casts it to the column's type when appending. */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value };
const DEFAULT_BATCH_ROWS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Statement timeout for browsing, testing and previews (imports have none). */
const BROWSE_TIMEOUT = "30s";

/** PostgreSQL type OIDs caretflow keeps typed; every other type is stored as text. */
const DUCKDB_TYPE_BY_OID: Record<number, string> = {
  16: "BOOLEAN",
  20: "BIGINT",
  21: "SMALLINT",
  23: "INTEGER",
  26: "BIGINT",
  700: "FLOAT",
  701: "DOUBLE",
  1700: "DOUBLE",
  1082: "DATE",
  1114: "TIMESTAMP",
  1184: "TIMESTAMP WITH TIME ZONE",
};

/** PostgreSQL (and servers speaking its protocol: RDS, Aurora, Redshift's Postgres endpoint). */
export const postgresType: ConnectorType<typeof PostgresSettings> = {
  type: "postgres",
  label: "PostgreSQL",
  settings: PostgresSettings,
  secrets: ["password"],
  requiredSecrets: [],
  create: (settings, ctx) => new PostgresConnector(settings, ctx),
};

class PostgresConnector implements Connector {
  private pool: pg.Pool | null = null;
  private poolHost = "";

  constructor(
    private readonly settings: PostgresSettings,
    private readonly ctx: ConnectorContext,
  ) {}

  async test(): Promise<ConnectionTestResult> {
    return this.withReadOnly(async (client, host) => {
      const result = await client.query<{ version: string }>("SELECT version() AS version");
      return { ok: true as const, host, serverVersion: String(result.rows[0]?.version ?? "") };
    });
  }

  async discover(path?: string): Promise<DiscoverNode[]> {
    const parts = path ? splitName(path) : [];
    return this.withReadOnly(async (client) => {
      if (parts.length === 0) {
        const r = await client.query<{ name: string }>(
          `SELECT nspname AS name FROM pg_namespace
           WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%'
             AND has_schema_privilege(oid, 'USAGE') ORDER BY 1`,
        );
        return r.rows.map((row) => ({ name: row.name, path: row.name, kind: "schema" as const }));
      }
      if (parts.length === 1) {
        const schema = parts[0]!;
        const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
        if (exists.rowCount === 0) throw notFound("schema", schema, "Browse the connection without a path to list its schemas.");
        const r = await client.query<{ name: string; kind: string; estimate: string }>(
          `SELECT c.relname AS name, c.relkind AS kind, c.reltuples::bigint AS estimate
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`,
          [schema],
        );
        return r.rows.map((row) => ({
          name: row.name,
          path: `${schema}.${row.name}`,
          kind: row.kind === "v" || row.kind === "m" ? ("view" as const) : ("table" as const),
          ...(Number(row.estimate) >= 0 ? { rowEstimate: Number(row.estimate) } : {}),
        }));
      }
      const [schema, table] = parts as [string, string];
      const r = await client.query<{ name: string; type: string }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [schema, table],
      );
      if (r.rowCount === 0) throw tableNotFound(`${schema}.${table}`);
      return r.rows.map((row) => ({ name: row.name, path: `${schema}.${table}.${row.name}`, kind: "column" as const, type: row.type }));
    });
  }

  async preview(source: ConnectorSource, limit: number): Promise<ConnectionPreview> {
    const n = Math.min(1000, Math.max(1, Math.floor(limit)));
    // The statement goes on lines of its own, so a trailing line comment cannot swallow the wrapper.
    const sql = () => `SELECT * FROM (\n${baseSql(source)}\n) AS caretflow_preview LIMIT ${n}`;
    const preview: ConnectionPreview = { columns: [], rows: [] };
    // Read to the end (at most `n` rows) so the connection goes back to the pool cleanly.
    for await (const batch of this.stream(sql, [], { batchRows: n }, BROWSE_TIMEOUT)) {
      preview.columns = [...batch.columns];
      for (const row of batch.rows) preview.rows.push([...row]);
    }
    return preview;
  }

  read(source: ConnectorSource, opts: ReadOptions = {}): AsyncIterable<RowBatch> {
    return this.stream(() => baseSql(source), [], opts);
  }

  readIncremental(source: ConnectorSource, watermarkColumn: string, after: string | null, opts: ReadOptions = {}): AsyncIterable<RowBatch> {
    const col = quoteIdent(watermarkColumn);
    const where = after === null ? "" : ` WHERE ${col} > $1`;
    const sql = () => `SELECT * FROM (\n${baseSql(source)}\n) AS caretflow_source${where} ORDER BY ${col}`;
    return this.stream(sql, after === null ? [] : [after], opts);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end().catch(() => undefined);
  }

  // ------------------------------------------------------------------ internals

  /**
   * Rows of one statement in a READ ONLY transaction, read through a cursor `batchRows` at a time.
   * `sql` is built when the read starts, so a refused query fails the read, not the call.
   */
  private async *stream(sql: () => string, params: unknown[], opts: ReadOptions, timeout?: string): AsyncGenerator<RowBatch> {
    const statement = sql();
    const { client } = await this.acquire();
    let clean = false;
    try {
      await client.query("BEGIN TRANSACTION READ ONLY");
      if (timeout) await client.query(`SET LOCAL statement_timeout = '${timeout}'`);
      const cursor = client.query(new Cursor(statement, params, { rowMode: "array", types: TEXT_TYPES }));
      let columns: RowBatch["columns"] | null = null;
      for (;;) {
        opts.signal?.throwIfAborted();
        const { rows, fields } = await readCursor(cursor, opts.batchRows ?? DEFAULT_BATCH_ROWS);
        columns ??= fields.map((f) => ({ name: f.name, duckdbType: DUCKDB_TYPE_BY_OID[f.dataTypeID] ?? "VARCHAR" }));
        yield { columns, rows };
        if (rows.length === 0) break;
      }
      await cursor.close();
      await client.query("COMMIT");
      clean = true;
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? error;
      throw this.explain(error);
    } finally {
      // A read stopped early (cancelled, failed, or its consumer stopped) drops its connection.
      client.release(clean ? undefined : true);
    }
  }

  private async withReadOnly<T>(fn: (client: pg.PoolClient, host: string) => Promise<T>): Promise<T> {
    const { client, host } = await this.acquire();
    let clean = false;
    try {
      await client.query("BEGIN TRANSACTION READ ONLY");
      await client.query(`SET LOCAL statement_timeout = '${BROWSE_TIMEOUT}'`);
      const result = await fn(client, host);
      await client.query("COMMIT");
      clean = true;
      return result;
    } catch (error) {
      throw this.explain(error);
    } finally {
      client.release(clean ? undefined : true);
    }
  }

  /**
   * A pooled client: from the pool of the host that answered last, or else the hosts tried in order
   * (failover), each checked by the address guard and reached at the checked address. Unreachable
   * hosts are retried with backoff; refused credentials and refused addresses are not.
   */
  private async acquire(): Promise<{ client: pg.PoolClient; host: string }> {
    const { client, host } = await this.connect();
    // A dropped connection also surfaces as an 'error' event; the pending query reports it.
    if (client.listenerCount("error") === 0) client.on("error", () => undefined);
    return { client, host };
  }

  private async connect(): Promise<{ client: pg.PoolClient; host: string }> {
    if (this.pool) {
      try {
        return { client: await this.pool.connect(), host: this.poolHost };
      } catch (error) {
        if (!isUnreachable(error)) throw this.explain(error);
        await this.close();
      }
    }
    const { pool, client, host } = await connectWithFailover({
      engine: "PostgreSQL",
      hosts: this.settings.hosts,
      addressPolicy: this.ctx.addressPolicy,
      createPool: (host, port, address) => {
        const pool = new pg.Pool({
          host: address,
          port,
          database: this.settings.database,
          user: this.settings.user,
          ...(this.ctx.secrets.password !== undefined ? { password: this.ctx.secrets.password } : {}),
          ssl: this.settings.ssl ? { rejectUnauthorized: true, ...(isIP(host) ? {} : { servername: host }) } : false,
          max: 4,
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
          idleTimeoutMillis: 30_000,
          application_name: "caretflow",
          options: "-c TimeZone=UTC",
        });
        pool.on("error", () => undefined); // an idle client's connection dropped; the next acquire reconnects
        return pool;
      },
      take: (pool) => pool.connect(),
      end: (pool) => pool.end(),
      isUnreachable,
      explain: (error, at) => this.explain(error, at),
    });
    this.pool = pool;
    this.poolHost = host;
    return { client, host };
  }

  /** A clear CaretflowError for a pg or network error, with every secret masked. */
  private explain(error: unknown, at = this.poolHost): CaretflowError {
    if (error instanceof CaretflowError) return this.mask(error);
    const e = error as { code?: string; message?: string };
    const reason = this.maskText(e?.message ?? String(error));
    const { database, user } = this.settings;
    let out: CaretflowError;
    switch (e?.code) {
      case "28P01":
      case "28000":
        out = userError(
          "connection_auth_failed",
          `PostgreSQL at ${at} refused the credentials of user '${user}'`,
          "Check the user name and password (caretflow connections edit), and that pg_hba.conf lets this user in from this server.",
          400,
        );
        break;
      case "3D000":
        out = userError(
          "connection_database_not_found",
          `PostgreSQL at ${at} has no database '${database}'`,
          "Check the database name.",
          400,
        );
        break;
      case "42501":
        out = userError(
          "source_permission_denied",
          `User '${user}' lacks a permission in PostgreSQL: ${reason}`,
          "Ask the database owner to GRANT SELECT on the table (and USAGE on its schema) to this user.",
          403,
        );
        break;
      case "42P01":
        out = new CaretflowError({
          code: "source_table_not_found",
          status: 404,
          message: `PostgreSQL: ${reason}`,
          hint: "Browse the connection (caretflow connections browse NAME SCHEMA) to see the tables this user can read.",
        });
        break;
      case "25006":
        out = userError(
          "query_not_read_only",
          `The query tried to change data: ${reason}`,
          "Queries run in a read-only transaction; write one SELECT statement.",
          400,
        );
        break;
      case "57014":
        out = userError(
          "source_query_timeout",
          `PostgreSQL cancelled the query: ${reason}`,
          "Narrow the query (filters, LIMIT) and try again.",
          408,
        );
        break;
      default:
        if (isConnectionLost(error)) {
          out = new CaretflowError({
            code: "source_connection_lost",
            kind: "operational",
            status: 503,
            message: `The connection to PostgreSQL at ${at} was lost during the read (${reason}); nothing was stored`,
            hint: "Check that the server is running, then import again.",
          });
        } else if (isUnreachable(error)) {
          out = new CaretflowError({
            code: "connection_unreachable",
            kind: "operational",
            status: 503,
            message: `Could not reach PostgreSQL at ${at} (${reachFailure(error)})`,
            hint: "Check the host and port, and that the server is running.",
          });
        } else if (typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) {
          out = userError(
            "source_query_failed",
            `PostgreSQL refused the query: ${reason}`,
            "Fix the query or the table name, then try again.",
            400,
          );
        } else {
          out = new CaretflowError({ code: "source_error", kind: "operational", status: 502, message: `PostgreSQL: ${reason}` });
        }
    }
    return out;
  }

  private maskText(text: string): string {
    let out = text;
    for (const secret of Object.values(this.ctx.secrets)) if (secret.length >= 1) out = out.replaceAll(secret, "***");
    return out;
  }

  private mask(error: CaretflowError): CaretflowError {
    const message = this.maskText(error.message);
    if (message === error.message) return error;
    return new CaretflowError({
      code: error.code,
      kind: error.kind,
      status: error.status,
      message,
      ...(error.hint ? { hint: this.maskText(error.hint) } : {}),
    });
  }
}

function readCursor(cursor: Cursor, n: number): Promise<{ rows: string[][]; fields: { name: string; dataTypeID: number }[] }> {
  return new Promise((resolve, reject) => {
    cursor.read(n, (err, rows, result) => {
      if (err) reject(err);
      else resolve({ rows: rows as string[][], fields: result?.fields ?? [] });
    });
  });
}

/** The statement that reads a source: a table (schema-qualified or not) or a checked read-only query. */
export function baseSql(source: ConnectorSource): string {
  if ("table" in source) return `SELECT * FROM ${splitName(source.table).map(quoteIdent).join(".")}`;
  return checkReadOnlyQuery(queryOf(source));
}

/** "schema.table" or "table" (a part may be double-quoted to hold dots). */
export function splitName(name: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^."]+))\s*(\.|$)/y;
  let at = 0;
  while (at < name.length) {
    re.lastIndex = at;
    const m = re.exec(name);
    if (!m) throw userError("invalid_table_name", `'${name}' is not a table name`, "Write schema.table (or just table).", 400);
    parts.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!.trim());
    at = re.lastIndex;
    if (m[3] === "" || at >= name.length) break;
  }
  if (parts.length === 0 || parts.length > 3)
    throw userError("invalid_table_name", `'${name}' is not a table name`, "Write schema.table (or just table).", 400);
  return parts;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function tableNotFound(name: string): CaretflowError {
  return new CaretflowError({
    code: "source_table_not_found",
    status: 404,
    message: `PostgreSQL: table '${name}' does not exist (or this user cannot see it)`,
    hint: "Browse the connection (caretflow connections browse NAME SCHEMA) to see the tables this user can read.",
  });
}

function isUnreachable(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    (typeof e?.code === "string" && UNREACHABLE_CODES.has(e.code)) ||
    /timeout expired|Connection terminated due to connection timeout|the database system is (starting up|shutting down)/i.test(
      e?.message ?? "",
    ) ||
    e?.code === "57P03"
  );
}

function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e?.code === "57P01" ||
    e?.code === "57P02" ||
    e?.code === "ECONNRESET" ||
    e?.code === "EPIPE" ||
    /Connection terminated|connection is closed|terminating connection/i.test(e?.message ?? "")
  );
}
