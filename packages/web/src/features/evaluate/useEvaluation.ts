import type { EvaluateResult, Job, JobStatus } from "@caretflow/contracts";
import { useCallback, useEffect, useRef, useState } from "react";
import { useApi, useResource } from "../../api/context.tsx";
import { isTerminal, type JobView } from "../jobs/job.state.ts";
import { useJobEvents } from "../jobs/useJobEvents.ts";
import { type EvaluationMatch, evaluateResult, findEvaluation } from "./evaluate.helpers.ts";

/** How long a page looks for the evaluate job the server queues after a training job before it says there is none. */
const LOOK_FOR_MS = 20_000;
const LOOK_EVERY_MS = 1500;

export interface Evaluation {
  /** The evaluate job followed, once known. */
  job: Job | null;
  view: JobView;
  status: JobStatus | null;
  result: EvaluateResult | null;
  /** True while the page is still looking for an evaluate job it expects. */
  looking: boolean;
  /** False until the server's jobs have been read once (nothing can be said yet). */
  known: boolean;
  /** Queues a new evaluation of the model's run and follows it. */
  start: () => Promise<void>;
  starting: boolean;
  startError: unknown;
}

/**
 * The evaluation of a model (charts, plots, SHAP, the report), followed live: found among the server's jobs
 * by `match`, or started here. `expected` says one should exist (a training just succeeded), so the page keeps
 * looking for a while; `onFinished` runs once it ends, for the page to reload the run's artifacts.
 */
export function useEvaluation(opts: {
  match: EvaluationMatch | null;
  runId: string | null;
  expected: boolean;
  onFinished?: () => void;
}): Evaluation {
  const api = useApi();
  const { match, runId, expected } = opts;
  const matchKey = match ? ("after" in match ? `after:${match.after}` : `run:${match.run}`) : "none";
  const jobs = useResource((a) => (match ? a.listJobs() : Promise.resolve([])), `evaluations:${matchKey}`);
  const [started, setStarted] = useState<Job | null>(null);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<unknown>(null);
  const found = started ?? (match && jobs.data ? findEvaluation(jobs.data, match) : null);

  const [since] = useState(() => Date.now());
  const looking = expected && !found && !jobs.error && Date.now() - since < LOOK_FOR_MS;
  const { reload } = jobs;
  useEffect(() => {
    if (!looking || jobs.loading) return;
    const t = setTimeout(reload, LOOK_EVERY_MS);
    return () => clearTimeout(t);
  }, [looking, jobs.loading, reload]);

  const { view } = useJobEvents(found?.id ?? null);
  const status = view.status ?? found?.status ?? null;
  const terminal = isTerminal(status);

  // Once per evaluate job seen ended (while the page watched, or before it opened): reload the run.
  const onFinished = useRef(opts.onFinished);
  onFinished.current = opts.onFinished;
  const reported = useRef<string | null>(null);
  useEffect(() => {
    if (!found || !terminal || reported.current === found.id) return;
    reported.current = found.id;
    // Even a job first seen already ended may have ended after the page loaded the run (a quick evaluation
    // finishes between two looks for it), so the run is read again whenever it is seen ended.
    onFinished.current?.();
  }, [found, terminal]);

  const start = useCallback(async () => {
    if (!runId) return;
    setStarting(true);
    setStartError(null);
    try {
      setStarted(await api.startEvaluate(runId));
    } catch (err) {
      setStartError(err);
    } finally {
      setStarting(false);
    }
  }, [api, runId]);

  const known = found !== null || jobs.data !== undefined || jobs.error !== undefined;
  return { job: found, view, status, result: evaluateResult(found, view.result), looking, known, start, starting, startError };
}
