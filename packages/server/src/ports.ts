import type {
  Catalog,
  DatasetDetail,
  DatasetProfile,
  DatasetSummary,
  DatasetVersion,
  Explanation,
  Health,
  ImportResult,
  JobResult,
  ModelUpdateRequest,
  ModelVersion,
  PreviewPage,
  RegisteredModel,
  RegisterModelRequest,
  RunDetail,
  RunSummary,
  SourceFormat,
  TransformPreview,
} from "@caretflow/contracts";
import type {
  CatalogEntry,
  ImportBatchesOptions,
  ImportObjectsOptions,
  LineageVersion,
  ObjectToRead,
  TransformOptions,
} from "@caretflow/data";

/**
 * What the server needs from its neighbours, named by role. The real
 * implementations (DatasetStore, the tracking functions over MlflowClient,
 * ScoringPool) are wired in start.ts; the HTTP layer depends only on these.
 */
export type Logger = (level: "info" | "warn" | "error", msg: string) => void;

export interface DatasetsPort {
  importFile(opts: {
    path: string;
    name: string;
    format?: SourceFormat;
    filename?: string;
    /** a text file's encoding when it is not UTF-8 (WHATWG label) */
    encoding?: string;
    /** an .xlsx workbook's sheet, by name (default: the first) */
    sheet?: string;
    source?: {
      kind: "upload" | "file" | "demo" | "prediction" | "derived";
      parent?: { dataset: string; version: number };
      model?: string;
      jobId?: string;
      role?: string;
      runId?: string;
    };
    /** username recorded as the owner when the import creates the dataset */
    owner?: string;
  }): Promise<ImportResult>;
  /** Store a stream of row batches (a connector's read) as a new version; see DatasetStore.importBatches. */
  importBatches(opts: ImportBatchesOptions): Promise<ImportResult & { rowsRead: number }>;
  /** Run a SQL transform over dataset versions in a sandbox: its first rows (nothing stored), or a new version of `name`. */
  previewTransform(opts: TransformOptions & { limit: number }): Promise<TransformPreview>;
  runTransform(opts: TransformOptions & { name: string; owner?: string }): Promise<ImportResult>;
  /** Store objects of a store (a key or a glob's matches) as ONE new version; see DatasetStore.importObjects. */
  importObjects(opts: ImportObjectsOptions): Promise<ImportResult>;
  /** The first rows of objects as an import would read them, stored nowhere; see DatasetStore.previewObjects. */
  previewObjects(opts: {
    objects: readonly ObjectToRead[];
    format: SourceFormat;
    limit: number;
    signal?: AbortSignal;
  }): Promise<{ columns: { name: string; duckdbType: string }[]; rows: unknown[][] }>;
  list(): Promise<DatasetSummary[]>;
  /** Every dataset with its tags, owner, latest columns and every version's source (see DatasetStore.catalog). */
  catalog(): Promise<CatalogEntry[]>;
  /** Every version of every dataset, for lineage. */
  lineageVersions(): Promise<LineageVersion[]>;
  setTags(name: string, change: { add: string[]; remove: string[] }): Promise<string[]>;
  setDescription(name: string, description: string | null): Promise<void>;
  get(name: string): Promise<DatasetDetail>;
  getVersion(name: string, version?: number): Promise<DatasetVersion & { path: string }>;
  preview(name: string, version: number, q: { offset: number; limit: number }): Promise<PreviewPage>;
  profile(name: string, version: number): Promise<DatasetProfile>;
  columnFacts(name: string, version: number, column: string): Promise<{ exists: boolean; nulls: number; distinct: number; count: number }>;
  exportCsv(name: string, version: number): Promise<string>;
}

export interface ResolvedModel {
  name: string;
  version: number;
  uri: string;
  /** The digest caretflow recorded for the version's model folder; null when it has none (loading is then refused). */
  sha256: string | null;
  runId: string | null;
  /** The task the model was trained for (its run's caretflow.task tag), when known. */
  task: string | null;
}

export interface TrackingPort {
  /** Base URL of the MLflow server the engine logs to (loopback). */
  trackingUri(): string;
  listRuns(): Promise<RunSummary[]>;
  getRun(runId: string): Promise<RunDetail>;
  getArtifact(runId: string, path: string): Promise<Response>;
  listModels(): Promise<RegisteredModel[]>;
  getModel(name: string): Promise<RegisteredModel>;
  registerModel(req: RegisterModelRequest): Promise<ModelVersion>;
  setAlias(name: string, alias: string, version: number): Promise<RegisteredModel>;
  deleteAlias(name: string, alias: string): Promise<RegisteredModel>;
  /** Changes a model's description and tags (null removes a tag); caretflow.* and mlflow.* keys are refused. */
  updateModel(name: string, patch: ModelUpdateRequest): Promise<RegisteredModel>;
  /** Changes a version's description and tags, as updateModel. */
  updateModelVersion(name: string, version: number, patch: ModelUpdateRequest): Promise<ModelVersion>;
  /** Sets one tag of a model version (the lifecycle's caretflow.stage). */
  setVersionTag(name: string, version: number, key: string, value: string): Promise<void>;
  resolveModelRef(ref: string): Promise<ResolvedModel>;
  /** Ends a run a dead job left RUNNING as KILLED; false when it had already ended. */
  killRunIfRunning(runId: string): Promise<boolean>;
}

export interface ScoringPort {
  predict(
    model: { uri: string; sha256: string | null; key: string },
    rows: Record<string, unknown>[],
    options?: { horizon?: number; explain?: boolean },
  ): Promise<{ columns: string[]; predictions: Array<Record<string, unknown>>; explanations?: Explanation[] }>;
  /** A request that needs PyCaret but no model (the setup preview), answered by a warm process. */
  utility(body: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** The engine's catalog (tasks, fields, models, metrics, plots), published by the engine. */
export interface CatalogPort {
  /** The catalog; waits while the engine publishes it, then fails with 503 catalog_unavailable. */
  get(): Promise<Catalog>;
}

export type HealthPort = () => Health;

export type { JobResult };
