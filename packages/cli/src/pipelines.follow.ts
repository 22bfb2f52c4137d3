import { setTimeout as sleep } from "node:timers/promises";
import { CaretflowError, type PipelineRun } from "@caretflow/contracts";
import type { ApiClient } from "./client.ts";
import type { CommandEnv } from "./common.ts";
import { type StepStates, stepChanges } from "./pipelines.view.ts";

export function isRunFinished(run: Pick<PipelineRun, "status">): boolean {
  return run.status === "succeeded" || run.status === "failed" || run.status === "cancelled";
}

export interface WaitOptions {
  /** Time between two looks at the run (default 1s). */
  intervalMs?: number;
  /** Stops waiting (the run goes on). */
  signal?: AbortSignal;
  /** The lines of the steps whose state changed, as stepChanges words them. */
  onSteps(lines: string[]): void;
  /** The server did not answer; waiting goes on. */
  onUnreachable?(err: CaretflowError, inARow: number): void;
  /** Give up after this many looks in a row that got no answer (default 60). */
  maxMisses?: number;
}

/**
 * Look at a run about every second until it finishes, reporting each step's state change once.
 * Returns the finished run; throws an AbortError when `signal` stops the wait.
 */
export async function waitForRun(client: ApiClient, first: PipelineRun, opts: WaitOptions): Promise<PipelineRun> {
  const seen: StepStates = new Map();
  const interval = opts.intervalMs ?? 1000;
  const maxMisses = opts.maxMisses ?? 60;
  let run = first;
  let misses = 0;
  for (;;) {
    const lines = stepChanges(run, seen);
    if (lines.length > 0) opts.onSteps(lines);
    if (isRunFinished(run)) return run;
    await sleep(interval, undefined, { signal: opts.signal });
    try {
      run = await client.GET("/api/pipeline-runs/{id}", {
        params: { path: { id: run.id } },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      misses = 0;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (!(err instanceof CaretflowError) || err.code !== "server_unreachable") throw err;
      misses++;
      if (misses >= maxMisses) throw err;
      opts.onUnreachable?.(err, misses);
    }
  }
}

export type FollowedRun = { interrupted: false; run: PipelineRun } | { interrupted: true; run: PipelineRun };

/**
 * Follow a run on stderr (one line per step state change) until it finishes. Ctrl-C stops waiting
 * without cancelling the run, and says how to cancel it.
 */
export async function followRun(env: CommandEnv, client: ApiClient, first: PipelineRun, intervalMs?: number): Promise<FollowedRun> {
  const abort = new AbortController();
  let last = first;
  const dispose = env.ctx.onInterrupt(() => abort.abort());
  try {
    const run = await waitForRun(client, first, {
      ...(intervalMs === undefined ? {} : { intervalMs }),
      signal: abort.signal,
      onSteps: (lines) => env.out.note(lines.join("\n")),
      onUnreachable: (err, n) => {
        if (n === 1) env.out.note(`${err.message}; still waiting for run ${first.id}`);
      },
    });
    return { interrupted: false, run };
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    last = await client.GET("/api/pipeline-runs/{id}", { params: { path: { id: first.id } } }).catch(() => last);
    env.out.note(
      `stopped waiting; run ${first.id} goes on (${last.status})\n` +
        `hint: follow it with \`caretflow pipelines show ${first.id}\`; cancel it with \`caretflow pipelines cancel ${first.id}\``,
    );
    return { interrupted: true, run: last };
  } finally {
    dispose();
  }
}
