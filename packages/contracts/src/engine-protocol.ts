import { z } from "zod";

/**
 * The job protocol between caretflow (TypeScript) and the Python engine.
 * Versioned separately from the packages: bump when a message changes shape.
 * The engine validates specs against the JSON Schema generated from these
 * schemas (engine/caretflow_engine/schema/*.json); `npm run gen` rewrites them.
 */
export const PROTOCOL_VERSION = 1;

export const Task = z.enum(["classification", "regression"]);
export type Task = z.infer<typeof Task>;

const SpecBase = z.object({
  v: z.literal(PROTOCOL_VERSION),
  job_id: z.string().min(1),
  tracking_uri: z.string().url().describe("MLflow tracking server URL"),
});

export const DatasetRef = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  path: z.string().describe("absolute path of the version's Parquet file"),
  content_hash: z.string(),
  rows: z.number().int().nonnegative(),
});
export type DatasetRef = z.infer<typeof DatasetRef>;

export const TrainSpec = SpecBase.extend({
  kind: z.literal("train"),
  experiment_name: z.string().min(1),
  dataset: DatasetRef,
  task: Task,
  target: z.string().min(1),
  ignore_columns: z.array(z.string()).default([]),
  train_size: z.number().gt(0).lt(1).default(0.7),
  folds: z.number().int().min(2).max(20).default(5),
  seed: z.number().int().nonnegative().default(123),
  include: z.array(z.string()).default([]).describe("PyCaret model ids to compare; empty means all"),
  exclude: z.array(z.string()).default([]),
  sort: z.string().optional().describe("PyCaret metric name, e.g. Accuracy or R2"),
  /** Thread count for estimators (n_jobs / LightGBM num_threads); never -1 on small machines. */
  n_jobs: z.number().int().positive().default(1),
  tags: z.record(z.string(), z.string()).default({}),
});
export type TrainSpec = z.infer<typeof TrainSpec>;

export const PredictSpec = SpecBase.extend({
  kind: z.literal("predict"),
  model_uri: z.string().describe("models:/NAME/VERSION or runs:/RUN_ID/model"),
  model_sha256: z.string().optional().describe("expected hash of the model artifact; scoring refuses a mismatch"),
  input_path: z.string(),
  output_path: z.string().describe("Parquet file the engine writes: input columns + prediction columns"),
});
export type PredictSpec = z.infer<typeof PredictSpec>;

export const JobSpec = z.discriminatedUnion("kind", [TrainSpec, PredictSpec]);
export type JobSpec = z.infer<typeof JobSpec>;

// ---------------------------------------------------------------- events

const EventBase = z.object({
  v: z.literal(PROTOCOL_VERSION),
  seq: z.number().int().nonnegative().describe("per job, from 0, no gaps"),
  ts: z.string().describe("ISO 8601 UTC"),
  job_id: z.string(),
});

export const Stage = z.enum(["loading", "setup", "compare", "finalize", "logging", "scoring", "writing"]);
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

export const TrainResult = z.object({
  kind: z.literal("train"),
  experiment_id: z.string(),
  parent_run_id: z.string(),
  best_run_id: z.string(),
  best_model_id: z.string(),
  best_model_name: z.string(),
  model_uri: z.string().describe("runs:/RUN_ID/model"),
  model_sha256: z.string(),
  sort_metric: z.string(),
  leaderboard: z.array(LeaderboardRow).describe("sorted best first"),
});
export type TrainResult = z.infer<typeof TrainResult>;

export const PredictResult = z.object({
  kind: z.literal("predict"),
  rows: z.number().int().nonnegative(),
  output_path: z.string(),
  prediction_columns: z.array(z.string()),
});
export type PredictResult = z.infer<typeof PredictResult>;

export const JobResult = z.discriminatedUnion("kind", [TrainResult, PredictResult]);
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
    artifact_kind: z.enum(["plot", "model", "data", "other"]),
  }),
  EventBase.extend({ type: z.literal("run"), role: z.enum(["parent", "child", "final"]), run_id: z.string(), name: z.string() }),
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
