import { z } from "zod";

/** Dataset names: what a person types on the CLI and sees in URLs. */
export const DatasetName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '_', '-' and '.', starting with a letter or digit");

/** Logical column type as caretflow reports it; duckdbType keeps the exact DuckDB type. */
export const ColumnKind = z.enum(["integer", "float", "boolean", "string", "date", "timestamp", "other"]);
export type ColumnKind = z.infer<typeof ColumnKind>;

export const ColumnSchema = z.object({
  name: z.string(),
  kind: ColumnKind,
  duckdbType: z.string(),
  nullable: z.boolean(),
});
export type ColumnSchema = z.infer<typeof ColumnSchema>;

export const SourceFormat = z.enum(["csv", "tsv", "parquet", "json", "ndjson", "xlsx"]);
export type SourceFormat = z.infer<typeof SourceFormat>;

/** A pointer to one version of one dataset (a lineage edge's end). */
export const DatasetVersionRef = z.object({ dataset: z.string(), version: z.number().int() });
export type DatasetVersionRef = z.infer<typeof DatasetVersionRef>;

/** One immutable version of a dataset, stored as Parquet. */
export const DatasetVersion = z.object({
  dataset: DatasetName,
  version: z.number().int().positive(),
  rowCount: z.number().int().nonnegative(),
  columnCount: z.number().int().nonnegative(),
  columns: z.array(ColumnSchema),
  contentHash: z.string().describe("sha256 of the canonical content, hex"),
  sizeBytes: z.number().int().nonnegative().describe("size of the stored Parquet file"),
  source: z.object({
    kind: z.enum(["upload", "file", "demo", "prediction", "derived", "connection", "transform"]),
    format: SourceFormat.optional(),
    filename: z.string().optional(),
    encoding: z.string().optional().describe("the text encoding the file was decoded from, when not UTF-8 (e.g. windows-1252)"),
    sheet: z.string().optional().describe("the worksheet an Excel workbook was read from"),
    /** For prediction outputs: the model and dataset version they came from. */
    parent: DatasetVersionRef.optional(),
    model: z.string().optional(),
    jobId: z.string().optional(),
    /** For derived versions: what the job wrote (labels, topic_weights, rules...) and the MLflow run. */
    role: z.string().optional(),
    runId: z.string().optional(),
    /** For imports from a connection: its name, the table or query read, and the incremental watermark reached. */
    connection: z.string().optional(),
    table: z.string().optional(),
    query: z.string().optional(),
    watermark: z.object({ column: z.string(), value: z.string() }).optional(),
    /** For imports from an object store: the key or glob read, and how many objects matched. */
    object: z.string().optional(),
    objectCount: z.number().int().nonnegative().optional(),
    /** For SQL transforms: the query and the dataset versions it read. */
    sql: z.string().optional(),
    inputs: z.array(DatasetVersionRef).optional(),
  }),
  createdAt: z.string().describe("ISO 8601"),
});
export type DatasetVersion = z.infer<typeof DatasetVersion>;

export const DatasetSummary = z.object({
  name: DatasetName,
  description: z.string().optional(),
  latestVersion: z.number().int().positive(),
  versionCount: z.number().int().positive(),
  rowCount: z.number().int().nonnegative(),
  columnCount: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DatasetSummary = z.infer<typeof DatasetSummary>;

export const DatasetDetail = DatasetSummary.extend({ versions: z.array(DatasetVersion) });
export type DatasetDetail = z.infer<typeof DatasetDetail>;

/**
 * One step of an import and its wall time: upload (receiving the file), decode (another encoding to
 * UTF-8), check (the first bytes, the CSV header, the Excel sheet to NDJSON), schema (type inference),
 * copy (reading the source and writing Parquet), count (row count and nullability from the Parquet
 * footer and columns), hash (the content hash), place (linking the file and recording the version).
 */
export const ImportPhase = z.object({
  phase: z.enum(["upload", "decode", "check", "schema", "copy", "count", "hash", "place"]),
  ms: z.number().nonnegative().describe("milliseconds"),
});
export type ImportPhase = z.infer<typeof ImportPhase>;

/** Result of an import: `created` is false when identical content already existed. */
export const ImportResult = z.object({
  created: z.boolean(),
  version: DatasetVersion,
  phases: z.array(ImportPhase).optional().describe("where the import's time went, in order"),
});
export type ImportResult = z.infer<typeof ImportResult>;

export const PreviewQuery = z.object({
  offset: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});
export type PreviewQuery = z.infer<typeof PreviewQuery>;

/** A page of rows; values are JSON-safe (bigints as numbers or strings, dates as ISO strings). */
export const PreviewPage = z.object({
  columns: z.array(ColumnSchema),
  rows: z.array(z.array(z.unknown())),
  offset: z.number().int(),
  limit: z.number().int(),
  total: z.number().int(),
});
export type PreviewPage = z.infer<typeof PreviewPage>;

export const HistogramBin = z.object({ lo: z.number(), hi: z.number(), count: z.number().int() });
export const TopValue = z.object({ value: z.string().nullable(), count: z.number().int() });

export const ColumnProfile = z.object({
  name: z.string(),
  kind: ColumnKind,
  duckdbType: z.string(),
  count: z.number().int(),
  nulls: z.number().int(),
  nullFraction: z.number(),
  distinct: z.number().int(),
  min: z.union([z.number(), z.string()]).nullable(),
  max: z.union([z.number(), z.string()]).nullable(),
  mean: z.number().nullable(),
  std: z.number().nullable(),
  topValues: z.array(TopValue),
  /** Numeric columns only: equal-width bins over [min, max]. */
  histogram: z.array(HistogramBin).nullable(),
});
export type ColumnProfile = z.infer<typeof ColumnProfile>;

export const DatasetProfile = z.object({
  dataset: DatasetName,
  version: z.number().int(),
  rowCount: z.number().int(),
  columns: z.array(ColumnProfile),
});
export type DatasetProfile = z.infer<typeof DatasetProfile>;

/**
 * A version's source in a few words, as the web and the CLI show it: the file name, the connection
 * and table (or "query") with the watermark reached, else the kind.
 */
export function describeSource(source: DatasetVersion["source"]): string {
  if (source.kind === "connection") {
    const what = source.table ?? source.object ?? "query";
    const mark = source.watermark ? ` (${source.watermark.column} up to ${source.watermark.value})` : "";
    return `${source.connection ?? "connection"}: ${what}${mark}`;
  }
  if (source.kind === "transform") {
    const inputs = (source.inputs ?? []).map((input) => `${input.dataset} v${input.version}`);
    return `SQL over ${inputs.join(", ") || "no dataset"}`;
  }
  return source.filename ?? source.kind;
}

/**
 * The dataset versions a version was made from: a prediction's or derived output's parent, a SQL
 * transform's inputs. Lineage is built from this one function, so a new kind of derived version
 * only has to record its parents in `parent` or `inputs`.
 */
export function sourceParents(source: DatasetVersion["source"]): DatasetVersionRef[] {
  return [...(source.parent ? [source.parent] : []), ...(source.inputs ?? [])];
}
