import { resolve } from "node:path";
import type { Command } from "commander";
import {
  action,
  type CommonOptions,
  checkedDatabase,
  checkedStorage,
  EXIT,
  type ExitState,
  intArg,
  redisUrlArg,
  withCommon,
} from "./common.ts";
import type { CliContext } from "./context.ts";

/** What `caretflow up` needs from @caretflow/server; loaded lazily so other commands stay light. */
export interface RunningCaretflow {
  url: string;
  adminPassword: string | null;
  close(): Promise<void>;
}
export type StartCaretflow = (opts: {
  home: string;
  port?: number;
  host?: string;
  log?: (line: string) => void;
  demo?: boolean;
  waitForMlflow?: boolean;
  engineWorkers?: number;
  jobMemoryMb?: number;
  publicUrl?: string;
  allowedHosts?: string[];
  allowPrivateNetworks?: boolean;
  allowNetworks?: string[];
  redisUrl?: string;
  mlflowUrl?: string;
  database?: string;
  storage?: string;
  metricsTokenFile?: string;
}) => Promise<RunningCaretflow>;

/** What `caretflow worker` needs from @caretflow/server. */
export type StartWorker = (opts: {
  home: string;
  redisUrl: string;
  database?: string;
  storage?: string;
  engineWorkers?: number;
  jobMemoryMb?: number;
  log?: (line: string) => void;
}) => Promise<{ close(): Promise<void> }>;

interface UpOptions extends CommonOptions {
  port: number;
  host?: string;
  demo: boolean;
  workers?: number;
  jobMemory?: number;
  compareWorkers?: number;
  publicUrl?: string;
  allowedHost: string[];
  allowPrivateNetworks?: boolean;
  allowNetwork: string[];
  redis?: string;
  mlflowUrl?: string;
  database?: string;
  storage?: string;
  metricsTokenFile?: string;
}

export const DEFAULT_PORT = 8420;

/** --storage's help, the same for `up` and `worker`. */
export const STORAGE_HELP =
  "shared storage for dataset files and MLflow artifacts, s3://bucket[/prefix] (or CARETFLOW_STORAGE_URL); an S3-compatible store's endpoint is CARETFLOW_S3_ENDPOINT_URL; credentials come from the AWS chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, a profile or a role), never the command line";

export function registerUp(program: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    program
      .command("up")
      .description("start caretflow (HTTP API, web UI, MLflow) in the foreground; Ctrl-C stops it")
      .option("--port <port>", `port to listen on (0 picks a free one)`, intArg("--port", 0, 65535), DEFAULT_PORT)
      .option("--host <host>", "address to listen on (default: the server's, loopback)")
      .option("--no-demo", "do not import the demo datasets on first start")
      .option("--workers <n>", "training jobs at once (default 1; at most the machine's cores)", intArg("--workers", 1, 256))
      .option(
        "--compare-workers <n>",
        "processes one classification or regression comparison spreads its models over (default: cores / workers; 1 runs PyCaret's compare_models as is)",
        intArg("--compare-workers", 1, 256),
      )
      .option(
        "--job-memory <MB>",
        "memory one job may use before it is stopped as out of memory (default: 70% of the machine's, shared by the workers; or CARETFLOW_JOB_MEMORY_MB)",
        intArg("--job-memory", 64),
      )
      .option(
        "--public-url <url>",
        "the URL browsers use, e.g. https://ml.example.com behind a TLS proxy: its host is accepted and https makes the session cookie Secure (or CARETFLOW_PUBLIC_URL)",
      )
      .option(
        "--allowed-host <name>",
        "another host name to answer to (repeatable; or CARETFLOW_ALLOWED_HOSTS, comma-separated); others get 421",
        (v: string, prev: string[]) => [...prev, v],
        [] as string[],
      )
      .option(
        "--allow-private-networks",
        "let connections reach loopback and private networks (refused by default; link-local and 169.254.169.254 stay refused; or CARETFLOW_ALLOW_PRIVATE_NETWORKS=1)",
      )
      .option(
        "--allow-network <cidr>",
        "an address range connections may reach whatever it is, e.g. 10.1.0.0/16 (repeatable; or CARETFLOW_ALLOW_NETWORKS, comma-separated)",
        (v: string, prev: string[]) => [...prev, v],
        [] as string[],
      )
      .option(
        "--redis <url>",
        "queue jobs on this Redis server (redis://[user:password@]host:port) for `caretflow worker` processes instead of running them here (or CARETFLOW_REDIS_URL)",
        redisUrlArg,
      )
      .option(
        "--mlflow-url <url>",
        "use this existing MLflow tracking server instead of starting one (or CARETFLOW_MLFLOW_URL); its credentials are never " +
          "given on the command line: set CARETFLOW_MLFLOW_USERNAME and CARETFLOW_MLFLOW_PASSWORD (or CARETFLOW_MLFLOW_PASSWORD_FILE), " +
          "or CARETFLOW_MLFLOW_TOKEN (or CARETFLOW_MLFLOW_TOKEN_FILE)",
      )
      .option(
        "--database <url>",
        "keep the metadata in this PostgreSQL database (postgres://user:password@host:5432/db), shared with `caretflow worker` processes on other machines, or in this SQLite file (default <home>/caretflow.db; or CARETFLOW_DATABASE_URL)",
      )
      .option("--storage <url>", STORAGE_HELP)
      .option(
        "--metrics-token-file <file>",
        "serve Prometheus metrics at /metrics to requests bearing the token in this file (or CARETFLOW_METRICS_TOKEN, or CARETFLOW_METRICS_TOKEN_FILE); without one /metrics answers 404",
      ),
  ).action(
    action<UpOptions>(ctx, exit, async (env, opts) => {
      // Listen for Ctrl-C from the start: a signal during startup must still stop every child process.
      let stop: (signal: string) => void = () => {};
      const stopped = new Promise<string>((resolve) => {
        stop = resolve;
      });
      let signals = 0;
      const dispose = env.ctx.onInterrupt((signal) => {
        signals++;
        if (signals === 1) stop(signal);
        else {
          env.out.note("second interrupt: exiting without waiting for a clean stop");
          env.ctx.exit(EXIT.interrupted);
        }
      });
      try {
        const database = checkedDatabase(opts.database);
        const storage = checkedStorage(opts.storage);
        const start = await env.ctx.loadServer();
        env.out.note(`starting caretflow (home ${env.home})...`);
        const running = await start({
          home: env.home,
          port: opts.port,
          ...(opts.host ? { host: opts.host } : {}),
          demo: opts.demo,
          ...(opts.workers ? { engineWorkers: opts.workers } : {}),
          ...(opts.jobMemory ? { jobMemoryMb: opts.jobMemory } : {}),
          ...(opts.compareWorkers ? { compareWorkers: opts.compareWorkers } : {}),
          ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
          ...(opts.allowedHost.length > 0 ? { allowedHosts: opts.allowedHost } : {}),
          ...(opts.allowPrivateNetworks ? { allowPrivateNetworks: true } : {}),
          ...(opts.allowNetwork.length > 0 ? { allowNetworks: opts.allowNetwork } : {}),
          ...(opts.redis ? { redisUrl: opts.redis } : {}),
          ...(opts.mlflowUrl ? { mlflowUrl: opts.mlflowUrl } : {}),
          ...(database ? { database } : {}),
          ...(storage ? { storage } : {}),
          ...(opts.metricsTokenFile ? { metricsTokenFile: resolve(env.ctx.cwd, opts.metricsTokenFile) } : {}),
          // Serve at once; MLflow keeps starting in the background and jobs wait for it (GET /api/health tells).
          waitForMlflow: false,
          log: (line) => env.out.note(line),
        });
        env.out.result({ url: running.url, adminPassword: running.adminPassword, home: env.home }, () =>
          [
            `caretflow is running at ${running.url}`,
            ...(running.adminPassword
              ? [
                  `admin password: ${running.adminPassword}`,
                  "(shown only this once: store it now; the CLI on this machine needs no password)",
                ]
              : []),
            "press Ctrl-C to stop",
          ].join("\n"),
        );
        const signal = await stopped;
        env.out.note(`${signal}: stopping caretflow...`);
        await running.close();
        env.out.note("stopped");
        return EXIT.ok;
      } finally {
        dispose();
      }
    }),
  );
}
