import { z } from "zod";
import { Handle } from "./api.ts";
import { textTrick } from "./refused.ts";

/** A connection's name: what a person types on the CLI. */
export const ConnectionName = Handle;

/** The connector types caretflow knows; each has its own settings and secret fields. */
export const ConnectorTypeName = z.enum(["postgres", "mysql", "sqlite"]);
export type ConnectorTypeName = z.infer<typeof ConnectorTypeName>;

/** A server's host name or IP address: no scheme, port, path or spaces (`db.example.com`, `10.0.0.5`, `::1`). */
export const HostName = z.union([z.hostname(), z.ipv6()], {
  error: "a host is a DNS name or an IP address, without scheme, port or path (e.g. db.example.com); give the port separately",
});

/** A database or user name on a source: any language, no control or invisible characters. */
export const SourceIdentifier = z
  .string()
  .min(1)
  .max(63)
  .refine((v) => textTrick(v) === null && !/[\n\t]/.test(v), "a database or user name has no control or invisible characters");

/** PostgreSQL settings (no secrets): hosts are tried in order. */
export const PostgresSettings = z.object({
  hosts: z
    .array(z.object({ host: HostName, port: z.number().int().min(1).max(65535).default(5432) }))
    .min(1)
    .max(8),
  database: SourceIdentifier,
  user: SourceIdentifier,
  ssl: z.boolean().default(false),
});
export type PostgresSettings = z.infer<typeof PostgresSettings>;

/** MySQL and MariaDB settings (no secrets): hosts are tried in order. */
export const MysqlSettings = z.object({
  hosts: z
    .array(z.object({ host: HostName, port: z.number().int().min(1).max(65535).default(3306) }))
    .min(1)
    .max(8),
  database: SourceIdentifier,
  user: SourceIdentifier,
  ssl: z.boolean().default(false),
});
export type MysqlSettings = z.infer<typeof MysqlSettings>;

/**
 * SQLite settings: the database file the server stores for the connection (uploaded with
 * POST /api/connections/files), named by its stored name; never a path on the server.
 */
export const SqliteSettings = z.object({
  file: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, "a stored file's name (as the upload answered), without folders"),
});
export type SqliteSettings = z.infer<typeof SqliteSettings>;

/** The answer to an uploaded SQLite file: its stored name, for the connection's settings. */
export const StoredConnectionFile = z.object({ file: z.string(), bytes: z.number().int() });
export type StoredConnectionFile = z.infer<typeof StoredConnectionFile>;

/** A connection as the API shows it: settings, and which secret fields are set (never their values). */
export const ConnectionSummary = z.object({
  name: ConnectionName,
  type: ConnectorTypeName,
  project: z.string(),
  settings: z.record(z.string(), z.unknown()),
  secretsSet: z.array(z.string()).describe("names of the secret fields that hold a value"),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ConnectionSummary = z.infer<typeof ConnectionSummary>;

export const CreateConnectionRequest = z.object({
  name: ConnectionName,
  type: ConnectorTypeName,
  settings: z.record(z.string(), z.unknown()),
  /** Write-only: secret field -> value. */
  secrets: z.record(z.string(), z.string().max(4096)).default({}),
});
export type CreateConnectionRequest = z.infer<typeof CreateConnectionRequest>;

export const UpdateConnectionRequest = z.object({
  settings: z.record(z.string(), z.unknown()).optional(),
  secrets: z.record(z.string(), z.string().max(4096)).optional(),
});
export type UpdateConnectionRequest = z.infer<typeof UpdateConnectionRequest>;

export const ConnectionTestResult = z.object({
  ok: z.literal(true),
  host: z.string().describe("the host that answered"),
  serverVersion: z.string(),
});
export type ConnectionTestResult = z.infer<typeof ConnectionTestResult>;

/** One entry when browsing a source: schema, table, view or column (stores: container, prefix, object). */
export const DiscoverNode = z.object({
  name: z.string(),
  path: z.string().describe("pass as the path to browse below it"),
  kind: z.enum(["schema", "table", "view", "column", "container", "prefix", "object"]),
  rowEstimate: z.number().optional(),
  type: z.string().optional().describe("a column's source type"),
});
export type DiscoverNode = z.infer<typeof DiscoverNode>;

/** What to read from a connection: a table (optionally schema-qualified) or one read-only SQL query. */
export const ConnectorSource = z.union([
  z.object({ table: z.string().min(1).max(512) }).strict(),
  z.object({ query: z.string().min(1).max(100_000) }).strict(),
]);
export type ConnectorSource = z.infer<typeof ConnectorSource>;

const SourceFields = z.object({
  table: z.string().min(1).max(512).optional().describe("schema.table (or table)"),
  query: z.string().min(1).max(100_000).optional().describe("one read-only statement (SELECT, WITH ... SELECT)"),
});
const exactlyOneSource = (v: { table?: string | undefined; query?: string | undefined }) =>
  (v.table === undefined) !== (v.query === undefined);
const ONE_SOURCE = { message: "give either table or query (exactly one)", path: ["table"] };

/** The table or query of a request, as a connector takes it. */
export function sourceOf(v: { table?: string | undefined; query?: string | undefined }): ConnectorSource {
  return v.table !== undefined ? { table: v.table } : { query: v.query ?? "" };
}

export const ConnectionPreviewRequest = SourceFields.extend({ limit: z.number().int().min(1).max(1000).default(50) }).refine(
  exactlyOneSource,
  ONE_SOURCE,
);
export type ConnectionPreviewRequest = z.infer<typeof ConnectionPreviewRequest>;

export const ConnectionImportRequest = SourceFields.extend({
  name: z.string().min(1).max(64).optional().describe("the dataset to make or add a version to (default: the table's name)"),
  incremental: z.string().min(1).max(256).optional().describe("watermark column: append only rows above the last value seen"),
}).refine(exactlyOneSource, ONE_SOURCE);
export type ConnectionImportRequest = z.infer<typeof ConnectionImportRequest>;

export const ConnectionPreview = z.object({
  columns: z.array(z.object({ name: z.string(), duckdbType: z.string() })),
  rows: z.array(z.array(z.unknown())),
});
export type ConnectionPreview = z.infer<typeof ConnectionPreview>;

/** A cell of a row batch: text for most source types (DuckDB casts it to the column's type), or a JS scalar. */
export type BatchCell = string | number | bigint | boolean | null;

/** One batch read from a source: the columns (same in every batch of a read) and rows as arrays of cells. */
export interface RowBatch {
  columns: readonly { name: string; duckdbType: string }[];
  rows: readonly (readonly BatchCell[])[];
}
