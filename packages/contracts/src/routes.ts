import { z } from "zod";
import * as A from "./api.ts";
import * as Au from "./audit.ts";
import { Catalog, TaskId } from "./catalog.ts";
import * as D from "./datasets.ts";
import { ApiError } from "./errors.ts";

/** One HTTP route of the caretflow API: the single description the server, the OpenAPI document and clients share. */
export interface RouteDef {
  method: "get" | "post" | "put" | "delete";
  /** OpenAPI-style path, e.g. /api/datasets/{name} */
  path: string;
  summary: string;
  tag: string;
  auth: boolean;
  body?: z.ZodType;
  /** multipart/form-data body described in words (file uploads). */
  multipart?: Record<string, string>;
  query?: z.ZodObject;
  response?: z.ZodType;
  /** non-JSON responses, e.g. text/event-stream or text/csv */
  produces?: string;
  status?: number;
}

const Ok = z.object({ ok: z.literal(true) });

export const routes: RouteDef[] = [
  {
    method: "get",
    path: "/api/health",
    summary: "Readiness of the server, MLflow and the engine",
    tag: "system",
    auth: false,
    response: A.Health,
  },
  { method: "get", path: "/api/openapi.json", summary: "This document", tag: "system", auth: false, produces: "application/json" },
  {
    method: "post",
    path: "/api/auth/login",
    summary: "Sign in; sets the session cookie",
    tag: "auth",
    auth: false,
    body: A.LoginRequest,
    response: z.object({ user: A.User }),
  },
  { method: "post", path: "/api/auth/logout", summary: "Sign out", tag: "auth", auth: true, response: Ok },
  { method: "get", path: "/api/auth/me", summary: "The signed-in user", tag: "auth", auth: true, response: z.object({ user: A.User }) },
  {
    method: "get",
    path: "/api/auth/tokens",
    summary: "List API tokens",
    tag: "auth",
    auth: true,
    response: z.object({ tokens: z.array(A.ApiTokenInfo) }),
  },
  {
    method: "post",
    path: "/api/auth/tokens",
    summary: "Create an API token (shown once)",
    tag: "auth",
    auth: true,
    body: A.CreateTokenRequest,
    response: A.CreatedToken,
    status: 201,
  },
  { method: "delete", path: "/api/auth/tokens/{id}", summary: "Revoke an API token", tag: "auth", auth: true, response: Ok },

  {
    method: "get",
    path: "/api/datasets",
    summary: "List datasets",
    tag: "datasets",
    auth: true,
    response: z.object({ datasets: z.array(D.DatasetSummary) }),
  },
  {
    method: "post",
    path: "/api/datasets",
    summary: "Import a file as a new dataset version (identical content makes no new version)",
    tag: "datasets",
    auth: true,
    multipart: {
      file: "CSV, TSV, Parquet, JSON, NDJSON or .xlsx file",
      name: "dataset name (defaults to the file name)",
      encoding: "a text file's encoding when it is not UTF-8, e.g. windows-1252 (also latin1), utf-16, shift_jis",
    },
    response: D.ImportResult,
    status: 201,
  },
  {
    method: "get",
    path: "/api/datasets/{name}",
    summary: "A dataset with its versions",
    tag: "datasets",
    auth: true,
    response: D.DatasetDetail,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/versions/{version}/preview",
    summary: "A page of rows",
    tag: "datasets",
    auth: true,
    query: D.PreviewQuery,
    response: D.PreviewPage,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/versions/{version}/profile",
    summary: "Per-column profile",
    tag: "datasets",
    auth: true,
    response: D.DatasetProfile,
  },
  {
    method: "post",
    path: "/api/datasets/{name}/versions/{version}/setup-preview",
    summary: "What setup options would do to the data: sample rows before and after PyCaret's preprocessing",
    tag: "datasets",
    auth: true,
    body: A.SetupPreviewRequest,
    response: A.SetupPreview,
  },
  {
    method: "get",
    path: "/api/datasets/{name}/versions/{version}/download",
    summary: "Download the version as CSV",
    tag: "datasets",
    auth: true,
    produces: "text/csv",
  },

  {
    method: "get",
    path: "/api/catalog",
    summary: "The engine's catalog: tasks, their fields, models, metrics, plots and prediction columns",
    tag: "catalog",
    auth: true,
    query: z.object({ task: TaskId.optional() }),
    response: Catalog,
  },
  {
    method: "post",
    path: "/api/jobs/train",
    summary: "Start a training job (setup, compare_models, finalize)",
    tag: "jobs",
    auth: true,
    body: A.TrainRequest,
    response: A.Job,
    status: 202,
  },
  {
    method: "post",
    path: "/api/jobs/predict",
    summary: "Start a batch prediction job",
    tag: "jobs",
    auth: true,
    body: A.BatchPredictRequest,
    response: A.Job,
    status: 202,
  },
  {
    method: "get",
    path: "/api/jobs",
    summary: "List jobs, newest first",
    tag: "jobs",
    auth: true,
    response: z.object({ jobs: z.array(A.Job) }),
  },
  { method: "get", path: "/api/jobs/{id}", summary: "One job", tag: "jobs", auth: true, response: A.Job },
  { method: "post", path: "/api/jobs/{id}/cancel", summary: "Cancel a queued or running job", tag: "jobs", auth: true, response: A.Job },
  {
    method: "get",
    path: "/api/jobs/{id}/events",
    summary: "Server-sent events of a job; replays from Last-Event-ID or ?after=SEQ, then follows live",
    tag: "jobs",
    auth: true,
    query: z.object({ after: z.coerce.number().int().nonnegative().optional() }),
    produces: "text/event-stream",
  },
  {
    method: "get",
    path: "/api/jobs/{id}/log",
    summary: "The engine's stdout/stderr for a job",
    tag: "jobs",
    auth: true,
    produces: "text/plain",
  },

  {
    method: "get",
    path: "/api/runs",
    summary: "Training runs (MLflow parent runs) newest first",
    tag: "runs",
    auth: true,
    response: z.object({ runs: z.array(A.RunSummary) }),
  },
  {
    method: "get",
    path: "/api/runs/{runId}",
    summary: "A run with its child runs, params, metrics and artifacts",
    tag: "runs",
    auth: true,
    response: A.RunDetail,
  },
  {
    method: "post",
    path: "/api/runs/{runId}/operations",
    summary: "Start an operation on the run's model: tune, ensemble, blend, stack, calibrate, optimize_threshold, finalize, create",
    tag: "runs",
    auth: true,
    body: A.OperateRequest,
    response: A.Job,
    status: 202,
  },
  {
    method: "post",
    path: "/api/runs/{runId}/evaluate",
    summary: "Evaluate the run's model again: chart data, plots, SHAP and the HTML report (runs after every training job)",
    tag: "runs",
    auth: true,
    response: A.Job,
    status: 202,
  },
  {
    method: "get",
    path: "/api/runs/{runId}/artifacts/{path}",
    summary: "Download one artifact of a run",
    tag: "runs",
    auth: true,
    produces: "application/octet-stream",
  },

  {
    method: "get",
    path: "/api/models",
    summary: "Registered models with versions and aliases",
    tag: "models",
    auth: true,
    response: z.object({ models: z.array(A.RegisteredModel) }),
  },
  { method: "get", path: "/api/models/{name}", summary: "One registered model", tag: "models", auth: true, response: A.RegisteredModel },
  {
    method: "post",
    path: "/api/models",
    summary: "Register a run's model as a new version, optionally setting an alias",
    tag: "models",
    auth: true,
    body: A.RegisterModelRequest,
    response: A.ModelVersion,
    status: 201,
  },
  {
    method: "post",
    path: "/api/models/{name}/aliases",
    summary: "Point an alias at a version",
    tag: "models",
    auth: true,
    body: A.SetAliasRequest,
    response: A.RegisteredModel,
  },
  {
    method: "delete",
    path: "/api/models/{name}/aliases/{alias}",
    summary: "Remove an alias",
    tag: "models",
    auth: true,
    response: A.RegisteredModel,
  },

  {
    method: "post",
    path: "/api/predict",
    summary: "Online prediction from a warm scoring process",
    tag: "predict",
    auth: true,
    body: A.OnlinePredictRequest,
    response: A.OnlinePredictResponse,
  },

  {
    method: "get",
    path: "/api/audit",
    summary: "Search the audit log, newest first (site admins)",
    tag: "audit",
    auth: true,
    query: Au.AuditQuery,
    response: Au.AuditPage,
  },
  {
    method: "get",
    path: "/api/audit/verify",
    summary: "Check the audit log's hash chain; names the first broken row (site admins)",
    tag: "audit",
    auth: true,
    response: Au.AuditVerifyResult,
  },
  {
    method: "get",
    path: "/api/audit/export",
    summary: "Every matching audit entry, oldest first, as NDJSON or CSV (site admins)",
    tag: "audit",
    auth: true,
    query: Au.AuditExportQuery,
    produces: "application/x-ndjson",
  },
];

/** OpenAPI 3.1 document generated from the route table and the zod schemas. */
export function buildOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const json = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
  const errorResponse = { description: "Error", content: { "application/json": { schema: json(ApiError) } } };
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
    if (r.auth) op.security = [{ session: [] }, { bearer: [] }];
    else op.security = [];
    if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: json(r.body) } } };
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
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "caretflow_session" },
        bearer: { type: "http", scheme: "bearer", description: "API token from `caretflow up` or POST /api/auth/tokens" },
      },
    },
    paths,
  };
}
