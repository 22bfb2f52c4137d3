import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { CaretflowError, childEnv, TASK_FAMILY } from "@caretflow/contracts";
import { checkedPredictAnswer, type PredictAnswer, type ServeAnswer, scoringError } from "./serve.protocol.ts";
import { ServeProcess } from "./serve-process.ts";

export interface ScoringPoolOptions {
  python: string;
  engineDir: string;
  /** MLflow URL the scoring processes load models from. */
  trackingUri: string;
  logDir: string;
  /** Warm processes kept; the least recently used is closed beyond this. Default 4. */
  maxProcesses?: number;
  /** A process unused this long is closed. Default 15 minutes. */
  idleMs?: number;
  env?: Record<string, string>;
  log?: (level: "info" | "warn" | "error", msg: string) => void;
  /** Start + model load limit. Default 180000 (PyCaret import on a small machine). */
  loadTimeoutMs?: number;
  /** Per predict request. Default 60000. */
  predictTimeoutMs?: number;
}

export interface ScoringModel {
  /** models:/NAME/VERSION */
  uri: string;
  /** Expected hash of the model file; the engine refuses a mismatch. */
  sha256: string | null;
  /** Identity of the process, e.g. NAME/VERSION. */
  key: string;
}

/** The key of the process that serves requests needing no model. */
const UTILITY_KEY = "utility";

interface Entry {
  proc: ServeProcess;
  /** Resolves once the model is loaded, with its task; rejects (and the entry is dropped) otherwise. */
  loaded: Promise<string | null>;
}

/**
 * Whether an answer must hold one prediction per input row: a forecaster answers one per period, and a
 * scoring process says `aligned: false` when it answers per group (association rules: one per transaction).
 */
function answersPerRow(task: string | null, answer: PredictAnswer): boolean {
  const forecaster = task !== null && TASK_FAMILY[task as keyof typeof TASK_FAMILY] === "forecasting";
  return !forecaster && answer.aligned !== false;
}

/**
 * Warm scoring processes, one per model version, kept in LRU order.
 * The first request for a model pays for the process start and the load;
 * later ones only for scoring.
 */
export class ScoringPool {
  private readonly entries = new Map<string, Entry>(); // insertion order = LRU order
  private readonly max: number;
  private readonly idleMs: number;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private readonly log: (level: "info" | "warn" | "error", msg: string) => void;

  constructor(private readonly opts: ScoringPoolOptions) {
    this.max = Math.max(1, opts.maxProcesses ?? 4);
    this.idleMs = opts.idleMs ?? 15 * 60_000;
    this.log = opts.log ?? (() => {});
    mkdirSync(opts.logDir, { recursive: true });
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(this.idleMs, 60_000));
    this.sweeper.unref();
  }

  /**
   * Scores rows with the model; errors are CaretflowError (user for bad rows, operational for a dead process).
   * Most models answer one row per input row (`aligned`); a forecaster answers one per period of the horizon,
   * an association-rules model one per transaction id.
   */
  async predict(
    model: ScoringModel,
    rows: Record<string, unknown>[],
    options: { horizon?: number; explain?: boolean } = {},
  ): Promise<PredictAnswer> {
    if (this.closed)
      throw new CaretflowError({ code: "scoring_unavailable", kind: "operational", status: 503, message: "scoring is shutting down" });
    const entry = this.entryFor(model.key, model);
    const task = await entry.loaded;
    const request = {
      op: "predict",
      rows,
      ...(options.horizon ? { horizon: options.horizon } : {}),
      ...(options.explain ? { explain: true } : {}),
    };
    const answer = await entry.proc.request(request, this.opts.predictTimeoutMs ?? 60_000);
    return checkedPredictAnswer(answer, rows.length, (a) => answersPerRow(task, a));
  }

  /**
   * A request for the model-less utility process (setup previews): the same warm-process
   * machinery, so it answers in seconds even while a training job holds the engine worker.
   */
  async utility(body: Record<string, unknown>, timeoutMs = 180_000): Promise<Record<string, unknown>> {
    if (this.closed)
      throw new CaretflowError({ code: "scoring_unavailable", kind: "operational", status: 503, message: "scoring is shutting down" });
    const entry = this.entryFor(UTILITY_KEY, null);
    await entry.loaded;
    const answer = await entry.proc.request(body, timeoutMs);
    if (!answer.ok) throw scoringError(answer.error);
    return answer as Record<string, unknown>;
  }

  /** Keys of the warm processes, least recently used first. */
  warmKeys(): string[] {
    return [...this.entries.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.proc.close()));
  }

  // ------------------------------------------------------------ internals

  private entryFor(key: string, model: ScoringModel | null): Entry {
    const existing = this.entries.get(key);
    if (existing?.proc.alive) {
      this.entries.delete(key);
      this.entries.set(key, existing);
      existing.proc.lastUsed = Date.now();
      return existing;
    }
    if (existing) this.entries.delete(key);
    this.evict(this.max - 1);
    const safe = key.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 100);
    const logPath = join(this.opts.logDir, `serve-${safe}.log`);
    const proc = new ServeProcess(
      {
        python: this.opts.python,
        engineDir: resolve(this.opts.engineDir),
        args: ["serve"],
        logPath,
        env: childEnv(process.env, { PYTHONUNBUFFERED: "1", ...this.opts.env }),
      },
      (msg) => this.log("warn", `${key}: ${msg}`),
      this.opts.loadTimeoutMs ?? 180_000,
    );
    const loaded = (async () => {
      await proc.ready;
      if (!model) return null;
      const a: ServeAnswer = await proc.request(
        { op: "load", model_uri: model.uri, tracking_uri: this.opts.trackingUri, sha256: model.sha256 },
        this.opts.loadTimeoutMs ?? 180_000,
      );
      if (!a.ok) throw scoringError(a.error);
      this.log("info", `scoring process for ${model.key} loaded ${model.uri}`);
      const task = (a.model as { task?: unknown } | undefined)?.task;
      return typeof task === "string" ? task : null;
    })();
    const entry: Entry = { proc, loaded };
    loaded.catch(() => {
      // A process that cannot load its model is of no use: drop it so the next request starts afresh.
      if (this.entries.get(key) === entry) this.entries.delete(key);
      void proc.close(1000);
    });
    this.entries.set(key, entry);
    return entry;
  }

  /** Closes least recently used processes until at most `keep` remain. */
  private evict(keep: number): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= keep) return;
      this.entries.delete(key);
      this.log("info", `closing the scoring process for ${key} (least recently used)`);
      // Requests already sent still get their answers: close waits for the process to finish them.
      void e.loaded.catch(() => {}).then(() => e.proc.close());
    }
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [key, e] of this.entries) {
      if (!e.proc.busy && now - e.proc.lastUsed > this.idleMs) {
        this.entries.delete(key);
        this.log("info", `closing the idle scoring process for ${key}`);
        void e.proc.close();
      }
    }
  }
}
