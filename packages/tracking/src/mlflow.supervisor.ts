import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { CaretflowError, childEnv } from "@caretflow/contracts";
import { MLFLOW_SECRET_FILE, type MlflowCredentials, mlflowCredentials } from "./mlflow.secret.ts";
import { freePort, groupAlive, groupCommandLines, terminateGroup } from "./process-group.ts";

export type LogLevel = "info" | "warn" | "error";

export interface MlflowSupervisorOptions {
  /** The `mlflow` executable, e.g. engine/.venv/bin/mlflow */
  mlflowBin: string;
  /** Folder for mlflow.db, artifacts/, mlflow.log, mlflow.pid and the secret (see mlflow.secret.ts) */
  home: string;
  /**
   * Folder holding caretflow's MLflow app (caretflow_mlflow_gate.py and its entry point), put on
   * MLflow's PYTHONPATH. Default: engine/mlflow_app beside the environment of `mlflowBin`.
   */
  gateDir?: string;
  /** 0 or undefined picks a free port once; restarts reuse it. */
  port?: number;
  /** e.g. "/mlflow": every MLflow route (API, UI, health) then lives under it. */
  staticPrefix?: string;
  log: (level: LogLevel, msg: string) => void;
  /** Variables MLflow gets besides the allow-listed ones (e.g. AWS credentials for S3 artifacts). */
  env?: Record<string, string>;
  /**
   * Where MLflow's artifact proxy stores artifacts, e.g. s3://bucket/prefix/mlflow-artifacts (with
   * MLFLOW_S3_ENDPOINT_URL and AWS credentials in `env`). Default <home>/artifacts. Clients always see
   * mlflow-artifacts:/ URIs and go through the server, so they need no access to the storage.
   */
  artifactsDestination?: string;
  /** uvicorn workers; 1 keeps memory low on small machines. Default 1. */
  workers?: number;
  /** How long the first start may take (DB migrations are slow). Default 180000. */
  startTimeoutMs?: number;
  /** SIGTERM -> SIGKILL grace on stop. Default 10000. */
  stopGraceMs?: number;
  /** Restart delays, growing per consecutive failure. Default 1s, 2s, 5s, 10s, 30s. */
  backoffMs?: number[];
}

export interface MlflowStatus {
  ready: boolean;
  restarts: number;
  message?: string;
  url: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A run that stayed up this long resets the backoff. */
const STABLE_MS = 60_000;

/**
 * Starts `mlflow server` on loopback and keeps it running: if it exits, it is
 * restarted on the same port with backoff, and the restart is logged.
 * The server runs in its own process group so stop() (and a restart) reaches
 * the uvicorn workers it forks, leaving no orphans.
 * MLflow runs caretflow's gate app (engine/mlflow_app): every request but GET /health must carry
 * `credentials` as HTTP basic auth, so other local processes cannot write to the loopback port.
 */
export class MlflowSupervisor {
  private readonly opts: Required<Omit<MlflowSupervisorOptions, "port" | "staticPrefix" | "env" | "gateDir" | "artifactsDestination">> &
    Pick<MlflowSupervisorOptions, "port" | "staticPrefix" | "env" | "artifactsDestination">;
  private readonly home: string;
  private readonly gateDir: string;
  /** What every client must send: MLflow refuses requests without it (only /health is open). */
  readonly credentials: MlflowCredentials;
  private child: ChildProcess | null = null;
  private pgid: number | null = null;
  private port: number | null = null;
  private ready = false;
  private restarts = 0;
  private failures = 0;
  private message: string | undefined = "not started";
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  /** While start() is waiting, an exit fails start() instead of restarting. */
  private initialStart = false;

  constructor(opts: MlflowSupervisorOptions) {
    this.opts = {
      workers: 1,
      startTimeoutMs: 180_000,
      stopGraceMs: 10_000,
      backoffMs: [1000, 2000, 5000, 10_000, 30_000],
      ...opts,
    };
    this.home = resolve(opts.home);
    // engine/.venv/bin/mlflow -> engine/mlflow_app (the path as given: .venv may be a symlink).
    this.gateDir = resolve(opts.gateDir ?? join(dirname(opts.mlflowBin), "..", "..", "mlflow_app"));
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    this.credentials = mlflowCredentials(this.home);
  }

  get url(): string | null {
    return this.port === null ? null : `http://127.0.0.1:${this.port}${normalizePrefix(this.opts.staticPrefix)}`;
  }

  get logPath(): string {
    return join(this.home, "mlflow.log");
  }

  /** Starts MLflow and resolves once GET <url>/health answers 200. */
  async start(): Promise<{ url: string }> {
    if (this.child) throw new Error("MlflowSupervisor.start() called twice");
    this.stopping = false;
    mkdirSync(join(this.home, "artifacts"), { recursive: true });
    await this.killStaleServer();
    this.port = this.opts.port ? this.opts.port : await freePort();
    const t0 = Date.now();
    const first = !fileExists(join(this.home, "mlflow.db"));
    this.initialStart = true;
    const exited = this.spawnServer();
    const ok = await Promise.race([this.waitHealthy(this.opts.startTimeoutMs), exited.then(() => false)]);
    this.initialStart = false;
    if (!ok) {
      const tail = logTail(this.logPath, 2000);
      const pgid = this.pgid;
      this.stopping = true;
      if (pgid !== null) await terminateGroup(pgid, 2000);
      this.child = null;
      this.message = "MLflow failed to start";
      throw new CaretflowError({
        code: "mlflow_start_failed",
        kind: "operational",
        status: 503,
        message: `MLflow did not start on port ${this.port}. Last lines of ${this.logPath}:\n${tail}`,
        hint: "check that the port is free and that engine/.venv is installed (README's install command); the full log is in mlflow.log",
      });
    }
    this.opts.log(
      "info",
      `MLflow ready at ${this.url} in ${((Date.now() - t0) / 1000).toFixed(1)} s${first ? " (first start, database created)" : ""}`,
    );
    return { url: this.url! };
  }

  status(): MlflowStatus {
    return { ready: this.ready, restarts: this.restarts, url: this.url, ...(this.message ? { message: this.message } : {}) };
  }

  /** Stops MLflow and every process it started; safe to call more than once. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const pgid = this.pgid;
    if (pgid !== null) await terminateGroup(pgid, this.opts.stopGraceMs);
    this.child = null;
    this.pgid = null;
    this.ready = false;
    this.message = "stopped";
    rmSync(join(this.home, "mlflow.pid"), { force: true });
  }

  // ------------------------------------------------------------ internals

  /** Spawns the server; the promise resolves when that process exits. */
  private spawnServer(): Promise<void> {
    const args = [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(this.port),
      "--backend-store-uri",
      `sqlite:///${join(this.home, "mlflow.db")}`,
      "--artifacts-destination",
      this.opts.artifactsDestination ?? join(this.home, "artifacts"),
      "--workers",
      String(this.opts.workers),
      // caretflow_mlflow_gate: MLflow's app behind a check of caretflow's credential.
      "--app-name",
      "caretflow",
    ];
    const prefix = normalizePrefix(this.opts.staticPrefix);
    if (prefix) args.push("--static-prefix", prefix);
    const logFd = openSync(this.logPath, "a");
    writeSync(logFd, `\n--- ${new Date().toISOString()} starting mlflow ${args.join(" ")}\n`);
    const child = spawn(this.opts.mlflowBin, args, {
      cwd: this.home,
      detached: true, // own process group: see terminateGroup
      stdio: ["ignore", logFd, logFd],
      // Only the allow-listed variables of caretflow's environment: never its secrets (@caretflow/contracts childEnv).
      env: childEnv(process.env, {
        // MLflow 3's job runner (GenAI scorers) forks several huey consumers, about 2 GB
        // of memory that caretflow never uses.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
        // No telemetry calls from a loopback server.
        MLFLOW_DISABLE_TELEMETRY: "true",
        DO_NOT_TRACK: "true",
        ...this.opts.env,
        PYTHONPATH: [this.gateDir, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
        // The gate reads the secret from this file; it never appears on a command line.
        CARETFLOW_MLFLOW_SECRET_FILE: join(this.home, MLFLOW_SECRET_FILE),
      }),
    });
    closeSync(logFd);
    this.child = child;
    this.pgid = child.pid ?? null;
    this.startedAt = Date.now();
    this.ready = false;
    this.message = "starting";
    if (child.pid) writeFileSync(join(this.home, "mlflow.pid"), `${child.pid}\n`);
    return new Promise((resolveExit) => {
      child.on("error", (err) => {
        this.message = `cannot run ${this.opts.mlflowBin}: ${err.message}`;
        this.opts.log("error", this.message);
        resolveExit();
      });
      child.on("exit", (code, signal) => {
        resolveExit();
        if (this.child !== child) return;
        void this.onExit(code, signal);
      });
    });
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.ready = false;
    const pgid = this.pgid;
    if (this.stopping || this.initialStart) return;
    // The leader is gone but uvicorn may still hold the port: clear the group first.
    if (pgid !== null) await terminateGroup(pgid, 3000);
    if (this.stopping) return;
    if (Date.now() - this.startedAt > STABLE_MS) this.failures = 0;
    const delay = this.opts.backoffMs[Math.min(this.failures, this.opts.backoffMs.length - 1)] ?? 1000;
    this.failures++;
    const how = code !== null ? `code ${code}` : `signal ${signal}`;
    this.message = `MLflow exited (${how}); restarting in ${Math.round(delay / 1000)} s`;
    this.opts.log("warn", `MLflow exited (${how}); restarting`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.restarts++;
      void this.spawnServer();
      void this.waitHealthy(this.opts.startTimeoutMs).then((ok) => {
        if (ok) this.opts.log("info", `MLflow restarted at ${this.url} (restart ${this.restarts})`);
      });
    }, delay);
  }

  private async waitHealthy(timeoutMs: number): Promise<boolean> {
    const child = this.child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.stopping && this.child === child && child?.exitCode === null) {
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        if (res.ok) {
          this.ready = true;
          this.message = undefined;
          return true;
        }
      } catch {
        // Not listening yet.
      }
      await sleep(250);
    }
    return false;
  }

  /**
   * A caretflow that was killed hard leaves its MLflow running. Its pid file
   * names the process group; stop it only if it still looks like an mlflow server.
   */
  private async killStaleServer(): Promise<void> {
    const pidFile = join(this.home, "mlflow.pid");
    let pgid: number;
    try {
      pgid = Number(readFileSync(pidFile, "utf8").trim());
    } catch {
      return;
    }
    if (Number.isSafeInteger(pgid) && pgid > 1 && groupAlive(pgid) && groupCommandLines(pgid).some((c) => c.includes("mlflow"))) {
      this.opts.log("warn", `stopping an MLflow server left running by an earlier caretflow (process group ${pgid})`);
      await terminateGroup(pgid, this.opts.stopGraceMs);
    }
    rmSync(pidFile, { force: true });
  }
}

function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return "";
  const p = `/${prefix.replace(/^\/+|\/+$/g, "")}`;
  return p === "/" ? "" : p;
}

function fileExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function logTail(path: string, chars: number): string {
  try {
    const text = readFileSync(path, "utf8");
    return text.slice(-chars);
  } catch {
    return "(no log)";
  }
}
