import type { Job } from "@caretflow/contracts";
import { useState } from "react";
import { useApi, useNow } from "../../api/context.tsx";
import { elapsedMs, formatDuration } from "../../lib/format.ts";
import { ErrorBox, ProgressBar, Spinner } from "../../ui/feedback.tsx";
import { Card } from "../../ui/layout.tsx";
import { isTerminal, type JobView, progressFraction, progressLabel } from "./job.state.ts";
import type { StreamState } from "./useJobEvents.ts";

/** Elapsed time of a job, ticking each second while it runs. */
export function useJobElapsed(job: Job, view: JobView): number | null {
  const terminal = isTerminal(view.status ?? job.status);
  const now = useNow(!terminal);
  const started = job.startedAt ?? view.startedAt;
  const finished = terminal ? (job.finishedAt ?? view.finishedAt) : null;
  return elapsedMs(started, finished, now);
}

export function ProgressCard({
  view,
  status,
  elapsed,
  stream,
}: {
  view: JobView;
  status: string;
  elapsed: number | null;
  stream: StreamState;
}) {
  const terminal = isTerminal(status as Job["status"]);
  return (
    <Card className="progress-card">
      <div className="progress-head" data-testid="job-progress">
        <div>
          <div className="progress-stage">
            {!terminal ? <Spinner /> : null}
            <span>
              {terminal
                ? finalWord(status)
                : view.engineFinished
                  ? "Saving the results"
                  : view.stage
                    ? stageWord(view.stage)
                    : status === "queued"
                      ? "Waiting for a worker"
                      : "Starting"}
            </span>
          </div>
          <div className="muted small">{terminal ? "" : progressLabel(view)}</div>
        </div>
        <div className="progress-elapsed">
          <span className="muted small">Elapsed</span>
          <strong data-testid="elapsed">{formatDuration(elapsed)}</strong>
        </div>
      </div>
      {!terminal ? <ProgressBar fraction={progressFraction(view)} label="Job progress" /> : null}
      {stream === "reconnecting" ? <div className="muted small">Connection lost, reconnecting… nothing will be missed.</div> : null}
      {view.warnings.length > 0 ? (
        <details className="warnings">
          <summary>
            {view.warnings.length} warning{view.warnings.length === 1 ? "" : "s"}
          </summary>
          <ul>
            {view.warnings.map((w, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: warnings only append
              <li key={i}>{w}</li>
            ))}
          </ul>
        </details>
      ) : null}
    </Card>
  );
}

export function stageWord(stage: string): string {
  const words: Record<string, string> = {
    loading: "Loading the data",
    preparing: "Preparing the data",
    setup: "Preparing the data (setup)",
    compare: "Comparing models",
    operation: "Running the operation",
    finalize: "Refitting the best model on all data",
    evaluate: "Evaluating on the hold-out rows",
    explain: "Explaining the model",
    report: "Writing the report",
    logging: "Saving to MLflow",
    assign: "Assigning rows",
    scoring: "Scoring rows",
    writing: "Writing the predictions",
    drift: "Comparing distributions with the reference",
  };
  return words[stage] ?? stage;
}

function finalWord(status: string): string {
  return status === "succeeded" ? "Finished" : status === "cancelled" ? "Cancelled" : status === "failed" ? "Failed" : status;
}

export function CancelButton({ jobId }: { jobId: string }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <button
        type="button"
        className="btn btn-danger"
        disabled={busy}
        data-testid="cancel-job"
        onClick={async () => {
          setBusy(true);
          try {
            await api.cancelJob(jobId);
          } catch (err) {
            setError(err);
            setBusy(false);
          }
        }}
      >
        {busy ? "Cancelling…" : "Cancel"}
      </button>
      {error ? <ErrorBox error={error} title="Could not cancel" /> : null}
    </>
  );
}
