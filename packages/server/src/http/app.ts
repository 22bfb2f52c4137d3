import { buildOpenApi, CARETFLOW_VERSION, CaretflowError, notFound, type User } from "@caretflow/contracts";
import { Hono } from "hono";
import type { AlertService } from "../alerts/alert.service.ts";
import { alertEventsRoutes, alertMetricsRoutes, alertsRoutes } from "../alerts/alerts.routes.ts";
import type { AuditLog } from "../audit/audit.log.ts";
import { auditRoutes } from "../audit/audit.routes.ts";
import { authRoutes } from "../auth/auth.routes.ts";
import type { AuthService } from "../auth/auth.service.ts";
import { authorize, MLFLOW_PROXY_PERMISSION } from "../auth/authorize.ts";
import type { LoginLimiter } from "../auth/login.limiter.ts";
import { catalogRoutes } from "../catalog/catalog.routes.ts";
import type { ConnectionService } from "../connections/connection.service.ts";
import { connectionsRoutes } from "../connections/connections.routes.ts";
import { datasetsRoutes } from "../datasets/datasets.routes.ts";
import type { DeploymentRepository } from "../deployments/deployment.repository.ts";
import { deploymentsRoutes } from "../deployments/deployments.routes.ts";
import type { ServingGateway } from "../deployments/gateway.ts";
import { driftRoutes } from "../drift/drift.routes.ts";
import type { JobService } from "../jobs/job.service.ts";
import { jobsRoutes } from "../jobs/jobs.routes.ts";
import { metricsHandler } from "../metrics/metrics.routes.ts";
import type { ServerMetrics } from "../metrics/metrics.ts";
import { mlflowPathGuard, proxyToMlflow } from "../mlflow/mlflow.proxy.ts";
import { memberScope, mlflowLookup } from "../mlflow/mlflow.scope.ts";
import type { ModelLifecycle } from "../models/model.lifecycle.ts";
import { modelLifecycleRoutes } from "../models/model-lifecycle.routes.ts";
import { modelsRoutes, predictRoutes } from "../models/models.routes.ts";
import { type MonitoringDeps, monitoringRoutes } from "../monitoring/monitoring.routes.ts";
import type { PipelineService } from "../pipelines/pipeline.service.ts";
import { pipelineRunsRoutes, pipelinesRoutes } from "../pipelines/pipelines.routes.ts";
import type { CatalogPort, DatasetsPort, HealthPort, Logger, ScoringPort, TrackingPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import { projectsRoutes } from "../projects/projects.routes.ts";
import { qualityRoutes } from "../quality/quality.routes.ts";
import type { QualityService } from "../quality/quality.service.ts";
import type { RunsIndexRepository } from "../runs/runs.index.ts";
import { runsRoutes } from "../runs/runs.routes.ts";
import { secretKeyRoutes } from "../secrets/secret-key.routes.ts";
import type { SecretKeyService } from "../secrets/secret-key.service.ts";
import { ssoAuthRoutes, ssoSettingsRoutes } from "../sso/sso.routes.ts";
import type { SsoService } from "../sso/sso.service.ts";
import type { TransformService } from "../transforms/transform.service.ts";
import { transformsRoutes } from "../transforms/transforms.routes.ts";
import { usersRoutes } from "../users/users.routes.ts";
import { mountWeb } from "../web/web.static.ts";
import type { AppEnv } from "./app.env.ts";
import { errorResponse } from "./errors.ts";
import { type AllowedHosts, hostCheck, securityHeaders } from "./security.ts";

export interface AppContext {
  auth: AuthService;
  projects: ProjectService;
  /** Every change is recorded here after it succeeded. */
  audit: AuditLog;
  /** Failed sign-ins per account and per address. */
  backoff: LoginLimiter;
  /** Optional single sign-on (OpenID Connect), configured by a site admin. */
  sso: SsoService;
  datasets: DatasetsPort;
  /** Connections to outside data sources (credentials sealed), per project. */
  connections: ConnectionService;
  /** Saved SQL transforms, run in a sandbox over the project's datasets. */
  transforms: TransformService;
  /** Quality rules per dataset and their reports. */
  quality: QualityService;
  /** The server's secret key (rotation by a site admin). */
  secretKey: SecretKeyService;
  datasetNameFromFilename: (filename: string) => string;
  jobs: JobService;
  /** Stored pipelines and their runs. */
  pipelines: PipelineService;
  alerts: AlertService;
  catalog: CatalogPort;
  tracking: TrackingPort;
  /** A model's page (GET /api/models/{name}), cached with the model list; default: `tracking.getModel`. */
  modelPage?: (name: string) => ReturnType<TrackingPort["getModel"]>;
  /** Stages, promotion requests and stage history of registered models. */
  modelLifecycle: ModelLifecycle;
  /** caretflow's index of MLflow training runs: GET /api/runs reads it. */
  runsIndex: RunsIndexRepository;
  scoring: ScoringPort;
  /** Deployments and the serving gateway. */
  deployments: { repo: DeploymentRepository; gateway: ServingGateway };
  /** Feedback, live figures and drift checks of deployments. */
  monitoring: MonitoringDeps;
  health: HealthPort;
  log: Logger;
  /** <home>/tmp: uploads land here before import. */
  tmpDir: string;
  maxUploadBytes: number;
  /** Base URL (with static prefix) of MLflow for the /mlflow/ proxy; null while it is down. */
  mlflowUiUpstream: () => string | null;
  /** The Authorization header MLflow requires; the proxy adds it upstream. Absent: none is sent (an open test server). */
  mlflowProxy?: { authorization: string };
  /** Told of every write MLflow accepted through /mlflow (start.ts drops the model list and refreshes the runs index). */
  onMlflowWrite?: (segments: readonly string[]) => void;
  /** Who may change MLflow through /mlflow (reads are open to everyone signed in). Default: site admins. */
  mlflowCanWrite?: (user: User) => boolean;
  /** packages/web/dist, or null to serve the "build the UI" page. */
  webDist: string | null;
  sseHeartbeatMs?: number;
  /** The URL browsers use (e.g. https://ml.example.com behind a TLS proxy): https marks the session cookie Secure and sends HSTS. */
  publicUrl?: string;
  /** Host names answered besides localhost and IP addresses (start.ts: the listen address, the public URL, extra names). */
  allowedHosts?: AllowedHosts;
  /** Prometheus metrics: every request is counted; GET /metrics serves them with `token` (null: /metrics answers 404). */
  metrics?: { registry: ServerMetrics; token: string | null };
}

/**
 * The caretflow HTTP app: every route of the contract route table, each behind the permission the
 * table declares for it (public, signed in, site admin, or a role on the project it touches).
 * @example const app = createApp(ctx); const res = await app.request("/api/health");
 */
export function createApp(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => errorResponse(err, c, ctx.log));
  if (ctx.metrics) app.use("*", ctx.metrics.registry.http());
  const https = ctx.publicUrl?.startsWith("https:") ?? false;
  // First: every response (errors and 404s too) gets the security headers; a foreign Host gets nothing else.
  app.use("*", securityHeaders({ https }));
  app.use("*", hostCheck(ctx.allowedHosts ?? { names: [] }));
  // Before routing: a raw path such as /mlflow/a/%2e%2e/x is refused, not normalised into another route.
  app.use("*", mlflowPathGuard("/mlflow"));
  const openapi = buildOpenApi(CARETFLOW_VERSION);

  // Always 200 when the server answers; readiness of MLflow and the engine is in the body.
  app.get("/api/health", (c) => c.json(ctx.health()));
  app.get("/api/openapi.json", (c) => c.json(openapi));

  // Every /api request passes the one authorization middleware, which reads the route table's permissions.
  app.use("/api/*", authorize({ auth: ctx.auth, projects: ctx.projects, https }));

  app.route(
    "/api/auth",
    authRoutes({ auth: ctx.auth, backoff: ctx.backoff, audit: ctx.audit, projects: ctx.projects, secureCookies: https }),
  );
  app.route("/api/auth", ssoAuthRoutes({ sso: ctx.sso, auth: ctx.auth, audit: ctx.audit, log: ctx.log, secureCookies: https }));
  app.route("/api/settings", ssoSettingsRoutes({ sso: ctx.sso, audit: ctx.audit }));
  app.route("/api/settings", secretKeyRoutes({ secretKey: ctx.secretKey, audit: ctx.audit }));
  app.route(
    "/api/datasets",
    datasetsRoutes({
      audit: ctx.audit,
      datasets: ctx.datasets,
      projects: ctx.projects,
      scoring: ctx.scoring,
      jobs: ctx.jobs,
      nameFromFilename: ctx.datasetNameFromFilename,
      tmpDir: ctx.tmpDir,
      maxUploadBytes: ctx.maxUploadBytes,
    }),
  );
  app.route("/api/datasets", qualityRoutes({ quality: ctx.quality, projects: ctx.projects, audit: ctx.audit }));
  app.route(
    "/api/connections",
    connectionsRoutes({
      connections: ctx.connections,
      datasets: ctx.datasets,
      projects: ctx.projects,
      audit: ctx.audit,
      upload: { tmpDir: ctx.tmpDir, maxBytes: ctx.maxUploadBytes },
    }),
  );
  app.route("/api/transforms", transformsRoutes({ transforms: ctx.transforms, audit: ctx.audit }));
  app.route("/api/pipelines", pipelinesRoutes({ pipelines: ctx.pipelines, audit: ctx.audit }));
  app.route("/api/pipeline-runs", pipelineRunsRoutes({ pipelines: ctx.pipelines, audit: ctx.audit }));
  app.route("/api/alerts", alertsRoutes({ alerts: ctx.alerts, audit: ctx.audit }));
  app.route("/api/alert-events", alertEventsRoutes({ alerts: ctx.alerts }));
  app.route("/api/alert-metrics", alertMetricsRoutes({ alerts: ctx.alerts }));
  app.route("/api/catalog", catalogRoutes({ catalog: ctx.catalog }));
  app.route("/api/jobs", jobsRoutes({ jobs: ctx.jobs, audit: ctx.audit, heartbeatMs: ctx.sseHeartbeatMs ?? 15_000 }));
  app.route("/api/drift", driftRoutes({ jobs: ctx.jobs, audit: ctx.audit }));
  app.route(
    "/api/runs",
    runsRoutes({ tracking: ctx.tracking, jobs: ctx.jobs, projects: ctx.projects, audit: ctx.audit, index: ctx.runsIndex }),
  );
  app.route(
    "/api/models",
    modelsRoutes({
      tracking: ctx.tracking,
      modelPage: ctx.modelPage ?? ((name) => ctx.tracking.getModel(name)),
      projects: ctx.projects,
      audit: ctx.audit,
      lifecycle: ctx.modelLifecycle,
    }),
  );
  app.route("/api/models", modelLifecycleRoutes({ lifecycle: ctx.modelLifecycle, projects: ctx.projects }));
  app.route("/api/predict", predictRoutes({ tracking: ctx.tracking, scoring: ctx.scoring, projects: ctx.projects }));
  app.route("/api/deployments", deploymentsRoutes({ ...ctx.deployments, projects: ctx.projects, audit: ctx.audit }));
  app.route("/api/deployments", monitoringRoutes({ ...ctx.monitoring, audit: ctx.audit }));
  app.route("/api/users", usersRoutes({ auth: ctx.auth, audit: ctx.audit }));
  app.route("/api/projects", projectsRoutes({ projects: ctx.projects, audit: ctx.audit }));
  app.route("/api/audit", auditRoutes({ audit: ctx.audit }));
  app.all("/api/*", (c) => {
    throw notFound("API route", `${c.req.method} ${c.req.path}`, "GET /api/openapi.json lists every route.");
  });

  // MLflow's own UI, behind the same sign-in as caretflow. A signed-out browser opening a page is sent to
  // the sign-in page and back; API-style calls keep the JSON 401.
  const auth = authorize({ auth: ctx.auth, projects: ctx.projects, https }, MLFLOW_PROXY_PERMISSION);
  const mlflowAuth: typeof auth = async (c, next) => {
    try {
      return await auth(c, next);
    } catch (err) {
      const wantsPage = c.req.method === "GET" && (c.req.header("accept") ?? "").includes("text/html");
      if (wantsPage && err instanceof CaretflowError && err.status === 401) {
        return c.redirect(`/signin?next=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}`);
      }
      throw err;
    }
  };
  app.use("/mlflow", mlflowAuth);
  app.use("/mlflow/*", mlflowAuth);
  app.get("/mlflow", (c) => c.redirect("/mlflow/"));
  app.all("/mlflow/*", async (c) => {
    const user = c.get("user");
    const upstream = ctx.mlflowUiUpstream();
    const authorization = ctx.mlflowProxy?.authorization;
    // A project member reads their projects' experiments and models only; a site admin sees everything.
    const scope =
      user.role === "admin"
        ? null
        : await memberScope(ctx.projects, user, c.get("apiToken")?.project ?? null, mlflowLookup(upstream, authorization));
    return proxyToMlflow(c, upstream, {
      ...(authorization ? { authorization } : {}),
      canWrite: (ctx.mlflowCanWrite ?? ((u: User) => u.role === "admin"))(user),
      scope,
      ...(ctx.onMlflowWrite ? { onWrite: ctx.onMlflowWrite } : {}),
    });
  });

  // Outside /api: Prometheus presents the metrics token, not a user's session or API token.
  if (ctx.metrics) app.get("/metrics", metricsHandler({ metrics: ctx.metrics.registry, token: ctx.metrics.token }));

  mountWeb(app, ctx.webDist);
  return app;
}
