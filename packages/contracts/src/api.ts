import { z } from "zod";
import { TaskId } from "./catalog.ts";
import { DatasetName } from "./datasets.ts";
import { DriftRequest } from "./drift.ts";
import { EngineEvent, ErrorInfo, JobResult, LeaderboardRow, Stage } from "./engine-protocol.ts";
import { PredictionLogDriftRequest } from "./monitoring.ts";
import { Description, ExperimentName, Label } from "./refused.ts";
import { Operation, TrainCommon, UseGpu, withEnvelope } from "./tasks.ts";

// ---------------------------------------------------------------- health & auth

export const Health = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  server: z.object({ ready: z.boolean() }),
  mlflow: z.object({ ready: z.boolean(), message: z.string().optional(), restarts: z.number().int() }),
  engine: z.object({ ready: z.boolean(), message: z.string().optional() }),
});
export type Health = z.infer<typeof Health>;

export const LoginRequest = z.object({ username: z.string().min(1), password: z.string().min(1) });
export type LoginRequest = z.infer<typeof LoginRequest>;

/** A signed-in user. `role` is the site role: `admin` administers the site and holds every project role. */
export const User = z.object({ id: z.string(), username: z.string(), role: z.enum(["admin", "user"]) });
export type User = z.infer<typeof User>;

const Password = z.string().min(12, "a password has at least 12 characters").max(1000);
/** A user or project name: letters, digits, `.`, `_` and `-`, starting with a letter or digit. */
export const Handle = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-', starting with a letter or digit");

export const ChangePasswordRequest = z.object({ current: z.string().min(1), next: Password });
export const UserInfo = User.extend({
  disabled: z.boolean(),
  createdAt: z.string(),
  sso: z.boolean().optional().describe("linked to a single sign-on identity (signs in through the provider)"),
});
export type UserInfo = z.infer<typeof UserInfo>;
export const CreateUserRequest = z.object({
  username: Handle,
  password: Password.optional().describe("generated (and shown once) when left out"),
  admin: z.boolean().default(false).describe("make the user a site admin"),
});
export const CreatedUser = UserInfo.extend({ password: z.string().optional().describe("the generated password, shown once") });
export type CreatedUser = z.infer<typeof CreatedUser>;

export const ProjectRoleSchema = z.enum(["viewer", "editor", "owner"]);
export const ProjectInfo = z.object({
  name: z.string(),
  description: z.string().nullable(),
  createdAt: z.string(),
  role: ProjectRoleSchema.nullable().describe("your role; null for a site admin who is not a member"),
});
export type ProjectInfo = z.infer<typeof ProjectInfo>;
export const CreateProjectRequest = z.object({ name: Handle, description: Description.optional() });
export const ProjectMember = z.object({ username: z.string(), role: ProjectRoleSchema, addedAt: z.string() });
export type ProjectMember = z.infer<typeof ProjectMember>;
export const SetMemberRequest = z.object({ role: ProjectRoleSchema });

export const TokenAccessSchema = z.enum(["read", "write"]);
export type TokenAccess = z.infer<typeof TokenAccessSchema>;
/** How long a new API token lives when the request names no expiry. */
export const DEFAULT_TOKEN_DAYS = 90;
export const CreateTokenRequest = z.object({
  name: Label,
  project: Handle.optional().describe("the one project the token may touch; all of your projects when omitted"),
  access: TokenAccessSchema.default("write").describe("read: GET requests only; write: whatever your role allows"),
  expiresInDays: z.number().int().min(1).max(365).optional().describe(`days until the token expires (default ${DEFAULT_TOKEN_DAYS})`),
});
export type CreateTokenRequest = z.input<typeof CreateTokenRequest>;
export const ApiTokenInfo = z.object({
  id: z.string(),
  name: z.string(),
  project: z.string().nullable().describe("the one project the token may touch; null for all of the user's projects"),
  access: TokenAccessSchema,
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string().nullable().describe("null: never expires (tokens made before scopes existed)"),
});
export type ApiTokenInfo = z.infer<typeof ApiTokenInfo>;
export const CreatedToken = ApiTokenInfo.extend({ token: z.string().describe("shown once; store it now") });
export type CreatedToken = z.infer<typeof CreatedToken>;

// ---------------------------------------------------------------- jobs

/**
 * What a person asks for when they start training: the dataset, then the task's own fields
 * (one member per task family; see tasks.ts and GET /api/catalog for every field and its help).
 */
export const TrainRequest = withEnvelope({
  dataset: DatasetName,
  version: z.number().int().positive().optional().describe("defaults to the latest version"),
  experiment: ExperimentName.optional().describe("MLflow experiment name; defaults to caretflow-<dataset>"),
  ...TrainCommon,
});
export type TrainRequest = z.infer<typeof TrainRequest>;

/** An operation (tune, ensemble, blend, stack, calibrate, optimize_threshold, finalize, create) on a run's model. */
export const OperateRequest = z.object({
  operation: Operation,
  use_gpu: UseGpu.default("off"),
});
export type OperateRequest = z.infer<typeof OperateRequest>;

/** `NAME@ALIAS` or `NAME/VERSION`. */
export const ModelRef = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*(@[A-Za-z][A-Za-z0-9_-]*|\/[0-9]+)$/, "use NAME@ALIAS or NAME/VERSION");
export type ModelRef = z.infer<typeof ModelRef>;

export const BatchPredictRequest = z.object({
  model: ModelRef,
  dataset: DatasetName,
  version: z.number().int().positive().optional(),
  output: DatasetName.optional().describe("name of the dataset that receives the predictions; defaults to <dataset>-predictions"),
  horizon: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .describe("time series: periods to forecast (default: the model's); the dataset's rows are future exogenous values"),
});
export type BatchPredictRequest = z.infer<typeof BatchPredictRequest>;

export const JobKind = z.enum(["train", "operate", "evaluate", "predict", "drift"]);

/** What an evaluate job was asked: the model's run, and the job that made it. */
export const EvaluateRequest = z.object({ run: z.string(), after: z.string().nullable().describe("the training or operation job") });
export const JobStatus = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]);
export type JobStatus = z.infer<typeof JobStatus>;

/** True for the statuses a job never leaves: succeeded, failed, cancelled. */
export function isTerminalStatus(status: JobStatus | null | undefined): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

export const Job = z.object({
  id: z.string(),
  /** The project of the dataset the job reads. */
  project: z.string().default("default"),
  kind: JobKind,
  status: JobStatus,
  request: z.union([
    TrainRequest,
    OperateRequest.extend({ run: z.string() }),
    EvaluateRequest,
    BatchPredictRequest,
    DriftRequest,
    PredictionLogDriftRequest,
  ]),
  stage: Stage.nullable(),
  progress: z.object({ done: z.number().int(), total: z.number().int() }).nullable(),
  leaderboard: z.array(LeaderboardRow),
  result: JobResult.nullable(),
  error: ErrorInfo.nullable(),
  /** For predict jobs: the dataset version written. */
  outputDataset: z.object({ name: z.string(), version: z.number().int() }).nullable(),
  /** Every dataset version the job wrote (predictions, labels, topic weights, rules...). */
  outputDatasets: z.array(z.object({ role: z.string(), name: z.string(), version: z.number().int() })).default([]),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type Job = z.infer<typeof Job>;

/**
 * What the server streams for a job (SSE `data:`); `seq` is the server's
 * per-job sequence number (also the SSE `id:`), from 1, no gaps.
 */
export const JobEvent = z.discriminatedUnion("type", [
  z.object({ seq: z.number().int().positive(), ts: z.string(), type: z.literal("status"), status: JobStatus }),
  z.object({ seq: z.number().int().positive(), ts: z.string(), type: z.literal("engine"), event: EngineEvent }),
  z
    .object({
      seq: z.number().int().positive(),
      ts: z.string(),
      type: z.literal("attempt"),
      attempt: z.number().int().min(2),
      reason: z.literal("worker_lost"),
      message: z.string(),
    })
    .describe("the job starts again on another worker: the one running it stopped; engine events start over"),
]);
export type JobEvent = z.infer<typeof JobEvent>;

// ---------------------------------------------------------------- runs (MLflow)

export const RunSummary = z.object({
  runId: z.string(),
  experimentId: z.string(),
  experimentName: z.string(),
  name: z.string(),
  status: z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]),
  startTime: z.string().nullable(),
  endTime: z.string().nullable(),
  task: z.string().nullable(),
  dataset: z.string().nullable().describe("NAME@vVERSION"),
  target: z.string().nullable(),
  jobId: z.string().nullable(),
  bestModel: z.string().nullable(),
  bestRunId: z.string().nullable(),
  metrics: z.record(z.string(), z.number()),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** MLflow keys that need no quoting in a filter clause or sort (others are written between backticks). */
const BARE_RUN_KEY = /^[A-Za-z0-9_\-/:.]+$/;

/**
 * A metric, param or tag key as the runs filter and sort read it: bare when it is plain, between backticks
 * otherwise (a space, a trailing dot, any other character MLflow allows).
 * @example runKeyRef("metrics", "Prec. ") // "metrics.`Prec. `"
 */
export function runKeyRef(field: "metrics" | "params" | "tags", key: string): string {
  return `${field}.${BARE_RUN_KEY.test(key) && !key.endsWith(".") ? key : `\`${key}\``}`;
}

/** The field and key of a runs `sort` (`metrics.KEY`, ``metrics.`KEY` ``, `params.KEY`), or null for a column sort. */
export function runSortKey(sort: string): { field: "metrics" | "params"; key: string } | null {
  const m = /^(metrics|params)\.(.+)$/s.exec(sort);
  if (!m) return null;
  const raw = m[2] as string;
  const key = /^`[^`]+`$/.test(raw) ? raw.slice(1, -1) : raw;
  return { field: m[1] as "metrics" | "params", key };
}

/**
 * A page of the runs list. `filter`: clauses joined by `and`, each `metrics.KEY OP NUMBER` (OP one of
 * > >= < <= = !=), `params.KEY = VALUE` (or OP NUMBER), `tags.KEY = VALUE` or `status = VALUE`; a KEY with spaces or
 * other characters goes between backticks (``metrics.`F1 score` > 0.5``), a VALUE with ` and ` between
 * quotes. `sort`: `start_time`, `end_time`, `name`, `metrics.KEY` or `params.KEY` (runs without the key
 * come last; a param's numbers sort as numbers, its other values after them as text). `params`: param keys, comma-separated, whose values each run of the
 * page carries (`*`: all of them).
 */
export const RunsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(5000).default(5000),
  offset: z.coerce.number().int().min(0).default(0),
  sort: z
    .string()
    .regex(
      /^(start_time|end_time|name|(metrics|params)\.[^`\n]{1,250}|(metrics|params)\.`[^`\n]{1,250}`)$/,
      "sort by start_time, end_time, name, metrics.KEY or params.KEY (a KEY with spaces between backticks)",
    )
    .default("start_time"),
  order: z.enum(["asc", "desc"]).default("desc"),
  filter: z.string().max(2000).optional(),
  status: z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]).optional(),
  dataset: z.string().max(200).optional().describe("NAME or NAME@vVERSION"),
  task: z.string().max(100).optional(),
  q: z.string().max(200).optional().describe("text found in the run's name, id, dataset or experiment"),
  params: z.string().max(2000).optional().describe("param keys, comma-separated, whose values each run carries in `params`; `*` for all"),
});
export type RunsQuery = z.infer<typeof RunsQuery>;

/** A run of the runs list: its summary, and the values of the params the query asked for. */
export const RunsListRun = RunSummary.extend({
  params: z.record(z.string(), z.string()).optional().describe("the asked params the run logged (absent when none were asked)"),
});
export type RunsListRun = z.infer<typeof RunsListRun>;

export const RunArtifact = z.object({ path: z.string(), isDir: z.boolean(), size: z.number().nullable() });

export const RunDetail = RunSummary.extend({
  params: z.record(z.string(), z.string()),
  tags: z.record(z.string(), z.string()),
  parentRunId: z.string().nullable(),
  children: z.array(
    RunSummary.extend({
      params: z.record(z.string(), z.string()),
      /** caretflow.role, caretflow.operation, caretflow.source_run_id...: how a child relates to its siblings */
      tags: z.record(z.string(), z.string()).default({}),
    }),
  ),
  artifacts: z.array(RunArtifact),
  datasetInputs: z.array(z.object({ name: z.string(), digest: z.string(), source: z.string().nullable() })),
  metricHistory: z.record(z.string(), z.array(z.object({ step: z.number(), value: z.number() }))).optional(),
});
export type RunDetail = z.infer<typeof RunDetail>;

// ---------------------------------------------------------------- models (MLflow registry)

export const RegisteredModelName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '_', '-' and '.'");
export const AliasName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, "an alias starts with a letter; letters, digits, '_' and '-'");

export const RegisterModelRequest = z.object({
  runId: z.string().regex(/^[a-f0-9]{32}$/, "an MLflow run id is 32 hex characters"),
  name: RegisteredModelName,
  alias: AliasName.optional(),
  description: Description.optional(),
});
export type RegisterModelRequest = z.infer<typeof RegisterModelRequest>;

export const SetAliasRequest = z.object({ alias: AliasName, version: z.number().int().positive() });

export const ModelVersion = z.object({
  name: z.string(),
  version: z.number().int(),
  runId: z.string().nullable(),
  source: z.string(),
  status: z.string(),
  aliases: z.array(z.string()),
  createdAt: z.string(),
  description: z.string().nullable(),
  metrics: z.record(z.string(), z.number()).optional(),
  modelName: z.string().nullable().describe("PyCaret model name of the run, e.g. Gradient Boosting Regressor"),
  tags: z.record(z.string(), z.string()).describe("the version's tags that users set (caretflow.* and mlflow.* tags left out)"),
});
export type ModelVersion = z.infer<typeof ModelVersion>;

export const RegisteredModel = z.object({
  name: z.string(),
  description: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  aliases: z.record(z.string(), z.number().int()),
  tags: z.record(z.string(), z.string()).describe("the model's tags that users set (caretflow.* and mlflow.* tags left out)"),
  versions: z.array(ModelVersion),
});
export type RegisteredModel = z.infer<typeof RegisteredModel>;

// ---------------------------------------------------------------- online prediction

export const OnlinePredictRequest = z.object({
  model: ModelRef,
  rows: z
    .array(z.record(z.string(), z.unknown()))
    .max(10000)
    .describe("input rows; a time-series model takes none (or future exogenous values, one row per period)"),
  horizon: z.number().int().min(1).max(10_000).optional().describe("time series: periods to forecast"),
  explain: z.boolean().default(false).describe("also say why: each feature's SHAP contribution to each row's prediction"),
});
export type OnlinePredictRequest = z.infer<typeof OnlinePredictRequest>;

/**
 * Why one row got its prediction: SHAP contributions of each input feature (in the model's output
 * units; for classifiers, the predicted class's probability), largest first. base + sum = prediction.
 */
export const Explanation = z.object({
  target: z.string().describe("what is explained, e.g. probability of class MM, or the predicted value"),
  base: z.number().describe("the model's average output over the background data"),
  contributions: z.array(
    z.object({ feature: z.string(), value: z.union([z.string(), z.number(), z.boolean(), z.null()]), shap: z.number() }),
  ),
});
export type Explanation = z.infer<typeof Explanation>;

/** One row of predictions; the columns depend on the task (see the catalog's predictionColumns). */
export const Prediction = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
export const OnlinePredictResponse = z.object({
  model: z.object({ name: z.string(), version: z.number().int(), task: z.string().nullable() }),
  columns: z.array(z.string()).describe("prediction columns, in order"),
  predictions: z.array(Prediction),
  explanations: z.array(Explanation).optional().describe("with explain: one per row, in order"),
  elapsedMs: z.number(),
});
export type OnlinePredictResponse = z.infer<typeof OnlinePredictResponse>;

// ---------------------------------------------------------------- feature engineering preview

/** What the chosen setup options would do to a dataset, shown before training. */
export const SetupPreviewRequest = z.object({
  task: TaskId,
  target: z.string().min(1).optional().describe("supervised tasks: the target column"),
  ignore_columns: z.array(z.string()).default([]),
  setup: z.record(z.string(), z.unknown()).default({}),
  rows: z.number().int().min(1).max(50).default(8).describe("sample rows shown before and after"),
});
export type SetupPreviewRequest = z.infer<typeof SetupPreviewRequest>;

const TablePreview = z.object({ columns: z.array(z.string()), rows: z.array(z.array(z.unknown())) });

export const SetupPreview = z.object({
  before: TablePreview.describe("sample rows as they are in the dataset (features only)"),
  after: TablePreview.describe("the same rows after PyCaret's preprocessing with these options"),
  added: z.array(z.string()).describe("columns the preprocessing creates"),
  removed: z.array(z.string()).describe("columns it drops or replaces"),
  steps: z.array(z.string()).describe("the preprocessing steps, in order"),
});
export type SetupPreview = z.infer<typeof SetupPreview>;
