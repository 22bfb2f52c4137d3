import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressPolicy } from "@caretflow/connectors";
import { CaretflowError } from "@caretflow/contracts";
import { DatasetStore, type DataTables, dataMigrations, datasetNameFromFilename } from "@caretflow/data";
import { type EngineRunner, LocalExecutor, type StepHandlers } from "@caretflow/orchestrator";
import type { Kysely } from "kysely";
import { CATALOG } from "../../orchestrator/test/catalog.fixture.ts";
import { type AlertMetricSource, AlertService } from "../src/alerts/alert.service.ts";
import { AuditLog } from "../src/audit/audit.log.ts";
import { AuthService } from "../src/auth/auth.service.ts";
import { LoginLimiter } from "../src/auth/login.limiter.ts";
import { ConnectionService } from "../src/connections/connection.service.ts";
import { migrateToLatest, openSqlite } from "../src/db/database.ts";
import { serverMigrations } from "../src/db/server.migrations.ts";
import type { ServerTables } from "../src/db/server.tables.ts";
import { DeploymentRepository } from "../src/deployments/deployment.repository.ts";
import { type AppContext, createApp } from "../src/http/app.ts";
import { JobEventHub } from "../src/jobs/job.hub.ts";
import { JobPostSteps } from "../src/jobs/job.post-steps.ts";
import { JobRepository } from "../src/jobs/job.repository.ts";
import { JobService } from "../src/jobs/job.service.ts";
import { ModelLifecycle } from "../src/models/model.lifecycle.ts";
import { ModelDigestRepository } from "../src/models/model-digest.repository.ts";
import { ModelLifecycleRepository } from "../src/models/model-lifecycle.repository.ts";
import { createMonitoring } from "../src/monitoring/monitoring.wiring.ts";
import { createPipelines, type PipelineWiring } from "../src/pipelines/pipeline.wiring.ts";
import { enginePython } from "../src/pipelines/steps/custom.step.ts";
import type { CatalogPort, TrackingPort } from "../src/ports.ts";
import { ProjectService } from "../src/projects/project.service.ts";
import { QualityService } from "../src/quality/quality.service.ts";
import { RunsIndexRepository } from "../src/runs/runs.index.ts";
import { SecretBox } from "../src/secrets/secret-box.ts";
import { SecretKeyService } from "../src/secrets/secret-key.service.ts";
import { SsoService } from "../src/sso/sso.service.ts";
import { defaultRepoRoot } from "../src/start.ts";
import { type TransformLimits, TransformService } from "../src/transforms/transform.service.ts";

/** Any neighbour a unit test does not exercise: every call says so plainly. */
function absent<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: () => () => {
      throw new CaretflowError({ code: "not_wired", kind: "operational", message: `${what} is not part of this unit test` });
    },
  });
}

/** Tracking that only knows its URL (enough to build engine specs). */
function withTrackingUri(uri: string): TrackingPort {
  const rest = absent<TrackingPort>("tracking");
  return new Proxy(rest, { get: (t, k) => (k === "trackingUri" ? () => uri : Reflect.get(t, k)) });
}

/** The HTTP app over a real SQLite database in a temp folder (or the given one), without MLflow, engine or dataset store. */
export async function appFixture(
  over: Partial<AppContext> = {},
  opts: {
    datasets?: boolean;
    engine?: EngineRunner;
    trackingUri?: string;
    catalog?: CatalogPort;
    publicUrl?: () => string;
    addressPolicy?: AddressPolicy;
    /** Limits for SQL transforms (e.g. a short time limit). */
    transformLimits?: TransformLimits;
    /** Pipeline step handlers replacing the built-in ones. */
    stepHandlers?: StepHandlers;
    /** Metric sources alert rules can watch. */
    alertSources?: AlertMetricSource[];
    /** The metadata database (migrated; e.g. PostgreSQL from test/databases.ts), the caller's to close; default a new SQLite file. */
    db?: Kysely<ServerTables>;
  } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), "caretflow-server-"));
  const db = opts.db ?? openSqlite<ServerTables>(join(dir, "caretflow.db"));
  if (!opts.db) await migrateToLatest(db as Kysely<unknown>, serverMigrations, dataMigrations);
  const store = opts.datasets ? await DatasetStore.open({ root: join(dir, "datasets"), db: db as unknown as Kysely<DataTables> }) : null;
  const auth = new AuthService({ db });
  const projects = new ProjectService({ db });
  const audit = new AuditLog({ db });
  const adminPassword = (await auth.ensureAdmin())!;
  const repo = new JobRepository(db);
  const hub = new JobEventHub();
  const log: AppContext["log"] = () => {};
  const catalog: CatalogPort = opts.catalog ?? { get: async () => CATALOG };
  const quality = new QualityService({ db, datasets: store ?? absent("datasets"), workDir: dir, log, sqlTimeoutMs: 5000 });
  store?.onVersionCreated((v) => quality.onNewVersion(v));
  const digests = new ModelDigestRepository(db);
  const post = new JobPostSteps({
    datasets: store ?? absent("datasets"),
    projects,
    digests,
    outboxDir: join(dir, "datasets", ".outbox"),
    audit,
  });
  const jobs = new JobService({
    repo,
    hub,
    executor: new LocalExecutor({ engine: opts.engine ?? absent("engine"), concurrency: 1, post }),
    datasets: store ?? absent("datasets"),
    tracking: opts.trackingUri ? withTrackingUri(opts.trackingUri) : absent("tracking"),
    catalog,
    projects,
    digests,
    jobsDir: join(dir, "jobs"),
    nJobs: 1,
    log,
    audit,
    quality,
  });
  const secrets = await SecretBox.open(join(dir, "secret.key"));
  const sso = new SsoService({ db, secrets, auth, projects, audit, log, publicUrl: opts.publicUrl ?? (() => "http://localhost") });
  // Tests reach their own servers on loopback; everything else keeps the default refusals.
  const connections = new ConnectionService({
    db,
    secrets,
    addressPolicy: () => opts.addressPolicy ?? { allowPrivateNetworks: false, allowList: ["127.0.0.0/8"] },
    fileRoot: join(dir, "connection-files"),
  });
  const secretKey = new SecretKeyService({ db, secrets });
  const transforms = new TransformService({
    db,
    datasets: store ?? absent("datasets"),
    projects,
    ...(opts.transformLimits ? { limits: opts.transformLimits } : {}),
  });
  const pipelineWiring: PipelineWiring = {
    db,
    home: dir,
    jobs,
    datasets: store ?? absent("datasets"),
    projects,
    connections,
    transforms,
    quality,
    log,
    python: enginePython(defaultRepoRoot()),
    tracking: absent("tracking"),
    catalog,
    audit,
    auth,
    addressPolicy: () => opts.addressPolicy ?? { allowPrivateNetworks: false, allowList: ["127.0.0.0/8"] },
    ...(opts.stepHandlers ? { handlers: opts.stepHandlers } : {}),
  };
  const pipelines = createPipelines(pipelineWiring);
  const alerts = new AlertService({
    db,
    secrets,
    sources: opts.alertSources ?? [],
    addressPolicy: () => opts.addressPolicy ?? { allowPrivateNetworks: false, allowList: ["127.0.0.0/8"] },
    pipelines,
    log,
  });
  const deployments = new DeploymentRepository(db);
  // Monitoring over <dir>/prediction-log: tests write log files there as the gateway would.
  const monitoring = createMonitoring({
    db,
    home: dir,
    tmpDir: dir,
    jobs,
    tracking: () => over.tracking ?? absent("tracking"),
    deployments,
    log,
  });
  const runsIndex = new RunsIndexRepository(db, { pageCacheMs: 2000 });
  projects.onObjectsChanged(() => runsIndex.invalidate());
  const ctx: AppContext = {
    runsIndex,
    auth,
    projects,
    audit,
    backoff: new LoginLimiter(),
    sso,
    datasets: store ?? absent("datasets"),
    connections,
    transforms,
    quality,
    secretKey,
    datasetNameFromFilename,
    jobs,
    pipelines,
    alerts,
    catalog,
    tracking: absent("tracking"),
    modelLifecycle: new ModelLifecycle({
      repo: new ModelLifecycleRepository(db),
      tracking: over.tracking ?? absent("tracking"),
      audit,
    }),
    scoring: absent("scoring"),
    deployments: { repo: deployments, gateway: absent("gateway") },
    monitoring: monitoring.routes,
    health: () => ({
      status: "degraded",
      version: "test",
      server: { ready: true },
      mlflow: { ready: false, restarts: 0 },
      engine: { ready: false },
    }),
    log,
    tmpDir: dir,
    maxUploadBytes: 1024 * 1024,
    mlflowUiUpstream: () => null,
    webDist: null,
    ...over,
  };
  const app = createApp(ctx);
  const login = async (): Promise<string> => {
    const res = await app.request("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: adminPassword }),
    });
    const cookie = res.headers.get("set-cookie");
    if (res.status !== 200 || !cookie) throw new Error(`login failed: ${res.status}`);
    return cookie.split(";")[0]!;
  };
  return {
    app,
    db,
    runsIndex,
    auth,
    projects,
    audit,
    repo,
    hub,
    jobs,
    pipelines,
    alerts,
    /** What the fixture's pipeline service was made from, to make another (a restarted server). */
    pipelineWiring,
    store,
    dir,
    sso,
    secrets,
    adminPassword,
    login,
    connections,
    quality,
    transforms,
    monitoring,
    async close() {
      await monitoring.close();
      await pipelines.close();
      await quality.idle();
      await connections.close();
      await store?.close();
      if (!opts.db) await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
