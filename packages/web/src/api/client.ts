import {
  type AlertRuleRequest,
  type AlertRuleUpdate,
  type BatchPredictRequest,
  type Catalog,
  Chart,
  type ConnectionImportRequest,
  type ConnectionPreviewRequest,
  type CreateConnectionRequest,
  type CreateDeploymentRequest,
  type CreateTokenRequest,
  DEFAULT_PROJECT,
  type DeploymentDriftRequest,
  type ModelUpdateRequest,
  type OnlinePredictRequest,
  type OperateRequest,
  type PipelineRunRequest,
  type ProjectRole,
  type PromotionCreateRequest,
  type QualityRuleInput,
  type RegisterModelRequest,
  type SetSsoRequest,
  type SetupPreviewRequest,
  type TrainRequest,
  type UpdateConnectionRequest,
  type UpdateDeploymentRequest,
} from "@caretflow/contracts";
import { createCaretflowClient, parseAnswer, type QueryOf } from "@caretflow/contracts/client";
import type { z } from "zod";
import { serverUnreachable } from "./errors.ts";

export type TrainRequestInput = z.input<typeof TrainRequest>;
export type BatchPredictInput = z.input<typeof BatchPredictRequest>;
export type OperateInput = z.input<typeof OperateRequest>;
export type OnlinePredictInput = z.input<typeof OnlinePredictRequest>;
export type CreateConnectionInput = z.input<typeof CreateConnectionRequest>;
export type ConnectionPreviewInput = z.input<typeof ConnectionPreviewRequest>;
export type ConnectionImportInput = z.input<typeof ConnectionImportRequest>;
export type SetupPreviewInput = z.input<typeof SetupPreviewRequest>;
export type PipelineRunInput = z.input<typeof PipelineRunRequest>;
/** Filters of GET /api/pipeline-runs. */
export type PipelineRunsQueryInput = QueryOf<"get", "/api/pipeline-runs">;
/** Search, filters and paging of the dataset catalog (GET /api/datasets). */
export type DatasetListInput = QueryOf<"get", "/api/datasets">;
/** Filters and paging of GET /api/audit. */
export type AuditListQuery = QueryOf<"get", "/api/audit">;
/** Filters and format of GET /api/audit/export. */
export type AuditExportQuery = QueryOf<"get", "/api/audit/export">;

export interface ApiClientOptions {
  /** Prefix of every URL; "" means the page's own origin (the server serves the UI and the API together). */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Called on any 401, so the app can send the person to the sign-in page. */
  onUnauthorized?: () => void;
  /** The project every request works in (the server's `default` project when left out). */
  project?: string;
}

/**
 * The web UI's API: one named function per thing a page does, each a call on the typed client of
 * @caretflow/contracts (request types from the OpenAPI document, answers parsed with the contracts' zod
 * schemas), so a page never renders a shape the server did not promise.
 */
export function createApiClient(opts: ApiClientOptions = {}) {
  // The default project is the server's own default: requests for it need not name it.
  const project = opts.project && opts.project !== DEFAULT_PROJECT ? opts.project : null;
  const fetchFn = opts.fetch;
  const api = createCaretflowClient({
    baseUrl: opts.baseUrl ?? "",
    ...(fetchFn ? { fetch: (request: Request) => fetchFn(request) } : {}),
    credentials: "same-origin",
    ...(project ? { project } : {}),
    reader: "the web UI",
    onFailure(err, failure) {
      if (failure.kind === "refused" && failure.status === 401 && failure.path !== "/api/auth/login") opts.onUnauthorized?.();
      return failure.kind === "unreachable" ? serverUnreachable(err.cause) : undefined;
    },
  });
  /** Addresses the browser opens itself (links, downloads, event streams, uploads) name the project in the query. */
  const inProject = (url: string) => (project ? `${url}${url.includes("?") ? "&" : "?"}project=${encodeURIComponent(project)}` : url);
  const version = (name: string, v: number) => ({ params: { path: { name, version: String(v) } } });
  const conn = (name: string) => ({ params: { path: { name } } });
  const job = (id: string) => ({ params: { path: { id } } });
  const run = (runId: string) => ({ params: { path: { runId } } });
  const artifact = (runId: string, path: string) => ({ params: { path: { runId, path } } });

  // The catalog changes only when the engine does: one request per page load, shared by every page.
  let catalog: Promise<Catalog> | null = null;

  return {
    health: () => api.GET("/api/health"),

    login: async (username: string, password: string) => (await api.POST("/api/auth/login", { body: { username, password } })).user,
    logout: () => api.POST("/api/auth/logout"),
    me: async () => (await api.GET("/api/auth/me")).user,

    listDatasets: async () => (await api.GET("/api/datasets")).datasets,
    /** The catalog: the project's datasets matching a search and filters, one page with the total. */
    searchDatasets: (query: DatasetListInput) => api.GET("/api/datasets", { params: { query } }),
    setDatasetTags: (name: string, change: { add?: string[]; remove?: string[] }) =>
      api.POST("/api/datasets/{name}/tags", { params: { path: { name } }, body: { add: change.add ?? [], remove: change.remove ?? [] } }),
    setDatasetDescription: (name: string, description: string) =>
      api.PUT("/api/datasets/{name}/description", { params: { path: { name } }, body: { description } }),
    lineage: (name: string) => api.GET("/api/datasets/{name}/lineage", { params: { path: { name } } }),
    compareVersions: (name: string, from: number, to: number) =>
      api.GET("/api/datasets/{name}/compare", { params: { path: { name }, query: { from, to } } }),
    getDataset: (name: string) => api.GET("/api/datasets/{name}", { params: { path: { name } } }),
    preview: (name: string, v: number, offset: number, limit: number) =>
      api.GET("/api/datasets/{name}/versions/{version}/preview", {
        params: { path: { name, version: String(v) }, query: { offset, limit } },
      }),
    profile: (name: string, v: number) => api.GET("/api/datasets/{name}/versions/{version}/profile", version(name, v)),
    downloadUrl: (name: string, v: number) =>
      inProject(api.url("get", "/api/datasets/{name}/versions/{version}/download", version(name, v).params)),
    uploadUrl: () => inProject(api.url("post", "/api/datasets")),

    /** A dataset's quality rules, suggestions and the reports of running them on a version. */
    listQualityRules: async (name: string) => (await api.GET("/api/datasets/{name}/quality/rules", conn(name))).rules,
    createQualityRule: (name: string, rule: QualityRuleInput) =>
      api.POST("/api/datasets/{name}/quality/rules", { ...conn(name), body: rule }),
    updateQualityRule: (name: string, id: string, rule: QualityRuleInput) =>
      api.PUT("/api/datasets/{name}/quality/rules/{id}", { params: { path: { name, id } }, body: rule }),
    deleteQualityRule: (name: string, id: string) =>
      api.DELETE("/api/datasets/{name}/quality/rules/{id}", { params: { path: { name, id } } }),
    qualitySuggestions: (name: string, v: number) =>
      api.GET("/api/datasets/{name}/quality/suggestions", { params: { path: { name }, query: { version: v } } }),
    qualityReport: (name: string, v: number) => api.GET("/api/datasets/{name}/versions/{version}/quality", version(name, v)),
    runQualityCheck: (name: string, v: number) => api.POST("/api/datasets/{name}/versions/{version}/quality/check", version(name, v)),

    /** The project's connections (secret fields named, never shown). */
    listConnections: async () => (await api.GET("/api/connections")).connections,
    createConnection: (req: CreateConnectionInput) => api.POST("/api/connections", { body: req }),
    updateConnection: (name: string, req: UpdateConnectionRequest) => api.PUT("/api/connections/{name}", { ...conn(name), body: req }),
    deleteConnection: (name: string) => api.DELETE("/api/connections/{name}", conn(name)),
    testConnection: (name: string) => api.POST("/api/connections/{name}/test", conn(name)),
    browseConnection: async (name: string, path?: string) =>
      (await api.GET("/api/connections/{name}/browse", { params: { path: { name }, query: path ? { path } : {} } })).entries,
    previewConnection: (name: string, req: ConnectionPreviewInput) =>
      api.POST("/api/connections/{name}/preview", { ...conn(name), body: req }),
    importConnection: (name: string, req: ConnectionImportInput) =>
      api.POST("/api/connections/{name}/import", { ...conn(name), body: req }),

    /** SQL transforms: preview a query (nothing stored), save and run one, re-run or forget a saved one. */
    listTransforms: async () => (await api.GET("/api/transforms")).transforms,
    getTransform: (name: string) => api.GET("/api/transforms/{name}", conn(name)),
    previewTransform: (sql: string, limit = 50) => api.POST("/api/transforms/preview", { body: { sql, limit } }),
    saveTransform: (name: string, sql: string) => api.POST("/api/transforms", { body: { name, sql } }),
    runTransform: (name: string) => api.POST("/api/transforms/{name}/run", conn(name)),
    deleteTransform: (name: string) => api.DELETE("/api/transforms/{name}", conn(name)),

    /** Pipelines: store a file (each change is a revision), list and open them; their runs, steps and logs. */
    listPipelines: async () => (await api.GET("/api/pipelines")).pipelines,
    getPipeline: (name: string) => api.GET("/api/pipelines/{name}", conn(name)),
    /** The YAML a run followed. */
    getPipelineRevision: (name: string, revision: number) =>
      api.GET("/api/pipelines/{name}/revisions/{revision}", { params: { path: { name, revision: String(revision) } } }),
    /** Stores a pipeline file; `files` holds the code files its custom steps name, by path (none from the builder). */
    applyPipeline: (yaml: string, files: Record<string, string> = {}) => api.PUT("/api/pipelines", { body: { yaml, files } }),
    deletePipeline: (name: string) => api.DELETE("/api/pipelines/{name}", conn(name)),
    startPipelineRun: (name: string, req: PipelineRunInput) => api.POST("/api/pipelines/{name}/runs", { ...conn(name), body: req }),
    listPipelineRuns: async (query: PipelineRunsQueryInput) => (await api.GET("/api/pipeline-runs", { params: { query } })).runs,
    getPipelineRun: (id: string) => api.GET("/api/pipeline-runs/{id}", job(id)),
    /** The run's log, or one step's (text). */
    pipelineRunLog: async (id: string, step?: string) =>
      (
        await api.raw("get", "/api/pipeline-runs/{id}/logs", {
          params: { path: { id }, query: step ? { step } : {} },
          headers: { accept: "text/plain" },
        })
      ).text(),
    cancelPipelineRun: (id: string) => api.POST("/api/pipeline-runs/{id}/cancel", job(id)),
    resumePipelineRun: (id: string) => api.POST("/api/pipeline-runs/{id}/resume", job(id)),

    /** Alert rules (webhook URLs never shown, only their origin), their events and the metrics they can watch. */
    listAlerts: async () => (await api.GET("/api/alerts")).rules,
    listAlertMetrics: async () => (await api.GET("/api/alert-metrics")).metrics,
    listAlertEvents: async (limit = 100) => (await api.GET("/api/alert-events", { params: { query: { limit } } })).events,
    createAlert: (req: z.input<typeof AlertRuleRequest>) => api.POST("/api/alerts", { body: req }),
    updateAlert: (name: string, change: AlertRuleUpdate) => api.PUT("/api/alerts/{name}", { ...conn(name), body: change }),
    deleteAlert: (name: string) => api.DELETE("/api/alerts/{name}", conn(name)),
    checkAlert: (name: string) => api.POST("/api/alerts/{name}/check", conn(name)),

    catalog: () => {
      catalog ??= api.GET("/api/catalog").catch((err: unknown) => {
        catalog = null; // a failed load is asked again next time
        throw err;
      });
      return catalog;
    },
    setupPreview: (name: string, v: number, req: SetupPreviewInput) =>
      api.POST("/api/datasets/{name}/versions/{version}/setup-preview", { ...version(name, v), body: req }),

    startTrain: (req: TrainRequestInput) => api.POST("/api/jobs/train", { body: req }),
    startOperation: (runId: string, req: OperateInput) => api.POST("/api/runs/{runId}/operations", { ...run(runId), body: req }),
    /** Charts, plots, SHAP and the report of the run's model, again (the server queues one after every training job). */
    startEvaluate: (runId: string) => api.POST("/api/runs/{runId}/evaluate", run(runId)),
    // horizon: periods a forecaster forecasts (the forecasting family adds it to BatchPredictRequest; older servers drop it)
    startPredict: (req: BatchPredictInput & { horizon?: number }) => api.POST("/api/jobs/predict", { body: req }),
    listJobs: async () => (await api.GET("/api/jobs")).jobs,
    getJob: (id: string) => api.GET("/api/jobs/{id}", job(id)),
    cancelJob: (id: string) => api.POST("/api/jobs/{id}/cancel", job(id)),
    jobEventsUrl: (id: string) => inProject(api.url("get", "/api/jobs/{id}/events", job(id).params)),
    jobLogUrl: (id: string) => inProject(api.url("get", "/api/jobs/{id}/log", job(id).params)),
    jobLog: async (id: string) => (await api.raw("get", "/api/jobs/{id}/log", { ...job(id), headers: { accept: "text/plain" } })).text(),

    getRun: (runId: string) => api.GET("/api/runs/{runId}", run(runId)),
    artifactUrl: (runId: string, path: string) =>
      inProject(api.url("get", "/api/runs/{runId}/artifacts/{path}", artifact(runId, path).params)),
    /** A chart the engine logged as JSON (charts/<id>.json), checked against the contract. */
    chart: async (runId: string, path: string) => {
      const res = await api.raw("get", "/api/runs/{runId}/artifacts/{path}", artifact(runId, path));
      return parseAnswer(Chart, await res.text(), `GET /api/runs/{runId}/artifacts/${path}`, "the web UI");
    },

    listModels: async () => (await api.GET("/api/models")).models,
    getModel: (name: string) => api.GET("/api/models/{name}", { params: { path: { name } } }),
    registerModel: (req: RegisterModelRequest) => api.POST("/api/models", { body: req }),
    setAlias: (name: string, alias: string, v: number) =>
      api.POST("/api/models/{name}/aliases", { params: { path: { name } }, body: { alias, version: v } }),
    deleteAlias: (name: string, alias: string) => api.DELETE("/api/models/{name}/aliases/{alias}", { params: { path: { name, alias } } }),
    promoteModel: (name: string, body: PromotionCreateRequest) =>
      api.POST("/api/models/{name}/promotions", { params: { path: { name } }, body }),
    listPromotions: async (name: string) => (await api.GET("/api/models/{name}/promotions", { params: { path: { name } } })).promotions,
    decidePromotion: (name: string, id: string, decision: "approve" | "reject", reason?: string) =>
      decision === "approve"
        ? api.POST("/api/models/{name}/promotions/{id}/approve", { params: { path: { name, id } }, body: reason ? { reason } : {} })
        : api.POST("/api/models/{name}/promotions/{id}/reject", { params: { path: { name, id } }, body: reason ? { reason } : {} }),
    rollbackModel: (name: string, reason: string) =>
      api.POST("/api/models/{name}/rollback", { params: { path: { name } }, body: { reason } }),
    modelHistory: async (name: string) => (await api.GET("/api/models/{name}/history", { params: { path: { name } } })).transitions,
    /** Changes the model's (no version) or a version's description and tags; a null tag value removes the tag. */
    updateModel: (name: string, version: number | null, body: ModelUpdateRequest) =>
      version === null
        ? api.PUT("/api/models/{name}", { params: { path: { name } }, body })
        : api.PUT("/api/models/{name}/versions/{version}", { params: { path: { name, version: String(version) } }, body }),
    compareModelVersions: (name: string, versions: number[]) =>
      api.GET("/api/models/{name}/compare", { params: { path: { name }, query: { versions: versions.join(",") } } }),

    predict: (req: OnlinePredictInput) => api.POST("/api/predict", { body: req }),

    /** Deployments: a model alias or version served at a stable endpoint under a traffic policy. */
    listDeployments: async () => (await api.GET("/api/deployments")).deployments,
    getDeployment: (name: string) => api.GET("/api/deployments/{name}", conn(name)),
    createDeployment: (req: z.input<typeof CreateDeploymentRequest>) => api.POST("/api/deployments", { body: req }),
    updateDeployment: (name: string, change: z.input<typeof UpdateDeploymentRequest>) =>
      api.PUT("/api/deployments/{name}", { ...conn(name), body: change }),
    deleteDeployment: (name: string) => api.DELETE("/api/deployments/{name}", conn(name)),
    predictDeployment: (name: string, rows: Record<string, unknown>[]) =>
      api.POST("/api/deployments/{name}/predict", { ...conn(name), body: { rows } }),

    /** The project this client works in. */
    project: project ?? DEFAULT_PROJECT,
    changePassword: (current: string, next: string) => api.POST("/api/auth/password", { body: { current, next } }),
    /** Your API tokens (never their secrets). */
    listTokens: async () => (await api.GET("/api/auth/tokens")).tokens,
    /** A new API token; its secret is in the answer only, shown once. */
    createToken: (req: CreateTokenRequest) => api.POST("/api/auth/tokens", { body: req }),
    revokeToken: (id: string) => api.DELETE("/api/auth/tokens/{id}", { params: { path: { id } } }),
    listProjects: async () => (await api.GET("/api/projects")).projects,
    createProject: (name: string, description?: string) =>
      api.POST("/api/projects", { body: { name, ...(description ? { description } : {}) } }),
    listMembers: async (name: string) =>
      (await api.GET("/api/projects/{project}/members", { params: { path: { project: name } } })).members,
    setMember: (name: string, username: string, role: ProjectRole) =>
      api.PUT("/api/projects/{project}/members/{username}", { params: { path: { project: name, username } }, body: { role } }),
    removeMember: (name: string, username: string) =>
      api.DELETE("/api/projects/{project}/members/{username}", { params: { path: { project: name, username } } }),
    listUsers: async () => (await api.GET("/api/users")).users,
    createUser: (username: string, admin: boolean) => api.POST("/api/users", { body: { username, admin } }),
    setUserDisabled: (username: string, disabled: boolean) =>
      api.POST(`/api/users/{username}/${disabled ? "disable" : "enable"}`, { params: { path: { username } } }),
    resetPassword: (username: string) => api.POST("/api/users/{username}/password", { params: { path: { username } } }),
    authProviders: () => api.GET("/api/auth/providers"),
    ssoSettings: () => api.GET("/api/settings/sso"),
    setSso: (req: z.input<typeof SetSsoRequest>) => api.PUT("/api/settings/sso", { body: req }),
    disableSso: () => api.DELETE("/api/settings/sso"),
    /** A project's own audit entries (its owners), newest first. */
    listProjectAudit: (name: string, limit = 20) =>
      api.GET("/api/projects/{project}/audit", { params: { path: { project: name }, query: { limit } } }),
    /** Audit entries, newest first (see features/audit/audit.helpers.ts for the filters). */
    listAudit: (query: AuditListQuery) => api.GET("/api/audit", { params: { query } }),
    verifyAudit: () => api.GET("/api/audit/verify"),
    auditExportUrl: (query: AuditExportQuery) => api.url("get", "/api/audit/export", { query }),

    /** A deployment's figures per time bucket and version (requests, errors, latency, live performance once labelled). */
    deploymentMonitoring: (name: string, query: QueryOf<"get", "/api/deployments/{name}/monitoring">) =>
      api.GET("/api/deployments/{name}/monitoring", { params: { path: { name }, query } }),
    /** The deployment's drift checks, newest first. */
    deploymentDriftHistory: async (name: string, limit = 50) =>
      (await api.GET("/api/deployments/{name}/drift", { params: { path: { name }, query: { limit } } })).runs,
    /** Starts a drift check of the logged inputs over a window (default: the last 24 hours); the answer names its job. */
    startDeploymentDrift: (name: string, body: DeploymentDriftRequest = {}) =>
      api.POST("/api/deployments/{name}/drift", { ...conn(name), body }),
    /** A page of training runs with the total matching, paged, sorted and filtered by the server (features/runs/runs.view.ts). */
    listRunsPage: (query: QueryOf<"get", "/api/runs">) => api.GET("/api/runs", { params: { query } }),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
