import { mkdirSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { childEnv, type EngineEvent, type ErrorInfo, JobSpec } from "@caretflow/contracts";
import type { z } from "zod";
import type { WorkerMessage } from "./engine-line.parse.ts";
import type { SpawnSpec } from "./engine-process.ts";
import { EngineWorker } from "./engine-worker.ts";
import { JobGate, type JobOutcome } from "./job-gate.ts";
import { fileTail, signalGroup, signalName, signalPid, sleep } from "./process-util.ts";

export type HostLogLevel = "info" | "warn" | "error";

export interface EngineHostOptions {
  /** engine/.venv/bin/python */
  python: string;
  /** engine/ (the working directory; `caretflow_engine` is importable from it) */
  engineDir: string;
  /** Warm worker processes; each runs one job at a time. Default 1. */
  workers?: number;
  /** worker-N.log files go here. */
  logDir: string;
  env?: Record<string, string>;
  log?: (level: HostLogLevel, msg: string) => void;
  /** After a cancel, how long the job may take to stop before SIGKILL. Default 10000. */
  cancelGraceMs?: number;
  /** Memory a job may use (its processes' PSS, MB) before the worker stops it as out of memory. Default: no limit. */
  jobMemoryMb?: number;
  /** Restart delays after a worker dies, growing per consecutive death. Default 1s, 2s, 5s, 10s, 30s. */
  restartBackoffMs?: number[];
}

export interface EngineHostStatus {
  ready: boolean;
  message?: string;
  versions?: Record<string, string>;
}

export interface RunOptions {
  onEvent: (e: EngineEvent) => void;
  /** The job's stdout/stderr (PyCaret's chatter, tracebacks) are appended here. */
  logPath: string;
  signal?: AbortSignal;
}

interface Job {
  spec: JobSpec;
  gate: JobGate;
  logPath: string;
  worker: EngineWorker | null;
  cancelRequested: boolean;
  killTimer: NodeJS.Timeout | null;
  resolve: (o: JobOutcome) => void;
  detach: () => void;
}

/**
 * A pool of warm engine workers. Jobs queue until a worker is free; each job
 * gets exactly one `finished` event, last, whatever happens to the engine.
 */
export class EngineHost {
  private readonly workers: EngineWorker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<EngineWorker, Job>();
  private readonly deaths = new Map<EngineWorker, number>();
  private closing = false;
  private lastProblem: string | undefined;
  private readonly cancelGraceMs: number;
  private readonly backoff: number[];
  private readonly log: (level: HostLogLevel, msg: string) => void;
  private readonly jobMemoryMb: number | undefined;

  private constructor(opts: EngineHostOptions) {
    this.jobMemoryMb = opts.jobMemoryMb;
    this.cancelGraceMs = opts.cancelGraceMs ?? 10_000;
    this.backoff = opts.restartBackoffMs ?? [1000, 2000, 5000, 10_000, 30_000];
    this.log = opts.log ?? (() => {});
  }

  /** Spawns the warm workers and returns at once; status() says when they are ready. */
  static async start(opts: EngineHostOptions): Promise<EngineHost> {
    const host = new EngineHost(opts);
    mkdirSync(opts.logDir, { recursive: true });
    const n = Math.max(1, opts.workers ?? 1);
    for (let i = 0; i < n; i++) {
      const spec: SpawnSpec = {
        python: opts.python,
        engineDir: resolve(opts.engineDir),
        args: ["worker"],
        logPath: join(opts.logDir, `worker-${i + 1}.log`),
        env: childEnv(process.env, { PYTHONUNBUFFERED: "1", ...opts.env }),
      };
      const w = new EngineWorker(i + 1, spec, {
        onEvent: (wk, e) => host.onEvent(wk, e),
        onMessage: (wk, m) => host.onMessage(wk, m),
        onBadLine: (wk, problem) => host.log("warn", `engine worker ${wk.index}: ${problem}`),
        onExit: (wk, code, signal) => host.onWorkerExit(wk, code, signal),
      });
      host.workers.push(w);
      w.start();
    }
    return host;
  }

  status(): EngineHostStatus {
    const ready = this.workers.filter((w) => w.state === "ready" || w.state === "busy");
    const versions = ready[0]?.versions;
    if (this.closing) return { ready: false, message: "engine is shutting down" };
    if (ready.length === 0) {
      return {
        ready: false,
        message: this.lastProblem ?? `warming up: ${this.workers.length} engine worker(s) are importing PyCaret`,
      };
    }
    const busy = ready.filter((w) => w.state === "busy").length;
    return {
      ready: true,
      message: `${ready.length} of ${this.workers.length} worker(s) ready, ${busy} busy, ${this.queue.length} queued`,
      ...(versions ? { versions } : {}),
    };
  }

  /** Resolves when at least one worker is ready (or rejects after timeoutMs). */
  async waitReady(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.status().ready) {
      if (this.closing) throw new Error("engine host is closed");
      if (Date.now() > deadline) throw new Error(`engine workers not ready after ${timeoutMs} ms: ${this.status().message}`);
      await sleep(100);
    }
  }

  /**
   * Runs one job on a free warm worker (queued if none is free). Exactly one
   * `finished` reaches onEvent, always last, even if the engine crashes.
   * Aborting the signal cancels the job (op cancel -> SIGTERM; SIGKILL after the grace).
   */
  run(spec: z.input<typeof JobSpec>, opts: RunOptions): Promise<JobOutcome> {
    // Parsed below; the id is read first so even an invalid spec gets its events under its own id.
    const jobId = typeof (spec as { job_id?: unknown }).job_id === "string" ? spec.job_id : "unknown";
    const gate = new JobGate(jobId, (e) => {
      try {
        opts.onEvent(e);
      } catch (err) {
        this.log("error", `onEvent handler for job ${jobId} threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    const parsed = JobSpec.safeParse(spec);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return Promise.resolve(
        gate.fail({
          name: "InvalidJobSpec",
          message: `the job spec is invalid: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "unknown problem"}`,
          hint: "this is a caretflow bug: the server builds job specs; report it with the job id",
          transient: false,
        }),
      );
    }
    if (!isAbsolute(opts.logPath)) {
      return Promise.resolve(
        gate.fail({ name: "InvalidLogPath", message: `log path '${opts.logPath}' is not absolute`, transient: false }),
      );
    }
    if (this.closing) {
      return Promise.resolve(
        gate.fail({
          name: "EngineUnavailable",
          message: "the engine is shutting down",
          hint: "start the job again after caretflow restarts",
          transient: true,
        }),
      );
    }
    if (opts.signal?.aborted) return Promise.resolve(gate.cancel());

    return new Promise<JobOutcome>((resolveJob) => {
      const job: Job = {
        spec: parsed.data,
        gate,
        logPath: opts.logPath,
        worker: null,
        cancelRequested: false,
        killTimer: null,
        resolve: (o) => {
          job.detach();
          if (job.killTimer) clearTimeout(job.killTimer);
          resolveJob(o);
        },
        detach: () => {},
      };
      if (opts.signal) {
        const onAbort = () => this.cancel(job);
        opts.signal.addEventListener("abort", onAbort, { once: true });
        job.detach = () => opts.signal?.removeEventListener("abort", onAbort);
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Stops every worker and job child; queued and running jobs end as cancelled. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const job of this.queue.splice(0)) job.resolve(job.gate.cancel());
    for (const job of this.running.values()) job.cancelRequested = true;
    // The worker gives its job its own grace before SIGKILL; wait a little longer than that.
    await Promise.all(this.workers.map((w) => w.shutdown(this.cancelGraceMs + 5000)));
    // Workers that died mid-job without an exit message: end their jobs now.
    for (const [w, job] of this.running) {
      this.running.delete(w);
      job.resolve(job.gate.cancel());
    }
  }

  // ------------------------------------------------------------ internals

  private dispatch(): void {
    if (this.closing) return;
    for (const w of this.workers) {
      if (this.queue.length === 0) return;
      if (w.state !== "ready") continue;
      const job = this.queue.shift()!;
      try {
        mkdirSync(dirname(job.logPath), { recursive: true });
      } catch (err) {
        job.resolve(
          job.gate.fail({ name: "JobLogUnwritable", message: `cannot create ${dirname(job.logPath)}: ${String(err)}`, transient: false }),
        );
        continue;
      }
      w.state = "busy";
      w.jobId = job.gate.jobId;
      job.worker = w;
      this.running.set(w, job);
      const memoryMb = jobMemoryLimit(this.jobMemoryMb, (job.spec as { memory_mb?: number }).memory_mb);
      w.send({ op: "run", spec: job.spec, log_path: job.logPath, ...(memoryMb ? { memory_mb: memoryMb } : {}) });
    }
  }

  private cancel(job: Job): void {
    if (job.gate.finished) return;
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      job.resolve(job.gate.cancel());
      return;
    }
    const w = job.worker;
    if (!w || job.cancelRequested) return;
    job.cancelRequested = true;
    this.log("info", `cancelling job ${job.gate.jobId}`);
    w.send({ op: "cancel", job_id: job.gate.jobId });
    job.killTimer = setTimeout(() => {
      if (job.gate.finished) return;
      const pid = job.gate.pid;
      this.log("warn", `job ${job.gate.jobId} did not stop within ${this.cancelGraceMs} ms of cancel; killing it`);
      if (pid !== null) signalPid(pid, "SIGKILL");
      // Without a known pid (or if the worker hangs), the worker goes with it; it is restarted.
      job.killTimer = setTimeout(
        () => {
          if (!job.gate.finished && w.proc) signalGroup(w.proc.pgid, "SIGKILL");
        },
        pid !== null ? 5000 : 0,
      );
    }, this.cancelGraceMs);
  }

  private onEvent(w: EngineWorker, e: EngineEvent): void {
    const job = this.running.get(w);
    if (!job) {
      this.log("warn", `engine worker ${w.index} sent a ${e.type} event for job ${e.job_id} with no job running; dropped`);
      return;
    }
    const problem = job.gate.accept(e);
    if (problem) this.log("warn", `engine worker ${w.index}: ${problem}`);
  }

  private onMessage(w: EngineWorker, m: WorkerMessage): void {
    switch (m.worker) {
      case "ready":
        if (w.state === "starting") w.state = "ready";
        w.versions = m.versions;
        this.deaths.set(w, 0);
        this.lastProblem = undefined;
        this.log("info", `engine worker ${w.index} ready (pid ${m.pid})`);
        this.dispatch();
        return;
      case "exit": {
        const job = this.running.get(w);
        if (!job || job.gate.jobId !== m.job_id) {
          this.log("warn", `engine worker ${w.index} reported the end of job ${m.job_id}, which it was not running`);
          return;
        }
        this.endJob(w, job, {
          code: m.code,
          signal: signalName(m.signal),
          what: "job process",
          ...(m.reason === "memory" ? { memory: { usedMb: m.peak_mb ?? 0, limitMb: m.limit_mb ?? 0 } } : {}),
          ...(m.peak_mb !== undefined ? { peakMb: m.peak_mb } : {}),
        });
        if (w.state === "busy") w.state = "ready";
        this.dispatch();
        return;
      }
      case "rejected": {
        const job = this.running.get(w);
        this.log("warn", `engine worker ${w.index} rejected job ${m.job_id}: ${m.reason}`);
        if (job && (m.job_id === null || m.job_id === job.gate.jobId)) {
          this.running.delete(w);
          w.jobId = null;
          job.resolve(job.gate.fail({ name: "EngineRejected", message: `the engine refused the job: ${m.reason}`, transient: true }));
          if (w.state === "busy") w.state = "ready";
          this.dispatch();
        }
        return;
      }
      case "error":
        this.log("warn", `engine worker ${w.index}: ${m.message}`);
        return;
      default: {
        const never: never = m;
        this.log("warn", `unknown worker message ${JSON.stringify(never)}`);
      }
    }
  }

  /** The job's process is gone: finish it from what the engine said, or synthesize the ending. */
  private endJob(
    w: EngineWorker,
    job: Job,
    how: { code: number | null; signal: string | null; what: string; memory?: { usedMb: number; limitMb: number }; peakMb?: number },
  ): void {
    this.running.delete(w);
    w.jobId = null;
    if (job.gate.finished) {
      job.resolve(job.gate.finished);
      return;
    }
    if (job.cancelRequested) {
      job.resolve(job.gate.cancel());
      return;
    }
    const exit = how.signal ? `was killed by ${how.signal}` : `exited with code ${how.code}`;
    const where = job.gate.stage ? ` at stage ${job.gate.stage}` : "";
    const tail = fileTail(job.logPath, 3000).trimEnd();
    const logLines = tail ? `\nLast lines of the job's log:\n${tail}` : "";
    const error: ErrorInfo = how.memory
      ? {
          name: "OutOfMemory",
          message: `Out of memory${where}: the job used ${Math.round(how.memory.usedMb)} MB, over its limit of ${Math.round(how.memory.limitMb)} MB, and was stopped.`,
          hint: (job.spec as { memory_mb?: number }).memory_mb
            ? "Use fewer rows, columns or models (or lighter setup options), or raise the pipeline step's resources.memory (the worker's own limit, caretflow up/worker --job-memory MB, caps it)."
            : "Use fewer rows, columns or models (or lighter setup options), or raise the job memory limit (caretflow up --job-memory MB, or CARETFLOW_JOB_MEMORY_MB).",
          transient: false,
        }
      : {
          name: "EngineCrashed",
          message: `The engine ${how.what} ${exit}${where} before the job finished${how.peakMb ? ` (peak memory ${Math.round(how.peakMb)} MB)` : ""}.${logLines}`,
          hint:
            how.signal === "SIGKILL"
              ? `Something outside caretflow stopped it: the system's out-of-memory killer or a person. If memory ran out, set a job memory limit below the machine's memory (caretflow up --job-memory MB) so caretflow stops such a job cleanly. The full log is ${job.logPath}.`
              : `See the full log at ${job.logPath}; run the job again, and report it if it happens again.`,
          transient: false,
        };
    this.log("error", `job ${job.gate.jobId}: engine ${how.what} ${exit}`);
    job.resolve(job.gate.fail(error));
  }

  private onWorkerExit(w: EngineWorker, code: number | null, signal: NodeJS.Signals | null): void {
    const job = this.running.get(w);
    if (job) this.endJob(w, job, { code, signal, what: "worker" });
    if (this.closing) return;
    const n = this.deaths.get(w) ?? 0;
    this.deaths.set(w, n + 1);
    const delay = this.backoff[Math.min(n, this.backoff.length - 1)] ?? 1000;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    // A worker that cannot even start (broken venv, import error) says why in its log.
    const lastLine = fileTail(w.logPath, 600).trimEnd().split("\n").at(-1)?.trim();
    this.lastProblem = `engine worker ${w.index} exited (${how}); restarting in ${Math.round(delay / 1000)} s${lastLine ? `. Last log line: ${lastLine}` : ""}`;
    this.log("warn", `engine worker ${w.index} exited (${how}); restarting`);
    setTimeout(() => {
      if (this.closing) return;
      w.start();
    }, delay).unref();
  }
}

/** The memory limit a job runs under: the lower of the host's job limit and the job's own (a pipeline step's `resources`). */
export function jobMemoryLimit(host: number | undefined, job: number | undefined): number | undefined {
  if (host && job) return Math.min(host, job);
  return host || job || undefined;
}
