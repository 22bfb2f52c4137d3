import { z } from "zod";
import { Catalog, OperationId, TaskId } from "./catalog.ts";
import { DriftFeature, DriftThresholds } from "./drift.ts";
import { ModelSource, Operation, TrainCommon, TrainFields, withEnvelope } from "./tasks.ts";

/**
 * The job protocol between caretflow (TypeScript) and the Python engine.
 * Versioned separately from the packages: bump when a message changes shape.
 * The engine validates specs against the JSON Schema generated from these
 * schemas (engine/caretflow_engine/schema/*.json); `npm run gen` rewrites them.
 */
export const PROTOCOL_VERSION = 1;

/** The ML tasks (kept as `Task` for existing callers; the catalog's `TaskId`). */
export const Task = TaskId;
export type Task = TaskId;

/** A job's own memory limit (a pipeline step's `resources.memory`). */
const JobMemoryLimit = z
  .number()
  .int()
  .positive()
  .optional()
  .describe("the most memory (MB) the job's process tree may use; the worker's own job limit still applies when lower");

const SpecBase = z.object({
  v: z.literal(PROTOCOL_VERSION),
  job_id: z.string().min(1),
  tracking_uri: z.string().url().describe("MLflow tracking server URL"),
  memory_mb: JobMemoryLimit,
});

/**
 * A dataset version by name and version, never by path: the engine finds the file under the
 * data root its worker was started with (CARETFLOW_DATA_ROOT), so a spec runs on any worker.
 */
export const DatasetRef = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  content_hash: z.string(),
  rows: z.number().int().nonnegative(),
});
export type DatasetRef = z.infer<typeof DatasetRef>;

/** A model folder's digest: sha256 (hex) of its manifest (every file's relative path and sha256, sorted). */
export const ModelDigest = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 hex digest");

const RunEnvelope = {
  v: z.literal(PROTOCOL_VERSION),
  job_id: z.string().min(1),
  tracking_uri: z.string().url().describe("MLflow tracking server URL"),
  experiment_name: z.string().min(1),
  dataset: DatasetRef,
  ...TrainCommon,
  /** Thread count for estimators (n_jobs / LightGBM num_threads); never -1 on small machines. */
  n_jobs: z.number().int().positive().default(1),
  /** Processes a comparison may spread its models over (one estimator thread each). */
  workers: z.number().int().positive().default(1),
  tags: z.record(z.string(), z.string()).default({}),
  memory_mb: JobMemoryLimit,
};

/** kind=train: a new experiment (compare or create) for any task; one member per family. */
export const TrainSpec = withEnvelope({ kind: z.literal("train"), ...RunEnvelope });
export type TrainSpec = z.infer<typeof TrainSpec>;

/** kind=operate: tune, ensemble, blend, stack, calibrate... a model of an earlier run; the setup is rebuilt from `train`. */
export const OperateSpec = z.object({
  kind: z.literal("operate"),
  ...RunEnvelope,
  train: TrainFields.describe("the task fields of the training job that made the source run"),
  source: ModelSource.extend({ parent_run_id: z.string() }),
  operation: Operation,
  model_digests: z
    .record(z.string(), ModelDigest)
    .default({})
    .describe("run id -> the digest caretflow recorded for that run's saved model; a saved model without one is refused"),
});
export type OperateSpec = z.infer<typeof OperateSpec>;

/**
 * kind=evaluate: after a training or operation job, everything that explains its model without
 * holding up the model itself: interactive chart data, PyCaret's plots, SHAP, partial dependence,
 * permutation importance, learning curve, and the HTML report. Logged to the model's run.
 */
export const EvaluateSpec = z.object({
  kind: z.literal("evaluate"),
  ...RunEnvelope,
  train: TrainFields.describe("the task fields of the training job, to rebuild its setup"),
  run_id: z.string().describe("the run holding the model (final or operation run)"),
  parent_run_id: z.string(),
  model_digest: ModelDigest.optional().describe("the digest caretflow recorded for the run's model; loading it without one is refused"),
});
export type EvaluateSpec = z.infer<typeof EvaluateSpec>;

export const PredictSpec = SpecBase.extend({
  kind: z.literal("predict"),
  model_uri: z.string().describe("models:/NAME/VERSION or runs:/RUN_ID/model"),
  model_sha256: ModelDigest.optional().describe(
    "the model folder's digest caretflow recorded (see model_sha256 in results); the engine refuses a mismatch or a missing digest",
  ),
  input: DatasetRef,
  horizon: z.number().int().min(1).max(10_000).optional().describe("time series: periods to forecast (default: the model's)"),
});
export type PredictSpec = z.infer<typeof PredictSpec>;

/** kind=catalog: publish the engine's catalog as the result (no MLflow needed). */
export const CatalogSpec = z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal("catalog"), job_id: z.string().min(1) });
export type CatalogSpec = z.infer<typeof CatalogSpec>;

/**
 * kind=drift: per-feature drift of a current sample against a reference dataset version (no MLflow
 * needed). `current` is a dataset version, or prediction-log files named relative to the prediction-log
 * root the worker was started with (CARETFLOW_PREDICTION_LOG_ROOT).
 */
export const DriftSpec = z.object({
  v: z.literal(PROTOCOL_VERSION),
  kind: z.literal("drift"),
  job_id: z.string().min(1),
  memory_mb: JobMemoryLimit,
  reference: DatasetRef,
  current: z.union([
    DatasetRef,
    z.object({
      prediction_log: z
        .array(z.string().regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9_./-]+\.(parquet|jsonl)$/, "a relative .parquet or .jsonl path"))
        .min(1),
      from: z.string().optional().describe("only rows logged at or after this ISO time (caretflow_time)"),
      to: z.string().optional().describe("only rows logged before this ISO time"),
      version: z.number().int().optional().describe("only rows this model version answered (caretflow_version)"),
    }),
  ]),
  features: z.array(z.string()).optional().describe("default: every column both sides have, but the prediction columns"),
  reference_target: z
    .string()
    .optional()
    .describe(
      "the reference's target column: where the reference lacks the first prediction column, the target's values stand for it (prediction drift of a model against its training labels)",
    ),
  prediction_columns: z
    .array(z.string())
    .default(["prediction_label", "prediction_score"])
    .describe("columns compared as prediction drift when both sides have them"),
  thresholds: DriftThresholds.default({ psi: 0.2, ks_p_value: 0.05, ks_statistic: 0.1 }),
  bins: z.number().int().min(2).max(50).default(10).describe("quantile bins of numeric features; categories beyond 20 fold into 'other'"),
});
export type DriftSpec = z.infer<typeof DriftSpec>;

export const JobSpec = z.discriminatedUnion("kind", [TrainSpec, OperateSpec, EvaluateSpec, PredictSpec, CatalogSpec, DriftSpec]);
export type JobSpec = z.infer<typeof JobSpec>;

// ---------------------------------------------------------------- events

const EventBase = z.object({
  v: z.literal(PROTOCOL_VERSION),
  seq: z.number().int().nonnegative().describe("per job, from 0, no gaps"),
  ts: z.string().describe("ISO 8601 UTC"),
  job_id: z.string(),
});

export const Stage = z.enum([
  "loading",
  "preparing",
  "setup",
  "compare",
  "operation",
  "finalize",
  "evaluate",
  "explain",
  "report",
  "logging",
  "assign",
  "scoring",
  "writing",
  "drift",
]);
export type Stage = z.infer<typeof Stage>;

export const LeaderboardRow = z.object({
  rank: z.number().int().positive().optional().describe("1 = best, set once the comparison is sorted"),
  model_id: z.string().describe("PyCaret model id, e.g. lr, rf, lightgbm"),
  model_name: z.string().describe("PyCaret display name, e.g. Logistic Regression"),
  metrics: z.record(z.string(), z.number().nullable()).describe("PyCaret metric names: Accuracy, AUC, Prec., R2, TT (Sec)..."),
  fit_seconds: z.number().nonnegative(),
  mlflow_run_id: z.string().optional(),
});
export type LeaderboardRow = z.infer<typeof LeaderboardRow>;

/**
 * A table the job wrote for caretflow to store as a dataset version: cluster or anomaly labels
 * (a new version of the input dataset), predictions, per-document topic weights, rules, itemsets,
 * a forecast. `file` is relative to the job's outbox under the data root.
 */
export const JobOutput = z.object({
  role: z.enum(["labels", "predictions", "topic_weights", "rules", "itemsets", "forecast"]),
  file: z.string().regex(/^[A-Za-z0-9_.-]+\.parquet$/, "a Parquet file name inside the job's outbox"),
  rows: z.number().int().nonnegative(),
  columns: z.array(z.string()).describe("the columns the job added to its input, or the table's columns"),
});
export type JobOutput = z.infer<typeof JobOutput>;

const Metrics = z.record(z.string(), z.number().nullable());

/** How a clustering or anomaly model labels new rows: its own predict, or its nearest training row's assignment. */
const UnsupervisedScoring = z
  .enum(["model", "nearest_row"])
  .describe("nearest_row: the model cannot label new rows itself (DBSCAN, agglomerative...), so a row gets its nearest training row's");

/** What each task adds to a training result, beyond the leaderboard. */
export const TaskDetails = z.discriminatedUnion("task", [
  z.object({
    task: z.literal("classification"),
    classes: z.array(z.string()).describe("the target's classes, in the model's order"),
    holdout: Metrics,
    per_class: z
      .array(z.object({ class: z.string(), precision: z.number(), recall: z.number(), f1: z.number(), support: z.number().int() }))
      .describe("hold-out metrics per class"),
  }),
  z.object({ task: z.literal("regression"), holdout: Metrics }),
  z.object({
    task: z.literal("clustering"),
    num_clusters: z.number().int().describe("clusters the model formed (DBSCAN's and OPTICS's noise, 'Cluster -1', not counted)"),
    suggested_clusters: z.number().int().nullable().describe("the elbow method's choice (k-means inertia, k = 2..10); null: no elbow"),
    clusters_from: z
      .enum(["request", "elbow", "default", "model"])
      .describe("where the cluster count came from: num_clusters, the elbow, 4 for want of an elbow, or the model itself (DBSCAN...)"),
    cluster_sizes: z.record(z.string(), z.number().int()),
    scoring: UnsupervisedScoring,
  }),
  z.object({
    task: z.literal("anomaly"),
    anomalies: z.number().int(),
    rows: z.number().int(),
    fraction: z.number().describe("the requested share of anomalies (the detector's contamination)"),
    threshold: z.number().nullable().describe("anomaly scores above this are anomalies"),
    scoring: UnsupervisedScoring,
  }),
  z.object({
    task: z.literal("time_series"),
    frequency: z.string(),
    horizon: z.number().int(),
    coverage: z.number(),
    holdout: Metrics,
    forecast: z.array(
      z.object({ period: z.string(), y_pred: z.number().nullable(), lower: z.number().nullable(), upper: z.number().nullable() }),
    ),
    notes: z.array(z.string()).describe("fix-ups applied to the series (aggregated duplicates, filled gaps)"),
  }),
  z.object({
    task: z.literal("topics"),
    num_topics: z.number().int(),
    coherence: z.number().nullable().describe("mean UMass coherence (closer to 0 is better)"),
    topics: z.array(z.object({ topic: z.number().int(), words: z.array(z.string()), documents: z.number().int() })),
  }),
  z.object({
    task: z.literal("association_rules"),
    transactions: z.number().int(),
    items: z.number().int(),
    itemsets: z.number().int(),
    rules: z.number().int(),
    top_rules: z.array(
      z.object({
        antecedents: z.array(z.string()),
        consequents: z.array(z.string()),
        support: z.number(),
        confidence: z.number(),
        lift: z.number(),
      }),
    ),
  }),
]);
export type TaskDetails = z.infer<typeof TaskDetails>;

const RunOutcome = {
  task: TaskId,
  experiment_id: z.string(),
  parent_run_id: z.string(),
  best_run_id: z.string().describe("the run holding the model to register"),
  best_model_id: z.string(),
  best_model_name: z.string(),
  model_uri: z.string().describe("runs:/RUN_ID/model"),
  model_sha256: z
    .string()
    .describe(
      "digest of the whole model folder: sha256 of the manifest of every file's relative path and sha256 (docs/engine-protocol.md)",
    ),
  sort_metric: z.string().nullable(),
  leaderboard: z.array(LeaderboardRow).describe("sorted best first"),
  details: TaskDetails.optional(),
  outputs: z.array(JobOutput).default([]),
  timings: z.record(z.string(), z.number()).default({}).describe("seconds per stage: setup, compare, finalize, logging..."),
};

export const TrainResult = z.object({ kind: z.literal("train"), ...RunOutcome });
export type TrainResult = z.infer<typeof TrainResult>;

/** What an operation did, beyond the new model's scores: tuned parameters, iterations, the threshold... */
export const OperationSummary = z.object({
  params: z
    .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]))
    .default({})
    .describe("what the operation chose: the tuned hyperparameters, the probability threshold..."),
  facts: z
    .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]))
    .default({})
    .describe("what it did: the search, candidates tried and planned, the metric optimized, the model kept..."),
  notes: z
    .array(z.string())
    .default([])
    .describe("sentences for a person: the source scored better and was kept, the time budget ran out..."),
});
export type OperationSummary = z.infer<typeof OperationSummary>;

export const OperateResult = z.object({
  kind: z.literal("operate"),
  op: OperationId.describe("the operation that ran"),
  source_run_id: z.string(),
  ...RunOutcome,
  summary: OperationSummary.optional(),
});
export type OperateResult = z.infer<typeof OperateResult>;

export const PredictResult = z.object({
  kind: z.literal("predict"),
  rows: z.number().int().nonnegative(),
  output: JobOutput,
  prediction_columns: z.array(z.string()),
});
export type PredictResult = z.infer<typeof PredictResult>;

export const EvaluateResult = z.object({
  kind: z.literal("evaluate"),
  run_id: z.string(),
  charts: z.array(z.string()).describe("ids of the charts logged as charts/<id>.json"),
  plots: z.array(z.string()).describe("PNG plots logged under plots/"),
  report: z.string().nullable().describe("artifact path of the HTML report"),
  timings: z.record(z.string(), z.number()).default({}),
});
export type EvaluateResult = z.infer<typeof EvaluateResult>;

export const CatalogResult = z.object({ kind: z.literal("catalog"), catalog: Catalog });
export type CatalogResult = z.infer<typeof CatalogResult>;

export const DriftResult = z.object({
  kind: z.literal("drift"),
  reference_rows: z.number().int().nonnegative(),
  current_rows: z.number().int().nonnegative(),
  thresholds: DriftThresholds,
  features: z.array(DriftFeature).describe("features first, then prediction columns; drifted ones first within each"),
  drifted: z.array(z.string()).describe("the drifted features' columns"),
  prediction_drift: z.boolean().nullable().describe("null: no prediction column on both sides"),
});
export type DriftResult = z.infer<typeof DriftResult>;

export const JobResult = z.discriminatedUnion("kind", [
  TrainResult,
  OperateResult,
  EvaluateResult,
  PredictResult,
  CatalogResult,
  DriftResult,
]);
export type JobResult = z.infer<typeof JobResult>;

export const ErrorInfo = z.object({
  name: z.string().describe("exception class or caretflow error code"),
  message: z.string(),
  hint: z.string().optional(),
  transient: z.boolean(),
  stack: z.string().optional(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

export const EngineEvent = z.discriminatedUnion("type", [
  EventBase.extend({
    type: z.literal("started"),
    pid: z.number().int(),
    versions: z.record(z.string(), z.string()).describe("python, pycaret, sklearn, mlflow, lightgbm, pandas, numpy"),
  }),
  EventBase.extend({ type: z.literal("stage"), stage: Stage, message: z.string() }),
  EventBase.extend({
    type: z.literal("progress"),
    done: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    message: z.string().optional(),
  }),
  EventBase.extend({ type: z.literal("leaderboard_row"), row: LeaderboardRow }),
  EventBase.extend({
    type: z.literal("metric"),
    name: z.string(),
    value: z.number(),
    run_id: z.string().optional(),
  }),
  EventBase.extend({
    type: z.literal("artifact"),
    name: z.string(),
    path: z.string().describe("artifact path inside the MLflow run"),
    run_id: z.string(),
    artifact_kind: z.enum(["plot", "chart", "model", "data", "report", "other"]),
  }),
  EventBase.extend({
    type: z.literal("run"),
    role: z.enum(["parent", "child", "final", "operation"]),
    run_id: z.string(),
    name: z.string(),
  }),
  EventBase.extend({ type: z.literal("log"), level: z.enum(["debug", "info", "warning", "error"]), message: z.string() }),
  EventBase.extend({ type: z.literal("warning"), message: z.string() }),
  EventBase.extend({ type: z.literal("error"), error: ErrorInfo }),
  EventBase.extend({
    type: z.literal("finished"),
    status: z.enum(["succeeded", "failed", "cancelled"]),
    result: JobResult.optional(),
  }),
]);
export type EngineEvent = z.infer<typeof EngineEvent>;
export type EngineEventType = EngineEvent["type"];
