import { type EngineEvent, type ErrorInfo, type JobResult, PROTOCOL_VERSION } from "@caretflow/contracts";

export type JobStatus = "succeeded" | "failed" | "cancelled";

export interface JobOutcome {
  status: JobStatus;
  result?: JobResult;
  error?: ErrorInfo;
}

/**
 * The per-job guard between the engine and the caller: it forwards events in
 * order, makes sure exactly one `finished` goes out and that it is the last
 * event, and synthesizes the ending (crash, cancel) when the engine could not.
 * Pure: no I/O, the clock is injected.
 */
export class JobGate {
  private nextSeq = 0;
  private done: JobOutcome | null = null;
  private lastError: ErrorInfo | undefined;
  /** pid of the job process, from its `started` event. */
  pid: number | null = null;
  /** The stage the job was in last, for saying where a job that died stopped. */
  stage: string | null = null;

  constructor(
    readonly jobId: string,
    private readonly emit: (e: EngineEvent) => void,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  get finished(): JobOutcome | null {
    return this.done;
  }

  /**
   * Accepts an engine event for this job. Returns a warning text when the
   * event was dropped (wrong job, after finished), otherwise null.
   */
  accept(e: EngineEvent): string | null {
    if (e.job_id !== this.jobId) return `event for job ${e.job_id} arrived while job ${this.jobId} runs; dropped`;
    if (this.done) return `${e.type} event after finished for job ${this.jobId}; dropped`;
    // Keep our numbering gapless even if the engine skipped or repeated a number;
    // the engine's own seq is what a golden test checks.
    const forwarded = e.seq === this.nextSeq ? e : { ...e, seq: this.nextSeq };
    this.nextSeq = forwarded.seq + 1;
    switch (forwarded.type) {
      case "started":
        this.pid = forwarded.pid;
        break;
      case "error":
        this.lastError = forwarded.error;
        break;
      case "finished":
        this.done = {
          status: forwarded.status,
          ...(forwarded.result ? { result: forwarded.result } : {}),
          ...(forwarded.status === "failed" ? { error: this.lastError ?? unexplainedFailure() } : {}),
        };
        break;
      case "stage":
        this.stage = forwarded.stage;
        break;
      case "progress":
      case "leaderboard_row":
      case "metric":
      case "artifact":
      case "run":
      case "log":
      case "warning":
        break;
      default: {
        const never: never = forwarded;
        return `unknown event ${JSON.stringify(never).slice(0, 100)}`;
      }
    }
    this.emit(forwarded);
    return null;
  }

  /** Ends the job as failed with this error (an `error` then `finished`), unless it already ended. */
  fail(error: ErrorInfo): JobOutcome {
    if (this.done) return this.done;
    this.emit({ ...this.base(), type: "error", error });
    this.lastError = error;
    return this.finish({ status: "failed", error });
  }

  /** Ends the job as cancelled, unless it already ended. */
  cancel(): JobOutcome {
    if (this.done) return this.done;
    return this.finish({ status: "cancelled" });
  }

  private finish(outcome: JobOutcome): JobOutcome {
    this.emit({ ...this.base(), type: "finished", status: outcome.status });
    this.done = outcome;
    return outcome;
  }

  private base() {
    const seq = this.nextSeq++;
    return { v: PROTOCOL_VERSION, seq, ts: this.now(), job_id: this.jobId } as const;
  }
}

function unexplainedFailure(): ErrorInfo {
  return {
    name: "EngineFailed",
    message: "the engine reported a failure without saying why",
    hint: "see the job's log",
    transient: false,
  };
}
