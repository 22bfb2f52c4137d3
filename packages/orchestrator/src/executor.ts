import type { EngineEvent, ErrorInfo, JobOutput, JobResult, JobSpec } from "@caretflow/contracts";
import type { DatasetVersionForSpec } from "./spec.builder.ts";

/** What an executor needs from an engine (EngineHost satisfies it). */
export interface EngineRunner {
  run(
    spec: JobSpec,
    opts: { onEvent: (e: EngineEvent) => void; logPath: string; signal?: AbortSignal },
  ): Promise<{ status: "succeeded" | "failed" | "cancelled"; result?: JobResult; error?: ErrorInfo }>;
}

/**
 * What runs after the engine, where the job ran, as data (so an executor on another machine can carry
 * it): each step is a plain JSON value, and its code is a handler of the PostStepRunner the executor
 * was built with.
 */
export type PostStep =
  /** Record the digest of the model the job logged, before anything may load it. */
  | { step: "record_model" }
  /**
   * Store every table the job left in its outbox as a dataset version of `project` (labels as a version of
   * the input dataset; predictions, topic weights, rules... as datasets of their own), then empty the
   * outbox; runs whatever the outcome, so a failed job's outbox is removed too.
   */
  | {
      step: "store_outputs";
      project: string;
      input: DatasetVersionForSpec;
      /** Dataset names by output role, where the request chose them. */
      names?: Partial<Record<JobOutput["role"], string>>;
      /** The model (NAME/VERSION) that made predictions, recorded as their source. */
      model?: string;
    };

export interface StoredOutput {
  role: string;
  name: string;
  version: number;
}

/** Runs post-steps; a step that throws fails the job with its error. */
export interface PostStepRunner {
  run(jobId: string, step: PostStep, outcome: ExecutionOutcome): Promise<{ outputs?: StoredOutput[] }>;
}

export interface ExecutorJob {
  id: string;
  spec: JobSpec;
  logPath: string;
  /** Steps after the engine, in order. */
  post?: PostStep[];
  /** Called when a slot is free, right before the engine gets the job. */
  onStart: () => Promise<void> | void;
  /** Every engine event, in the order the engine emitted them. */
  onEvent: (e: EngineEvent) => void;
  /**
   * The job starts over on another worker (attempt 2, 3...) because the one running it stopped; its
   * engine events start again from seq 0.
   */
  onRetry?: (attempt: number) => Promise<void> | void;
}

/** A job an executor follows again after a restart: its hooks, and whether it had started. */
export interface AttachedJob {
  id: string;
  /** It was running (its start hook ran) when the previous server stopped. */
  started: boolean;
  onStart: () => Promise<void> | void;
  onEvent: (e: EngineEvent) => void;
  onRetry?: (attempt: number) => Promise<void> | void;
}

export interface ExecutionOutcome {
  status: "succeeded" | "failed" | "cancelled";
  result?: JobResult;
  error?: ErrorInfo;
  /** true when the job was cancelled while still queued: the engine never saw it. */
  neverStarted?: boolean;
  /** The datasets the post-steps stored. */
  outputs?: StoredOutput[];
  /**
   * The executor stopped following the job, which goes on where it runs (a queue-backed executor
   * closing with the server): the job is not over, and a server started later follows it.
   */
  detached?: boolean;
}

/**
 * Where jobs run: the in-process executor (LocalExecutor, the embedded default) or workers reached
 * through a queue. Every implementation passes the contract suite in executor.contract.ts.
 */
export interface Executor {
  /**
   * Queues a job; resolves with its outcome once it has finished and its post-steps have run (or it
   * was cancelled while queued). Rejects when a job with that id is already queued or running.
   */
  submit(job: ExecutorJob): Promise<ExecutionOutcome>;
  /** Where the job was when the cancel arrived: a queued job ends at once, a running one is signalled. */
  cancel(id: string): Promise<"queued" | "running" | "unknown">;
  /** Jobs running and waiting now. */
  counts(): Promise<{ running: number; queued: number }>;
  /** Cancels everything and waits for running jobs to stop. */
  close(): Promise<void>;
  /**
   * Follow again jobs a previous server queued or started here (executors whose jobs outlive the
   * server): each promise resolves with the job's outcome, `failed` with `JobLost` when the executor
   * no longer has the job. Call before the first submit. Absent: jobs end with the server.
   */
  reattach?(jobs: AttachedJob[]): Promise<ExecutionOutcome>[];
}

/** Runs a job's post-steps after its engine run; a step that throws turns the outcome into a failure. */
export async function runPostSteps(
  runner: PostStepRunner | undefined,
  job: Pick<ExecutorJob, "id" | "post">,
  outcome: ExecutionOutcome,
): Promise<ExecutionOutcome> {
  const steps = job.post ?? [];
  if (steps.length === 0 || outcome.neverStarted) return outcome;
  if (!runner) throw new Error(`job ${job.id} has post-steps but the executor has no post-step runner`);
  let outputs: StoredOutput[] | undefined;
  for (const step of steps) {
    // A step runs only after a success, except storing outputs, which also empties a failed job's outbox.
    if (outcome.status !== "succeeded" && step.step !== "store_outputs") continue;
    try {
      const done = await runner.run(job.id, step, outcome);
      if (done.outputs) outputs = [...(outputs ?? []), ...done.outputs];
    } catch (err) {
      return { status: "failed", error: errorInfo(err) };
    }
  }
  return outputs && outcome.status === "succeeded" ? { ...outcome, outputs } : outcome;
}

/** The outcome of a job an executor refused or dropped because it is closing. */
export function closedOutcome(): ExecutionOutcome {
  return {
    status: "cancelled",
    neverStarted: true,
    error: { name: "ServerStopping", message: "caretflow stopped before the job could run", hint: "Start the job again.", transient: true },
  };
}

/** An error caretflow did not expect (a bug) as the job's ErrorInfo, with its stack. */
export function bugInfo(err: unknown): ErrorInfo {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    name: e.name || "Error",
    message: e.message,
    hint: "This is a caretflow bug; the server log has details.",
    transient: false,
    ...(e.stack ? { stack: e.stack } : {}),
  };
}

/**
 * Work a job needs done where it runs before its engine starts, e.g. fetching the dataset files its spec
 * names from shared storage (the server's `caretflow worker` wiring supplies it).
 */
export type PrepareJob = (spec: JobSpec, signal?: AbortSignal) => Promise<void>;

/**
 * A job's engine run after its preparation. A preparation that fails fails the job with its error's code
 * and hint (a corrupt dataset file is no caretflow bug), and the engine never sees it.
 */
export async function preparedRun(
  engine: EngineRunner,
  prepare: PrepareJob | undefined,
  spec: JobSpec,
  opts: Parameters<EngineRunner["run"]>[1],
): ReturnType<EngineRunner["run"]> {
  if (prepare) {
    try {
      await prepare(spec, opts.signal);
    } catch (error) {
      if (opts.signal?.aborted) return { status: "cancelled" };
      return { status: "failed", error: errorInfo(error) };
    }
    if (opts.signal?.aborted) return { status: "cancelled" };
  }
  return engine.run(spec, opts);
}

/** A thrown error as the job's ErrorInfo: a caretflow error keeps its code, hint and whether it is transient. */
export function errorInfo(err: unknown): ErrorInfo {
  const e = err as { code?: string; name?: string; message?: string; hint?: string; kind?: string };
  return {
    name: e.code ?? e.name ?? "Error",
    message: e.message ?? String(err),
    ...(e.hint ? { hint: e.hint } : {}),
    transient: e.kind === "operational",
  };
}
