import { randomUUID } from "node:crypto";
import { access, copyFile, link, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  CaretflowError,
  type ColumnKind,
  type ColumnSchema,
  type DatasetDetail,
  DatasetName,
  type DatasetProfile,
  type DatasetSummary,
  type DatasetVersion,
  type ImportResult,
  notFound,
  PROFILE_SHAPE,
  type PreviewPage,
  type RowBatch,
  type SourceFormat,
  type TransformPreview,
  userError,
} from "@caretflow/contracts";
import type { DuckDBInstance } from "@duckdb/node-api";
import type { Kysely, Selectable } from "kysely";
import { batchesToParquet } from "./batch-ingest.ts";
import type { BlobStore } from "./blob.store.ts";
import { columnKindOf } from "./column-kind.ts";
import { checkColumnNames } from "./column-names.ts";
import { contentHash, contentHashFormat } from "./content-hash.ts";
import { displayExpr, exportExpr, openDuckDb, sqlIdent, sqlString, withConnection } from "./duckdb.ts";
import { formatFromFilename } from "./formats.ts";
import { describeStored, ingestToParquet, type ProgressFn } from "./ingest.ts";
import { toJsonSafe } from "./json-safe.ts";
import type { DatasetVersionsTable, DataTables } from "./migrations.ts";
import { type ObjectToRead, objectsToParquet } from "./object-ingest.ts";
import { PhaseTimer } from "./phases.ts";
import { profileParquet } from "./profile.ts";
import { executeTransform, type TransformInput, transformReferences } from "./transform.ts";

/**
 * Where a new version comes from, as its `source` records it (contracts' DatasetVersion source: one
 * definition for the store, the server and the clients). The store fills in the file format, name
 * and encoding of file imports itself.
 */
export type ImportSource = Omit<DatasetVersion["source"], "format" | "filename" | "encoding">;

export interface ImportObjectsOptions {
  name: string;
  /** The objects' one format (CSV, TSV, Parquet, JSON, NDJSON). */
  format: SourceFormat;
  /** The objects, in order; each is downloaded into the store's temporary folder, read, and deleted. */
  objects: readonly ObjectToRead[];
  source: ImportSource;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  /** Username recorded as the dataset's owner when this import creates it. */
  owner?: string;
}

export interface ImportBatchesOptions {
  name: string;
  /** Row batches, e.g. a connector's read; consumed once, in order. */
  batches: AsyncIterable<RowBatch>;
  source: ImportSource;
  /**
   * Incremental import: the new version holds `appendTo`'s rows then the batches' rows, and the
   * watermark is the maximum of `watermarkColumn` over them. No rows read => no new version.
   */
  appendTo?: number;
  watermarkColumn?: string;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  /** Rows per Parquet part (default ROWS_PER_PART, 100,000): what is held in DuckDB at once. */
  rowsPerPart?: number;
  /** Username recorded as the dataset's owner when this import creates it. */
  owner?: string;
}

export interface ImportFileOptions {
  /** Local file to ingest (the server passes its upload temp file). */
  path: string;
  name: string;
  /** Inferred from `filename` (or `path`) extension when omitted. */
  format?: SourceFormat;
  /** The name the person knows the file by; recorded as the source and used to infer the format. */
  filename?: string;
  /** A text file's encoding when it is not UTF-8 (WHATWG label: windows-1252, latin1, shift_jis...); recorded as the source's. */
  encoding?: string;
  /** An .xlsx workbook's sheet to import, by name (default: the first tab); recorded as the source's. */
  sheet?: string;
  source?: ImportSource;
  onProgress?: ProgressFn;
  /** Username recorded as the dataset's owner when this import creates it. */
  owner?: string;
}

/** A dataset as the catalog searches it: its summary, the latest version's column names, every version's source. */
export interface CatalogEntry extends DatasetSummary {
  tags: string[];
  owner: string | null;
  columnNames: string[];
  sources: DatasetVersion["source"][];
}

/** What lineage needs of a version: which dataset and version, its size and source. */
export interface LineageVersion {
  dataset: string;
  version: number;
  rowCount: number;
  source: DatasetVersion["source"];
  createdAt: string;
}

export interface TransformOptions {
  /** One DuckDB SELECT over datasets named as tables: `sales` (latest version) or `"sales@3"` (version 3). */
  sql: string;
  /** Whether the caller may read a dataset; one it may not is reported exactly as a missing one. */
  canRead?: (dataset: string) => boolean | Promise<boolean>;
  /** The query is interrupted after this long (default 60 s). */
  timeoutMs?: number;
  /** DuckDB's memory limit for the query (default "1GB"). */
  memoryLimit?: string;
  signal?: AbortSignal;
}

export interface ColumnFacts {
  exists: boolean;
  nulls: number;
  distinct: number;
  count: number;
  kind: ColumnKind | null;
}

const MAX_CLAIM_ATTEMPTS = 8;

/**
 * Files in, immutable dataset versions out. Each version is one Parquet file at
 * `<root>/<name>/v<version>.parquet`, written once and never modified; its metadata lives in the
 * `datasets` / `dataset_versions` tables. DuckDB (in memory) does all reading, writing and profiling.
 * With a blob store (shared storage, `--storage`), each version's file is also uploaded as
 * `datasets/<name>/<content hash>.parquet` before its row is committed, and `<root>` is a cache that
 * fills itself: a version read here whose file is missing is downloaded and checked first.
 */
export class DatasetStore {
  private readonly importQueues = new Map<string, Promise<unknown>>();
  /** Downloads in flight, by "<name>@<version>": concurrent reads of one version download it once. */
  private readonly downloads = new Map<string, Promise<string>>();
  private readonly profiling = new Map<string, Promise<DatasetProfile>>();
  private readonly versionListeners = new Set<(version: DatasetVersion) => void>();
  /** The content hash format of this store's DuckDB, read once (it names the DuckDB release). */
  private hashFormat: string | undefined;

  private constructor(
    private readonly root: string,
    private readonly db: Kysely<DataTables>,
    private readonly duck: DuckDBInstance,
    /** DuckDB threads for this store and each transform sandbox (DuckDB's default, every core, when unset). */
    private readonly threads?: number,
    /** Shared storage holding every version's file; none: the files under `root` are the only copies. */
    private readonly blobs?: BlobStore,
  ) {}

  /**
   * root: folder for Parquet files (e.g. <home>/datasets); db: Kysely over the metadata DB, migrated with dataMigrations.
   * memoryLimit: DuckDB's memory_limit for everything the store runs (imports, profiles, exports), e.g. "512MB";
   * default CARETFLOW_DUCKDB_MEMORY_LIMIT, else DuckDB's own (80% of the machine's memory).
   * blobs: shared storage (see BlobStore); `root` is then this machine's cache of it.
   */
  static async open(opts: {
    root: string;
    db: Kysely<DataTables>;
    threads?: number;
    memoryLimit?: string;
    blobs?: BlobStore;
  }): Promise<DatasetStore> {
    const tmp = join(opts.root, ".tmp");
    await mkdir(tmp, { recursive: true });
    await removeStaleTempFiles(tmp);
    const memoryLimit = opts.memoryLimit ?? process.env.CARETFLOW_DUCKDB_MEMORY_LIMIT;
    const duck = await openDuckDb({
      tempDirectory: join(tmp, "duckdb"),
      ...(opts.threads ? { threads: opts.threads } : {}),
      ...(memoryLimit ? { memoryLimit } : {}),
    });
    return new DatasetStore(opts.root, opts.db, duck, opts.threads, opts.blobs);
  }

  /** Ingest a local file. Identical content to the latest version => created:false and no new version. */
  async importFile(opts: ImportFileOptions): Promise<ImportResult> {
    const name = parseDatasetName(opts.name);
    const format = opts.format ?? formatFromFilename(opts.filename ?? opts.path);
    // Imports of one name run one after another in this process; the primary key guards across processes.
    return this.serialize(name, () => this.importLocked(name, format, opts));
  }

  /**
   * Stream row batches into a new version, through the same hashing and versioning as files: rows go
   * to Parquet parts as they arrive (memory stays bounded), and nothing is registered unless the whole
   * stream was read. A failed or cancelled read leaves no version and no file behind.
   */
  async importBatches(opts: ImportBatchesOptions): Promise<ImportResult & { rowsRead: number }> {
    const name = parseDatasetName(opts.name);
    return this.serialize(name, async () => {
      const tmpDir = join(this.root, ".tmp");
      const tmp = join(tmpDir, `${randomUUID()}.parquet`);
      try {
        const previous = opts.appendTo === undefined ? null : await this.getVersion(name, opts.appendTo);
        const { rowsRead } = await withConnection(this.duck, (conn) =>
          batchesToParquet({
            conn,
            batches: opts.batches,
            target: tmp,
            workDir: tmpDir,
            ...(previous ? { appendTo: previous.path } : {}),
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
            ...(opts.rowsPerPart ? { rowsPerPart: opts.rowsPerPart } : {}),
          }),
        );
        if (rowsRead === 0) {
          if (previous) return { created: false, version: versionFromRow(await this.versionRow(name, previous.version)), rowsRead };
          throw userError(
            "no_rows",
            "The source returned no rows; nothing was stored",
            "Check the table or query, then import again.",
            422,
          );
        }
        const { columns, rowCount } = await withConnection(this.duck, (conn) => describeStored(conn, tmp));
        let watermark: ImportSource["watermark"];
        if (opts.watermarkColumn) {
          const column = opts.watermarkColumn;
          const value = await withConnection(this.duck, async (conn) => {
            const reader = await conn.runAndReadAll(
              `SELECT CAST(max(${sqlIdent(column)}) AS VARCHAR) FROM read_parquet(${sqlString(tmp)})`,
            );
            return reader.getRowsJS()[0]?.[0];
          });
          if (value !== null && value !== undefined) watermark = { column, value: String(value) };
        }
        const source = {
          ...sourceExtras({ ...opts.source, ...(watermark ? { watermark } : {}) }),
          kind: opts.source.kind,
        } satisfies DatasetVersion["source"];
        const result = await this.storeVersion(name, tmp, columns, rowCount, source, opts.onProgress, opts.owner);
        return { ...result, rowsRead };
      } catch (error) {
        if (opts.signal?.aborted) {
          throw new CaretflowError({
            code: "import_cancelled",
            kind: "operational",
            status: 503,
            message: `The import of '${name}' was cancelled before it finished; nothing was stored`,
            hint: "Run the import again.",
            cause: error,
          });
        }
        throw error;
      } finally {
        await rm(tmp, { force: true });
      }
    });
  }

  /**
   * Run a SQL transform's query in a sandbox (see executeTransform) and return its first `limit` rows
   * and output schema; nothing is stored.
   */
  async previewTransform(opts: TransformOptions & { limit: number }): Promise<TransformPreview> {
    const inputs = await this.transformInputs(opts);
    const work = join(this.root, ".tmp", `transform-${randomUUID()}`);
    try {
      const limit = Math.min(1000, Math.max(1, Math.floor(opts.limit)));
      const { columns, rows } = await executeTransform({
        ...this.transformLimits(opts),
        sql: opts.sql,
        inputs,
        workDir: work,
        mode: { preview: limit },
      });
      const schema = columns.map((c) => ({ name: c.name, kind: columnKindOf(c.type), duckdbType: c.type, nullable: true }));
      checkColumnNames(
        schema.map((c) => c.name),
        "The query's result",
      );
      return {
        columns: schema,
        rows: rows.map((row) => row.map((value, i) => toJsonSafe(value, schema[i]!.kind))),
        inputs: inputs.map(({ dataset, version }) => ({ dataset, version })),
        limit,
      };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * Run a SQL transform and store its result as the next version of `name`, through the same hashing
   * and versioning as imports (the same content as the latest version => created:false). The version's
   * source records the SQL and the exact versions read. A failed or empty run stores nothing.
   */
  async runTransform(opts: TransformOptions & { name: string; owner?: string }): Promise<ImportResult> {
    const name = parseDatasetName(opts.name);
    return this.serialize(name, async () => {
      const inputs = await this.transformInputs(opts);
      const work = join(this.root, ".tmp", `transform-${randomUUID()}`);
      try {
        const { columns: described, output } = await executeTransform({
          ...this.transformLimits(opts),
          sql: opts.sql,
          inputs,
          workDir: work,
          mode: { write: true },
        });
        checkColumnNames(
          described.map((c) => c.name),
          "The query's result",
        );
        const { columns, rowCount } = await withConnection(this.duck, (conn) => describeStored(conn, output!));
        if (rowCount === 0)
          throw userError(
            "no_rows",
            "The query returned no rows; nothing was stored",
            "Check the query's filters with Preview, then run it again.",
            422,
          );
        const source = {
          kind: "transform",
          sql: opts.sql,
          inputs: inputs.map(({ dataset, version }) => ({ dataset, version })),
        } satisfies DatasetVersion["source"];
        return await this.storeVersion(name, output!, columns, rowCount, source, undefined, opts.owner);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
  }

  /**
   * Objects of a store (one key or a glob's matches, one format) as ONE new version: read one at a
   * time through the file ingest and unioned by column name (objectsToParquet). The downloads live in
   * a folder of this import under the store's temporary folder, removed whatever happens; a failed or
   * cancelled import stores nothing.
   */
  async importObjects(opts: ImportObjectsOptions): Promise<ImportResult> {
    const name = parseDatasetName(opts.name);
    return this.serialize(name, async () => {
      const work = join(this.root, ".tmp", `parts-objects-${randomUUID()}`);
      const tmp = join(this.root, ".tmp", `${randomUUID()}.parquet`);
      await mkdir(work, { mode: 0o700 });
      try {
        const { columns, rowCount } = await withConnection(this.duck, (conn) =>
          objectsToParquet({
            conn,
            objects: opts.objects,
            format: opts.format,
            target: tmp,
            workDir: work,
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
          }),
        );
        const source = {
          ...sourceExtras(opts.source),
          kind: opts.source.kind,
          format: opts.format,
        } satisfies DatasetVersion["source"];
        return await this.storeVersion(name, tmp, columns, rowCount, source, opts.onProgress, opts.owner);
      } catch (error) {
        if (opts.signal?.aborted) throw cancelled(name, error);
        throw error;
      } finally {
        await rm(work, { recursive: true, force: true });
        await rm(tmp, { force: true });
      }
    });
  }

  /**
   * Call `listener` after each new version is registered, whatever made it (upload, connection import,
   * prediction, transform): the one place to hook work on new versions (quality checks). The listener
   * runs synchronously and must not throw; start slow work without awaiting it. Returns an unsubscribe.
   */
  onVersionCreated(listener: (version: DatasetVersion) => void): () => void {
    this.versionListeners.add(listener);
    return () => this.versionListeners.delete(listener);
  }

  /**
   * The first `limit` rows of objects read as an import would read them (stored nowhere): the
   * columns with their DuckDB types and JSON-safe rows. The temporary files are removed afterwards.
   */
  async previewObjects(opts: {
    objects: readonly ObjectToRead[];
    format: SourceFormat;
    limit: number;
    signal?: AbortSignal;
  }): Promise<{ columns: { name: string; duckdbType: string }[]; rows: unknown[][] }> {
    const work = join(this.root, ".tmp", `parts-objects-${randomUUID()}`);
    const tmp = join(work, "preview.parquet");
    await mkdir(work, { mode: 0o700 });
    try {
      return await withConnection(this.duck, async (conn) => {
        const { columns } = await objectsToParquet({
          conn,
          objects: opts.objects,
          format: opts.format,
          target: tmp,
          workDir: work,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        const limit = Math.min(1000, Math.max(1, Math.floor(opts.limit)));
        const reader = await conn.runAndReadAll(
          `SELECT ${columns.map(displayExpr).join(", ")} FROM read_parquet(${sqlString(tmp)}) LIMIT ${limit}`,
        );
        return {
          columns: columns.map((c) => ({ name: c.name, duckdbType: c.duckdbType })),
          rows: reader.getRowsJS().map((row) => row.map((v, i) => toJsonSafe(v, columns[i]!.kind))),
        };
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async list(): Promise<DatasetSummary[]> {
    return (await this.catalog()).map(({ columnNames: _c, sources: _s, ...summary }) => summary);
  }

  /** Every dataset with what the catalog searches: tags, owner, the latest version's columns, every version's source. */
  async catalog(): Promise<CatalogEntry[]> {
    const datasets = await this.db.selectFrom("datasets").selectAll().orderBy("name").execute();
    const versions = await this.db
      .selectFrom("dataset_versions")
      .select(["dataset", "version", "row_count", "column_count", "columns_json", "size_bytes", "source_json"])
      .orderBy("dataset")
      .orderBy("version")
      .execute();
    const tags = await this.db.selectFrom("dataset_tags").select(["dataset", "tag"]).orderBy("tag").execute();
    const byName = new Map<string, typeof versions>();
    for (const v of versions) byName.set(v.dataset, [...(byName.get(v.dataset) ?? []), v]);
    const tagsOf = new Map<string, string[]>();
    for (const t of tags) tagsOf.set(t.dataset, [...(tagsOf.get(t.dataset) ?? []), t.tag]);
    return datasets.flatMap((d) => {
      const vs = byName.get(d.name) ?? [];
      const latest = vs[vs.length - 1];
      if (!latest) return [];
      const sources = vs.map((v) => JSON.parse(v.source_json) as DatasetVersion["source"]);
      return [
        {
          name: d.name,
          ...(d.description ? { description: d.description } : {}),
          latestVersion: Number(latest.version),
          versionCount: vs.length,
          rowCount: Number(latest.row_count),
          columnCount: Number(latest.column_count),
          createdAt: d.created_at,
          updatedAt: d.updated_at,
          tags: tagsOf.get(d.name) ?? [],
          owner: d.owner ?? null,
          sizeBytes: Number(latest.size_bytes),
          source: sources[sources.length - 1]!,
          columnNames: (JSON.parse(latest.columns_json) as ColumnSchema[]).map((c) => c.name),
          sources,
        },
      ];
    });
  }

  /** Every version of every dataset, for lineage (no columns or profiles). */
  async lineageVersions(): Promise<LineageVersion[]> {
    const rows = await this.db
      .selectFrom("dataset_versions")
      .select(["dataset", "version", "row_count", "source_json", "created_at"])
      .orderBy("dataset")
      .orderBy("version")
      .execute();
    return rows.map((r) => ({
      dataset: r.dataset,
      version: Number(r.version),
      rowCount: Number(r.row_count),
      source: JSON.parse(r.source_json) as DatasetVersion["source"],
      createdAt: r.created_at,
    }));
  }

  /** Adds and removes tags of a dataset (adding one it has, or removing one it lacks, changes nothing); answers its tags. */
  async setTags(name: string, change: { add: string[]; remove: string[] }): Promise<string[]> {
    const d = await this.db.selectFrom("datasets").select("name").where("name", "=", name).executeTakeFirst();
    if (!d) throw datasetNotFound(name);
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      if (change.remove.length > 0)
        await trx.deleteFrom("dataset_tags").where("dataset", "=", name).where("tag", "in", change.remove).execute();
      for (const tag of change.add) {
        await trx
          .insertInto("dataset_tags")
          .values({ dataset: name, tag, created_at: now })
          .onConflict((oc) => oc.columns(["dataset", "tag"]).doNothing())
          .execute();
      }
    });
    return this.tags(name);
  }

  /** Sets (or, with null, removes) a dataset's description. */
  async setDescription(name: string, description: string | null): Promise<void> {
    const done = await this.db.updateTable("datasets").set({ description }).where("name", "=", name).executeTakeFirst();
    if (Number(done.numUpdatedRows) === 0) throw datasetNotFound(name);
  }

  /** A dataset's tags in alphabetical order. */
  async tags(name: string): Promise<string[]> {
    const rows = await this.db.selectFrom("dataset_tags").select("tag").where("dataset", "=", name).orderBy("tag").execute();
    return rows.map((r) => r.tag);
  }

  async get(name: string): Promise<DatasetDetail> {
    const d = await this.db.selectFrom("datasets").selectAll().where("name", "=", name).executeTakeFirst();
    const rows = d ? await this.db.selectFrom("dataset_versions").selectAll().where("dataset", "=", name).orderBy("version").execute() : [];
    const latest = rows[rows.length - 1];
    if (!d || !latest) throw datasetNotFound(name);
    return {
      name: d.name,
      ...(d.description ? { description: d.description } : {}),
      latestVersion: Number(latest.version),
      versionCount: rows.length,
      rowCount: Number(latest.row_count),
      columnCount: Number(latest.column_count),
      createdAt: d.created_at,
      updatedAt: d.updated_at,
      tags: await this.tags(name),
      owner: d.owner ?? null,
      sizeBytes: Number(latest.size_bytes),
      source: JSON.parse(latest.source_json) as DatasetVersion["source"],
      versions: rows.map(versionFromRow),
    };
  }

  /** One version (the latest when omitted) and the absolute path of its Parquet file. */
  async getVersion(name: string, version?: number): Promise<DatasetVersion & { path: string }> {
    const row = await this.versionRow(name, version);
    return { ...versionFromRow(row), path: await this.localFile(row) };
  }

  /** A page of rows in stored order, values JSON-safe. */
  async preview(name: string, version: number, q: { offset: number; limit: number }): Promise<PreviewPage> {
    const v = await this.getVersion(name, version);
    const offset = Math.max(0, Math.floor(q.offset));
    const limit = Math.min(1000, Math.max(1, Math.floor(q.limit)));
    const select = v.columns.map(displayExpr).join(", ");
    const rows = await withConnection(this.duck, async (conn) => {
      const reader = await conn.runAndReadAll(`SELECT ${select} FROM read_parquet(${sqlString(v.path)}) LIMIT ${limit} OFFSET ${offset}`);
      return reader.getRowsJS();
    });
    return {
      columns: v.columns,
      rows: rows.map((row) => row.map((value, i) => toJsonSafe(value, v.columns[i]!.kind))),
      offset,
      limit,
      total: v.rowCount,
    };
  }

  /** Column profile, computed on first request and kept with the version (versions never change). */
  async profile(name: string, version: number): Promise<DatasetProfile> {
    const row = await this.versionRow(name, version);
    if (row.profile_json) {
      const stored = JSON.parse(row.profile_json) as DatasetProfile;
      // A profile stored before correlations and missing patterns existed is computed again, once.
      if (stored.shape === PROFILE_SHAPE) return stored;
    }
    const key = `${name}@${version}`;
    const running = this.profiling.get(key);
    if (running) return running;
    const job = (async () => {
      const v = versionFromRow(row);
      const path = await this.localFile(row);
      const profile = await withConnection(this.duck, (conn) =>
        profileParquet(conn, path, {
          dataset: name,
          version: v.version,
          rowCount: v.rowCount,
          columns: v.columns,
        }),
      );
      await this.db
        .updateTable("dataset_versions")
        .set({ profile_json: JSON.stringify(profile) })
        .where("dataset", "=", name)
        .where("version", "=", v.version)
        .execute();
      return profile;
    })();
    this.profiling.set(key, job);
    try {
      return await job;
    } finally {
      this.profiling.delete(key);
    }
  }

  /** Column facts to validate a training target before any job starts. */
  async columnFacts(name: string, version: number, column: string): Promise<ColumnFacts> {
    const v = await this.getVersion(name, version);
    const col = v.columns.find((c) => c.name === column);
    if (!col) return { exists: false, nulls: 0, distinct: 0, count: v.rowCount, kind: null };
    const id = sqlIdent(col.name);
    const distinctOf = col.kind === "other" ? `CAST(${id} AS VARCHAR)` : id;
    const [count, nonNull, distinct] = await withConnection(this.duck, async (conn) => {
      const reader = await conn.runAndReadAll(
        `SELECT count(*), count(${id}), count(DISTINCT ${distinctOf}) FROM read_parquet(${sqlString(v.path)})`,
      );
      return (reader.getRowsJS()[0] ?? []).map((x) => Number(x));
    });
    return { exists: true, nulls: (count ?? 0) - (nonNull ?? 0), distinct: distinct ?? 0, count: count ?? 0, kind: col.kind };
  }

  /**
   * Path of a CSV export (comma-separated, header row, UTF-8), written once next to the Parquet file;
   * text cells and column names that would run as spreadsheet formulas are neutralised (see exportExpr).
   */
  async exportCsv(name: string, version: number): Promise<string> {
    const v = await this.getVersion(name, version);
    // ".safe": a CSV cached before text cells were neutralised is never served.
    const target = join(this.root, name, `v${v.version}.safe.csv`);
    if (await exists(target)) return target;
    const tmp = join(this.root, ".tmp", `${randomUUID()}.csv`);
    try {
      await withConnection(this.duck, (conn) =>
        conn.run(
          `COPY (SELECT ${v.columns.map(exportExpr).join(", ")} FROM read_parquet(${sqlString(v.path)})) TO ${sqlString(tmp)} (FORMAT csv, HEADER true, DELIMITER ',')`,
        ),
      );
      await rename(tmp, target);
    } finally {
      await rm(tmp, { force: true });
    }
    return target;
  }

  /**
   * With shared storage: upload the files of versions stored on this machine before it used shared storage
   * (their objects are missing), so workers and other machines can read them. Answers how many it uploaded.
   */
  async uploadLocalVersions(): Promise<number> {
    if (!this.blobs) return 0;
    const rows = await this.db.selectFrom("dataset_versions").selectAll().orderBy("dataset").orderBy("version").execute();
    let uploaded = 0;
    const done = new Set<string>();
    for (const row of rows) {
      const key = this.blobKey(row.dataset, row.content_hash);
      const path = this.parquetPath(row.dataset, Number(row.version));
      if (done.has(key) || !(await exists(path)) || (await this.blobs.has(key))) continue;
      await this.upload(row.dataset, path, row.content_hash);
      done.add(key);
      uploaded++;
    }
    return uploaded;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.importQueues.values(), ...this.profiling.values(), ...this.downloads.values()]);
    this.duck.closeSync();
  }

  // ------------------------------------------------------------------ internals

  private parquetPath(name: string, version: number): string {
    return join(this.root, name, `v${version}.parquet`);
  }

  /**
   * A version's file in shared storage: keyed by its content hash, so a version with the content of an
   * earlier one (v3 back to v1's rows) shares its object, and a name's objects never collide.
   */
  private blobKey(name: string, contentHash: string): string {
    return `datasets/${name}/${contentHash}.parquet`;
  }

  /** Upload a new version's file to shared storage; a failure stores nothing and says so. */
  private async upload(name: string, tmp: string, contentHash: string): Promise<void> {
    try {
      await this.blobs!.put(this.blobKey(name, contentHash), tmp);
    } catch (error) {
      const e = error as { message?: string; hint?: string };
      throw new CaretflowError({
        code: "dataset_upload_failed",
        kind: "operational",
        status: 503,
        message: `The new version of '${name}' could not be stored in ${this.blobs!.location}; nothing was stored (${e.message ?? String(error)})`,
        hint: e.hint ?? "Check the shared storage, then run the import again.",
        cause: error,
      });
    }
  }

  /**
   * The local path of a version's file, downloaded from shared storage first when this machine lacks it
   * (a worker, or a server on a fresh machine). Without shared storage the path is returned as it is.
   */
  private async localFile(row: Selectable<DatasetVersionsTable>): Promise<string> {
    const version = Number(row.version);
    const path = this.parquetPath(row.dataset, version);
    if (!this.blobs || (await exists(path))) return path;
    const key = `${row.dataset}@${version}`;
    const running = this.downloads.get(key);
    if (running) return running;
    const download = this.download(row, path).finally(() => this.downloads.delete(key));
    this.downloads.set(key, download);
    return download;
  }

  /**
   * Download a version's object to a temporary file, check that it holds the version's content, then
   * rename it into place (readers never see a partial file). The check recomputes the content hash the row
   * records (the object's key is that hash, so versions sharing content share an object whose bytes may come
   * from either import; a file sha256 would tell them apart for nothing). A version hashed by another DuckDB
   * release cannot be hashed alike here; its row count and columns are checked instead.
   */
  private async download(row: Selectable<DatasetVersionsTable>, path: string): Promise<string> {
    const name = row.dataset;
    const version = Number(row.version);
    const key = this.blobKey(name, row.content_hash);
    const tmp = join(this.root, ".tmp", `${randomUUID()}.parquet`);
    try {
      await this.blobs!.get(key, tmp);
      const columns = JSON.parse(row.columns_json) as ColumnSchema[];
      const problem = await withConnection(this.duck, async (conn) => {
        this.hashFormat ??= await contentHashFormat(conn);
        try {
          if (row.content_hash_format === this.hashFormat) {
            const actual = await contentHash(conn, tmp, columns);
            return actual === row.content_hash ? null : `its content hashes to ${actual}, not ${row.content_hash}`;
          }
          const stored = await describeStored(conn, tmp);
          const same =
            stored.rowCount === Number(row.row_count) &&
            stored.columns.length === columns.length &&
            stored.columns.every((c, i) => c.name === columns[i]!.name && c.kind === columns[i]!.kind);
          return same ? null : "its rows or columns differ from the version's";
        } catch (error) {
          return `it is not a readable Parquet file (${(error as Error).message.split("\n")[0]})`;
        }
      });
      if (problem) {
        throw new CaretflowError({
          code: "dataset_file_corrupt",
          kind: "operational",
          status: 502,
          message: `The file of '${name}' version ${version} in ${this.blobs!.location} (${key}) does not hold that version: ${problem}; it was not kept`,
          hint: "The object was changed or damaged in the shared storage. Restore it from a backup, or import the data again as a new version.",
        });
      }
      await mkdir(dirname(path), { recursive: true });
      await rename(tmp, path);
      return path;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private transformLimits(opts: TransformOptions) {
    return {
      ...(this.threads ? { threads: this.threads } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.memoryLimit ? { memoryLimit: opts.memoryLimit } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
  }

  /** The dataset versions a transform's SQL names, each checked with `canRead` (refused as missing). */
  private async transformInputs(opts: TransformOptions): Promise<TransformInput[]> {
    const references = await withConnection(this.duck, (conn) => transformReferences(conn, opts.sql));
    const inputs: TransformInput[] = [];
    for (const ref of references) {
      const missing = () =>
        userError(
          "transform_dataset_not_found",
          `The query reads '${ref.table}' (line ${ref.line}), but no dataset of this project has that name`,
          "Name a dataset of this project as a table: FROM sales (its latest version) or FROM \"sales@3\" (version 3); quote names with '-' or '.'.",
          404,
          { line: ref.line, dataset: ref.dataset },
        );
      if (!DatasetName.safeParse(ref.dataset).success || (opts.canRead && !(await opts.canRead(ref.dataset)))) throw missing();
      const row = await this.latestRow(ref.dataset);
      if (!row) throw missing();
      if (ref.version !== undefined && !(await this.versionExists(ref.dataset, ref.version)))
        throw userError(
          "transform_version_not_found",
          `The query reads '${ref.table}' (line ${ref.line}), but dataset '${ref.dataset}' has versions 1 to ${Number(row.version)}`,
          `Pin an existing version, e.g. "${ref.dataset}@${Number(row.version)}", or write ${ref.dataset} for the latest.`,
          404,
          { line: ref.line, dataset: ref.dataset },
        );
      const version = ref.version ?? Number(row.version);
      const path = await this.localFile(ref.version === undefined ? row : await this.versionRow(ref.dataset, version));
      inputs.push({ table: ref.table, dataset: ref.dataset, version, path });
    }
    return inputs;
  }

  private async serialize<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.importQueues.get(name) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.importQueues.set(name, settled);
    try {
      return await run;
    } finally {
      if (this.importQueues.get(name) === settled) this.importQueues.delete(name);
    }
  }

  private async importLocked(name: string, format: SourceFormat, opts: ImportFileOptions): Promise<ImportResult> {
    const tmpDir = join(this.root, ".tmp");
    const tmp = join(tmpDir, `${randomUUID()}.parquet`);
    const timer = new PhaseTimer();
    try {
      const { columns, rowCount, encoding, sheet } = await withConnection(this.duck, (conn) =>
        ingestToParquet({
          conn,
          path: opts.path,
          format,
          target: tmp,
          workDir: tmpDir,
          timer,
          ...(opts.encoding ? { encoding: opts.encoding } : {}),
          ...(opts.sheet !== undefined ? { sheet: opts.sheet } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        }),
      );
      const source = {
        kind: opts.source?.kind ?? "file",
        format,
        ...(opts.filename ? { filename: opts.filename } : {}),
        ...(encoding ? { encoding } : {}),
        ...(sheet !== undefined ? { sheet } : {}),
        ...sourceExtras(opts.source),
      } satisfies DatasetVersion["source"];
      const result = await this.storeVersion(name, tmp, columns, rowCount, source, opts.onProgress, opts.owner, timer);
      return { ...result, phases: timer.phases };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Hash a written temporary Parquet file and register it as the next version of `name`, unless the
   * latest version has the same content (created:false). The caller removes `tmp` afterwards.
   */
  private async storeVersion(
    name: string,
    tmp: string,
    columns: ColumnSchema[],
    rowCount: number,
    source: DatasetVersion["source"],
    onProgress?: ProgressFn,
    owner?: string,
    timer = new PhaseTimer(),
  ): Promise<ImportResult> {
    onProgress?.({ stage: "hashing" });
    const hash = await timer.time("hash", () =>
      withConnection(this.duck, async (conn) => {
        this.hashFormat ??= await contentHashFormat(conn);
        return { value: await contentHash(conn, tmp, columns), format: this.hashFormat };
      }),
    );
    const placeStart = performance.now();
    try {
      return await this.registerVersion(name, tmp, columns, rowCount, source, hash, onProgress, owner);
    } finally {
      timer.add("place", performance.now() - placeStart);
    }
  }

  /** Link `tmp` as the next version of `name` and record it, unless the latest version has `hash`. */
  private async registerVersion(
    name: string,
    tmp: string,
    columns: ColumnSchema[],
    rowCount: number,
    source: DatasetVersion["source"],
    hash: { value: string; format: string },
    onProgress?: ProgressFn,
    owner?: string,
  ): Promise<ImportResult> {
    const sizeBytes = (await stat(tmp)).size;
    onProgress?.({ stage: "storing" });
    let uploaded = false;
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      const latest = await this.latestRow(name);
      if (latest && (await this.sameContent(latest, hash, columns, rowCount))) return { created: false, version: versionFromRow(latest) };
      // Shared storage holds the file before any row names it: a reader elsewhere never finds a row without its object.
      if (this.blobs && !uploaded) {
        await this.upload(name, tmp, hash.value);
        uploaded = true;
      }
      const version = (latest ? Number(latest.version) : 0) + 1;
      const final = this.parquetPath(name, version);
      const now = new Date().toISOString();
      const row: DatasetVersionsTable = {
        dataset: name,
        version,
        row_count: rowCount,
        column_count: columns.length,
        columns_json: JSON.stringify(columns),
        content_hash: hash.value,
        content_hash_format: hash.format,
        size_bytes: sizeBytes,
        source_json: JSON.stringify(source),
        created_at: now,
        profile_json: null,
      };
      // The row claims version N before its file is placed, in one transaction: a concurrent writer's
      // insert of the same key waits for it (PostgreSQL's unique index, SQLite's write lock) and then
      // fails, so it never touches a file another writer is placing; readers see the row only once the
      // file is there.
      let placed = false;
      try {
        await this.db.transaction().execute(async (trx) => {
          await trx
            .insertInto("datasets")
            .values({ name, description: null, created_at: now, updated_at: now, owner: owner ?? null })
            .onConflict((oc) => oc.column("name").doNothing())
            .execute();
          await trx.insertInto("dataset_versions").values(row).execute();
          await this.placeFile(tmp, final);
          placed = true;
          await trx.updateTable("datasets").set({ updated_at: now }).where("name", "=", name).execute();
        });
      } catch (error) {
        if (placed) await rm(final, { force: true });
        if (isUniqueViolation(error)) continue; // another writer claimed this version number; look again
        throw error;
      }
      onProgress?.({ stage: "done" });
      const created = versionFromRow(row);
      for (const listener of this.versionListeners) {
        try {
          listener(created);
        } catch {
          // A listener's failure never undoes a stored version.
        }
      }
      return { created: true, version: created };
    }
    throw new CaretflowError({
      code: "dataset_version_conflict",
      kind: "operational",
      message: `Could not store a new version of '${name}': other imports of the same dataset kept taking the next version number`,
      hint: "Try the import again.",
      status: 409,
    });
  }

  /**
   * Put the temporary Parquet file at its final path, while this writer holds the version's row (uncommitted):
   * a file already there belongs to no committed version, so it is a leftover of a crashed import and is replaced.
   */
  private async placeFile(tmp: string, final: string): Promise<void> {
    await mkdir(dirname(final), { recursive: true });
    try {
      await link(tmp, final);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        await rm(final, { force: true });
        await link(tmp, final);
        return;
      }
      // File systems without hard links: fall back to a copy (the temporary file stays for a retry).
      if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS" || code === "EXDEV") {
        await rm(final, { force: true });
        await copyFile(tmp, final);
        return;
      }
      throw error;
    }
  }

  /**
   * Whether a stored version holds the content just hashed. A version hashed under another format (v1, or
   * another DuckDB release) with the same row count and columns is hashed again from its file to compare.
   */
  private async sameContent(
    row: Selectable<DatasetVersionsTable>,
    hash: { value: string; format: string },
    columns: readonly ColumnSchema[],
    rowCount: number,
  ): Promise<boolean> {
    if (row.content_hash_format === hash.format) return row.content_hash === hash.value;
    const stored = JSON.parse(row.columns_json) as ColumnSchema[];
    const sameShape =
      Number(row.row_count) === rowCount &&
      stored.length === columns.length &&
      stored.every((c, i) => c.name === columns[i]!.name && c.kind === columns[i]!.kind);
    if (!sameShape) return false;
    const path = await this.localFile(row);
    return (await withConnection(this.duck, (conn) => contentHash(conn, path, stored))) === hash.value;
  }

  private async latestRow(name: string): Promise<Selectable<DatasetVersionsTable> | undefined> {
    return this.db
      .selectFrom("dataset_versions")
      .selectAll()
      .where("dataset", "=", name)
      .orderBy("version", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  private async versionExists(name: string, version: number): Promise<boolean> {
    const row = await this.db
      .selectFrom("dataset_versions")
      .select("version")
      .where("dataset", "=", name)
      .where("version", "=", version)
      .executeTakeFirst();
    return row !== undefined;
  }

  private async versionRow(name: string, version?: number): Promise<Selectable<DatasetVersionsTable>> {
    if (version === undefined) {
      const latest = await this.latestRow(name);
      if (!latest) throw datasetNotFound(name);
      return latest;
    }
    const row = await this.db
      .selectFrom("dataset_versions")
      .selectAll()
      .where("dataset", "=", name)
      .where("version", "=", version)
      .executeTakeFirst();
    if (row) return row;
    const latest = await this.latestRow(name);
    if (!latest) throw datasetNotFound(name);
    throw notFound("dataset version", `${name}@v${version}`, `Dataset '${name}' has versions 1 to ${Number(latest.version)}.`);
  }
}

/** The optional lineage fields of an import source, as a version records them. */
function sourceExtras(source: ImportSource | undefined): Omit<DatasetVersion["source"], "kind"> {
  if (!source) return {};
  const { kind: _kind, ...extras } = source;
  return Object.fromEntries(Object.entries(extras).filter(([, value]) => value !== undefined));
}

function cancelled(name: string, cause: unknown): CaretflowError {
  return new CaretflowError({
    code: "import_cancelled",
    kind: "operational",
    status: 503,
    message: `The import of '${name}' was cancelled before it finished; nothing was stored`,
    hint: "Run the import again.",
    cause,
  });
}

function parseDatasetName(name: string): string {
  const parsed = DatasetName.safeParse(name);
  if (parsed.success) return parsed.data;
  throw userError(
    "invalid_dataset_name",
    `'${name}' is not a valid dataset name`,
    "Use up to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (for example 'juice-sales').",
    400,
  );
}

function datasetNotFound(name: string): CaretflowError {
  return notFound("dataset", name, "List the datasets that exist (caretflow datasets list), or import a file under this name.");
}

function versionFromRow(row: Selectable<DatasetVersionsTable>): DatasetVersion {
  return {
    dataset: row.dataset,
    version: Number(row.version),
    rowCount: Number(row.row_count),
    columnCount: Number(row.column_count),
    columns: JSON.parse(row.columns_json) as ColumnSchema[],
    contentHash: row.content_hash,
    sizeBytes: Number(row.size_bytes),
    source: JSON.parse(row.source_json) as DatasetVersion["source"],
    createdAt: row.created_at,
  };
}

/** SQLite ("UNIQUE constraint failed", SQLITE_CONSTRAINT_*) and PostgreSQL (23505) spell a duplicate key differently. */
function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    e?.code === "23505" ||
    (typeof e?.code === "string" && e.code.startsWith("SQLITE_CONSTRAINT")) ||
    (typeof e?.message === "string" && /UNIQUE constraint failed|duplicate key/i.test(e.message))
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Temp files older than a day belong to imports that crashed; younger ones may be in use by another process. */
async function removeStaleTempFiles(dir: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const entry of await readdir(dir)) {
    if (entry === "duckdb") continue;
    const p = join(dir, entry);
    const s = await stat(p).catch(() => null);
    // Files, and the part folders of batch imports (parts-<uuid>/), left by a process that stopped mid-import.
    if ((s?.isFile() || (s?.isDirectory() && (entry.startsWith("parts-") || entry.startsWith("transform-")))) && s.mtimeMs < dayAgo)
      await rm(p, { recursive: true, force: true });
  }
}
