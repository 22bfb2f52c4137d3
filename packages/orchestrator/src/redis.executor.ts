import type { EngineEvent, JobSpec } from "@caretflow/contracts";
import { Queue, type Job as QueueJob, Worker } from "bullmq";
import { Redis } from "ioredis";
import {
  type AttachedJob,
  bugInfo,
  closedOutcome,
  type EngineRunner,
  type ExecutionOutcome,
  type Executor,
  type ExecutorJob,
  type PostStep,
  type PostStepRunner,
  type PrepareJob,
  preparedRun,
  runPostSteps,
} from "./executor.ts";

/**
 * Jobs on workers reached through Redis (BullMQ): the server's RedisExecutor queues a job; any
 * RedisWorker, on this machine or another, takes it when it has a free slot. The two sides share only
 * Redis:
 *
 * - the job, as BullMQ job data (its spec, log path and post-steps: JSON, no closures);
 * - one Redis stream per queue (`<queue>:events`), where workers append what the server must see,
 *   in order: `starting` (a worker took the job), every engine event, and the `outcome`;
 * - one pub/sub channel per queue (`<queue>:control`), where the server answers `go` or `stop` to a
 *   `starting` (after its start hook ran, so the job is recorded as running before any event) and
 *   sends `cancel`.
 *
 * A worker that hears no answer to its `starting` within `startTimeoutMs` gives the job up as failed.
 */
export interface RedisExecutorOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string;
  /** The BullMQ queue's name, also the prefix of the stream and channel; default "caretflow-jobs". */
  queue?: string;
}

const DEFAULT_QUEUE = "caretflow-jobs";

/** What a queued job carries. */
interface QueuedJob {
  id: string;
  spec: JobSpec;
  logPath: string;
  post: PostStep[];
}

/** What a worker appends to the events stream. */
type StreamEntry =
  /** A worker took the job; attempt 2 and up after the worker running it was lost. */
  | { kind: "starting"; job: string; attempt?: number }
  | { kind: "event"; job: string; event: EngineEvent }
  | { kind: "outcome"; job: string; outcome: ExecutionOutcome };

type Control = { kind: "go" | "stop" | "cancel"; job: string };

const eventsKey = (queue: string) => `${queue}:events`;
/** The id of the last stream entry the server has handled, so a restarted server reads on from there. */
const cursorKey = (queue: string) => `${queue}:cursor`;
const controlChannel = (queue: string) => `${queue}:control`;

/**
 * A Redis connection BullMQ can share: no per-command retry limit, as it blocks on some commands.
 * Connection errors are retried by ioredis and end up in the commands that wait on them.
 */
function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on("error", () => {});
  return redis;
}

interface Pending {
  job: Pick<ExecutorJob, "id" | "onStart" | "onEvent" | "onRetry">;
  resolve: (o: ExecutionOutcome) => void;
  started: boolean;
  /** Followed again after a restart: checked against the queue once the backlog is read. */
  reattached?: boolean;
}

/** The server side: queues jobs on Redis and follows them through the events stream. */
export class RedisExecutor implements Executor {
  readonly #queueName: string;
  readonly #queue: Queue;
  readonly #commands: Redis;
  readonly #reader: Redis;
  readonly #pending = new Map<string, Pending>();
  #closed = false;
  #reading: Promise<void> | null = null;
  readonly #cursor: string;
  readonly #lostAfterMs: number;

  private constructor(url: string, queue: string, cursor: string, lostAfterMs: number) {
    this.#queueName = queue;
    this.#commands = connect(url);
    this.#reader = connect(url);
    this.#queue = new Queue(queue, { connection: this.#commands });
    this.#cursor = cursor;
    this.#lostAfterMs = lostAfterMs;
  }

  /**
   * Connects. The events stream is read from where the previous server stopped (its saved cursor), or
   * from its current end the first time, once `reattach` or the first `submit` starts following it.
   */
  static async open(opts: RedisExecutorOptions & { lostAfterMs?: number }): Promise<RedisExecutor> {
    const queue = opts.queue ?? DEFAULT_QUEUE;
    const probe = connect(opts.url);
    try {
      const saved = await probe.get(cursorKey(queue));
      const end = (await probe.xrevrange(eventsKey(queue), "+", "-", "COUNT", 1))[0]?.[0] ?? "0-0";
      return new RedisExecutor(opts.url, queue, saved ?? end, opts.lostAfterMs ?? 2000);
    } finally {
      probe.disconnect();
    }
  }

  reattach(jobs: AttachedJob[]): Promise<ExecutionOutcome>[] {
    const outcomes = jobs.map(
      (job) =>
        new Promise<ExecutionOutcome>((resolve) => {
          this.#pending.set(job.id, { job, resolve, started: job.started, reattached: true });
        }),
    );
    this.#follow();
    return outcomes;
  }

  #follow(): void {
    this.#reading ??= this.#read(this.#cursor);
  }

  async submit(job: ExecutorJob): Promise<ExecutionOutcome> {
    if (this.#closed) return closedOutcome();
    this.#follow();
    // Claimed here before anything is awaited, so two submits of one id cannot both pass.
    if (this.#pending.has(job.id)) throw new Error(`job ${job.id} is already submitted`);
    const outcome = new Promise<ExecutionOutcome>((resolve) => {
      this.#pending.set(job.id, { job, resolve, started: false });
    });
    const data: QueuedJob = { id: job.id, spec: job.spec, logPath: job.logPath, post: job.post ?? [] };
    try {
      // Another server's job with this id (BullMQ would silently keep the first).
      if (await this.#queue.getJob(job.id)) throw new Error(`job ${job.id} is already submitted`);
      await this.#queue.add(job.spec.kind, data, { jobId: job.id, removeOnComplete: true, removeOnFail: true, attempts: 1 });
    } catch (error) {
      this.#pending.delete(job.id);
      throw error;
    }
    return await outcome;
  }

  async cancel(id: string): Promise<"queued" | "running" | "unknown"> {
    const pending = this.#pending.get(id);
    const queued = await this.#queue.getJob(id);
    if (!pending && !queued) return "unknown";
    if (pending && !pending.started && queued) {
      // A job still waiting is removed; one a worker has locked (taken) cannot be, and is cancelled there.
      const removed = await queued.remove().then(
        () => true,
        () => false,
      );
      if (removed) {
        this.#finish(id, { status: "cancelled", neverStarted: true });
        return "queued";
      }
    }
    await this.#commands.publish(controlChannel(this.#queueName), JSON.stringify({ kind: "cancel", job: id } satisfies Control));
    return "running";
  }

  async counts(): Promise<{ running: number; queued: number }> {
    const c = await this.#queue.getJobCounts("active", "waiting", "prioritized", "delayed");
    return { running: c.active ?? 0, queued: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) };
  }

  /**
   * Stops following jobs; the jobs themselves stay queued or go on running on their workers, and end
   * here as `detached` (not over: a server started later follows them again with `reattach`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#pending.keys()]) this.#finish(id, { status: "cancelled", detached: true });
    this.#reader.disconnect();
    await this.#reading?.catch(() => {});
    await this.#queue.close();
    this.#commands.disconnect();
  }

  #finish(id: string, outcome: ExecutionOutcome): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    p.resolve(outcome);
  }

  async #read(from: string): Promise<void> {
    let last = from;
    // The backlog first (entries appended while no server followed), then the lost check, then live.
    let caughtUp = false;
    while (!this.#closed) {
      let batch: [string, [string, string[]][]][] | null;
      try {
        const block = caughtUp ? ["BLOCK", 1000] : [];
        batch = (await this.#reader.xread("COUNT", 500, ...(block as []), "STREAMS", eventsKey(this.#queueName), last)) as typeof batch;
      } catch {
        if (this.#closed) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const entries = batch?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        last = id;
        const body = fields[1];
        if (body) await this.#dispatch(JSON.parse(body) as StreamEntry);
      }
      if (entries.length > 0) await this.#commands.set(cursorKey(this.#queueName), last).catch(() => {});
      if (!caughtUp && entries.length === 0) {
        caughtUp = true;
        await this.#settleLost(
          () => last,
          (l) => {
            last = l;
          },
        );
      }
    }
  }

  /**
   * A reattached job the queue no longer has and whose outcome the backlog did not hold is lost (Redis
   * lost its data). A worker appends the outcome just after the queue lets the job go, so the stream
   * is read once more after a pause before saying so.
   */
  async #settleLost(last: () => string, moved: (l: string) => void): Promise<void> {
    const missing = async () => {
      const out: string[] = [];
      for (const [id, p] of this.#pending) if (p.reattached && !(await this.#queue.getJob(id))) out.push(id);
      return out;
    };
    if ((await missing()).length === 0) return;
    await new Promise((r) => setTimeout(r, this.#lostAfterMs));
    const batch = (await this.#reader.xread("COUNT", 10_000, "STREAMS", eventsKey(this.#queueName), last())) as
      | [string, [string, string[]][]][]
      | null;
    for (const [id, fields] of batch?.[0]?.[1] ?? []) {
      moved(id);
      if (fields[1]) await this.#dispatch(JSON.parse(fields[1]) as StreamEntry);
    }
    for (const id of await missing()) {
      this.#finish(id, {
        status: "failed",
        error: {
          name: "JobLost",
          message:
            "the job is no longer on the Redis queue and no worker reported its end (Redis lost its data while caretflow was stopped)",
          hint: "Start the job again.",
          transient: true,
        },
      });
    }
  }

  async #dispatch(entry: StreamEntry): Promise<void> {
    const p = this.#pending.get(entry.job);
    if (!p) return; // another server's job, or one that already ended here
    if (entry.kind === "starting") {
      try {
        // Taken again (the worker running it died and BullMQ gave it to another): a new attempt, not a new start.
        if (!p.started) await p.job.onStart();
        else if ((entry.attempt ?? 1) > 1) await p.job.onRetry?.(entry.attempt!);
        p.started = true;
        await this.#control({ kind: "go", job: entry.job });
      } catch (error) {
        await this.#control({ kind: "stop", job: entry.job });
        this.#finish(entry.job, { status: "failed", error: bugInfo(error) });
      }
    } else if (entry.kind === "event") {
      p.job.onEvent(entry.event);
    } else {
      this.#finish(entry.job, entry.outcome);
    }
  }

  async #control(message: Control): Promise<void> {
    await this.#commands.publish(controlChannel(this.#queueName), JSON.stringify(message));
  }
}

export interface RedisWorkerOptions extends RedisExecutorOptions {
  engine: EngineRunner;
  /** Runs the jobs' post-steps here, where the jobs run. */
  post?: PostStepRunner;
  /** Runs before each job's engine, here (e.g. fetching its dataset files from shared storage); see PrepareJob. */
  prepare?: PrepareJob;
  /** Jobs this worker runs at once. */
  concurrency: number;
  /** How long to wait for the server's answer to `starting` (default 60 s). */
  startTimeoutMs?: number;
  /**
   * How long a worker's hold on a job lasts without being renewed (BullMQ's lock; default 30 s). A worker
   * that dies loses its jobs after this, and another worker takes them within about as long again.
   */
  lockMs?: number;
  /** Log lines (a job taken), default none. */
  log?: (line: string) => void;
}

/**
 * What BullMQ's failure of a job means. A job whose workers died more often than BullMQ allows (one
 * stall) is failed by the next worker that takes it, before it runs: the workers were lost, not a bug.
 */
function failureOf(error: Error): ExecutionOutcome["error"] {
  if (/stalled more than allowable limit/.test(error.message)) {
    return {
      name: "WorkerLost",
      message: "the workers running the job stopped (killed or out of memory) each time it was taken, so it was given up",
      hint: "Check the workers' logs and memory, then start the job again.",
      transient: true,
    };
  }
  return bugInfo(error);
}

/** The worker side: takes jobs from the queue and runs them on its engine. */
export class RedisWorker {
  readonly #o: RedisWorkerOptions;
  readonly #queueName: string;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #taking: Redis;
  readonly #worker: Worker<QueuedJob, ExecutionOutcome>;
  readonly #answers = new Map<string, (kind: "go" | "stop") => void>();

  private constructor(o: RedisWorkerOptions, subscriber: Redis) {
    this.#o = o;
    this.#queueName = o.queue ?? DEFAULT_QUEUE;
    this.#commands = connect(o.url);
    this.#subscriber = subscriber;
    subscriber.on("message", (_channel: string, message: string) => this.#onControl(JSON.parse(message) as Control));
    this.#taking = connect(o.url);
    this.#worker = new Worker<QueuedJob, ExecutionOutcome>(this.#queueName, (job, _token, signal) => this.#process(job, signal), {
      connection: this.#taking,
      concurrency: o.concurrency,
      ...(o.lockMs ? { lockDuration: o.lockMs, stalledInterval: o.lockMs } : {}),
    });
    // The outcome goes out once BullMQ has marked the job done, so the queue's counts agree with it.
    this.#worker.on("completed", (job, outcome) => void this.#append({ kind: "outcome", job: job.data.id, outcome }));
    this.#worker.on("failed", (job, error) => {
      if (job) void this.#append({ kind: "outcome", job: job.data.id, outcome: { status: "failed", error: failureOf(error) } });
    });
  }

  /** Subscribes to the control channel, then starts taking jobs. */
  static async start(o: RedisWorkerOptions): Promise<RedisWorker> {
    const subscriber = connect(o.url);
    await subscriber.subscribe(controlChannel(o.queue ?? DEFAULT_QUEUE));
    return new RedisWorker(o, subscriber);
  }

  /** Stops taking jobs, cancels the running ones and waits for them to end. */
  async close(): Promise<void> {
    this.#worker.cancelAllJobs("the worker is stopping");
    await this.#worker.close();
    this.#taking.disconnect();
    this.#subscriber.disconnect();
    this.#commands.disconnect();
  }

  async #process(job: QueueJob<QueuedJob, ExecutionOutcome>, signal: AbortSignal | undefined): Promise<ExecutionOutcome> {
    const { id, spec, logPath, post } = job.data;
    const answer = new Promise<"go" | "stop" | "timeout">((resolve) => {
      this.#answers.set(id, resolve);
      setTimeout(() => resolve("timeout"), this.#o.startTimeoutMs ?? 60_000).unref();
    });
    const attempt = job.attemptsStarted;
    this.#o.log?.(`taking job ${id}${attempt > 1 ? ` (attempt ${attempt})` : ""}`);
    await this.#append({ kind: "starting", job: id, ...(attempt > 1 ? { attempt } : {}) });
    const heard = await answer;
    this.#answers.delete(id);
    if (heard === "stop") return { status: "cancelled", neverStarted: true };
    if (heard === "timeout") {
      return {
        status: "failed",
        error: {
          name: "ServerUnreachable",
          message: "no caretflow server answered when the worker took the job",
          hint: "Start the job again.",
          transient: true,
        },
      };
    }
    if (signal?.aborted) return { status: "cancelled" };
    try {
      const outcome = await preparedRun(this.#o.engine, this.#o.prepare, spec, {
        onEvent: (event) => void this.#append({ kind: "event", job: id, event }),
        logPath,
        ...(signal ? { signal } : {}),
      });
      return await runPostSteps(this.#o.post, { id, post }, outcome);
    } catch (error) {
      return { status: "failed", error: bugInfo(error) };
    }
  }

  #onControl(message: Control): void {
    if (message.kind === "cancel") this.#worker.cancelJob(message.job, "cancelled");
    else this.#answers.get(message.job)?.(message.kind);
  }

  /** Appends to the events stream; one connection keeps the entries of a job in the order they were sent. */
  async #append(entry: StreamEntry): Promise<void> {
    await this.#commands.xadd(eventsKey(this.#queueName), "MAXLEN", "~", "100000", "*", "entry", JSON.stringify(entry));
  }
}
