import type { Job } from "@caretflow/contracts";
import { useEffect } from "react";
import { type Resource, useResource } from "../../api/context.tsx";
import { isTerminal, type JobView } from "./job.state.ts";

/**
 * The job's stored record, fetched again when the event stream says the job ended: the record carries
 * what events do not (a prediction's output dataset, final timestamps). If the record still lags the
 * stream, it is asked again shortly.
 */
export function useJobRecord(jobId: string, view: JobView): Resource<Job> {
  const job = useResource((api) => api.getJob(jobId), `job:${jobId}`);
  const terminal = isTerminal(view.status);
  const { reload, data, loading } = job;
  useEffect(() => {
    if (terminal) reload();
  }, [terminal, reload]);
  const lagging = terminal && !loading && data !== undefined && data.status !== view.status;
  useEffect(() => {
    if (!lagging) return;
    const t = setTimeout(reload, 1000);
    return () => clearTimeout(t);
  }, [lagging, reload]);
  return job;
}
