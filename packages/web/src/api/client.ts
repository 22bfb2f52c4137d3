import {
  ApiTokenInfo,
  AuditPage,
  AuditVerifyResult,
  AuthProviders,
  type BatchPredictRequest,
  Catalog,
  Chart,
  CreatedToken,
  CreatedUser,
  type CreateTokenRequest,
  DatasetDetail,
  DatasetProfile,
  DatasetSummary,
  DEFAULT_PROJECT,
  Health,
  Job,
  ModelVersion,
  type OnlinePredictRequest,
  OnlinePredictResponse,
  type OperateRequest,
  PROJECT_HEADER,
  PreviewPage,
  ProjectInfo,
  ProjectMember,
  type ProjectRole,
  RegisteredModel,
  type RegisterModelRequest,
  RunDetail,
  RunSummary,
  type SetSsoRequest,
  SetupPreview,
  type SetupPreviewRequest,
  SsoSettings,
  type TrainRequest,
  User,
  UserInfo,
} from "@caretflow/contracts";
import { z } from "zod";
import { errorFromResponse } from "./errors.ts";

export type TrainRequestInput = z.input<typeof TrainRequest>;
export type BatchPredictInput = z.input<typeof BatchPredictRequest>;
export type OperateInput = z.input<typeof OperateRequest>;
export type OnlinePredictInput = z.input<typeof OnlinePredictRequest>;
export type SetupPreviewInput = z.input<typeof SetupPreviewRequest>;

export interface ApiClientOptions {
  /** Prefix of every URL; "" means the page's own origin (the server serves the UI and the API together). */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Called on any 401, so the app can send the person to the sign-in page. */
  onUnauthorized?: () => void;
  /** The project every request works in (the server's `default` project when left out). */
  project?: string;
}

const seg = encodeURIComponent;

/** Artifact paths keep their folders: each part is encoded, the slashes stay. */
export function encodePath(path: string): string {
  return path.split("/").map(seg).join("/");
}

/**
 * The typed HTTP client of the caretflow API. Every JSON response is parsed with the contracts' zod schema,
 * so a page never renders a shape the server did not promise.
 */
export function createApiClient(opts: ApiClientOptions = {}) {
  const base = opts.baseUrl ?? "";
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  // The default project is the server's own default: requests for it need not name it.
  const project = opts.project && opts.project !== DEFAULT_PROJECT ? opts.project : null;
  const projectHeader: Record<string, string> = project ? { [PROJECT_HEADER]: project } : {};
  /** Addresses the browser opens itself (links, downloads, event streams, uploads) name the project in the query. */
  const inProject = (url: string) => (project ? `${url}${url.includes("?") ? "&" : "?"}project=${seg(project)}` : url);

  async function request<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        credentials: "same-origin",
        headers: {
          accept: "application/json",
          ...projectHeader,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw errorFromResponse(0, "");
    }
    const text = await res.text();
    if (!res.ok) {
      if (res.status === 401 && path !== "/api/auth/login") opts.onUnauthorized?.();
      throw errorFromResponse(res.status, text);
    }
    return schema.parse(text === "" ? {} : JSON.parse(text));
  }
  const get = <T>(path: string, schema: z.ZodType<T>) => request("GET", path, schema);

  const Ok = z.object({ ok: z.literal(true) });
  // The catalog changes only when the engine does: one request per page load, shared by every page.
  let catalog: Promise<Catalog> | null = null;

  return {
    health: () => get("/api/health", Health),

    login: async (username: string, password: string) =>
      (await request("POST", "/api/auth/login", z.object({ user: User }), { username, password })).user,
    logout: () => request("POST", "/api/auth/logout", Ok),
    me: async () => (await get("/api/auth/me", z.object({ user: User }))).user,

    listDatasets: async () => (await get("/api/datasets", z.object({ datasets: z.array(DatasetSummary) }))).datasets,
    getDataset: (name: string) => get(`/api/datasets/${seg(name)}`, DatasetDetail),
    preview: (name: string, version: number, offset: number, limit: number) =>
      get(`/api/datasets/${seg(name)}/versions/${version}/preview?offset=${offset}&limit=${limit}`, PreviewPage),
    profile: (name: string, version: number) => get(`/api/datasets/${seg(name)}/versions/${version}/profile`, DatasetProfile),
    downloadUrl: (name: string, version: number) => inProject(`${base}/api/datasets/${seg(name)}/versions/${version}/download`),
    uploadUrl: () => inProject(`${base}/api/datasets`),

    catalog: () => {
      catalog ??= get("/api/catalog", Catalog).catch((err: unknown) => {
        catalog = null; // a failed load is asked again next time
        throw err;
      });
      return catalog;
    },
    setupPreview: (name: string, version: number, req: SetupPreviewInput) =>
      request("POST", `/api/datasets/${seg(name)}/versions/${version}/setup-preview`, SetupPreview, req),

    startTrain: (req: TrainRequestInput) => request("POST", "/api/jobs/train", Job, req),
    startOperation: (runId: string, req: OperateInput) => request("POST", `/api/runs/${seg(runId)}/operations`, Job, req),
    /** Charts, plots, SHAP and the report of the run's model, again (the server queues one after every training job). */
    startEvaluate: (runId: string) => request("POST", `/api/runs/${seg(runId)}/evaluate`, Job),
    // horizon: periods a forecaster forecasts (the forecasting family adds it to BatchPredictRequest; older servers drop it)
    startPredict: (req: BatchPredictInput & { horizon?: number }) => request("POST", "/api/jobs/predict", Job, req),
    listJobs: async () => (await get("/api/jobs", z.object({ jobs: z.array(Job) }))).jobs,
    getJob: (id: string) => get(`/api/jobs/${seg(id)}`, Job),
    cancelJob: (id: string) => request("POST", `/api/jobs/${seg(id)}/cancel`, Job),
    jobEventsUrl: (id: string) => inProject(`${base}/api/jobs/${seg(id)}/events`),
    jobLogUrl: (id: string) => inProject(`${base}/api/jobs/${seg(id)}/log`),
    jobLog: async (id: string) => {
      const res = await doFetch(`${base}/api/jobs/${seg(id)}/log`, { credentials: "same-origin", headers: projectHeader });
      const text = await res.text();
      if (!res.ok) throw errorFromResponse(res.status, text);
      return text;
    },

    listRuns: async () => (await get("/api/runs", z.object({ runs: z.array(RunSummary) }))).runs,
    getRun: (runId: string) => get(`/api/runs/${seg(runId)}`, RunDetail),
    artifactUrl: (runId: string, path: string) => inProject(`${base}/api/runs/${seg(runId)}/artifacts/${encodePath(path)}`),
    /** A chart the engine logged as JSON (charts/<id>.json), checked against the contract. */
    chart: (runId: string, path: string) => get(`/api/runs/${seg(runId)}/artifacts/${encodePath(path)}`, Chart),

    listModels: async () => (await get("/api/models", z.object({ models: z.array(RegisteredModel) }))).models,
    getModel: (name: string) => get(`/api/models/${seg(name)}`, RegisteredModel),
    registerModel: (req: RegisterModelRequest) => request("POST", "/api/models", ModelVersion, req),
    setAlias: (name: string, alias: string, version: number) =>
      request("POST", `/api/models/${seg(name)}/aliases`, RegisteredModel, { alias, version }),
    deleteAlias: (name: string, alias: string) => request("DELETE", `/api/models/${seg(name)}/aliases/${seg(alias)}`, RegisteredModel),

    predict: (req: OnlinePredictInput) => request("POST", "/api/predict", OnlinePredictResponse, req),

    /** The project this client works in. */
    project: project ?? DEFAULT_PROJECT,
    changePassword: (current: string, next: string) => request("POST", "/api/auth/password", Ok, { current, next }),
    /** Your API tokens (never their secrets). */
    listTokens: async () => (await get("/api/auth/tokens", z.object({ tokens: z.array(ApiTokenInfo) }))).tokens,
    /** A new API token; its secret is in the answer only, shown once. */
    createToken: (req: CreateTokenRequest) => request("POST", "/api/auth/tokens", CreatedToken, req),
    revokeToken: (id: string) => request("DELETE", `/api/auth/tokens/${seg(id)}`, Ok),
    listProjects: async () => (await get("/api/projects", z.object({ projects: z.array(ProjectInfo) }))).projects,
    createProject: (name: string, description?: string) =>
      request("POST", "/api/projects", ProjectInfo, { name, ...(description ? { description } : {}) }),
    listMembers: async (project: string) =>
      (await get(`/api/projects/${seg(project)}/members`, z.object({ members: z.array(ProjectMember) }))).members,
    setMember: (project: string, username: string, role: ProjectRole) =>
      request("PUT", `/api/projects/${seg(project)}/members/${seg(username)}`, ProjectMember, { role }),
    removeMember: (project: string, username: string) => request("DELETE", `/api/projects/${seg(project)}/members/${seg(username)}`, Ok),
    listUsers: async () => (await get("/api/users", z.object({ users: z.array(UserInfo) }))).users,
    createUser: (username: string, admin: boolean) => request("POST", "/api/users", CreatedUser, { username, admin }),
    setUserDisabled: (username: string, disabled: boolean) =>
      request("POST", `/api/users/${seg(username)}/${disabled ? "disable" : "enable"}`, UserInfo),
    resetPassword: (username: string) => request("POST", `/api/users/${seg(username)}/password`, CreatedUser),
    authProviders: () => get("/api/auth/providers", AuthProviders),
    ssoSettings: () => get("/api/settings/sso", SsoSettings),
    setSso: (req: z.input<typeof SetSsoRequest>) => request("PUT", "/api/settings/sso", SsoSettings, req),
    disableSso: () => request("DELETE", "/api/settings/sso", SsoSettings),
    /** Audit entries, newest first; `query` is a query string (see features/audit/audit.helpers.ts). */
    /** A project's own audit entries (its owners), newest first. */
    listProjectAudit: (project: string, limit = 20) => get(`/api/projects/${seg(project)}/audit?limit=${limit}`, AuditPage),
    listAudit: (query: string) => get(`/api/audit${query ? `?${query}` : ""}`, AuditPage),
    verifyAudit: () => get("/api/audit/verify", AuditVerifyResult),
    auditExportUrl: (query: string) => `${base}/api/audit/export${query ? `?${query}` : ""}`,
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
