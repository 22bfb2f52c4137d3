import type { BatchPredictRequest, Job, TrainRequest } from "@caretflow/contracts";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useApi, useNow } from "../../api/context.tsx";
import { elapsedMs, formatDuration, formatMetric, formatNumber } from "../../lib/format.ts";
import { bestRow, defaultSortMetric } from "../../lib/pycaret.ts";
import { ErrorBox, ProgressBar, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card, PageHeader, StatusBadge } from "../../ui/layout.tsx";
import { suggestModelName } from "../models/models.helpers.ts";
import { RegisterModelForm } from "../models/RegisterModelForm.tsx";
import { isTerminal, type JobView, progressFraction, progressLabel } from "./job.state.ts";
import { LeaderboardTable, MetricChart } from "./Leaderboard.tsx";
import { LogTail } from "./LogTail.tsx";
import { type StreamState, useJobEvents } from "./useJobEvents.ts";
import { useJobRecord } from "./useJobRecord.ts";

export function JobPage() {
  const { id = "" } = useParams();
  const { view, stream } = useJobEvents(id);
  const job = useJobRecord(id, view);

  if (job.error && !job.data) return <ErrorBox error={job.error} title={`Could not load job ${id}`} onRetry={job.reload} />;
  if (!job.data)
    return (
      <div className="page">
        <PageHeader title="Job" crumbs={<Link to="/jobs">Jobs</Link>} />
        <Skeleton lines={6} />
      </div>
    );
  return <JobDetail job={job.data} view={view} stream={stream} />;
}

/** Elapsed time of a job, ticking each second while it runs. */
export function useJobElapsed(job: Job, view: JobView): number | null {
  const terminal = isTerminal(view.status ?? job.status);
  const now = useNow(!terminal);
  const started = job.startedAt ?? view.startedAt;
  const finished = terminal ? (job.finishedAt ?? view.finishedAt) : null;
  return elapsedMs(started, finished, now);
}

export function JobDetail({ job, view, stream }: { job: Job; view: JobView; stream: StreamState }) {
  const status = view.status ?? job.status;
  const terminal = isTerminal(status);
  const elapsed = useJobElapsed(job, view);
  const isTrain = job.kind === "train";
  const req = job.request as TrainRequest & BatchPredictRequest;
  const title = isTrain ? `Training on ${req.dataset}` : `Predicting ${req.dataset} with ${req.model}`;

  return (
    <div className="page">
      <PageHeader
        crumbs={<Link to="/jobs">Jobs</Link>}
        title={
          <>
            {title} <StatusBadge status={status} />
          </>
        }
        subtitle={
          isTrain ? `${req.task} · target ${req.target}${req.version ? ` · v${req.version}` : ""} · job ${job.id}` : `job ${job.id}`
        }
        actions={!terminal ? <CancelButton jobId={job.id} /> : null}
      />
      <ProgressCard view={view} status={status} elapsed={elapsed} stream={stream} />
      {status === "failed" || status === "cancelled" ? <FailureCard job={job} view={view} status={status} /> : null}
      {isTrain ? <TrainPanels job={job} view={view} status={status} /> : <PredictPanel job={job} status={status} />}
    </div>
  );
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

function stageWord(stage: string): string {
  const words: Record<string, string> = {
    loading: "Loading the data",
    setup: "Preparing the data (setup)",
    compare: "Comparing models",
    finalize: "Refitting the best model on all data",
    logging: "Saving to MLflow",
    scoring: "Scoring rows",
    writing: "Writing the predictions",
  };
  return words[stage] ?? stage;
}

function finalWord(status: string): string {
  return status === "succeeded" ? "Finished" : status === "cancelled" ? "Cancelled" : status === "failed" ? "Failed" : status;
}

function CancelButton({ jobId }: { jobId: string }) {
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

function FailureCard({ job, view, status }: { job: Job; view: JobView; status: string }) {
  const error = view.error ?? job.error;
  if (status === "cancelled")
    return (
      <Card>
        <p>This job was cancelled. Its MLflow run, if one was started, is marked KILLED.</p>
      </Card>
    );
  return (
    <Card title="What went wrong">
      <ErrorBox
        error={{ message: error?.message ?? "The job failed without saying why.", hint: error?.hint }}
        title={error?.name ?? "Job failed"}
      />
      <LogTail jobId={job.id} />
    </Card>
  );
}

function TrainPanels({ job, view, status }: { job: Job; view: JobView; status: string }) {
  const req = job.request as TrainRequest;
  const sort = req.sort ?? defaultSortMetric(req.task);
  const rows = view.leaderboard.length > 0 ? view.leaderboard : job.leaderboard;
  const result = view.result?.kind === "train" ? view.result : job.result?.kind === "train" ? job.result : null;
  const best = bestRow(rows, result?.sort_metric ?? sort);
  const metric = result?.sort_metric ?? sort;
  // A job that ended without a single model has nothing to rank; the failure card says why.
  if (rows.length === 0 && isTerminal(status as Job["status"])) return null;

  return (
    <>
      {status === "succeeded" && result ? (
        <Card title="Best model" className="result-card">
          <div className="result-head">
            <div>
              <div className="result-model" data-testid="best-model">
                {result.best_model_name}
              </div>
              <div className="muted">
                {metric} {formatMetric(best?.metrics[metric])} · cross-validated, {req.folds ?? 5} folds
              </div>
            </div>
            <div className="button-row">
              <Link className="btn" to={`/experiments/${result.parent_run_id}`}>
                View run
              </Link>
              <a
                className="btn"
                href={`/mlflow/#/experiments/${result.experiment_id}/runs/${result.best_run_id}`}
                target="_blank"
                rel="noreferrer"
              >
                Open in MLflow ↗
              </a>
            </div>
          </div>
          <h3 className="subhead">Register best model</h3>
          <RegisterModelForm runId={result.best_run_id} defaultName={suggestModelName(req.dataset, req.target)} />
        </Card>
      ) : null}
      <div className="stack">
        <Card
          title="Leaderboard"
          actions={
            <span className="muted small">
              {rows.length} model{rows.length === 1 ? "" : "s"} · ranked by {metric}
            </span>
          }
        >
          <LeaderboardTable
            rows={rows}
            task={req.task}
            sortMetric={metric}
            empty={isTerminal(status as Job["status"]) ? "No model finished." : "Models appear here as each one finishes cross-validation."}
          />
        </Card>
        <Card title={`${metric} per model`}>
          {rows.length > 0 ? (
            <MetricChart rows={rows} metric={metric} />
          ) : (
            <p className="muted small">The chart fills in with the leaderboard.</p>
          )}
        </Card>
      </div>
    </>
  );
}

export function PredictPanel({ job, status }: { job: Job; status: string }) {
  const api = useApi();
  const out = job.outputDataset;
  const result = job.result?.kind === "predict" ? job.result : null;
  if (status !== "succeeded") return null;
  if (!out) return <Skeleton lines={2} />;
  return (
    <Card title="Predictions" className="result-card">
      <p data-testid="predict-output">
        Wrote {result ? formatNumber(result.rows) : ""} rows to{" "}
        <Link to={`/data/${encodeURIComponent(out.name)}?v=${out.version}`} className="strong-link">
          {out.name} v{out.version}
        </Link>
        {result ? (
          <>
            {" "}
            with columns <code>{result.prediction_columns.join(", ")}</code>
          </>
        ) : null}
        .
      </p>
      <div className="button-row">
        <a className="btn btn-primary" href={api.downloadUrl(out.name, out.version)} download={`${out.name}-v${out.version}.csv`}>
          Download CSV
        </a>
        <Link className="btn" to={`/data/${encodeURIComponent(out.name)}?v=${out.version}`}>
          Open dataset
        </Link>
      </div>
    </Card>
  );
}
