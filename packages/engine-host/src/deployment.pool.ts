import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { CaretflowError, childEnv } from "@caretflow/contracts";
import type { ScoringModel } from "./scoring.pool.ts";
import { checkedPredictAnswer, type PredictAnswer, scoringError } from "./serve.protocol.ts";
import { ServeProcess } from "./serve-process.ts";

export interface DeploymentPoolOptions {
  python: string;
  engineDir: string;
  /** MLflow URL the scoring processes load models from. */
  trackingUri: string;
  logDir: string;
  env?: Record<string, string>;
  log?: (level: "info" | "warn" | "error", msg: string) => void;
  /** Start + model load limit. Default 180000. */
  loadTimeoutMs?: number;
  /** Per predict request. Default 60000. */
  predictTimeoutMs?: number;
  /** How often each process is pinged. Default 5000. */
  healthIntervalMs?: number;
  /** A process that does not answer a ping within this is killed (and restarted). Default 30000. */
  pingTimeoutMs?: number;
}

/** An input column of a loaded model: its name and MLflow type (double, long, string, boolean...). */
export interface ModelFeature {
  name: string;
  type: string;
}

/** What a scoring process said about the model it loaded. */
export interface LoadedVersion {
  task: string | null;
  features: ModelFeature[];
  predictionColumns: string[];
}

export type VersionHealth = "starting" | "ready" | "restarting" | "failed" | "stopped";

export interface VersionStatus {
  key: string;
  health: VersionHealth;
  pid: number | null;
  restarts: number;
  holders: string[];
  /** Why the last start failed (health "failed"). */
  problem: string | null;
}

class VersionProcess {
  proc: ServeProcess | null = null;
  loaded: Promise<LoadedVersion>;
  health: VersionHealth = "starting";
  restarts = 0;
  problem: string | null = null;
  readonly holders = new Set<string>();
  closing = false;

  constructor(
    readonly model: ScoringModel,
    private readonly pool: DeploymentPool,
  ) {
    this.loaded = this.start();
  }

  start(): Promise<LoadedVersion> {
    const proc = this.pool.spawn(this.model.key);
    this.proc = proc;
    const loaded = (async () => {
      await proc.ready;
      const a = await proc.request(
        { op: "load", model_uri: this.model.uri, tracking_uri: this.pool.opts.trackingUri, sha256: this.model.sha256 },
        this.pool.opts.loadTimeoutMs ?? 180_000,
      );
      if (!a.ok) throw scoringError(a.error);
      const m = (a.model ?? {}) as { task?: unknown; features?: unknown; prediction_columns?: unknown };
      const info: LoadedVersion = {
        task: typeof m.task === "string" ? m.task : null,
        features: Array.isArray(m.features) ? (m.features as ModelFeature[]) : [],
        predictionColumns: Array.isArray(m.prediction_columns) ? (m.prediction_columns as string[]) : [],
      };
      return info;
    })();
    loaded.then(
      () => {
        if (this.proc !== proc) return;
        this.health = "ready";
        this.problem = null;
        this.pool.log("info", `scoring process for ${this.model.key} loaded ${this.model.uri} (pid ${proc.pid})`);
      },
      (err: Error) => {
        if (this.proc !== proc) return;
        this.health = "failed";
        this.problem = err.message;
        this.pool.log("warn", `scoring process for ${this.model.key} did not load: ${err.message}`);
        void proc.close(1000);
      },
    );
    void proc.exited.then((reason) => {
      if (this.closing || this.proc !== proc || this.health === "failed") return;
      // Died after loading (killed, crashed): its in-flight requests have failed; later ones wait for the new process.
      this.restarts += 1;
      this.health = "restarting";
      this.pool.log("warn", `scoring process for ${this.model.key} ${reason}; restarting it (restart ${this.restarts})`);
      this.loaded = this.start();
      this.loaded.catch(() => {});
    });
    return loaded;
  }

  /** A new start after a failed one (an MLflow outage at load time, say). */
  retry(): void {
    if (this.health !== "failed" || this.closing) return;
    this.health = "starting";
    this.loaded = this.start();
    this.loaded.catch(() => {});
  }
}

/**
 * Scoring processes for deployments: one per model version, started when a deployment needs it and kept
 * while any deployment holds it (no LRU eviction), pinged for health, restarted when they die. A request
 * in flight on a process that dies fails with `scoring_process_lost` (503); requests after it wait for the
 * restarted process. Releasing a version closes its process after it has answered what it was sent.
 */
export class DeploymentPool {
  private readonly versions = new Map<string, VersionProcess>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  readonly log: (level: "info" | "warn" | "error", msg: string) => void;

  constructor(readonly opts: DeploymentPoolOptions) {
    this.log = opts.log ?? (() => {});
    mkdirSync(opts.logDir, { recursive: true });
    this.timer = setInterval(() => void this.checkHealth(), opts.healthIntervalMs ?? 5000);
    this.timer.unref();
  }

  /** @internal a fresh `serve` process for a version */
  spawn(key: string): ServeProcess {
    const safe = key.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 100);
    return new ServeProcess(
      {
        python: this.opts.python,
        engineDir: resolve(this.opts.engineDir),
        args: ["serve"],
        logPath: join(this.opts.logDir, `deploy-${safe}.log`),
        env: childEnv(process.env, { PYTHONUNBUFFERED: "1", ...this.opts.env }),
      },
      (msg) => this.log("warn", `${key}: ${msg}`),
      this.opts.loadTimeoutMs ?? 180_000,
    );
  }

  /**
   * Holds the version for `holder` (a deployment) and waits until its process has loaded it; a version
   * already held by another deployment shares its process.
   */
  acquire(model: ScoringModel, holder: string): Promise<LoadedVersion> {
    if (this.closed) return Promise.reject(shuttingDown());
    let v = this.versions.get(model.key);
    if (!v) {
      v = new VersionProcess(model, this);
      this.versions.set(model.key, v);
    } else {
      v.retry();
    }
    v.holders.add(holder);
    return v.loaded;
  }

  /** Lets go of a version; once no deployment holds it its process finishes what it was sent, then exits. */
  release(key: string, holder: string): void {
    const v = this.versions.get(key);
    if (!v) return;
    v.holders.delete(holder);
    if (v.holders.size > 0) return;
    this.versions.delete(key);
    v.closing = true;
    v.health = "stopped";
    this.log("info", `closing the scoring process for ${key} (no deployment serves it)`);
    const proc = v.proc;
    if (proc) void v.loaded.catch(() => {}).then(() => proc.close());
  }

  /** Scores rows with a held version. */
  async predict(key: string, rows: Record<string, unknown>[]): Promise<PredictAnswer> {
    if (this.closed) throw shuttingDown();
    const v = this.versions.get(key);
    if (!v) {
      throw new CaretflowError({
        code: "scoring_unavailable",
        kind: "operational",
        status: 503,
        message: `no scoring process serves ${key}`,
        hint: "retry: the deployment is changing versions",
      });
    }
    await v.loaded;
    const proc = v.proc!;
    let answer: Awaited<ReturnType<ServeProcess["request"]>>;
    try {
      answer = await proc.request({ op: "predict", rows }, this.opts.predictTimeoutMs ?? 60_000);
    } catch (err) {
      if (!proc.alive && !v.closing) {
        throw new CaretflowError({
          code: "scoring_process_lost",
          kind: "operational",
          status: 503,
          message: `the scoring process for ${key} stopped while scoring this request`,
          hint: "retry: caretflow restarts the process, and the same request will be answered",
        });
      }
      throw err;
    }
    // One prediction per row unless the process says it answered per group.
    return checkedPredictAnswer(answer, rows.length, (a) => a.aligned !== false);
  }

  status(key: string): VersionStatus | null {
    const v = this.versions.get(key);
    if (!v) return null;
    return {
      key,
      health: v.health,
      pid: v.health === "ready" ? (v.proc?.pid ?? null) : null,
      restarts: v.restarts,
      holders: [...v.holders],
      problem: v.problem,
    };
  }

  /** Every held version's status. */
  statuses(): VersionStatus[] {
    return [...this.versions.keys()].map((k) => this.status(k)!);
  }

  /** Pings every ready process; one that does not answer in time is killed, which restarts it. */
  async checkHealth(): Promise<void> {
    const timeout = this.opts.pingTimeoutMs ?? 30_000;
    await Promise.all(
      [...this.versions.values()].map(async (v) => {
        if (v.health === "failed") {
          v.retry();
          return;
        }
        if (v.health !== "ready" || !v.proc) return;
        const proc = v.proc;
        try {
          const a = await proc.request({ op: "ping" }, timeout);
          if (!a.ok) throw new Error(a.error.message);
        } catch (err) {
          if (v.closing || v.proc !== proc || !proc.alive) return;
          this.log("warn", `scoring process for ${v.model.key} did not answer its health check (${(err as Error).message}); restarting it`);
          void proc.close(0);
        }
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const all = [...this.versions.values()];
    this.versions.clear();
    await Promise.all(
      all.map(async (v) => {
        v.closing = true;
        v.health = "stopped";
        await v.proc?.close();
      }),
    );
  }
}

function shuttingDown(): CaretflowError {
  return new CaretflowError({ code: "scoring_unavailable", kind: "operational", status: 503, message: "scoring is shutting down" });
}
