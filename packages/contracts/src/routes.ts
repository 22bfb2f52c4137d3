import { z } from "zod";
import * as Al from "./alerts.ts";
import * as A from "./api.ts";
import * as Au from "./audit.ts";
import { Catalog, TaskId } from "./catalog.ts";
import * as C from "./connections.ts";
import * as D from "./datasets.ts";
import * as Dp from "./deployments.ts";
import { DriftRequest } from "./drift.ts";
import { ApiError } from "./errors.ts";
import * as L from "./model-lifecycle.ts";
import * as M from "./monitoring.ts";
import { PipelineValidateRequest, PipelineValidateResult } from "./pipeline.validate.ts";
import * as P from "./pipelines.ts";
import * as Q from "./quality.ts";
import * as S from "./sso.ts";
import * as T from "./transforms.ts";

/** One HTTP route of the caretflow API: the single description the server, the OpenAPI document and clients share. */
export interface RouteDef {
  method: "get" | "post" | "put" | "delete";
  /** OpenAPI-style path, e.g. /api/datasets/{name} */
  path: string;
  summary: string;
  tag: string;
  /** Who may call it; the server's one authorization middleware reads this and nothing else. */
  permission: Permission;
  body?: z.ZodType;
  /** multipart/form-data body described in words (file uploads). */
  multipart?: Record<string, string>;
  /** The body is a file's bytes (application/octet-stream), described in words. */
  rawBody?: string;
  query?: z.ZodObject;
  response?: z.ZodType;
  /** non-JSON responses, e.g. text/event-stream or text/csv */
  produces?: string;
  status?: number;
}

/** Roles on a project, weakest first: viewer reads, editor creates and runs, owner manages members, credentials and promotion. */
export const PROJECT_ROLES = ["viewer", "editor", "owner"] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

/**
 * What a route needs:
 * - `public`: nothing (health, OpenAPI, sign-in);
 * - `signedIn`: any signed-in user, acting on their own things (their session, tokens, password) or on
 *   data that belongs to no project (the engine's catalog);
 * - `siteAdmin`: the site administrator (users, every project);
 * - `project`: at least this role on the project the request touches: the `{project}` path parameter, else
 *   the `X-Caretflow-Project` header or the `project` query parameter, else the `default` project.
 * A site admin holds every role on every project.
 */
export type Permission = { public: true } | { signedIn: true } | { siteAdmin: true } | { project: ProjectRole };

const PUBLIC: Permission = { public: true };
const SIGNED_IN: Permission = { signedIn: true };
const SITE_ADMIN: Permission = { siteAdmin: true };
const VIEWER: Permission = { project: "viewer" };
const EDITOR: Permission = { project: "editor" };
const OWNER: Permission = { project: "owner" };

/** The header that names the project a request touches (the CLI's --project, the web UI's project switcher). */
export const PROJECT_HEADER = "x-caretflow-project";
/** The project every object belonged to before projects existed, and the one a request touches when it names none. */
export const DEFAULT_PROJECT = "default";

const Ok = z.object({ ok: z.literal(true) });

// `as const` keeps each route's method, path and schemas as types, so the typed client can name the parsed
// answer of every route (see client.ts); `routes` below is the same table as plain RouteDefs.
const routeTable = [
  {
    method: "get",
    path: "/api/health",
    summary: "Readiness of the server, MLflow and the engine",
    tag: "system",
    permission: PUBLIC,
    response: A.Health,
  },
  { method: "get", path: "/api/openapi.json", summary: "This document", tag: "system", permission: PUBLIC, produces: "application/json" },
  {
    method: "post",
    path: "/api/auth/login",
    summary: "Sign in; sets the session cookie",
    tag: "auth",
    permission: PUBLIC,
    body: A.LoginRequest,
    response: z.object({ user: A.User }),
  },
  { method: "post", path: "/api/auth/logout", summary: "Sign out", tag: "auth", permission: SIGNED_IN, response: Ok },
  {
    method: "get",
    path: "/api/auth/me",
    summary: "The signed-in user",
    tag: "auth",
    permission: SIGNED_IN,
    response: z.object({ user: A.User }),
  },
  {
    method: "get",
    path: "/api/auth/tokens",
    summary: "List API tokens",
    tag: "auth",
    permission: SIGNED_IN,
    response: z.object({ tokens: z.array(A.ApiTokenInfo) }),
  },
  {
    method: "post",
    path: "/api/auth/tokens",
    summary: "Create an API token (shown once)",
    tag: "auth",
    permission: SIGNED_IN,
    body: A.CreateTokenRequest,
    response: A.CreatedToken,
    status: 201,
  },
  { method: "delete", path: "/api/auth/tokens/{id}", summary: "Revoke an API token", tag: "auth", permission: SIGNED_IN, response: Ok },
  {
    method: "get",
    path: "/api/auth/providers",
    summary: "How one may sign in: password, and single sign-on when a site admin turned it on",
    tag: "auth",
    permission: PUBLIC,
    response: S.AuthProviders,
  },
  {
    method: "get",
    path: "/api/auth/oidc/start",
    summary: "Start single sign-on: redirects to the identity provider (optional ?next=/local/path)",
    tag: "auth",
    permission: PUBLIC,
    query: z.object({ next: z.string().max(500).optional().describe("a path of this site to open after signing in") }),
    produces: "text/html",
    status: 302,
  },
  {
    method: "get",
    path: "/api/auth/oidc/callback",
    summary: "The identity provider's redirect back: signs in (sets the session cookie) and redirects to the app",
    tag: "auth",
    permission: PUBLIC,
    produces: "text/html",
    status: 302,
  },

  {
    method: "get",
    path: "/api/datasets",
    summary: "The project's dataset catalog: search and filter by text, tag, owner and source, paged",
    tag: "datasets",
    permission: VIEWER,
    query: D.DatasetListQuery,
    response: D.DatasetList,
  },
  {
    method: "post",
    path: "/api/datasets",
    summary: "Import a file as a new dataset version (identical content makes no new version)",
    tag: "datasets",
    permission: EDITOR,
    multipart: {
      file: "CSV, TSV, Parquet, JSON, NDJSON or .xlsx file",
      name: "dataset name (defaults to the file name)",
      encoding: "a text file's encoding when it is not UTF-8, e.g. windows-1252 (also latin1), utf-16, shift_jis",
      sheet: "an Excel workbook's sheet to import, by name (default: the first)",
    },
    response: D.ImportResult,
    status: 201,
  },
  {
    method: "put",
    path: "/api/datasets/{name}/file",
    summary:
      "Import a file sent as the request body (application/octet-stream) as the dataset's next version (identical content makes no new version); no multipart parsing, for large files",
    tag: "datasets",
    permission: EDITOR,
    query: D.FileImportQuery,
    rawBody: "the file's bytes: CSV, TSV, Parquet, JSON, NDJSON or .xlsx",
    response: D.ImportResult,
    status: 201,
  },
  {
    method: "get",
    path: "/api/datasets/{name}",
    summary: "A dataset with its versions",
    tag: "datasets",
    permission: VIEWER,
    response: D.DatasetDetail,
  },
  {
    method: "post",
    path: "/api/datasets/{name}/tags",
    summary: "Add and remove tags of a dataset (project editors)",
    tag: "datasets",
    permission: EDITOR,
    body: D.SetTagsRequest,
    response: D.DatasetTags,
  },
  {
    method: "put",
    path: "/api/datasets/{name}/description",
    summary: 'Set the description of a dataset (project editors); "" removes it',
    tag: "datasets",
    permission: EDITOR,
    body: D.SetDescriptionRequest,
    response: D.DatasetDescription,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/lineage",
    summary: "Where the dataset's versions came from and what was made from them: sources, versions, jobs (other projects' nodes hidden)",
    tag: "datasets",
    permission: VIEWER,
    response: D.LineageGraph,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/compare",
    summary: "Two versions side by side: schema changes, row counts and per-column statistics from their profiles",
    tag: "datasets",
    permission: VIEWER,
    query: D.CompareQuery,
    response: D.VersionComparison,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/versions/{version}/preview",
    summary: "A page of rows",
    tag: "datasets",
    permission: VIEWER,
    query: D.PreviewQuery,
    response: D.PreviewPage,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/versions/{version}/profile",
    summary: "Per-column profile",
    tag: "datasets",
    permission: VIEWER,
    response: D.DatasetProfile,
  },
  {
    method: "post",
    path: "/api/datasets/{name}/versions/{version}/setup-preview",
    summary: "What setup options would do to the data: sample rows before and after PyCaret's preprocessing",
    tag: "datasets",
    permission: EDITOR,
    body: A.SetupPreviewRequest,
    response: A.SetupPreview,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/versions/{version}/download",
    summary: "Download the version as CSV",
    tag: "datasets",
    permission: VIEWER,
    produces: "text/csv",
  },
  {
    method: "get",
    path: "/api/datasets/{name}/quality/rules",
    summary: "The dataset's quality rules",
    tag: "quality",
    permission: VIEWER,
    response: z.object({ rules: z.array(Q.QualityRule) }),
  },
  {
    method: "post",
    path: "/api/datasets/{name}/quality/rules",
    summary: "Add a quality rule (blocking rules stop training on versions that fail them)",
    tag: "quality",
    permission: EDITOR,
    body: Q.QualityRuleInput,
    response: Q.QualityRule,
    status: 201,
  },
  {
    method: "put",
    path: "/api/datasets/{name}/quality/rules/{id}",
    summary: "Change a quality rule's check, severity or name",
    tag: "quality",
    permission: EDITOR,
    body: Q.QualityRuleInput,
    response: Q.QualityRule,
  },
  {
    method: "delete",
    path: "/api/datasets/{name}/quality/rules/{id}",
    summary: "Remove a quality rule",
    tag: "quality",
    permission: EDITOR,
    response: Ok,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/quality/suggestions",
    summary: "Rules suggested by a version's profile (the latest when no version is named)",
    tag: "quality",
    permission: VIEWER,
    query: z.object({ version: z.coerce.number().int().positive().optional() }),
    response: z.object({ version: z.number().int(), suggestions: z.array(Q.QualityRuleSuggestion) }),
  },
  {
    method: "get",
    path: "/api/datasets/{name}/versions/{version}/quality",
    summary: "The newest quality report of a version (null before any check); current: made with today's rules",
    tag: "quality",
    permission: VIEWER,
    response: z.object({ report: Q.QualityReport.nullable(), current: z.boolean() }),
  },
  {
    method: "post",
    path: "/api/datasets/{name}/versions/{version}/quality/check",
    summary: "Run the dataset's quality rules on a version now and store the report",
    tag: "quality",
    permission: EDITOR,
    response: Q.QualityReport,
  },

  {
    method: "post",
    path: "/api/connections/files",
    summary: "Store a SQLite database file for a sqlite connection (project owners); answers its stored name",
    tag: "connections",
    permission: OWNER,
    multipart: { file: "a SQLite 3 database file (.sqlite, .db)" },
    response: C.StoredConnectionFile,
    status: 201,
  },
  {
    method: "get",
    path: "/api/connections",
    summary: "The project's connections to outside data sources (secret fields are named, never shown)",
    tag: "connections",
    permission: VIEWER,
    response: z.object({ connections: z.array(C.ConnectionSummary) }),
  },
  {
    method: "post",
    path: "/api/connections",
    summary: "Create a connection (project owners); secrets are write-only",
    tag: "connections",
    permission: OWNER,
    body: C.CreateConnectionRequest,
    response: C.ConnectionSummary,
    status: 201,
  },
  {
    method: "get",
    path: "/api/connections/{name}",
    summary: "One connection: its settings and which secret fields are set",
    tag: "connections",
    permission: VIEWER,
    response: C.ConnectionSummary,
  },
  {
    method: "put",
    path: "/api/connections/{name}",
    summary: 'Change a connection\'s settings or credentials (project owners); a secret set to "" is removed',
    tag: "connections",
    permission: OWNER,
    body: C.UpdateConnectionRequest,
    response: C.ConnectionSummary,
  },
  {
    method: "delete",
    path: "/api/connections/{name}",
    summary: "Delete a connection and its stored credentials (project owners)",
    tag: "connections",
    permission: OWNER,
    response: Ok,
  },
  {
    method: "post",
    path: "/api/connections/{name}/test",
    summary: "Reach the source with the stored settings and credentials",
    tag: "connections",
    permission: EDITOR,
    response: C.ConnectionTestResult,
  },
  {
    method: "get",
    path: "/api/connections/{name}/browse",
    summary: "Browse the source: schemas, then a schema's tables (with row estimates), then a table's columns",
    tag: "connections",
    permission: EDITOR,
    query: z.object({ path: z.string().max(1024).optional() }),
    response: z.object({ entries: z.array(C.DiscoverNode) }),
  },
  {
    method: "post",
    path: "/api/connections/{name}/preview",
    summary: "The first rows of a table or of one read-only query",
    tag: "connections",
    permission: EDITOR,
    body: C.ConnectionPreviewRequest,
    response: C.ConnectionPreview,
  },
  {
    method: "post",
    path: "/api/connections/{name}/import",
    summary: "Import a table or a read-only query as a new dataset version (incremental: only rows above the last watermark)",
    tag: "connections",
    permission: EDITOR,
    body: C.ConnectionImportRequest,
    response: D.ImportResult,
    status: 201,
  },

  {
    method: "post",
    path: "/api/pipelines/validate",
    summary: "Check a pipeline file (YAML): its errors with their line and column, or the order its steps run in",
    tag: "pipelines",
    permission: VIEWER,
    body: PipelineValidateRequest,
    response: PipelineValidateResult,
  },
  {
    method: "put",
    path: "/api/pipelines",
    summary: "Store a pipeline file (YAML): creates the pipeline or makes its next revision; an invalid file is refused with every error",
    tag: "pipelines",
    permission: EDITOR,
    body: P.PipelineApplyRequest,
    response: P.PipelineApplyResult,
  },
  {
    method: "get",
    path: "/api/pipelines",
    summary: "The project's pipelines with their schedule and last run",
    tag: "pipelines",
    permission: VIEWER,
    response: z.object({ pipelines: z.array(P.Pipeline) }),
  },
  {
    method: "get",
    path: "/api/pipelines/{name}",
    summary: "One pipeline: its YAML, revision, schedule and last run",
    tag: "pipelines",
    permission: VIEWER,
    response: P.Pipeline,
  },
  {
    method: "get",
    path: "/api/pipelines/{name}/revisions/{revision}",
    summary: "One stored revision of a pipeline: the YAML a run followed (kept after the pipeline changes or is deleted)",
    tag: "pipelines",
    permission: VIEWER,
    response: P.PipelineRevision,
  },
  {
    method: "delete",
    path: "/api/pipelines/{name}",
    summary: "Delete a pipeline (its runs are kept); refused while a run of it is under way",
    tag: "pipelines",
    permission: EDITOR,
    response: z.object({ deleted: z.string() }),
  },
  {
    method: "post",
    path: "/api/pipelines/{name}/runs",
    summary: "Start a run with params (the others keep their defaults); force ignores cached results",
    tag: "pipelines",
    permission: EDITOR,
    body: P.PipelineRunRequest,
    response: P.PipelineRun,
    status: 202,
  },
  {
    method: "get",
    path: "/api/pipeline-runs",
    summary: "Pipeline runs, newest first, filtered by pipeline, status and trigger",
    tag: "pipelines",
    permission: VIEWER,
    query: P.PipelineRunsQuery,
    response: z.object({ runs: z.array(P.PipelineRunSummary) }),
  },
  {
    method: "get",
    path: "/api/pipeline-runs/{id}",
    summary: "One run with every step, attempt and output",
    tag: "pipelines",
    permission: VIEWER,
    response: P.PipelineRun,
  },
  {
    method: "get",
    path: "/api/pipeline-runs/{id}/logs",
    summary: "The run's log, or one step's (text)",
    tag: "pipelines",
    permission: VIEWER,
    query: P.PipelineLogQuery,
    produces: "text/plain",
  },
  {
    method: "post",
    path: "/api/pipeline-runs/{id}/cancel",
    summary: "Cancel a queued or running run: running steps are stopped, pending ones never start",
    tag: "pipelines",
    permission: EDITOR,
    response: P.PipelineRun,
  },
  {
    method: "post",
    path: "/api/pipeline-runs/{id}/resume",
    summary: "Start a new run of a failed or cancelled run that reuses its succeeded steps and runs the rest",
    tag: "pipelines",
    permission: EDITOR,
    response: P.PipelineRun,
    status: 202,
  },
  {
    method: "get",
    path: "/api/alert-metrics",
    summary: "The metrics alert rules can watch, with their units",
    tag: "alerts",
    permission: VIEWER,
    response: z.object({ metrics: z.array(Al.AlertMetricInfo) }),
  },
  {
    method: "get",
    path: "/api/alerts",
    summary: "The project's alert rules with their state and last value",
    tag: "alerts",
    permission: VIEWER,
    response: z.object({ rules: z.array(Al.AlertRule) }),
  },
  {
    method: "post",
    path: "/api/alerts",
    summary:
      "Create an alert rule (a metric of a deployment over a window against a threshold; a webhook and/or a pipeline run when it fires)",
    tag: "alerts",
    permission: EDITOR,
    body: Al.AlertRuleRequest,
    response: Al.AlertRule,
    status: 201,
  },
  {
    method: "get",
    path: "/api/alerts/{name}",
    summary: "An alert rule",
    tag: "alerts",
    permission: VIEWER,
    response: Al.AlertRule,
  },
  {
    method: "put",
    path: "/api/alerts/{name}",
    summary: "Change an alert rule",
    tag: "alerts",
    permission: EDITOR,
    body: Al.AlertRuleUpdate,
    response: Al.AlertRule,
  },
  {
    method: "delete",
    path: "/api/alerts/{name}",
    summary: "Delete an alert rule (its events are kept)",
    tag: "alerts",
    permission: EDITOR,
    response: Al.AlertRule,
  },
  {
    method: "post",
    path: "/api/alerts/{name}/check",
    summary: "Check a rule now, as the schedule would (it fires or resolves if its state changes)",
    tag: "alerts",
    permission: EDITOR,
    response: z.object({ rule: Al.AlertRule, event: Al.AlertEvent.nullable() }),
  },
  {
    method: "get",
    path: "/api/alert-events",
    summary: "Alert firings and resolutions, newest first",
    tag: "alerts",
    permission: VIEWER,
    query: Al.AlertEventsQuery,
    response: z.object({ events: z.array(Al.AlertEvent) }),
  },
  {
    method: "get",
    path: "/api/transforms",
    summary: "The project's saved SQL transforms",
    tag: "transforms",
    permission: VIEWER,
    response: z.object({ transforms: z.array(T.Transform) }),
  },
  {
    method: "post",
    path: "/api/transforms/preview",
    summary: "Run a SQL query over the project's datasets and answer its first rows and output schema; nothing is stored",
    tag: "transforms",
    permission: EDITOR,
    body: T.TransformPreviewRequest,
    response: T.TransformPreview,
  },
  {
    method: "post",
    path: "/api/transforms",
    summary:
      "Save a SQL query as the transform of a dataset and run it: a new version (201), or none when the output equals the latest (200)",
    tag: "transforms",
    permission: EDITOR,
    body: T.SaveTransformRequest,
    response: T.TransformRun,
    status: 201,
  },
  {
    method: "get",
    path: "/api/transforms/{name}",
    summary: "A saved transform (its SQL)",
    tag: "transforms",
    permission: VIEWER,
    response: T.Transform,
  },
  {
    method: "post",
    path: "/api/transforms/{name}/run",
    summary: "Run a saved transform over the latest versions of its inputs: a new version (201), or none when nothing changed (200)",
    tag: "transforms",
    permission: EDITOR,
    response: T.TransformRun,
    status: 201,
  },
  {
    method: "delete",
    path: "/api/transforms/{name}",
    summary: "Forget a saved transform (the versions it made stay)",
    tag: "transforms",
    permission: EDITOR,
    response: Ok,
  },

  {
    method: "get",
    path: "/api/catalog",
    summary: "The engine's catalog: tasks, their fields, models, metrics, plots and prediction columns",
    tag: "catalog",
    permission: SIGNED_IN,
    query: z.object({ task: TaskId.optional() }),
    response: Catalog,
  },
  {
    method: "post",
    path: "/api/jobs/train",
    summary: "Start a training job (setup, compare_models, finalize)",
    tag: "jobs",
    permission: EDITOR,
    body: A.TrainRequest,
    response: A.Job,
    status: 202,
  },
  {
    method: "post",
    path: "/api/jobs/predict",
    summary: "Start a batch prediction job",
    tag: "jobs",
    permission: EDITOR,
    body: A.BatchPredictRequest,
    response: A.Job,
    status: 202,
  },
  {
    method: "post",
    path: "/api/drift",
    summary: "Start a drift job: per-feature PSI and KS test of a current dataset version against a reference (the job's result)",
    tag: "monitoring",
    permission: EDITOR,
    body: DriftRequest,
    response: A.Job,
    status: 202,
  },
  {
    method: "get",
    path: "/api/jobs",
    summary: "List jobs, newest first",
    tag: "jobs",
    permission: VIEWER,
    response: z.object({ jobs: z.array(A.Job) }),
  },
  { method: "get", path: "/api/jobs/{id}", summary: "One job", tag: "jobs", permission: VIEWER, response: A.Job },
  {
    method: "post",
    path: "/api/jobs/{id}/cancel",
    summary: "Cancel a queued or running job",
    tag: "jobs",
    permission: EDITOR,
    response: A.Job,
  },
  {
    method: "get",
    path: "/api/jobs/{id}/events",
    summary: "Server-sent events of a job; replays from Last-Event-ID or ?after=SEQ, then follows live",
    tag: "jobs",
    permission: VIEWER,
    query: z.object({ after: z.coerce.number().int().nonnegative().optional() }),
    produces: "text/event-stream",
  },
  {
    method: "get",
    path: "/api/jobs/{id}/log",
    summary: "The engine's stdout/stderr for a job",
    tag: "jobs",
    permission: VIEWER,
    produces: "text/plain",
  },

  {
    method: "get",
    path: "/api/runs",
    summary: "A page of the training runs (MLflow parent runs), newest first unless sorted, filtered on metrics, params, tags",
    tag: "runs",
    permission: VIEWER,
    query: A.RunsQuery,
    response: z.object({
      runs: z.array(A.RunsListRun),
      total: z.number().int().describe("runs matching, across pages"),
      paramKeys: z.array(z.string()).describe("the param keys logged by the runs matching, sorted (to pick param columns from)"),
    }),
  },
  {
    method: "get",
    path: "/api/runs/{runId}",
    summary: "A run with its child runs, params, metrics and artifacts",
    tag: "runs",
    permission: VIEWER,
    response: A.RunDetail,
  },
  {
    method: "post",
    path: "/api/runs/{runId}/operations",
    summary: "Start an operation on the run's model: tune, ensemble, blend, stack, calibrate, optimize_threshold, finalize, create",
    tag: "runs",
    permission: EDITOR,
    body: A.OperateRequest,
    response: A.Job,
    status: 202,
  },
  {
    method: "post",
    path: "/api/runs/{runId}/evaluate",
    summary: "Evaluate the run's model again: chart data, plots, SHAP and the HTML report (runs after every training job)",
    tag: "runs",
    permission: EDITOR,
    response: A.Job,
    status: 202,
  },
  {
    method: "get",
    path: "/api/runs/{runId}/artifacts/{path}",
    summary: "Download one artifact of a run",
    tag: "runs",
    permission: VIEWER,
    produces: "application/octet-stream",
  },

  {
    method: "get",
    path: "/api/models",
    summary: "Registered models with versions and aliases",
    tag: "models",
    permission: VIEWER,
    response: z.object({ models: z.array(A.RegisteredModel) }),
  },
  {
    method: "get",
    path: "/api/models/{name}",
    summary: "One registered model",
    tag: "models",
    permission: VIEWER,
    response: A.RegisteredModel,
  },
  {
    method: "put",
    path: "/api/models/{name}",
    summary: "Change a registered model's description and tags (a null tag value removes the tag; caretflow.* tags are refused)",
    tag: "models",
    permission: EDITOR,
    body: L.ModelUpdateRequest,
    response: A.RegisteredModel,
  },
  {
    method: "put",
    path: "/api/models/{name}/versions/{version}",
    summary: "Change a model version's description and tags (a null tag value removes the tag; caretflow.* tags are refused)",
    tag: "models",
    permission: EDITOR,
    body: L.ModelUpdateRequest,
    response: A.ModelVersion,
  },
  {
    method: "post",
    path: "/api/models",
    summary: "Register a run's model as a new version, optionally setting an alias",
    tag: "models",
    permission: EDITOR,
    body: A.RegisterModelRequest,
    response: A.ModelVersion,
    status: 201,
  },
  {
    method: "post",
    path: "/api/models/{name}/aliases",
    summary: "Point an alias at a version",
    tag: "models",
    permission: OWNER,
    body: A.SetAliasRequest,
    response: A.RegisteredModel,
  },
  {
    method: "delete",
    path: "/api/models/{name}/aliases/{alias}",
    summary: "Remove an alias (removing staging or production is recorded in the model's history)",
    tag: "models",
    permission: OWNER,
    response: A.RegisteredModel,
  },
  {
    method: "post",
    path: "/api/models/{name}/promotions",
    summary: "Promote a version to staging, production or archived (a request when an owner's approval is needed)",
    tag: "models",
    permission: EDITOR,
    body: L.PromotionCreateRequest,
    response: L.PromotionResult,
  },
  {
    method: "get",
    path: "/api/models/{name}/promotions",
    summary: "The model's promotion requests, newest first",
    tag: "models",
    permission: VIEWER,
    response: L.PromotionList,
  },
  {
    method: "post",
    path: "/api/models/{name}/promotions/{id}/approve",
    summary: "Approve a pending promotion (another owner than the requester); the version moves",
    tag: "models",
    permission: OWNER,
    body: L.PromotionDecisionRequest,
    response: L.PromotionResult,
  },
  {
    method: "post",
    path: "/api/models/{name}/promotions/{id}/reject",
    summary: "Reject a pending promotion",
    tag: "models",
    permission: OWNER,
    body: L.PromotionDecisionRequest,
    response: L.PromotionRequest,
  },
  {
    method: "post",
    path: "/api/models/{name}/rollback",
    summary: "Move production back to the version it replaced",
    tag: "models",
    permission: OWNER,
    body: L.RollbackRequest,
    response: L.StageTransition,
  },
  {
    method: "get",
    path: "/api/models/{name}/history",
    summary: "Every stage move of the model: who, when, why, which version it replaced",
    tag: "models",
    permission: VIEWER,
    response: L.ModelHistory,
  },
  {
    method: "get",
    path: "/api/models/{name}/compare",
    summary: "Versions side by side: metrics, params and training dataset version of their runs",
    tag: "models",
    permission: VIEWER,
    query: L.ModelCompareQuery,
    response: L.ModelComparison,
  },
  {
    method: "get",
    path: "/api/models/{name}/settings",
    summary: "The model's lifecycle settings",
    tag: "models",
    permission: VIEWER,
    response: L.ModelSettings,
  },
  {
    method: "put",
    path: "/api/models/{name}/settings",
    summary: "Change the model's lifecycle settings (whether production needs approval)",
    tag: "models",
    permission: OWNER,
    body: L.ModelSettings,
    response: L.ModelSettings,
  },

  {
    method: "post",
    path: "/api/predict",
    summary: "Online prediction from a warm scoring process",
    tag: "predict",
    permission: EDITOR,
    body: A.OnlinePredictRequest,
    response: A.OnlinePredictResponse,
  },

  {
    method: "post",
    path: "/api/deployments",
    summary: "Create a deployment: a model alias or version served at a stable endpoint under a traffic policy",
    tag: "deployments",
    permission: EDITOR,
    body: Dp.CreateDeploymentRequest,
    response: Dp.Deployment,
    status: 201,
  },
  {
    method: "get",
    path: "/api/deployments",
    summary: "The project's deployments with the versions they serve now, their weights and process health",
    tag: "deployments",
    permission: VIEWER,
    response: z.object({ deployments: z.array(Dp.Deployment) }),
  },
  {
    method: "get",
    path: "/api/deployments/{name}",
    summary: "One deployment: target, policy, the versions it serves now with their weights and process health",
    tag: "deployments",
    permission: VIEWER,
    response: Dp.Deployment,
  },
  {
    method: "put",
    path: "/api/deployments/{name}",
    summary: "Change a deployment's target, policy or status; new versions are loaded before traffic moves to them",
    tag: "deployments",
    permission: EDITOR,
    body: Dp.UpdateDeploymentRequest,
    response: Dp.Deployment,
  },
  {
    method: "delete",
    path: "/api/deployments/{name}",
    summary: "Delete a deployment (its prediction log is kept until retention removes it)",
    tag: "deployments",
    permission: EDITOR,
    response: z.object({ deleted: z.string() }),
  },
  {
    method: "post",
    path: "/api/deployments/{name}/predict",
    summary: "Score rows through a deployment: the answer names the version that answered and a prediction id",
    tag: "deployments",
    permission: VIEWER,
    body: Dp.DeploymentPredictRequest,
    response: Dp.DeploymentPredictResponse,
  },
  {
    method: "post",
    path: "/api/deployments/{name}/feedback",
    summary: "Send true labels of logged predictions by prediction id and row (a label sent again replaces the earlier one)",
    tag: "monitoring",
    permission: EDITOR,
    body: M.FeedbackRequest,
    response: M.FeedbackResponse,
  },
  {
    method: "get",
    path: "/api/deployments/{name}/monitoring",
    summary:
      "A deployment's figures per time bucket and version: requests, errors, latency p50/p95, labelled rows, and accuracy/AUC or RMSE/MAE where labels exist",
    tag: "monitoring",
    permission: VIEWER,
    query: M.MonitoringQuery,
    response: M.MonitoringResponse,
  },
  {
    method: "post",
    path: "/api/deployments/{name}/drift",
    summary:
      "Start a drift check of the deployment's logged inputs and answers over a window against the training data of the version served",
    tag: "monitoring",
    permission: EDITOR,
    body: M.DeploymentDriftRequest,
    response: M.DeploymentDriftRun,
    status: 202,
  },
  {
    method: "get",
    path: "/api/deployments/{name}/drift",
    summary: "The deployment's drift checks, newest first: window, per-feature PSI and KS p-value, drifted features, prediction drift",
    tag: "monitoring",
    permission: VIEWER,
    query: M.DeploymentDriftHistoryQuery,
    response: z.object({ runs: z.array(M.DeploymentDriftRun) }),
  },

  {
    method: "post",
    path: "/api/auth/password",
    summary: "Change your own password (signs out your other sessions)",
    tag: "auth",
    permission: SIGNED_IN,
    body: A.ChangePasswordRequest,
    response: Ok,
  },
  {
    method: "get",
    path: "/api/users",
    summary: "Every user (site admin)",
    tag: "users",
    permission: SITE_ADMIN,
    response: z.object({ users: z.array(A.UserInfo) }),
  },
  {
    method: "post",
    path: "/api/users",
    summary: "Create a local user; the password is generated and shown once unless given",
    tag: "users",
    permission: SITE_ADMIN,
    body: A.CreateUserRequest,
    response: A.CreatedUser,
    status: 201,
  },
  {
    method: "post",
    path: "/api/users/{username}/disable",
    summary: "Disable a user: their sessions and tokens stop working at once",
    tag: "users",
    permission: SITE_ADMIN,
    response: A.UserInfo,
  },
  {
    method: "post",
    path: "/api/users/{username}/enable",
    summary: "Enable a disabled user again",
    tag: "users",
    permission: SITE_ADMIN,
    response: A.UserInfo,
  },
  {
    method: "post",
    path: "/api/users/{username}/password",
    summary: "Reset a user's password (a new one is generated and shown once); signs them out everywhere",
    tag: "users",
    permission: SITE_ADMIN,
    response: A.CreatedUser,
  },
  {
    method: "get",
    path: "/api/settings/sso",
    summary: "The single sign-on (OpenID Connect) configuration; the client secret is never returned (site admins)",
    tag: "settings",
    permission: SITE_ADMIN,
    response: S.SsoSettings,
  },
  {
    method: "put",
    path: "/api/settings/sso",
    summary: "Turn single sign-on on with this provider (its discovery document is checked first) (site admins)",
    tag: "settings",
    permission: SITE_ADMIN,
    body: S.SetSsoRequest,
    response: S.SsoSettings,
  },
  {
    method: "delete",
    path: "/api/settings/sso",
    summary: "Turn single sign-on off and forget the provider and its secret; users stay linked (site admins)",
    tag: "settings",
    permission: SITE_ADMIN,
    response: S.SsoSettings,
  },
  {
    method: "post",
    path: "/api/settings/secret-key/rotate",
    summary: "Rotate the server's secret key: every stored credential re-sealed with a new key in one transaction (site admins)",
    tag: "settings",
    permission: SITE_ADMIN,
    response: S.SecretKeyRotation,
  },
  {
    method: "get",
    path: "/api/projects",
    summary: "The projects you belong to, with your role (a site admin sees every project)",
    tag: "projects",
    permission: SIGNED_IN,
    response: z.object({ projects: z.array(A.ProjectInfo) }),
  },
  {
    method: "post",
    path: "/api/projects",
    summary: "Create a project; you become its owner",
    tag: "projects",
    permission: SIGNED_IN,
    body: A.CreateProjectRequest,
    response: A.ProjectInfo,
    status: 201,
  },
  {
    method: "get",
    path: "/api/projects/{project}/members",
    summary: "A project's members and their roles",
    tag: "projects",
    permission: VIEWER,
    response: z.object({ members: z.array(A.ProjectMember) }),
  },
  {
    method: "put",
    path: "/api/projects/{project}/members/{username}",
    summary: "Add a member or change their role",
    tag: "projects",
    permission: OWNER,
    body: A.SetMemberRequest,
    response: A.ProjectMember,
  },
  {
    method: "delete",
    path: "/api/projects/{project}/members/{username}",
    summary: "Remove a member (a project keeps at least one owner)",
    tag: "projects",
    permission: OWNER,
    response: Ok,
  },
  {
    method: "get",
    path: "/api/projects/{project}/audit",
    summary: "The project's audit entries, newest first (its owners; the filters of GET /api/audit, within the project)",
    tag: "audit",
    permission: OWNER,
    query: Au.AuditQuery.omit({ project: true }),
    response: Au.AuditPage,
  },
  {
    method: "get",
    path: "/api/audit",
    summary: "Search the audit log, newest first (site admins)",
    tag: "audit",
    permission: SITE_ADMIN,
    query: Au.AuditQuery,
    response: Au.AuditPage,
  },
  {
    method: "get",
    path: "/api/audit/verify",
    summary: "Check the audit log's hash chain; names the first broken row (site admins)",
    tag: "audit",
    permission: SITE_ADMIN,
    response: Au.AuditVerifyResult,
  },
  {
    method: "get",
    path: "/api/audit/export",
    summary: "Every matching audit entry, oldest first, as NDJSON or CSV (site admins)",
    tag: "audit",
    permission: SITE_ADMIN,
    query: Au.AuditExportQuery,
    produces: "application/x-ndjson",
  },
] as const satisfies readonly RouteDef[];

/** The route table, literal types and all: what the typed client derives its answers from. */
export type RouteTable = typeof routeTable;
export const routes: RouteDef[] = [...routeTable];

/** The routes anyone may call without signing in, generated from the table. */
export const publicRoutes: readonly RouteDef[] = routes.filter((r) => "public" in r.permission);

/** OpenAPI 3.1 document generated from the route table and the zod schemas. */
export function buildOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const json = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
  // One error shape for every route, named once (and once in the generated client types).
  const errorResponse = { $ref: "#/components/responses/Error" };
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const query = r.query
      ? Object.entries(r.query.shape).map(([name, s]) => ({ name, in: "query", required: false, schema: json(s as z.ZodType) }))
      : [];
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      parameters: [...params, ...query],
      responses: {
        [String(r.status ?? 200)]: r.response
          ? { description: "OK", content: { "application/json": { schema: json(r.response) } } }
          : { description: "OK", content: { [r.produces ?? "application/json"]: {} } },
        "4XX": errorResponse,
        "5XX": errorResponse,
      },
    };
    if ("public" in r.permission) op.security = [];
    else {
      op.security = [{ session: [] }, { bearer: [] }];
      op["x-caretflow-permission"] = r.permission;
    }
    if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: json(r.body) } } };
    if (r.rawBody) {
      op.requestBody = {
        required: true,
        content: { "application/octet-stream": { schema: { type: "string", format: "binary", description: r.rawBody } } },
      };
    }
    if (r.multipart) {
      op.requestBody = {
        required: true,
        content: {
          "multipart/form-data": {
            schema: {
              type: "object",
              properties: Object.fromEntries(
                Object.entries(r.multipart).map(([k, d]) => [
                  k,
                  k === "file" ? { type: "string", format: "binary", description: d } : { type: "string", description: d },
                ]),
              ),
              required: ["file"],
            },
          },
        },
      };
    }
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: { title: "caretflow API", version },
    components: {
      schemas: { ApiError: json(ApiError) },
      responses: {
        Error: { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/ApiError" } } } },
      },
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "caretflow_session" },
        bearer: { type: "http", scheme: "bearer", description: "API token from `caretflow up` or POST /api/auth/tokens" },
      },
    },
    paths,
  };
}
