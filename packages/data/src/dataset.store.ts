import { randomUUID } from "node:crypto";
import { access, link, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
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
  type PreviewPage,
  type RowBatch,
  type SourceFormat,
  userError,
} from "@caretflow/contracts";
import type { DuckDBInstance } from "@duckdb/node-api";
import type { Kysely, Selectable } from "kysely";
import { batchesToParquet } from "./batch-ingest.ts";
import { contentHash } from "./content-hash.ts";
import { displayExpr, exportExpr, openDuckDb, sqlIdent, sqlString, withConnection } from "./duckdb.ts";
import { formatFromFilename } from "./formats.ts";
import { describeStored, ingestToParquet, type ProgressFn } from "./ingest.ts";
import { toJsonSafe } from "./json-safe.ts";
import type { DatasetVersionsTable, DataTables } from "./migrations.ts";
import { PhaseTimer } from "./phases.ts";
import { profileParquet } from "./profile.ts";

export type ImportSource = {
  kind: "upload" | "file" | "demo" | "prediction" | "derived" | "connection";
  parent?: { dataset: string; version: number };
  model?: string;
  jobId?: string;
  /** derived versions: what the job wrote (labels, topic_weights, rules...) and its MLflow run */
  role?: string;
  runId?: string;
  /** imports from a connection: its name, the table or query read, the watermark reached */
  connection?: string;
  table?: string;
  query?: string;
  watermark?: { column: string; value: string };
};

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
 */
export class DatasetStore {
  private readonly importQueues = new Map<string, Promise<unknown>>();
  private readonly profiling = new Map<string, Promise<DatasetProfile>>();

  private constructor(
    private readonly root: string,
    private readonly db: Kysely<DataTables>,
    private readonly duck: DuckDBInstance,
  ) {}

  /**
   * root: folder for Parquet files (e.g. <home>/datasets); db: Kysely over the metadata DB, migrated with dataMigrations.
   * memoryLimit: DuckDB's memory_limit for everything the store runs (imports, profiles, exports), e.g. "512MB";
   * default CARETFLOW_DUCKDB_MEMORY_LIMIT, else DuckDB's own (80% of the machine's memory).
   */
  static async open(opts: { root: string; db: Kysely<DataTables>; threads?: number; memoryLimit?: string }): Promise<DatasetStore> {
    const tmp = join(opts.root, ".tmp");
    await mkdir(tmp, { recursive: true });
    await removeStaleTempFiles(tmp);
    const memoryLimit = opts.memoryLimit ?? process.env.CARETFLOW_DUCKDB_MEMORY_LIMIT;
    const duck = await openDuckDb({
      tempDirectory: join(tmp, "duckdb"),
      ...(opts.threads ? { threads: opts.threads } : {}),
      ...(memoryLimit ? { memoryLimit } : {}),
    });
    return new DatasetStore(opts.root, opts.db, duck);
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
        const result = await this.storeVersion(name, tmp, columns, rowCount, source, opts.onProgress);
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

  async list(): Promise<DatasetSummary[]> {
    const datasets = await this.db.selectFrom("datasets").selectAll().orderBy("name").execute();
    const versions = await this.db
      .selectFrom("dataset_versions")
      .select(["dataset", "version", "row_count", "column_count"])
      .orderBy("dataset")
      .orderBy("version")
      .execute();
    const byName = new Map<string, typeof versions>();
    for (const v of versions) byName.set(v.dataset, [...(byName.get(v.dataset) ?? []), v]);
    return datasets.flatMap((d) => {
      const vs = byName.get(d.name) ?? [];
      const latest = vs[vs.length - 1];
      if (!latest) return [];
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
        },
      ];
    });
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
      versions: rows.map(versionFromRow),
    };
  }

  /** One version (the latest when omitted) and the absolute path of its Parquet file. */
  async getVersion(name: string, version?: number): Promise<DatasetVersion & { path: string }> {
    const row = await this.versionRow(name, version);
    return { ...versionFromRow(row), path: this.parquetPath(name, Number(row.version)) };
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
    if (row.profile_json) return JSON.parse(row.profile_json) as DatasetProfile;
    const key = `${name}@${version}`;
    const running = this.profiling.get(key);
    if (running) return running;
    const job = (async () => {
      const v = versionFromRow(row);
      const profile = await withConnection(this.duck, (conn) =>
        profileParquet(conn, this.parquetPath(name, v.version), {
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

  async close(): Promise<void> {
    await Promise.allSettled([...this.importQueues.values(), ...this.profiling.values()]);
    this.duck.closeSync();
  }

  // ------------------------------------------------------------------ internals

  private parquetPath(name: string, version: number): string {
    return join(this.root, name, `v${version}.parquet`);
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
      const result = await this.storeVersion(name, tmp, columns, rowCount, source, opts.onProgress, timer);
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
    timer = new PhaseTimer(),
  ): Promise<ImportResult> {
    onProgress?.({ stage: "hashing" });
    const hash = await timer.time("hash", () => contentHash(this.duck, tmp, columns));
    const placeStart = performance.now();
    try {
      return await this.registerVersion(name, tmp, columns, rowCount, source, hash, onProgress);
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
    hash: string,
    onProgress?: ProgressFn,
  ): Promise<ImportResult> {
    const sizeBytes = (await stat(tmp)).size;
    onProgress?.({ stage: "storing" });
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      const latest = await this.latestRow(name);
      if (latest && latest.content_hash === hash) return { created: false, version: versionFromRow(latest) };
      const version = (latest ? Number(latest.version) : 0) + 1;
      const final = this.parquetPath(name, version);
      if (!(await this.placeFile(tmp, final, name, version))) continue;
      const now = new Date().toISOString();
      const row: DatasetVersionsTable = {
        dataset: name,
        version,
        row_count: rowCount,
        column_count: columns.length,
        columns_json: JSON.stringify(columns),
        content_hash: hash,
        size_bytes: sizeBytes,
        source_json: JSON.stringify(source),
        created_at: now,
        profile_json: null,
      };
      try {
        await this.db.transaction().execute(async (trx) => {
          await trx
            .insertInto("datasets")
            .values({ name, description: null, created_at: now, updated_at: now })
            .onConflict((oc) => oc.column("name").doNothing())
            .execute();
          await trx.insertInto("dataset_versions").values(row).execute();
          await trx.updateTable("datasets").set({ updated_at: now }).where("name", "=", name).execute();
        });
      } catch (error) {
        await rm(final, { force: true });
        if (isUniqueViolation(error)) continue; // another writer claimed this version number; look again
        throw error;
      }
      onProgress?.({ stage: "done" });
      return { created: true, version: versionFromRow(row) };
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
   * Put the temporary Parquet file at its final path without ever replacing a registered version:
   * a hard link fails if the path exists. A file with no metadata row is a leftover of a crashed
   * import and is replaced. Returns false when another writer holds that version.
   */
  private async placeFile(tmp: string, final: string, name: string, version: number): Promise<boolean> {
    await mkdir(dirname(final), { recursive: true });
    try {
      await link(tmp, final);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        if (await this.versionExists(name, version)) return false;
        await rm(final, { force: true });
        return this.placeFile(tmp, final, name, version);
      }
      // File systems without hard links: fall back to a checked rename.
      if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS" || code === "EXDEV") {
        if (await exists(final)) {
          if (await this.versionExists(name, version)) return false;
          await rm(final, { force: true });
        }
        await rename(tmp, final);
        return true;
      }
      throw error;
    }
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
  return {
    ...(source.parent ? { parent: source.parent } : {}),
    ...(source.model ? { model: source.model } : {}),
    ...(source.jobId ? { jobId: source.jobId } : {}),
    ...(source.role ? { role: source.role } : {}),
    ...(source.runId ? { runId: source.runId } : {}),
    ...(source.connection ? { connection: source.connection } : {}),
    ...(source.table ? { table: source.table } : {}),
    ...(source.query ? { query: source.query } : {}),
    ...(source.watermark ? { watermark: source.watermark } : {}),
  };
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
    if ((s?.isFile() || (s?.isDirectory() && entry.startsWith("parts-"))) && s.mtimeMs < dayAgo)
      await rm(p, { recursive: true, force: true });
  }
}
