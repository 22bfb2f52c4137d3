import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CaretflowError, type StorageConfig } from "@caretflow/contracts";
import { basicAuthorization, keptFreePort, MlflowSupervisor, mlflowCredentials } from "@caretflow/tracking";
import type { Logger } from "./ports.ts";
import { mlflowStorage } from "./shared-storage.ts";
import { checkExternalMlflow, type ExternalMlflow, ExternalMlflowMonitor } from "./tracking.external.ts";

/** The MLflow tracking server caretflow uses: its own (supervised) or an existing one given by URL. */
export interface MlflowBackend {
  kind: "embedded" | "external";
  /** Base URL every client uses (tracking URI of the jobs, upstream of /mlflow). */
  url: string;
  /** The Authorization header value for it, or null. */
  authorization: string | null;
  /** MLflow's credentials for the engine's processes. */
  engineEnv: Record<string, string>;
  /** Resolves once MLflow answers; rejects when it never will. */
  started: Promise<void>;
  status(): { ready: boolean; restarts: number; message?: string };
  /** What an operator should read when it fails. */
  hint: string;
  stop(): Promise<void>;
}

/**
 * Names the external server in the home (its URL only), so `caretflow worker` on this home can tell
 * that it needs CARETFLOW_MLFLOW_URL and the credentials too.
 */
export const EXTERNAL_MLFLOW_FILE = "external-url";

/**
 * Starts caretflow's own MLflow (its port kept in <mlflowHome>/port, its generated credential in
 * <mlflowHome>/secret), or checks the external one and follows its health.
 */
export async function openMlflowBackend(opts: {
  external: ExternalMlflow | null;
  mlflowBin: string;
  mlflowHome: string;
  log: Logger;
  /** Shared storage: caretflow's own MLflow keeps its artifacts there (an external one keeps its own). */
  storage?: StorageConfig | null;
}): Promise<MlflowBackend> {
  const marker = join(opts.mlflowHome, EXTERNAL_MLFLOW_FILE);
  const external = opts.external;
  if (external) {
    await checkExternalMlflow(external);
    writeFileSync(marker, `${external.url}\n`, { mode: 0o600 });
    const monitor = new ExternalMlflowMonitor(external, { log: opts.log });
    opts.log("info", `using the MLflow server at ${external.url}`);
    if (opts.storage) opts.log("info", `model artifacts stay where the MLflow server at ${external.url} keeps them`);
    return {
      kind: "external",
      url: external.url,
      authorization: external.authorization,
      engineEnv: external.engineEnv,
      started: Promise.resolve(),
      status: () => monitor.status(),
      hint: `Check that the MLflow server at ${external.url} is running (GET /api/health says whether caretflow reaches it).`,
      stop: async () => monitor.stop(),
    };
  }
  rmSync(marker, { force: true });
  // The port is chosen here so MLflow's URL is known before it answers; the home keeps it, so jobs running
  // on workers across a restart of the server still reach MLflow at the URL their spec names.
  const port = await keptFreePort(join(opts.mlflowHome, "port"));
  const supervisor = new MlflowSupervisor({
    mlflowBin: opts.mlflowBin,
    home: opts.mlflowHome,
    port,
    staticPrefix: "/mlflow",
    log: opts.log,
    ...(opts.storage ? mlflowStorage(opts.storage, process.env) : {}),
  });
  const started = supervisor.start().then(() => undefined);
  // Nobody may be waiting yet; the caller awaits or reports it.
  started.catch(() => {});
  return {
    kind: "embedded",
    url: `http://127.0.0.1:${port}/mlflow`,
    authorization: basicAuthorization(supervisor.credentials),
    // MLflow's Python client sends the credential from these variables (it never reaches a command line).
    engineEnv: { MLFLOW_TRACKING_USERNAME: supervisor.credentials.username, MLFLOW_TRACKING_PASSWORD: supervisor.credentials.password },
    started,
    status: () => supervisor.status(),
    hint: "Restart caretflow; the MLflow log is in <home>/mlflow/mlflow.log.",
    stop: () => supervisor.stop(),
  };
}

/**
 * The MLflow credentials of `caretflow worker`'s engine: those of the external server named by its
 * settings or environment (checked first), else those of the server's own MLflow, read from the home.
 */
export async function workerMlflowEnv(mlflowHome: string, external: ExternalMlflow | null): Promise<Record<string, string>> {
  if (external) {
    await checkExternalMlflow(external);
    return external.engineEnv;
  }
  let serverUses: string | null = null;
  try {
    serverUses = readFileSync(join(mlflowHome, EXTERNAL_MLFLOW_FILE), "utf8").trim();
  } catch {}
  if (serverUses) {
    throw new CaretflowError({
      code: "invalid_mlflow_settings",
      kind: "user",
      message: `the caretflow server on this home uses the MLflow server at ${serverUses}, and this worker was not told how to reach it`,
      hint: "Start the worker with the server's CARETFLOW_MLFLOW_URL and its credentials (CARETFLOW_MLFLOW_USERNAME and CARETFLOW_MLFLOW_PASSWORD, or CARETFLOW_MLFLOW_TOKEN) in its environment.",
    });
  }
  const credentials = mlflowCredentials(mlflowHome);
  return { MLFLOW_TRACKING_USERNAME: credentials.username, MLFLOW_TRACKING_PASSWORD: credentials.password };
}
