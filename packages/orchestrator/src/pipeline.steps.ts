import type { ErrorInfo, StepType } from "@caretflow/contracts";

/**
 * The seam between the pipeline runtime and what each step type does. The runtime (pipeline.runtime.ts)
 * orders steps, resolves references, retries, times out, cancels and caches; a `StepHandler` only does
 * the work of one attempt of one step and answers its outputs. The server registers one handler per
 * step type (`StepHandlers`); tests register their own.
 */

export interface StepRunContext {
  run: { id: string; project: string; pipeline: string; startedAt: string; createdBy: string | null };
  step: {
    id: string;
    type: StepType;
    /** The step's time limit, or null; the runtime aborts `signal` when it passes. */
    timeoutMs: number | null;
    resources: { memoryMb: number | null; cores: number | null };
  };
  /** The step's `with`, every reference resolved. */
  inputs: Record<string, unknown>;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the run is cancelled or the step times out; `signal.reason` is a StepFailure saying which. */
  signal: AbortSignal;
  /** Appends one line to the step's log. */
  log(line: string): void;
  /** The step's log file, for handlers whose child processes write to it. */
  logPath: string;
  /** A folder of this attempt's own, for files passed to and from child processes; removed afterwards. */
  workDir: string;
  /**
   * What an earlier attempt saved with `saveState` before the server stopped (e.g. the id of the job it
   * started), so the handler follows that work again instead of starting it twice; null otherwise.
   */
  state: Record<string, unknown> | null;
  saveState(state: Record<string, unknown>): Promise<void>;
}

export interface StepHandler {
  /** Does one attempt and answers the step's outputs (the names its step type lists). Throws StepFailure on failure. */
  run(ctx: StepRunContext): Promise<Record<string, unknown>>;
  /**
   * Whether equal inputs give an equal result, so a finished result may be reused instead of running again.
   * False for steps that act on the world or read what changes (import, notify, register, set_alias...).
   */
  cacheable?: boolean;
  /**
   * Facts the result depends on besides the inputs, added to the cache key: e.g. the content hash of the
   * dataset version a train step reads when it names no version, or the text of a custom step's file.
   */
  fingerprint?(inputs: Record<string, unknown>, run: StepRunContext["run"]): Promise<unknown>;
}

export type StepHandlers = Partial<Record<StepType, StepHandler>>;

/** A failed attempt: what went wrong, what to do, and whether trying again may help (`transient`). */
export class StepFailure extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly transient: boolean;

  constructor(code: string, message: string, opts: { hint?: string; transient?: boolean } = {}) {
    super(message);
    this.name = "StepFailure";
    this.code = code;
    this.hint = opts.hint;
    this.transient = opts.transient ?? false;
  }

  info(): ErrorInfo {
    return { name: this.code, message: this.message, transient: this.transient, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/** The code of the abort reason a stopping server gives its running steps: they leave their work running for the next server. */
export const SERVER_STOPPING = "server_stopping";

/** Whether a step's signal was aborted because the server is stopping (not a cancel, not a timeout). */
export function isServerStopping(reason: unknown): boolean {
  return reason instanceof StepFailure && reason.code === SERVER_STOPPING;
}
