import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { CARETFLOW_VERSION, describeStorage, storageConfig } from "@caretflow/contracts";
import { DatasetStore, type DataTables, dataMigrations, S3BlobStore } from "@caretflow/data";
import { EngineHost } from "@caretflow/engine-host";
import { RedisWorker } from "@caretflow/orchestrator";
import { MLFLOW_SECRET_FILE } from "@caretflow/tracking";
import type { Kysely } from "kysely";
import { AuditLog } from "./audit/audit.log.ts";
import { describeDatabase, metadataDatabase, migrateToLatest, openDatabase } from "./db/database.ts";
import { serverMigrations } from "./db/server.migrations.ts";
import type { ServerTables } from "./db/server.tables.ts";
import { JobPostSteps } from "./jobs/job.post-steps.ts";
import { EXTERNAL_MLFLOW_FILE, workerMlflowEnv } from "./mlflow.backend.ts";
import { ModelDigestRepository } from "./models/model-digest.repository.ts";
import type { Logger } from "./ports.ts";
import { ProjectService } from "./projects/project.service.ts";
import { QualityService } from "./quality/quality.service.ts";
import { fetchSpecDatasets, withJobLogsInStorage } from "./shared-storage.ts";
import { defaultRepoRoot } from "./start.ts";
import { stopStack } from "./stop-stack.ts";
import { externalMlflowConfig } from "./tracking.external.ts";

export interface WorkerOptions {
  /**
   * The caretflow home it shares with the server: its metadata database, datasets and MLflow credentials.
   * With `storage`, a folder of this machine's own instead: its cache of dataset files, its logs and temporary files.
   */
  home: string;
  /**
   * The server's shared storage (`caretflow up --storage`), s3://bucket[/prefix]: dataset files are read from and
   * written to it, so the worker needs no shared folder. Default CARETFLOW_STORAGE_URL; endpoint and credentials
   * as for the server (CARETFLOW_S3_ENDPOINT_URL, the AWS chain).
   */
  storage?: string;
  /** The Redis server the caretflow server queues jobs on (`caretflow up --redis URL`). */
  redisUrl: string;
  /** Jobs at once (warm engine workers). Default 1; never more than the machine's cores. */
  engineWorkers?: number;
  /** Memory one job may use, MB; default as for the server. */
  jobMemoryMb?: number;
  repoRoot?: string;
  log?: (line: string) => void;
  /**
   * How long this worker's hold on a job lasts unless renewed; a worker that dies loses its job after
   * this and another worker takes it over. Default 30 s, or CARETFLOW_WORKER_LOCK_MS.
   */
  lockMs?: number;
  /** The server's external MLflow, as for the server (`StartOptions.mlflowUrl`); default CARETFLOW_MLFLOW_URL and its credential variables. */
  mlflowUrl?: string;
  mlflowUsername?: string;
  mlflowPassword?: string;
  mlflowToken?: string;
  /**
   * The server's metadata database: its PostgreSQL URL (`caretflow up --database`), or a SQLite file.
   * Default CARETFLOW_DATABASE_URL; unset: <home>/caretflow.db, the server's home on this machine.
   */
  database?: string;
}

export interface StartedWorker {
  /** Stops taking jobs, cancels the running ones and stops the engine. */
  close(): Promise<void>;
}

/**
 * `caretflow worker`: runs the jobs a caretflow server queues on Redis, with the server's metadata database
 * (the home's SQLite file, or PostgreSQL on any machine) and its dataset files: either the server's home on
 * this machine or a shared folder, or (`storage`) the server's bucket, with a home of its own as a cache.
 * An external MLflow's URL and credentials come from its environment, as for the server. Each job's
 * post-steps (its model's digest, its output datasets) run here, where its files are.
 */
export async function startWorker(opts: WorkerOptions): Promise<StartedWorker> {
  const home = resolve(opts.home);
  const repo = opts.repoRoot ?? defaultRepoRoot();
  const print = opts.log ?? ((line: string) => console.log(line));
  const log: Logger = (level, msg) => print(level === "info" ? msg : `${level}: ${msg}`);
  const database = metadataDatabase(home, opts.database);
  const storage = storageConfig(opts.storage, process.env);
  if (database.kind === "sqlite" && !existsSync(database.path)) {
    throw new Error(
      storage
        ? `no metadata database at ${database.path}: a worker with --storage needs the server's metadata database; pass its PostgreSQL URL (or SQLite file) with --database`
        : `${home} is not a caretflow home (no ${database.path}): start the server on it first, or pass its --home (or its PostgreSQL --database)`,
    );
  }
  const externalMlflow = externalMlflowConfig(
    { url: opts.mlflowUrl, username: opts.mlflowUsername, password: opts.mlflowPassword, token: opts.mlflowToken },
    process.env,
  );
  // Without shared storage the engine reads datasets by path under the server's home; either way, without an
  // external MLflow it signs in to the server's own MLflow with the secret kept in the server's home.
  const usesExternal = externalMlflow !== null || existsSync(join(home, "mlflow", EXTERNAL_MLFLOW_FILE));
  const secret = join(home, "mlflow", MLFLOW_SECRET_FILE);
  if (storage && !usesExternal && !existsSync(secret)) {
    throw new Error(
      `no MLflow secret at ${secret}: the server's own MLflow signs jobs in with the secret in the server's home. ` +
        "For workers on other machines, run the server with an external MLflow (caretflow up --mlflow-url) and give the worker the same CARETFLOW_MLFLOW_URL and credentials; or pass the server's home as --home",
    );
  }
  for (const needed of storage ? [] : [join(home, "datasets"), ...(usesExternal ? [] : [secret])]) {
    if (!existsSync(needed)) {
      throw new Error(
        `${home} is not the caretflow server's home (no ${needed}): a worker needs the server's home folder (its datasets and MLflow's secret); on another machine, mount it from shared storage and pass it with --home, or start the server and the worker with --storage s3://...`,
      );
    }
  }
  const python = join(repo, "engine", ".venv", "bin", "python");
  if (!existsSync(python)) {
    throw new Error(`the engine's Python environment is missing (${join(repo, "engine", ".venv")}); run README's install command first`);
  }
  const stack = stopStack(log);
  const closeAll = stack.closeAll;
  try {
    log("info", `caretflow ${CARETFLOW_VERSION} worker starting on ${home} (metadata: ${describeDatabase(database)})`);
    if (storage) log("info", `shared storage: ${describeStorage(storage)} (${join(home, "datasets")} caches its dataset files)`);
    const dirs = { datasets: join(home, "datasets"), logs: join(home, "logs"), tmp: join(home, "tmp"), mlflow: join(home, "mlflow") };
    await mkdir(home, { recursive: true, mode: 0o700 });
    for (const d of Object.values(dirs)) await mkdir(d, { recursive: true, mode: 0o700 });
    const db = await openDatabase<ServerTables & DataTables>(database);
    stack.push(() => db.destroy());
    // The server applies migrations at its start; a worker of an older or newer release must not run against it.
    await migrateToLatest(db as unknown as Kysely<unknown>, serverMigrations, dataMigrations);
    const serverDb = db as unknown as Kysely<ServerTables>;
    const blobs = storage ? new S3BlobStore(storage) : undefined;
    if (blobs) stack.push(async () => blobs.close());
    const store = await DatasetStore.open({ root: dirs.datasets, db: db as unknown as Kysely<DataTables>, ...(blobs ? { blobs } : {}) });
    stack.push(() => store.close());
    const quality = new QualityService({ db: serverDb, datasets: store, workDir: dirs.tmp, log });
    store.onVersionCreated((v) => quality.onNewVersion(v));
    stack.push(() => quality.idle());

    const cores = availableParallelism();
    const workers = Math.min(Math.max(1, opts.engineWorkers ?? 1), cores);
    const jobMemoryMb =
      opts.jobMemoryMb ?? (Number(process.env.CARETFLOW_JOB_MEMORY_MB) || Math.floor((totalmem() * 0.7) / workers / 2 ** 20));
    const mlflowEnv = await workerMlflowEnv(dirs.mlflow, externalMlflow);
    const engine = await EngineHost.start({
      python,
      engineDir: join(repo, "engine"),
      workers,
      logDir: dirs.logs,
      log,
      env: {
        CARETFLOW_DATA_ROOT: dirs.datasets,
        // Drift checks of deployments name prediction-log files under the server's home: a worker that shares
        // the home (this machine, or the same folder mounted) reads them; with --storage it has none.
        CARETFLOW_PREDICTION_LOG_ROOT: join(home, "prediction-log"),
        ...mlflowEnv,
        // MLflow is the server's: a job here outlives a restart of the server, so its MLflow calls wait
        // it out (retries after 2, 4, 8, 16, 32 and 64 s) instead of failing within seconds.
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: "6",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "2",
      },
      jobMemoryMb,
    });
    stack.push(() => engine.close());
    const post = new JobPostSteps({
      datasets: store,
      projects: new ProjectService({ db: serverDb }),
      digests: new ModelDigestRepository(serverDb),
      outboxDir: join(dirs.datasets, ".outbox"),
      audit: new AuditLog({ db: serverDb }),
    });
    const lockMs = opts.lockMs ?? (Number(process.env.CARETFLOW_WORKER_LOCK_MS) || undefined);
    const worker = await RedisWorker.start({
      url: opts.redisUrl,
      engine: blobs ? withJobLogsInStorage(engine, blobs, join(dirs.logs, "jobs"), log) : engine,
      post,
      // With shared storage, each job's dataset files are fetched into this machine's cache before its engine starts.
      ...(blobs ? { prepare: (spec) => fetchSpecDatasets(store, spec) } : {}),
      concurrency: workers,
      ...(lockMs ? { lockMs } : {}),
      log: (line) => log("info", line),
    });
    stack.push(() => worker.close());
    log("info", `worker ready: ${workers} job(s) at once, each up to ${jobMemoryMb} MB`);
    return { close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
