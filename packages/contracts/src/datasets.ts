import { z } from "zod";
import { UploadFilename } from "./refused.ts";

/** Dataset names: what a person types on the CLI and sees in URLs. */
export const DatasetName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '_', '-' and '.', starting with a letter or digit");

/**
 * A valid dataset name derived from a file name, e.g. "Juice Sales.csv" -> "juice-sales",
 * "Crème brûlée (2024).xlsx" -> "creme-brulee-2024". Falls back to "dataset".
 */
export function datasetNameFromFilename(filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? "";
  const stem = base.includes(".") && !base.startsWith(".") ? base.slice(0, base.lastIndexOf(".")) : base;
  const slug = stem
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // drop the accents NFKD split off
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64)
    .replace(/[-_]+$/, "");
  return DatasetName.safeParse(slug).success ? slug : "dataset";
}

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
  /** Catalog facts: labels people set, who created the dataset (null: unknown, made before owners were kept). */
  tags: z.array(z.string()).optional(),
  owner: z.string().nullable().optional(),
  /** The latest version's stored size and source. */
  sizeBytes: z.number().int().nonnegative().optional(),
  source: DatasetVersion.shape.source.optional(),
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

/** Query of PUT /api/datasets/{name}/file: the file travels as the request body, what describes it here. */
export const FileImportQuery = z.object({
  filename: UploadFilename.describe(
    "the file's name; its extension gives the format (.csv, .tsv, .parquet, .json, .ndjson, .jsonl, .xlsx)",
  ),
  encoding: z.string().max(40).optional().describe("a text file's encoding when it is not UTF-8, e.g. windows-1252"),
  sheet: z.string().max(100).optional().describe("an Excel workbook's sheet to import, by name (default: the first)"),
});
export type FileImportQuery = z.infer<typeof FileImportQuery>;

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

/** The profile's shape; a stored profile of an older shape is recomputed when read. */
export const PROFILE_SHAPE = 2;

/** Pearson correlations between numeric columns (DuckDB `corr`), pairwise over rows where both are set. */
export const ProfileCorrelations = z.object({
  columns: z.array(z.string()),
  /** Square matrix in `columns` order; null where a column is constant or has fewer than two values. */
  matrix: z.array(z.array(z.number().nullable())),
});
export type ProfileCorrelations = z.infer<typeof ProfileCorrelations>;

/** Which columns are null together: the most frequent patterns over the columns that have any nulls. */
export const MissingPattern = z.object({
  /** Columns with at least one null, in schema order (the patterns' positions). */
  columns: z.array(z.string()),
  /** Nulls per column, for every column of the version. */
  nullsPerColumn: z.array(z.object({ column: z.string(), nulls: z.number().int() })),
  /** Most frequent first; `missing` names the columns that are null in these rows (empty: complete rows). */
  patterns: z.array(z.object({ missing: z.array(z.string()), count: z.number().int() })),
  /** Rows in patterns not listed (the list keeps the most frequent). */
  otherRows: z.number().int(),
});
export type MissingPattern = z.infer<typeof MissingPattern>;

export const DatasetProfile = z.object({
  dataset: DatasetName,
  version: z.number().int(),
  rowCount: z.number().int(),
  columns: z.array(ColumnProfile),
  /** PROFILE_SHAPE when computed; absent in profiles stored before correlations and missing patterns. */
  shape: z.number().int().optional(),
  correlations: ProfileCorrelations.optional(),
  missing: MissingPattern.optional(),
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

// ---------------------------------------------------------------- catalog

/** A label on a dataset: lower-case letters, digits, '_', '-', '.', ':' (e.g. `pii`, `team:sales`). */
export const DatasetTag = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9][a-z0-9_.:-]*$/, "use lower-case letters, digits, '_', '-', '.' and ':', starting with a letter or digit");

/** The kinds of source a version can come from, for the catalog's source filter. */
export const SourceKind = DatasetVersion.shape.source.shape.kind;
export type SourceKind = z.infer<typeof SourceKind>;

/** Search and filters of GET /api/datasets; every filter given must match. */
export const DatasetListQuery = z.object({
  search: z.string().max(200).optional().describe("words found in the name, description, column names or tags (case-insensitive)"),
  tag: z.string().max(40).optional().describe("datasets with this tag"),
  owner: z.string().max(64).optional().describe("datasets created by this user (username)"),
  source: SourceKind.optional().describe("datasets with a version from this kind of source"),
  connection: z.string().max(64).optional().describe("datasets with a version imported from this connection"),
  offset: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});
export type DatasetListQuery = z.infer<typeof DatasetListQuery>;

export const DatasetList = z.object({
  datasets: z.array(DatasetSummary),
  /** How many datasets match the filters (the page holds `limit` of them from `offset`). */
  total: z.number().int().nonnegative().optional(),
  offset: z.number().int().nonnegative().optional(),
  limit: z.number().int().positive().optional(),
});
export type DatasetList = z.infer<typeof DatasetList>;

export const SetTagsRequest = z.object({
  add: z.array(DatasetTag).max(50).default([]),
  remove: z.array(DatasetTag).max(50).default([]),
});
export type SetTagsRequest = z.infer<typeof SetTagsRequest>;

export const DatasetTags = z.object({ dataset: DatasetName, tags: z.array(z.string()) });

/** A dataset's description for the catalog; "" removes it. */
export const SetDescriptionRequest = z.object({ description: z.string().trim().max(2000) });
export const DatasetDescription = z.object({ dataset: DatasetName, description: z.string().nullable() });
export type DatasetTags = z.infer<typeof DatasetTags>;

// ---------------------------------------------------------------- lineage

/**
 * A node of a lineage graph: where data came from (`source`), a dataset version, a job that read or
 * wrote versions (with its MLflow run), or `hidden`: something of another project, shown without a name.
 */
export const LineageNode = z.object({
  id: z.string(),
  type: z.enum(["source", "version", "job", "hidden"]),
  label: z.string(),
  /** version nodes: the dataset and version, and how it was made (the source kind) */
  dataset: z.string().optional(),
  version: z.number().int().optional(),
  kind: z.string().optional().describe("version: its source kind; source: upload, file, demo or connection; job: train or predict"),
  /** source nodes of a connection: the connection and what was read */
  connection: z.string().optional(),
  /** job nodes */
  jobId: z.string().optional(),
  status: z.string().optional(),
  runId: z.string().optional(),
  /** true for the versions of the dataset the graph was asked for */
  current: z.boolean().optional(),
});
export type LineageNode = z.infer<typeof LineageNode>;

/**
 * A typed edge: `imported` source -> version; `derived`, `predicted`, `transformed` parent version ->
 * version made from it; `trained` version -> training job; `read` version -> prediction job; `wrote`
 * job -> version it wrote.
 */
export const LineageEdge = z.object({
  from: z.string(),
  to: z.string(),
  type: z.enum(["imported", "derived", "predicted", "transformed", "trained", "read", "wrote"]),
});
export type LineageEdge = z.infer<typeof LineageEdge>;

export const LineageGraph = z.object({ dataset: DatasetName, nodes: z.array(LineageNode), edges: z.array(LineageEdge) });
export type LineageGraph = z.infer<typeof LineageGraph>;

// ---------------------------------------------------------------- compare

export const CompareQuery = z.object({
  from: z.coerce.number().int().positive(),
  to: z.coerce.number().int().positive(),
});

/** One column's statistics from a version's profile, as a comparison shows them. */
export const ColumnStats = z.object({
  kind: ColumnKind,
  duckdbType: z.string(),
  nulls: z.number().int(),
  nullFraction: z.number(),
  distinct: z.number().int(),
  mean: z.number().nullable(),
  std: z.number().nullable(),
  min: z.union([z.number(), z.string()]).nullable(),
  max: z.union([z.number(), z.string()]).nullable(),
  topValues: z.array(TopValue),
});
export type ColumnStats = z.infer<typeof ColumnStats>;

export const ColumnComparison = z.object({
  name: z.string(),
  change: z.enum(["added", "removed", "type_changed", "unchanged"]),
  /** true when the column's type or any of its statistics differ between the versions */
  changed: z.boolean(),
  from: ColumnStats.nullable(),
  to: ColumnStats.nullable(),
});
export type ColumnComparison = z.infer<typeof ColumnComparison>;

const ComparedVersion = z.object({
  version: z.number().int(),
  rowCount: z.number().int(),
  columnCount: z.number().int(),
  sizeBytes: z.number().int(),
  createdAt: z.string(),
  source: z.string().describe("the source in a few words"),
});

export const VersionComparison = z.object({
  dataset: DatasetName,
  from: ComparedVersion,
  to: ComparedVersion,
  /** to.rowCount - from.rowCount */
  rowDelta: z.number().int(),
  added: z.array(z.string()),
  removed: z.array(z.string()),
  typeChanged: z.array(z.string()),
  /** every column of either version: `to`'s order, then the removed ones */
  columns: z.array(ColumnComparison),
});
export type VersionComparison = z.infer<typeof VersionComparison>;
