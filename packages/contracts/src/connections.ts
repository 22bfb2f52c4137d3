import { z } from "zod";
import { Handle } from "./api.ts";
import { textTrick } from "./refused.ts";

/** A connection's name: what a person types on the CLI. */
export const ConnectionName = Handle;

/** The connector types caretflow knows; each has its own settings and secret fields. */
export const ConnectorTypeName = z.enum(["postgres", "mysql", "sqlite", "s3", "azure", "gcs"]);
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

/** An object store's endpoint: an http(s) URL without credentials, query or fragment (an emulator, an S3-compatible store, a sovereign cloud). */
export const StoreEndpoint = z
  .url({ protocol: /^https?$/, error: "an endpoint is an http(s) URL such as https://s3.example.com" })
  .max(512)
  .refine((v) => {
    // Runs even when the URL check above failed (zod checks do not stop at the first failure).
    const u = URL.canParse(v) ? new URL(v) : null;
    return u !== null && u.username === "" && u.password === "" && u.search === "" && u.hash === "";
  }, "an endpoint URL has no user name, password, query or fragment (give credentials as secrets)");

/** A bucket name (S3, GCS) or container name (Azure): lower-case letters, digits, '.', '-' and '_'. */
export const BucketName = z
  .string()
  .min(3)
  .max(222)
  .regex(/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/, "a bucket or container name has lower-case letters, digits, '.', '-' and '_'");

/**
 * Amazon S3 or an S3-compatible store. Without `bucket`, browsing lists the buckets and an object is
 * named `bucket/key`. The access key id is a setting (it names the key); the secret access key is a secret.
 */
export const S3Settings = z.object({
  region: z
    .string()
    .regex(/^[a-z0-9-]{2,32}$/, "a region such as eu-west-1")
    .default("us-east-1"),
  endpoint: StoreEndpoint.optional(),
  bucket: BucketName.optional(),
  accessKeyId: z.string().regex(/^[A-Za-z0-9_+=,.@-]{1,128}$/, "an access key id such as AKIA..."),
  pathStyle: z.boolean().default(false),
});
export type S3Settings = z.infer<typeof S3Settings>;

/** Azure Blob Storage: the account, an endpoint for Azurite or sovereign clouds, and optionally one container. */
export const AzureSettings = z.object({
  account: z.string().regex(/^[a-z0-9]{3,24}$/, "a storage account name: 3 to 24 lower-case letters and digits"),
  endpoint: StoreEndpoint.optional(),
  container: BucketName.optional(),
});
export type AzureSettings = z.infer<typeof AzureSettings>;

/** Google Cloud Storage: the project, optionally one bucket, and an endpoint for emulators. */
export const GcsSettings = z.object({
  projectId: z.string().regex(/^[a-z][a-z0-9-]{4,61}[a-z0-9]$/, "a Google Cloud project id such as my-project-123"),
  bucket: BucketName.optional(),
  endpoint: StoreEndpoint.optional(),
});
export type GcsSettings = z.infer<typeof GcsSettings>;

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

/** An object store's key or glob (`sales/2024-*.csv`; `**` crosses folders); `bucket/key` when the connection names no bucket. */
export const ObjectKeyOrGlob = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (v) => textTrick(v) === null && ![...v].some((ch) => ch.charCodeAt(0) < 0x20),
    "an object key has no control or invisible characters",
  );

/** What to read from a connection: a table (optionally schema-qualified), one read-only SQL query, or an object store's key or glob. */
export const ConnectorSource = z.union([
  z.object({ table: z.string().min(1).max(512) }).strict(),
  z.object({ query: z.string().min(1).max(100_000) }).strict(),
  z.object({ object: ObjectKeyOrGlob }).strict(),
]);
export type ConnectorSource = z.infer<typeof ConnectorSource>;

const SourceFields = z.object({
  table: z.string().min(1).max(512).optional().describe("schema.table (or table)"),
  query: z.string().min(1).max(100_000).optional().describe("one read-only statement (SELECT, WITH ... SELECT)"),
  object: ObjectKeyOrGlob.optional().describe("an object store's key or glob (* within a folder, ** across folders)"),
});
type SourceChoice = { table?: string | undefined; query?: string | undefined; object?: string | undefined };
const exactlyOneSource = (v: SourceChoice) => [v.table, v.query, v.object].filter((x) => x !== undefined).length === 1;
const ONE_SOURCE = { message: "give exactly one of table, query or object", path: ["table"] };

/** The table, query or object of a request, as a connector takes it. */
export function sourceOf(v: SourceChoice): ConnectorSource {
  if (v.table !== undefined) return { table: v.table };
  if (v.object !== undefined) return { object: v.object };
  return { query: v.query ?? "" };
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
