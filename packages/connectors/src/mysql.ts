import { connect as netConnect } from "node:net";
import {
  type BatchCell,
  CaretflowError,
  type ConnectionPreview,
  type ConnectionTestResult,
  type ConnectorSource,
  type DiscoverNode,
  MysqlSettings,
  notFound,
  type RowBatch,
  userError,
} from "@caretflow/contracts";
import mysqlCallbacks, { type Connection as CallbackConnection, type FieldPacket } from "mysql2";
import mysql from "mysql2/promise";
import type { Connector, ConnectorContext, ConnectorType, ReadOptions } from "./connector.ts";
import { connectWithFailover, reachFailure, UNREACHABLE_CODES } from "./failover.ts";
import { checkReadOnlyQuery, queryOf } from "./sql-check.ts";

const DEFAULT_BATCH_ROWS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Statement timeout, in seconds, for browsing, testing and previews (imports have none). */
const BROWSE_TIMEOUT_S = 30;
const UNSIGNED_FLAG = 32;
/** mysql2 is CommonJS: its type codes come through the default export. */
const { Types } = mysqlCallbacks;

/** The session's SQL mode without the modes that change how strings and quoted names are read. */
const LEXER_SAFE_SQL_MODE = `TRIM(BOTH ',' FROM ${["ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "ANSI"].reduce(
  (expr, mode) => `REPLACE(${expr}, ',${mode},', ',')`,
  "CONCAT(',', @@SESSION.sql_mode, ',')",
)})`;

/** Schemas of the server itself, never listed. */
const SYSTEM_SCHEMAS = ["information_schema", "mysql", "performance_schema", "sys"];

/** MySQL and MariaDB (and servers speaking their protocol: RDS, Aurora MySQL, PlanetScale...). */
export const mysqlType: ConnectorType<typeof MysqlSettings> = {
  type: "mysql",
  label: "MySQL / MariaDB",
  settings: MysqlSettings,
  secrets: ["password"],
  requiredSecrets: [],
  create: (settings, ctx) => new MysqlConnector(settings, ctx),
};

/** One field's cell as caretflow keeps it: text (DuckDB casts it), a boolean for tinyint(1), null for zero dates. */
function textCell(field: { type: string; length: number; string(): string | null }): BatchCell {
  const value = field.string();
  if (value === null) return null;
  if (field.type === "TINY" && field.length === 1) return value !== "0";
  if ((field.type === "DATE" || field.type === "DATETIME" || field.type === "TIMESTAMP") && value.startsWith("0000-00-00")) return null;
  return value;
}

/** The DuckDB type of a result column (text for every type not listed). */
function duckdbTypeOf(field: FieldPacket): string {
  const unsigned = typeof field.flags === "number" ? (field.flags & UNSIGNED_FLAG) !== 0 : (field.flags ?? []).includes("UNSIGNED");
  switch (field.columnType) {
    case Types.TINY:
      return field.columnLength === 1 ? "BOOLEAN" : "SMALLINT";
    case Types.SHORT:
      return unsigned ? "INTEGER" : "SMALLINT";
    case Types.INT24:
      return "INTEGER";
    case Types.LONG:
      return unsigned ? "BIGINT" : "INTEGER";
    case Types.LONGLONG:
      return unsigned ? "UBIGINT" : "BIGINT";
    case Types.YEAR:
      return "SMALLINT";
    case Types.FLOAT:
      return "FLOAT";
    case Types.DOUBLE:
    case Types.DECIMAL:
    case Types.NEWDECIMAL:
      return "DOUBLE";
    case Types.DATE:
    case Types.NEWDATE:
      return "DATE";
    case Types.DATETIME:
    case Types.TIMESTAMP:
      return "TIMESTAMP";
    default:
      return "VARCHAR";
  }
}

type PoolConnection = mysql.PoolConnection;

class MysqlConnector implements Connector {
  private pool: mysql.Pool | null = null;
  private poolHost = "";
  /** The session variable that limits a statement's time: MariaDB's (seconds) or MySQL's (milliseconds). */
  private timeoutVariable: "max_statement_time" | "max_execution_time" | null = null;

  constructor(
    private readonly settings: MysqlSettings,
    private readonly ctx: ConnectorContext,
  ) {}

  async test(): Promise<ConnectionTestResult> {
    return this.withReadOnly(async (conn, host) => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>("SELECT VERSION() AS version");
      return { ok: true as const, host, serverVersion: String(rows[0]?.version ?? "") };
    });
  }

  async discover(path?: string): Promise<DiscoverNode[]> {
    const parts = path ? splitMysqlName(path) : [];
    return this.withReadOnly(async (conn) => {
      if (parts.length === 0) {
        const [rows] = await conn.query<mysql.RowDataPacket[]>(
          "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (?) ORDER BY 1",
          [SYSTEM_SCHEMAS],
        );
        return rows.map((row) => ({ name: String(row.name), path: String(row.name), kind: "schema" as const }));
      }
      if (parts.length === 1) {
        const schema = parts[0]!;
        const [exists] = await conn.query<mysql.RowDataPacket[]>("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [
          schema,
        ]);
        if (exists.length === 0) throw notFound("schema", schema, "Browse the connection without a path to list its databases.");
        const [rows] = await conn.query<mysql.RowDataPacket[]>(
          `SELECT TABLE_NAME AS name, TABLE_TYPE AS kind, TABLE_ROWS AS estimate
           FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1`,
          [schema],
        );
        return rows.map((row) => ({
          name: String(row.name),
          path: `${schema}.${String(row.name)}`,
          kind: row.kind === "VIEW" || row.kind === "SYSTEM VIEW" ? ("view" as const) : ("table" as const),
          ...(row.estimate !== null && row.estimate !== undefined ? { rowEstimate: Number(row.estimate) } : {}),
        }));
      }
      const [schema, table] = parts as [string, string];
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
        [schema, table],
      );
      if (rows.length === 0) throw tableNotFound(`${schema}.${table}`);
      return rows.map((row) => ({
        name: String(row.name),
        path: `${schema}.${table}.${String(row.name)}`,
        kind: "column" as const,
        type: String(row.type),
      }));
    });
  }

  async preview(source: ConnectorSource, limit: number): Promise<ConnectionPreview> {
    const n = Math.min(1000, Math.max(1, Math.floor(limit)));
    // The statement goes on lines of its own, so a trailing line comment cannot swallow the wrapper.
    const sql = () =>
      "table" in source
        ? `${mysqlBaseSql(source)} LIMIT ${n}`
        : `SELECT * FROM (\n${mysqlBaseSql(source)}\n) AS caretflow_preview LIMIT ${n}`;
    const preview: ConnectionPreview = { columns: [], rows: [] };
    // Read to the end (at most `n` rows) so the connection goes back to the pool cleanly.
    for await (const batch of this.stream(sql, [], { batchRows: n }, "table" in source, BROWSE_TIMEOUT_S)) {
      preview.columns = [...batch.columns];
      for (const row of batch.rows) preview.rows.push([...row]);
    }
    return preview;
  }

  read(source: ConnectorSource, opts: ReadOptions = {}): AsyncIterable<RowBatch> {
    return this.stream(() => mysqlBaseSql(source), [], opts, "table" in source);
  }

  readIncremental(source: ConnectorSource, watermarkColumn: string, after: string | null, opts: ReadOptions = {}): AsyncIterable<RowBatch> {
    const col = quoteIdent(watermarkColumn);
    const where = after === null ? "" : ` WHERE ${col} > ?`;
    const sql = () => `SELECT * FROM (\n${mysqlBaseSql(source)}\n) AS caretflow_source${where} ORDER BY ${col}`;
    return this.stream(sql, after === null ? [] : [after], opts, "table" in source);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end().catch(() => undefined);
  }

  // ------------------------------------------------------------------ internals

  /**
   * Rows of one statement in a READ ONLY transaction, streamed from the server (the connection pauses
   * while `batchRows` rows wait, so memory stays bounded). `sql` is built when the read starts, so a
   * refused query fails the read, not the call. After a person's query the connection is closed, not
   * pooled: whatever session state the query left (named locks from GET_LOCK, user variables) goes
   * with it.
   */
  private async *stream(
    sql: () => string,
    params: unknown[],
    opts: ReadOptions,
    reusable: boolean,
    timeoutS = 0,
  ): AsyncGenerator<RowBatch> {
    const statement = sql();
    const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
    const { conn } = await this.acquire();
    const core = conn.connection as unknown as CallbackConnection;
    let lost: ((error: Error) => void) | null = null;
    let clean = false;
    try {
      await this.setTimeout(conn, timeoutS);
      await conn.query("START TRANSACTION READ ONLY");
      let fields: FieldPacket[] | null = null;
      // The callback API streams rows; the promise API would hold them all.
      const query = core.query({ sql: statement, values: params, rowsAsArray: true, typeCast: textCell });
      query.on("fields", (f: FieldPacket[]) => {
        fields = f;
      });
      const rows = query.stream({ highWaterMark: batchRows });
      // A connection lost mid-read is told to the connection, not to a query without a callback.
      lost = (error: Error) => rows.destroy(error);
      core.once("error", lost);
      let columns: RowBatch["columns"] | null = null;
      let batch: BatchCell[][] = [];
      const columnsNow = () => {
        columns ??= (fields ?? []).map((f) => ({ name: f.name, duckdbType: duckdbTypeOf(f) }));
        return columns;
      };
      for await (const row of rows as AsyncIterable<BatchCell[]>) {
        opts.signal?.throwIfAborted();
        batch.push(row);
        if (batch.length >= batchRows) {
          yield { columns: columnsNow(), rows: batch };
          batch = [];
        }
      }
      opts.signal?.throwIfAborted();
      yield { columns: columnsNow(), rows: batch };
      await conn.query("COMMIT");
      clean = true;
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? error;
      throw this.explain(error);
    } finally {
      if (lost) core.removeListener("error", lost);
      // A read stopped early (cancelled, failed, or its consumer stopped), or a query's, drops its connection.
      if (clean && reusable) conn.release();
      else conn.destroy();
    }
  }

  private async withReadOnly<T>(fn: (conn: PoolConnection, host: string) => Promise<T>): Promise<T> {
    const { conn, host } = await this.acquire();
    let clean = false;
    try {
      await this.setTimeout(conn, BROWSE_TIMEOUT_S);
      await conn.query("START TRANSACTION READ ONLY");
      const result = await fn(conn, host);
      await conn.query("COMMIT");
      clean = true;
      return result;
    } catch (error) {
      throw this.explain(error);
    } finally {
      if (clean) conn.release();
      else conn.destroy();
    }
  }

  /**
   * Prepare the session for one use: each statement limited to `seconds` (0: no limit, with MariaDB's
   * or MySQL's variable), times in UTC, and a SQL mode in which the query check reads statements as
   * the server does (no ANSI_QUOTES, no NO_BACKSLASH_ESCAPES, whatever the server's default).
   */
  private async setTimeout(conn: PoolConnection, seconds: number): Promise<void> {
    if (this.timeoutVariable === null) {
      const [rows] = await conn.query<mysql.RowDataPacket[]>("SELECT VERSION() AS v");
      this.timeoutVariable = /mariadb/i.test(String(rows[0]?.v ?? "")) ? "max_statement_time" : "max_execution_time";
    }
    const value = this.timeoutVariable === "max_statement_time" ? seconds : seconds * 1000;
    await conn.query(`SET SESSION ${this.timeoutVariable} = ${value}, time_zone = '+00:00', sql_mode = ${LEXER_SAFE_SQL_MODE}`);
  }

  /**
   * A pooled connection: from the pool of the host that answered last, or else the hosts tried in
   * order (failover), each checked by the address guard and reached at the checked address. Unreachable
   * hosts are retried with backoff; refused credentials and refused addresses are not.
   */
  private async acquire(): Promise<{ conn: PoolConnection; host: string }> {
    if (this.pool) {
      try {
        return { conn: await this.pool.getConnection(), host: this.poolHost };
      } catch (error) {
        if (!isUnreachable(error)) throw this.explain(error);
        await this.close();
      }
    }
    const { pool, client, host } = await connectWithFailover({
      engine: "MySQL",
      hosts: this.settings.hosts,
      addressPolicy: this.ctx.addressPolicy,
      createPool: (host, port, address) =>
        mysql.createPool({
          // `host` names the server for TLS; the socket goes to the checked address (no second DNS lookup).
          host,
          port,
          stream: () => netConnect({ host: address, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 }),
          database: this.settings.database,
          user: this.settings.user,
          ...(this.ctx.secrets.password !== undefined ? { password: this.ctx.secrets.password } : {}),
          ...(this.settings.ssl ? { ssl: { rejectUnauthorized: true, verifyIdentity: true } } : {}),
          connectionLimit: 4,
          maxIdle: 4,
          idleTimeout: 30_000,
          connectTimeout: CONNECT_TIMEOUT_MS,
          multipleStatements: false,
          dateStrings: true,
          supportBigNumbers: true,
          bigNumberStrings: true,
        }),
      take: (pool) => pool.getConnection(),
      end: (pool) => pool.end(),
      isUnreachable,
      explain: (error, at) => this.explain(error, at),
    });
    this.pool = pool;
    this.poolHost = host;
    return { conn: client, host };
  }

  /** A clear CaretflowError for a mysql2 or network error, with every secret masked. */
  private explain(error: unknown, at = this.poolHost): CaretflowError {
    if (error instanceof CaretflowError) return this.mask(error);
    const e = error as { code?: string; errno?: number; sqlState?: string; message?: string };
    const reason = this.maskText(e?.message ?? String(error));
    const { database, user } = this.settings;
    switch (e?.errno) {
      case 1045: // ER_ACCESS_DENIED_ERROR
      case 1698: // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
        return userError(
          "connection_auth_failed",
          `MySQL at ${at} refused the credentials of user '${user}'`,
          "Check the user name and password (caretflow connections edit), and that the user may connect from this server's address.",
          400,
        );
      case 1049: // ER_BAD_DB_ERROR
        return userError("connection_database_not_found", `MySQL at ${at} has no database '${database}'`, "Check the database name.", 400);
      case 1044: // ER_DBACCESS_DENIED_ERROR
      case 1142: // ER_TABLEACCESS_DENIED_ERROR
      case 1143: // ER_COLUMNACCESS_DENIED_ERROR
      case 1227: // ER_SPECIFIC_ACCESS_DENIED_ERROR
      case 1370: // ER_PROCACCESS_DENIED_ERROR
        return userError(
          "source_permission_denied",
          `User '${user}' lacks a permission in MySQL: ${reason}`,
          "Ask the database owner to GRANT SELECT on the table (or the database) to this user; MySQL also answers this way for a table that does not exist in a database the user may not read.",
          403,
        );
      case 1146: // ER_NO_SUCH_TABLE
        return new CaretflowError({
          code: "source_table_not_found",
          status: 404,
          message: `MySQL: ${reason}`,
          hint: "Browse the connection (caretflow connections browse NAME DATABASE) to see the tables this user can read.",
        });
      case 1792: // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
        return userError(
          "query_not_read_only",
          `The query tried to change data: ${reason}`,
          "Queries run in a read-only transaction; write one SELECT statement.",
          400,
        );
      case 1969: // ER_STATEMENT_TIMEOUT (MariaDB)
      case 3024: // ER_QUERY_TIMEOUT (MySQL)
      case 1317: // ER_QUERY_INTERRUPTED
        return userError(
          "source_query_timeout",
          `MySQL cancelled the query: ${reason}`,
          "Narrow the query (filters, LIMIT) and try again.",
          408,
        );
    }
    if (isConnectionLost(error)) {
      return new CaretflowError({
        code: "source_connection_lost",
        kind: "operational",
        status: 503,
        message: `The connection to MySQL at ${at} was lost during the read (${reason}); nothing was stored`,
        hint: "Check that the server is running, then import again.",
      });
    }
    if (isUnreachable(error)) {
      return new CaretflowError({
        code: "connection_unreachable",
        kind: "operational",
        status: 503,
        message: `Could not reach MySQL at ${at} (${reachFailure(error)})`,
        hint: "Check the host and port, and that the server is running.",
      });
    }
    if (typeof e?.sqlState === "string" && typeof e.errno === "number") {
      return userError(
        "source_query_failed",
        `MySQL refused the query: ${reason}`,
        "Fix the query or the table name, then try again.",
        400,
      );
    }
    return new CaretflowError({ code: "source_error", kind: "operational", status: 502, message: `MySQL: ${reason}` });
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

/** The statement that reads a source: a table (`db.table` or `table`) or a checked read-only query in MySQL's dialect. */
export function mysqlBaseSql(source: ConnectorSource): string {
  if ("table" in source) return `SELECT * FROM ${splitMysqlName(source.table).map(quoteIdent).join(".")}`;
  return checkReadOnlyQuery(queryOf(source), "mysql");
}

/** "database.table" or "table" (a part may be backtick-quoted to hold dots). */
export function splitMysqlName(name: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:`((?:[^`]|``)*)`|([^.`]+))\s*(\.|$)/y;
  let at = 0;
  while (at < name.length) {
    re.lastIndex = at;
    const m = re.exec(name);
    if (!m) throw userError("invalid_table_name", `'${name}' is not a table name`, "Write database.table (or just table).", 400);
    parts.push(m[1] !== undefined ? m[1].replaceAll("``", "`") : m[2]!.trim());
    at = re.lastIndex;
    if (m[3] === "" || at >= name.length) break;
  }
  if (parts.length === 0 || parts.length > 3)
    throw userError("invalid_table_name", `'${name}' is not a table name`, "Write database.table (or just table).", 400);
  return parts;
}

function quoteIdent(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

function tableNotFound(name: string): CaretflowError {
  return new CaretflowError({
    code: "source_table_not_found",
    status: 404,
    message: `MySQL: table '${name}' does not exist (or this user cannot see it)`,
    hint: "Browse the connection (caretflow connections browse NAME DATABASE) to see the tables this user can read.",
  });
}

function isUnreachable(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; message?: string };
  return (
    (typeof e?.code === "string" && UNREACHABLE_CODES.has(e.code)) ||
    e?.errno === 1040 || // too many connections
    e?.errno === 1053 || // server shutdown in progress
    /connect ETIMEDOUT|timeout/i.test(e?.message ?? "")
  );
}

function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; message?: string };
  return (
    e?.code === "PROTOCOL_CONNECTION_LOST" ||
    e?.code === "ECONNRESET" ||
    e?.code === "EPIPE" ||
    e?.errno === 1927 || // ER_CONNECTION_KILLED
    e?.errno === 1053 || // server shutdown in progress
    e?.errno === 2013 ||
    /Connection lost|connection is in closed state|server closed the connection/i.test(e?.message ?? "")
  );
}
