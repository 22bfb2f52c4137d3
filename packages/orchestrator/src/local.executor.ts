import {
  bugInfo,
  closedOutcome,
  type EngineRunner,
  type ExecutionOutcome,
  type Executor,
  type ExecutorJob,
  type PostStepRunner,
  type PrepareJob,
  preparedRun,
  runPostSteps,
} from "./executor.ts";

interface Pending {
  job: ExecutorJob;
  resolve: (o: ExecutionOutcome) => void;
}

/**
 * The in-process executor (the embedded default): runs jobs on the local engine with bounded
 * concurrency, first in first out. Cancelling a queued job removes it at once; cancelling a running
 * job aborts its engine run, which reports `cancelled` when the engine has stopped.
 */
export class LocalExecutor implements Executor {
  readonly #engine: EngineRunner;
  readonly #post: PostStepRunner | undefined;
  readonly #prepare: PrepareJob | undefined;
  readonly #concurrency: number;
  readonly #queue: Pending[] = [];
  readonly #running = new Map<string, AbortController>();
  readonly #settled = new Set<Promise<unknown>>();
  #closed = false;

  /** prepare: run before each job's engine (see PrepareJob). */
  constructor(opts: { engine: EngineRunner; concurrency: number; post?: PostStepRunner; prepare?: PrepareJob }) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error("concurrency must be a positive integer");
    this.#engine = opts.engine;
    this.#post = opts.post;
    this.#prepare = opts.prepare;
    this.#concurrency = opts.concurrency;
  }

  async counts(): Promise<{ running: number; queued: number }> {
    return { running: this.#running.size, queued: this.#queue.length };
  }

  submit(job: ExecutorJob): Promise<ExecutionOutcome> {
    if (this.#closed) return Promise.resolve(closedOutcome());
    if (this.#running.has(job.id) || this.#queue.some((p) => p.job.id === job.id)) {
      return Promise.reject(new Error(`job ${job.id} is already submitted`));
    }
    return new Promise((resolve) => {
      this.#queue.push({ job, resolve });
      this.#pump();
    });
  }

  async cancel(id: string): Promise<"queued" | "running" | "unknown"> {
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
    const outcome = await preparedRun(this.#engine, this.#prepare, job.spec, { onEvent: job.onEvent, logPath: job.logPath, signal });
    return await runPostSteps(this.#post, job, outcome);
  }
}
