import type { EngineEvent, ErrorInfo, JobResult, JobSpec } from "@caretflow/contracts";

/** What the executor needs from an engine (EngineHost satisfies it). */
export interface EngineRunner {
  run(
    spec: JobSpec,
    opts: { onEvent: (e: EngineEvent) => void; logPath: string; signal?: AbortSignal },
  ): Promise<{ status: "succeeded" | "failed" | "cancelled"; result?: JobResult; error?: ErrorInfo }>;
}

export interface ExecutorJob {
  id: string;
  spec: JobSpec;
  logPath: string;
  /** Called when a slot is free, right before the engine gets the job. */
  onStart: () => Promise<void> | void;
  onEvent: (e: EngineEvent) => void;
}

export interface ExecutionOutcome {
  status: "succeeded" | "failed" | "cancelled";
  result?: JobResult;
  error?: ErrorInfo;
  /** true when the job was cancelled while still queued: the engine never saw it. */
  neverStarted?: boolean;
}

interface Pending {
  job: ExecutorJob;
  resolve: (o: ExecutionOutcome) => void;
}

/**
 * Runs jobs on the local engine with bounded concurrency, first in first out.
 * Cancelling a queued job removes it at once; cancelling a running job aborts
 * its engine run, which reports `cancelled` when the engine has stopped.
 */
export class LocalExecutor {
  readonly #engine: EngineRunner;
  readonly #concurrency: number;
  readonly #queue: Pending[] = [];
  readonly #running = new Map<string, AbortController>();
  readonly #settled = new Set<Promise<unknown>>();
  #closed = false;

  constructor(opts: { engine: EngineRunner; concurrency: number }) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error("concurrency must be a positive integer");
    this.#engine = opts.engine;
    this.#concurrency = opts.concurrency;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  get queuedCount(): number {
    return this.#queue.length;
  }

  /** Queues a job; resolves with its outcome once it has finished (or was cancelled while queued). */
  submit(job: ExecutorJob): Promise<ExecutionOutcome> {
    if (this.#closed) return Promise.resolve(closedOutcome());
    if (this.#running.has(job.id) || this.#queue.some((p) => p.job.id === job.id)) {
      throw new Error(`job ${job.id} is already submitted`);
    }
    return new Promise((resolve) => {
      this.#queue.push({ job, resolve });
      this.#pump();
    });
  }

  /** Where the job was when cancel arrived. */
  cancel(id: string): "queued" | "running" | "unknown" {
    const i = this.#queue.findIndex((p) => p.job.id === id);
    if (i >= 0) {
      const [pending] = this.#queue.splice(i, 1);
      pending?.resolve({ status: "cancelled", neverStarted: true });
      return "queued";
    }
    const controller = this.#running.get(id);
    if (controller) {
      controller.abort();
      return "running";
    }
    return "unknown";
  }

  /** Cancels everything and waits for running jobs to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.resolve(closedOutcome());
    for (const c of this.#running.values()) c.abort();
    await Promise.allSettled([...this.#settled]);
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#concurrency && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      const controller = new AbortController();
      this.#running.set(next.job.id, controller);
      const done = this.#execute(next.job, controller.signal).then(
        (outcome) => outcome,
        (err: unknown): ExecutionOutcome => ({ status: "failed", error: bugInfo(err) }),
      );
      this.#settled.add(done);
      void done.then((outcome) => {
        this.#settled.delete(done);
        this.#running.delete(next.job.id);
        next.resolve(outcome);
        this.#pump();
      });
    }
  }

  async #execute(job: ExecutorJob, signal: AbortSignal): Promise<ExecutionOutcome> {
    await job.onStart();
    if (signal.aborted) return { status: "cancelled" };
    return await this.#engine.run(job.spec, { onEvent: job.onEvent, logPath: job.logPath, signal });
  }
}

function closedOutcome(): ExecutionOutcome {
  return {
    status: "cancelled",
    neverStarted: true,
    error: { name: "ServerStopping", message: "caretflow stopped before the job could run", hint: "Start the job again.", transient: true },
  };
}

function bugInfo(err: unknown): ErrorInfo {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    name: e.name || "Error",
    message: e.message,
    hint: "This is a caretflow bug; the server log has details.",
    transient: false,
    ...(e.stack ? { stack: e.stack } : {}),
  };
}
