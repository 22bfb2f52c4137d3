import { existsSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressPolicy } from "@caretflow/connectors";
import { CARETFLOW_VERSION, CaretflowError, describeStorage, type Health, isTerminalStatus, storageConfig } from "@caretflow/contracts";
import { DatasetStore, type DataTables, dataMigrations, datasetNameFromFilename, S3BlobStore } from "@caretflow/data";
import { EngineHost, engineFingerprint, ScoringPool } from "@caretflow/engine-host";
import { chooseEngineThreads, type EngineRunner, type Executor, LocalExecutor, RedisExecutor } from "@caretflow/orchestrator";
import { MlflowClient } from "@caretflow/tracking";
import { serve } from "@hono/node-server";
import type { Kysely } from "kysely";
import { AlertService } from "./alerts/alert.service.ts";
import { AuditLog, SYSTEM_ACTOR } from "./audit/audit.log.ts";
import { AuthService } from "./auth/auth.service.ts";
import { LoginLimiter } from "./auth/login.limiter.ts";
import { CatalogService } from "./catalog/catalog.service.ts";
import { writeCliFile } from "./cli.file.ts";
import { cliToken } from "./cli.token.ts";
import { ConnectionService } from "./connections/connection.service.ts";
import { describeDatabase, metadataDatabase, migrateToLatest, openDatabase } from "./db/database.ts";
import { serverMigrations } from "./db/server.migrations.ts";
import type { ServerTables } from "./db/server.tables.ts";
import { createServing } from "./deployments/serving.wiring.ts";
import { createApp } from "./http/app.ts";
import { allowedHosts, allowedHostsFromEnv } from "./http/security.ts";
import { JobEventHub } from "./jobs/job.hub.ts";
import { JobPostSteps } from "./jobs/job.post-steps.ts";
import { JobRepository } from "./jobs/job.repository.ts";
import { JobService } from "./jobs/job.service.ts";
import { metricsToken, ServerMetrics } from "./metrics/metrics.ts";
import { mlflowWriteTouches } from "./mlflow/mlflow.policy.ts";
import { experimentProjects, mlflowLookup } from "./mlflow/mlflow.scope.ts";
import { openMlflowBackend } from "./mlflow.backend.ts";
import { ModelLifecycle } from "./models/model.lifecycle.ts";
import { backfillModelDigests } from "./models/model-digest.backfill.ts";
import { ModelDigestRepository } from "./models/model-digest.repository.ts";
import { ModelLifecycleRepository } from "./models/model-lifecycle.repository.ts";
import { withModelListCache } from "./models/model-list.cache.ts";
import { createMonitoring } from "./monitoring/monitoring.wiring.ts";
import { PipelineAutomation } from "./pipelines/pipeline.automation.ts";
import { createPipelines } from "./pipelines/pipeline.wiring.ts";
import type { Logger } from "./ports.ts";
import { ProjectService } from "./projects/project.service.ts";
import { QualityService } from "./quality/quality.service.ts";
import { RunsIndexRepository } from "./runs/runs.index.ts";
import { RunsIndexSync } from "./runs/runs.sync.ts";
import { SecretBox } from "./secrets/secret-box.ts";
import { SecretKeyService } from "./secrets/secret-key.service.ts";
import { fetchJobLog, fetchSpecDatasets } from "./shared-storage.ts";
import { SsoService } from "./sso/sso.service.ts";
import { stopStack } from "./stop-stack.ts";
import { externalMlflowConfig } from "./tracking.external.ts";
import { trackingPort } from "./tracking.port.ts";
import { TransformService } from "./transforms/transform.service.ts";

export interface StartOptions {
  /** caretflow's home folder (created with mode 700). */
  home: string;
  /** 0 = a free port (tests); the CLI passes 8420. */
  port?: number;
  /** Listen address; loopback unless set. */
  host?: string;
  log?: (line: string) => void;
  /** Import the demo datasets (one per task: juice, insurance, iris, jewellery, anomaly, pycaret_downloads, spam, france) on first start. */
  demo?: boolean;
  /** Warm engine workers = training jobs at once. Default 1; never more than the machine's cores. */
  engineWorkers?: number;
  /**
   * Memory one job may use, MB (its processes' proportional set size); a job going over is stopped
   * and fails as out of memory, leaving the server and other jobs alone. Default: 70% of the
   * machine's memory shared by the workers; CARETFLOW_JOB_MEMORY_MB overrides the default.
   */
  jobMemoryMb?: number;
  /** Processes one classification or regression comparison spreads its models over. Default: cores / engine workers. */
  compareWorkers?: number;
  /** Largest upload accepted, bytes. Default 1 GiB. */
  maxUploadBytes?: number;
  /** Repository root (engine/.venv, demo-data/, packages/web/dist); found from this file by default. */
  repoRoot?: string;
  /**
   * true (default): resolve once MLflow answers. false: serve at once while MLflow
   * starts in the background (GET /api/health says when it is ready; jobs wait for it),
   * so a restart is usable in seconds.
   */
  waitForMlflow?: boolean;
  /**
   * The URL browsers use, e.g. https://ml.example.com behind a TLS-terminating proxy: its host name is
   * accepted in the Host header, and https makes the session cookie Secure. Default CARETFLOW_PUBLIC_URL.
   */
  publicUrl?: string;
  /** More host names to answer to (DNS-rebinding check); CARETFLOW_ALLOWED_HOSTS (comma-separated) adds to them. */
  allowedHosts?: string[];
  /**
   * Let connections reach loopback and private networks (refused by default; link-local and the cloud
   * metadata address stay refused). Default: CARETFLOW_ALLOW_PRIVATE_NETWORKS=1.
   */
  allowPrivateNetworks?: boolean;
  /** CIDR ranges connections may reach whatever they are; CARETFLOW_ALLOW_NETWORKS (comma-separated) adds to them. */
  allowNetworks?: string[];
  /**
   * Queue jobs on this Redis server (redis://...) for `caretflow worker` processes to run, instead of
   * running them in this process's engine. Default CARETFLOW_REDIS_URL; unset: jobs run here.
   */
  redisUrl?: string;
  /**
   * An existing MLflow tracking server to use instead of starting one, e.g. https://mlflow.example.com
   * (with its --static-prefix path if any). Default CARETFLOW_MLFLOW_URL; unset: caretflow runs its own.
   * Its credentials: `mlflowUsername` and `mlflowPassword` or `mlflowToken`, else CARETFLOW_MLFLOW_USERNAME
   * and CARETFLOW_MLFLOW_PASSWORD (or CARETFLOW_MLFLOW_PASSWORD_FILE), or CARETFLOW_MLFLOW_TOKEN (or _FILE).
   */
  mlflowUrl?: string;
  mlflowUsername?: string;
  mlflowPassword?: string;
  mlflowToken?: string;
  /**
   * The metadata database: a PostgreSQL URL (postgres://user:password@host:5432/db), shared with
   * `caretflow worker` processes on other machines, or a SQLite file path. Default
   * CARETFLOW_DATABASE_URL; unset: <home>/caretflow.db.
   */
  database?: string;
  /**
   * Shared storage for dataset files and caretflow's MLflow artifacts: s3://bucket[/prefix], so
   * `caretflow worker --storage` on other machines needs no shared folder. Default CARETFLOW_STORAGE_URL;
   * an S3-compatible store's endpoint is CARETFLOW_S3_ENDPOINT_URL; credentials come from the AWS chain
   * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, a profile or a role). Unset: the home's disk only.
   */
  storage?: string;
  /** A file holding the token Prometheus sends to GET /metrics; default CARETFLOW_METRICS_TOKEN (or _FILE); none: /metrics is off. */
  metricsTokenFile?: string;
  /** How often deployments' drift schedules (`driftEvery`) are looked at, ms. Default one minute. */
  driftTickMs?: number;
}

export interface StartedCaretflow {
  url: string;
  /** The generated admin password on first start only; null afterwards. */
  adminPassword: string | null;
  /** Stops the HTTP server, running jobs and every child process. */
  close(): Promise<void>;
}

/**
 * A runs page is read again by the same query at most this long after its read (docs/tracking.md, "Runs
 * index"): the index's own writes and this server's ownership changes drop cached pages at once.
 */
const RUNS_PAGE_CACHE_MS = 2000;

/** packages/server/src -> repository root. */
export function defaultRepoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
}

/**
 * Starts caretflow on its embedded defaults: SQLite metadata (or PostgreSQL, `database`), a supervised
 * MLflow server, warm engine workers, the dataset store and the HTTP server.
 * @example const cf = await startCaretflow({ home: "/tmp/cf", port: 0 }); ...; await cf.close();
 */
export async function startCaretflow(opts: StartOptions): Promise<StartedCaretflow> {
  const home = resolve(opts.home);
  const repo = opts.repoRoot ?? defaultRepoRoot();
  const print = opts.log ?? ((line: string) => console.log(line));
  const log: Logger = (level, msg) => print(level === "info" ? msg : `${level}: ${msg}`);
  // Checked before anything starts: a mistyped URL must not cost a full start.
  const publicUrl = checkedPublicUrl(opts.publicUrl ?? process.env.CARETFLOW_PUBLIC_URL);
  const externalMlflow = externalMlflowConfig(
    { url: opts.mlflowUrl, username: opts.mlflowUsername, password: opts.mlflowPassword, token: opts.mlflowToken },
    process.env,
  );
  const database = metadataDatabase(home, opts.database);
  const storage = storageConfig(opts.storage, process.env);
  const metricsAccess = metricsToken(opts.metricsTokenFile, process.env);
  const stack = stopStack(log);
  const closeAll = stack.closeAll;

  try {
    const dirs = {
      tmp: join(home, "tmp"),
      jobs: join(home, "jobs"),
      datasets: join(home, "datasets"),
      mlflow: join(home, "mlflow"),
      logs: join(home, "logs"),
    };
    await mkdir(home, { recursive: true, mode: 0o700 });
    await chmod(home, 0o700);
    for (const d of Object.values(dirs)) await mkdir(d, { recursive: true, mode: 0o700 });
    log("info", `caretflow ${CARETFLOW_VERSION} starting in ${home}`);
    if (storage)
      log("info", `shared storage: ${describeStorage(storage)} (dataset files and MLflow artifacts; ${dirs.datasets} caches it)`);
    const python = join(repo, "engine", ".venv", "bin", "python");
    const mlflowBin = join(repo, "engine", ".venv", "bin", "mlflow");
    if (!existsSync(python) || !existsSync(mlflowBin)) {
      throw new Error(`the engine's Python environment is missing (${join(repo, "engine", ".venv")}); run README's install command first`);
    }
    // Before the metadata database: a refused external MLflow must not cost the first start's admin password.
    const mlflow = await openMlflowBackend({ external: externalMlflow, mlflowBin, mlflowHome: dirs.mlflow, log, storage });
    stack.push(() => mlflow.stop());
    const mlflowUrl = mlflow.url;
    const mlflowStarted = mlflow.started;

    const db = await openDatabase<ServerTables & DataTables>(database);
    stack.push(() => db.destroy());
    if (database.kind === "postgres") log("info", `metadata in PostgreSQL at ${describeDatabase(database)}`);
    const applied = await migrateToLatest(db as unknown as Kysely<unknown>, serverMigrations, dataMigrations);
    if (applied.length > 0) log("info", `metadata database ready (${applied.length} migrations applied)`);
    const serverDb = db as unknown as Kysely<ServerTables>;

    const auth = new AuthService({ db: serverDb });
    const projects = new ProjectService({ db: serverDb });
    const audit = new AuditLog({ db: serverDb });
    const adminPassword = await auth.ensureAdmin();
    if (adminPassword !== null) {
      await audit.record({ actor: SYSTEM_ACTOR, action: "user.create", target: { kind: "user", id: "admin" }, after: { role: "admin" } });
    }
    // Secrets stored in the database (connection credentials, the single sign-on client secret) are sealed with this key.
    const secrets = await SecretBox.open(join(home, "secret.key"));
    // Values an interrupted key rotation left under secret.key.next (or .previous) are re-sealed with secret.key.
    const secretKey = new SecretKeyService({ db: serverDb, secrets });
    const recovered = await secretKey.recover();
    if (recovered > 0) log("warn", `re-sealed ${recovered} stored secrets with secret.key (a key rotation had not finished)`);
    // The redirect URI is built from the public URL, else the address caretflow listens on (known below).
    let listenUrl = "";
    const sso = new SsoService({ db: serverDb, secrets, auth, projects, audit, log, publicUrl: () => publicUrl ?? listenUrl });
    // Prometheus metrics (GET /metrics with metricsAccess): HTTP, jobs, the process; the serving gateway records predictions.
    const metrics = new ServerMetrics();
    if (metricsAccess) log("info", "Prometheus metrics are served at /metrics to requests bearing the metrics token");
    const repoJobs = new JobRepository(serverDb);
    const hub = new JobEventHub();

    const cores = availableParallelism();
    const workers = Math.min(Math.max(1, opts.engineWorkers ?? 1), cores);
    if ((opts.engineWorkers ?? 1) > cores) log("warn", `engine workers limited to ${cores}, the machine's cores`);
    const jobMemoryMb =
      opts.jobMemoryMb ?? (Number(process.env.CARETFLOW_JOB_MEMORY_MB) || Math.floor((totalmem() * 0.7) / workers / 2 ** 20));
    log("info", mlflow.kind === "embedded" ? "starting MLflow and the engine workers" : "starting the engine workers");
    // Specs name datasets by name and version, and prediction-log files by their path under the log's folder:
    // the engine finds them under these roots.
    const engineEnv = {
      CARETFLOW_DATA_ROOT: dirs.datasets,
      CARETFLOW_PREDICTION_LOG_ROOT: join(home, "prediction-log"),
      ...mlflow.engineEnv,
    };
    const engineDir = join(repo, "engine");
    const engine = await EngineHost.start({ python, engineDir, workers, logDir: dirs.logs, log, env: engineEnv, jobMemoryMb });
    log("info", `each job may use up to ${jobMemoryMb} MB of memory`);
    stack.push(() => engine.close());
    const catalog = new CatalogService({
      engine,
      // The catalog belongs to the engine's environment, not to a home: every home on this checkout shares it.
      cacheFile: join(engineDir, ".venv", `caretflow-catalog-${engineFingerprint(engineDir)}.json`),
      logPath: join(dirs.logs, "catalog.log"),
      log,
    });
    await catalog.start();
    if (opts.waitForMlflow ?? true) await mlflowStarted;
    else mlflowStarted.catch((err: Error) => log("error", `MLflow did not start: ${err.message}`));

    const blobs = storage ? new S3BlobStore(storage) : undefined;
    if (blobs) stack.push(async () => blobs.close());
    const store = await DatasetStore.open({ root: dirs.datasets, db: db as unknown as Kysely<DataTables>, ...(blobs ? { blobs } : {}) });
    stack.push(() => store.close());
    if (blobs) {
      // Versions stored on this home before it used shared storage: uploaded, so workers elsewhere can read them.
      const uploading = store
        .uploadLocalVersions()
        .then((n) => {
          if (n > 0) log("info", `uploaded ${n} dataset file(s) stored before ${storage!.url} was used`);
        })
        .catch((err: Error) => log("warn", `could not upload the dataset files stored before shared storage was used: ${err.message}`));
      stack.push(() => uploading);
    }
    // Every new version (upload, connection import, prediction, transform) is checked against its dataset's rules.
    const quality = new QualityService({ db: serverDb, datasets: store, workDir: dirs.tmp, log });
    store.onVersionCreated((v) => quality.onNewVersion(v));
    stack.push(() => quality.idle());
    const scoring = new ScoringPool({ python, engineDir, trackingUri: mlflowUrl, logDir: dirs.logs, log, env: engineEnv });
    stack.push(() => scoring.close());
    const digests = new ModelDigestRepository(serverDb);
    const mlflowClient = new MlflowClient({ baseUrl: mlflowUrl, ...(mlflow.authorization ? { authorization: mlflow.authorization } : {}) });
    // Deployments: scoring processes of their own, the gateway and the prediction log; alias moves reach it at once.
    const serving = createServing({
      db: serverDb,
      home,
      python,
      engineDir,
      trackingUri: mlflowUrl,
      logDir: dirs.logs,
      env: engineEnv,
      log,
      observer: { onPrediction: (p) => metrics.observePrediction(p) },
    });
    stack.push(() => serving.close());
    // The model list is cached (MLflow answers it on one worker); caretflow's own registry writes drop it at once.
    const models = withModelListCache(trackingPort(mlflowClient, mlflowUrl, digests));
    const tracking = serving.tracking(models.tracking);
    const gateway = await serving.start(tracking, mlflowStarted);
    // After an upgrade: record the digests of models made before caretflow recorded them (once).
    let closing = false;
    let backfill: Promise<unknown> | null = null;
    mlflowStarted.then(
      () => {
        if (closing) return;
        backfill = Promise.all([
          backfillModelDigests({ db: serverDb, digests, client: mlflowClient, log }).catch((err: Error) =>
            log("warn", `could not record the digests of earlier models: ${err.message}`),
          ),
          // ...and the project of each experiment made before experiments had projects.
          experimentProjects(projects, mlflowLookup(mlflowUrl, mlflow.authorization ?? undefined)).catch((err: Error) =>
            log("warn", `could not record the projects of earlier experiments: ${err.message}`),
          ),
        ]);
      },
      () => {},
    );
    stack.push(async () => {
      closing = true;
      await backfill;
    });

    const post = new JobPostSteps({ datasets: store, projects, digests, outboxDir: join(dirs.datasets, ".outbox"), audit });
    const redisUrl = opts.redisUrl ?? process.env.CARETFLOW_REDIS_URL;
    const executor: Executor = redisUrl
      ? await RedisExecutor.open({ url: redisUrl })
      : new LocalExecutor({
          engine: afterMlflow(engine, mlflowStarted, mlflow.hint),
          concurrency: workers,
          post,
          // With shared storage this machine may lack a version's file (a worker made it): fetched first.
          ...(blobs ? { prepare: (spec) => fetchSpecDatasets(store, spec) } : {}),
        });
    if (redisUrl) log("info", "jobs are queued on Redis for `caretflow worker` processes");
    const jobs = new JobService({
      repo: repoJobs,
      hub,
      executor,
      datasets: store,
      tracking,
      catalog,
      projects,
      digests,
      jobsDir: dirs.jobs,
      nJobs: chooseEngineThreads(cores, workers),
      compareWorkers: Math.max(1, opts.compareWorkers ?? Math.floor(cores / workers)),
      log,
      audit,
      quality,
      ...(blobs ? { fetchLog: (id: string, path: string) => fetchJobLog(blobs, id, path, log) } : {}),
    });
    metrics.trackJobs(jobs.counts);
    // The runs list reads caretflow's index of MLflow's runs: synced every few seconds, and at once when a job ends.
    const runsIndex = new RunsIndexRepository(serverDb, { pageCacheMs: RUNS_PAGE_CACHE_MS });
    const stopRunsOwnership = projects.onObjectsChanged(() => runsIndex.invalidate());
    const runsSync = new RunsIndexSync({ client: mlflowClient, repo: runsIndex, log });
    mlflowStarted.then(
      () => closing || runsSync.start(),
      () => {},
    );
    const stopRunsRefresh = hub.subscribeAll((_, e) => {
      if (e.type !== "status" || !isTerminalStatus(e.status)) return;
      // A training job may have registered a model straight in MLflow.
      models.invalidate();
      void runsSync.refresh();
    });
    stack.push(async () => {
      stopRunsRefresh();
      stopRunsOwnership();
      await runsSync.close();
    });
    stack.push(async () => {
      await executor.close();
      await jobs.drain();
    });
    const unfinished = await jobs.recoverUnfinished(mlflowStarted);
    if (unfinished.failed > 0)
      log("warn", `${unfinished.failed} job(s) from the previous run were left unfinished and are now marked failed (ServerRestarted)`);
    if (unfinished.reattached > 0) log("info", `following ${unfinished.reattached} job(s) queued or running on workers again`);

    if (opts.demo) await importDemoData({ db: serverDb, store, repo, log, audit });

    const health = (): Health => {
      const m = mlflow.status();
      const e = engine.status();
      const cat = catalog.status();
      return {
        status: m.ready && e.ready ? "ok" : "degraded",
        version: CARETFLOW_VERSION,
        server: { ready: true },
        mlflow: { ready: m.ready, restarts: m.restarts, ...(m.message ? { message: m.message } : {}) },
        engine: {
          ready: e.ready && cat.ready,
          ...(e.ready && !cat.ready ? { message: cat.message } : e.message ? { message: e.message } : {}),
        },
      };
    };
    const webDist = join(repo, "packages", "web", "dist");
    if (!existsSync(join(webDist, "index.html"))) log("warn", "the web UI is not built; run `npm run build:web` (the API works meanwhile)");

    const hostname = opts.host ?? "127.0.0.1";
    const hosts = allowedHosts({
      listenHost: hostname,
      ...(publicUrl ? { publicUrl } : {}),
      extra: [...(opts.allowedHosts ?? []), ...allowedHostsFromEnv(process.env.CARETFLOW_ALLOWED_HOSTS)],
    });
    const addressPolicy: AddressPolicy = {
      allowPrivateNetworks: opts.allowPrivateNetworks ?? process.env.CARETFLOW_ALLOW_PRIVATE_NETWORKS === "1",
      allowList: [
        ...(opts.allowNetworks ?? []),
        ...(process.env.CARETFLOW_ALLOW_NETWORKS ?? "")
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      ],
    };
    const connections = new ConnectionService({
      db: serverDb,
      secrets,
      addressPolicy: () => addressPolicy,
      fileRoot: join(home, "connection-files"),
    });
    stack.push(() => connections.close());
    // Uploaded SQLite files whose connection was never created, left by earlier runs.
    void connections
      .sweepUnusedFiles()
      .then((n) => n > 0 && log("info", `removed ${n} uploaded SQLite file(s) no connection uses`))
      .catch((err: unknown) => log("warn", `could not sweep unused connection files: ${(err as Error).message}`));
    const transforms = new TransformService({
      db: serverDb,
      datasets: store,
      projects,
      limits: {
        ...(Number(process.env.CARETFLOW_TRANSFORM_TIMEOUT_S) > 0
          ? { timeoutMs: Number(process.env.CARETFLOW_TRANSFORM_TIMEOUT_S) * 1000 }
          : {}),
        ...(process.env.CARETFLOW_TRANSFORM_MEMORY ? { memoryLimit: process.env.CARETFLOW_TRANSFORM_MEMORY } : {}),
      },
    });
    await mkdir(join(home, "files"), { recursive: true, mode: 0o700 });
    const pipelines = createPipelines({
      db: serverDb,
      home,
      jobs,
      datasets: store,
      projects,
      connections,
      transforms,
      quality,
      log,
      python,
      tracking,
      catalog,
      audit,
      auth,
      addressPolicy: () => addressPolicy,
    });
    stack.push(() => pipelines.close());
    const continued = await pipelines.recover();
    if (continued > 0) log("info", `continuing ${continued} pipeline run(s) left running`);
    const automation = new PipelineAutomation({
      pipelines,
      repo: pipelines.repository,
      projects,
      onVersionCreated: (l) => store.onVersionCreated(l),
      log,
    });
    await automation.start();
    stack.push(() => automation.stop());
    // Monitoring reads the prediction log (figures, labels, drift checks on their schedule); alert rules
    // are checked every minute on the metrics it measures.
    const monitoring = createMonitoring({
      db: serverDb,
      home,
      tmpDir: dirs.tmp,
      jobs,
      tracking: () => tracking,
      deployments: serving.repo,
      log,
      flushLog: () => serving.predictionLog.flush(),
      logDays: serving.retentionDays,
    });
    monitoring.start(opts.driftTickMs);
    stack.push(() => monitoring.close());
    const alerts = new AlertService({
      db: serverDb,
      secrets,
      sources: monitoring.alertSources(),
      addressPolicy: () => addressPolicy,
      pipelines,
      log,
    });
    alerts.start();
    stack.push(() => alerts.close());
    const app = createApp({
      auth,
      projects,
      audit,
      backoff: new LoginLimiter(),
      sso,
      datasets: store,
      connections,
      transforms,
      quality,
      secretKey,
      datasetNameFromFilename,
      jobs,
      pipelines,
      alerts,
      catalog,
      tracking,
      modelPage: models.modelPage,
      modelLifecycle: new ModelLifecycle({ repo: new ModelLifecycleRepository(serverDb), tracking, audit }),
      runsIndex,
      scoring,
      deployments: { repo: serving.repo, gateway },
      monitoring: monitoring.routes,
      health,
      log,
      tmpDir: dirs.tmp,
      maxUploadBytes: opts.maxUploadBytes ?? 1024 ** 3,
      // An external server is always tried: it may be back before the next health poll notices.
      mlflowUiUpstream: () => (mlflow.kind === "external" || mlflow.status().ready ? mlflowUrl : null),
      ...(mlflow.authorization ? { mlflowProxy: { authorization: mlflow.authorization } } : {}),
      // A site admin's change made through /mlflow shows at once, as caretflow's own changes do.
      onMlflowWrite: (segments) => {
        const touched = mlflowWriteTouches(segments);
        if (touched.models) {
          models.invalidate();
          void gateway.recheck();
        }
        if (touched.runs) void runsSync.refresh();
      },
      webDist,
      ...(publicUrl ? { publicUrl } : {}),
      allowedHosts: hosts,
      metrics: { registry: metrics, token: metricsAccess },
    });

    const port = await listenPort(opts.port ?? 8420, hostname);
    const server = serve({ fetch: app.fetch, port, hostname, serverOptions: { requestTimeout: UPLOAD_TIMEOUT_MS } });
    await new Promise<void>((ok, fail) => {
      if (server.listening) ok();
      server.once("listening", () => ok());
      server.once("error", fail);
    });
    stack.push(
      () =>
        new Promise<void>((ok) => {
          // Open event streams would keep close() waiting forever.
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          server.close(() => ok());
        }),
    );
    const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${(server.address() as AddressInfo).port}`;
    listenUrl = url;
    if (!publicUrl && (hostname === "0.0.0.0" || hostname === "::") && (await sso.settings.config().catch(() => null))) {
      log("warn", `single sign-on's redirect URI is built from ${url}, which browsers cannot use; set --public-url (CARETFLOW_PUBLIC_URL)`);
    }

    const token = await cliToken(auth, audit, home);
    await writeCliFile(home, { url, token });
    log(
      "info",
      mlflow.status().ready
        ? `caretflow is ready at ${url} (MLflow UI at ${url}/mlflow/)`
        : `caretflow is serving at ${url}; MLflow is still starting (GET ${url}/api/health says when it is ready)`,
    );
    // The generated password goes back to the caller (the CLI prints it once); it is never logged.

    let closed: Promise<void> | null = null;
    return {
      url,
      adminPassword,
      close: () => {
        closed ??= closeAll().then(() => log("info", "caretflow stopped"));
        return closed;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The public URL as given, refused at start when it is not an http(s) URL. */
function checkedPublicUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {}
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new CaretflowError({
      code: "invalid_public_url",
      kind: "user",
      message: `the public URL '${raw.slice(0, 200)}' is not an http(s) URL`,
      hint: "Give the address browsers use, e.g. --public-url https://ml.example.com",
    });
  }
  return url.origin;
}

/** Jobs log to MLflow, so none starts before MLflow answers (or is cancelled while waiting). */
function afterMlflow(engine: EngineRunner, mlflowStarted: Promise<void>, hint: string): EngineRunner {
  return {
    async run(spec, o) {
      const aborted = new Promise<"aborted">((resolve) => {
        if (o.signal?.aborted) resolve("aborted");
        o.signal?.addEventListener("abort", () => resolve("aborted"), { once: true });
      });
      const ready = mlflowStarted.then(
        () => "ready" as const,
        (err: Error) => err,
      );
      const first = await Promise.race([ready, aborted]);
      if (first === "aborted") return { status: "cancelled" };
      if (first instanceof Error) {
        return {
          status: "failed",
          error: {
            name: "mlflow_unavailable",
            message: `MLflow did not start: ${first.message}`,
            hint,
            transient: true,
          },
        };
      }
      return await engine.run(spec, o);
    },
  };
}

/**
 * How long a request may take to arrive, body included: Node's default (5 minutes) cut off uploads of a
 * few GB on slow links with a 408. Headers still have to arrive within Node's headersTimeout (1 minute).
 */
export const UPLOAD_TIMEOUT_MS = 60 * 60 * 1000;

/** Port 0 asks the OS for a free port; resolving it first lets the URL be known before serve(). */
async function listenPort(port: number, host: string): Promise<number> {
  if (port !== 0) return port;
  return await new Promise((ok, fail) => {
    const s = createNetServer();
    s.once("error", fail);
    s.listen(0, host, () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => ok(p));
    });
  });
}

/** One dataset per task, so every task can be tried on first start (demo-data/README.md). */
const DEMO: readonly { name: string; file: string; encoding?: string }[] = [
  { name: "juice", file: "juice.csv" },
  { name: "insurance", file: "insurance.csv" },
  { name: "iris", file: "iris.csv" },
  { name: "jewellery", file: "jewellery.csv" },
  { name: "anomaly", file: "anomaly.csv" },
  { name: "pycaret_downloads", file: "pycaret_downloads.csv" },
  { name: "spam", file: "spam.csv", encoding: "windows-1252" },
  { name: "france", file: "france.csv" },
];

/** Imports the demo datasets once per home (deleting one later does not bring it back). */
async function importDemoData(deps: {
  db: Kysely<ServerTables>;
  store: DatasetStore;
  repo: string;
  log: Logger;
  audit: AuditLog;
}): Promise<void> {
  const done = await deps.db.selectFrom("server_meta").select("value").where("key", "=", "demo_imported").executeTakeFirst();
  if (done) return;
  for (const d of DEMO) {
    const path = join(deps.repo, "demo-data", d.file);
    if (!existsSync(path)) {
      deps.log("warn", `demo dataset ${path} is missing; skipping it`);
      continue;
    }
    const r = await deps.store.importFile({
      path,
      name: d.name,
      filename: d.file,
      source: { kind: "demo" },
      ...(d.encoding ? { encoding: d.encoding } : {}),
    });
    deps.log("info", `demo dataset '${d.name}' imported (v${r.version.version}, ${r.version.rowCount} rows)`);
    if (r.created) {
      await deps.audit.record({
        actor: SYSTEM_ACTOR,
        action: "dataset.import",
        target: { kind: "dataset", id: `${r.version.dataset}/${r.version.version}` },
        after: { dataset: r.version.dataset, version: r.version.version, rows: r.version.rowCount, filename: d.file, source: "demo" },
      });
    }
  }
  await deps.db.insertInto("server_meta").values({ key: "demo_imported", value: new Date().toISOString() }).execute();
}
