import type { Catalog, Job, TaskCatalog } from "@caretflow/contracts";
import { Link, useParams } from "react-router-dom";
import { useResource } from "../../api/context.tsx";
import { bestRow } from "../../lib/catalog.ts";
import { formatMetric } from "../../lib/format.ts";
import { ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, Stats, StatusBadge } from "../../ui/layout.tsx";
import type { ArtifactSource } from "../charts/RunCharts.tsx";
import { TaskDetailsView } from "../details/TaskDetailsView.tsx";
import { artifactSources, ChartsCard, ReportLink, useArtifactRuns } from "../evaluate/ChartsCard.tsx";
import { EvaluateJobPanel } from "../evaluate/EvaluateJobPanel.tsx";
import { useEvaluation } from "../evaluate/useEvaluation.ts";
import { suggestModelName } from "../models/models.helpers.ts";
import { RegisterModelForm } from "../models/RegisterModelForm.tsx";
import { MlflowLink } from "../runs/MlflowLink.tsx";
import { CancelButton, ProgressCard, useJobElapsed } from "./JobProgress.tsx";
import { isTerminal, type JobView } from "./job.state.ts";
import { describeJob, formatSeconds, jobRequest, jobSortMetric, jobTask, runResult, timingRows } from "./jobs.helpers.ts";
import { LeaderboardTable, MetricChart } from "./Leaderboard.tsx";
import { LogTail } from "./LogTail.tsx";
import { PredictPanel } from "./PredictPanel.tsx";
import { type StreamState, useJobEvents } from "./useJobEvents.ts";
import { useJobRecord } from "./useJobRecord.ts";

export function JobPage() {
  const { id = "" } = useParams();
  const { view, stream } = useJobEvents(id);
  const job = useJobRecord(id, view);
  // The catalog names the task and the metrics' directions; the page still shows the job without it.
  const catalog = useResource((api) => api.catalog(), "catalog");

  if (job.error && !job.data) return <ErrorBox error={job.error} title={`Could not load job ${id}`} onRetry={job.reload} />;
  if (!job.data)
    return (
      <div className="page">
        <PageHeader title="Job" crumbs={<Link to="/jobs">Jobs</Link>} />
        <Skeleton lines={6} />
      </div>
    );
  return <JobDetail job={job.data} view={view} stream={stream} catalog={catalog.data} />;
}

export function JobDetail({ job, view, stream, catalog }: { job: Job; view: JobView; stream: StreamState; catalog: Catalog | undefined }) {
  const status = view.status ?? job.status;
  const terminal = isTerminal(status);
  const elapsed = useJobElapsed(job, view);
  const r = jobRequest(job);
  const subtitle =
    r.kind === "train" ? (
      `${r.req.dataset}${r.req.version ? ` v${r.req.version}` : ""} · job ${job.id}`
    ) : r.kind === "operate" ? (
      <>
        on the model of run <Link to={`/experiments/${r.req.run}`}>{r.req.run.slice(0, 8)}</Link> · job {job.id}
      </>
    ) : r.kind === "evaluate" ? (
      <>
        charts, plots, SHAP and the report of the model in run <Link to={`/experiments/${r.req.run}`}>{r.req.run.slice(0, 8)}</Link>
        {r.req.after ? (
          <>
            {" "}
            · after job <Link to={`/jobs/${encodeURIComponent(r.req.after)}`}>{r.req.after.slice(0, 8)}</Link>
          </>
        ) : null}{" "}
        · job {job.id}
      </>
    ) : (
      `job ${job.id}`
    );

  return (
    <div className="page">
      <PageHeader
        crumbs={<Link to="/jobs">Jobs</Link>}
        title={
          <>
            {describeJob(job, catalog)} <StatusBadge status={status} />
          </>
        }
        subtitle={subtitle}
        actions={!terminal ? <CancelButton jobId={job.id} /> : null}
      />
      <ProgressCard view={view} status={status} elapsed={elapsed} stream={stream} />
      {status === "failed" || status === "cancelled" ? <FailureCard job={job} view={view} status={status} /> : null}
      {r.kind === "predict" ? (
        <PredictPanel job={job} status={status} />
      ) : r.kind === "evaluate" ? (
        <EvaluateJobPanel job={job} view={view} status={status} taskOf={(t) => catalog?.tasks.find((x) => x.task === t)} />
      ) : (
        <RunResultPanels job={job} view={view} status={status} catalog={catalog} />
      )}
    </div>
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

/** A training's or an operation's result: the kept model, the task's details, outputs, timings and the leaderboard. */
function RunResultPanels({ job, view, status, catalog }: { job: Job; view: JobView; status: string; catalog: Catalog | undefined }) {
  const task = catalog?.tasks.find((t) => t.task === jobTask(job, view));
  const rows = view.leaderboard.length > 0 ? view.leaderboard : job.leaderboard;
  const result = runResult(job, view);
  const metric = jobSortMetric(job, view, catalog);
  const succeeded = status === "succeeded" && result !== null;
  // A training's charts are on its parent run (unsupervised, forecasting) and its model's run (every evaluation).
  const runs = useArtifactRuns(succeeded ? [result.kind === "train" ? result.parent_run_id : null, result.best_run_id] : []);
  const evaluation = useEvaluation({
    match: succeeded ? { after: job.id } : null,
    runId: result?.best_run_id ?? null,
    // the server queues the evaluation before it marks the job succeeded; an old job's may be past the jobs list's end
    expected: succeeded && finishedRecently(job.finishedAt ?? view.finishedAt),
    onFinished: runs.reload,
  });
  const sources = artifactSources(runs.data);
  // A job that ended without a single model has nothing to rank; the failure card says why.
  if (rows.length === 0 && !result && isTerminal(status as Job["status"])) return null;

  return (
    <>
      {succeeded ? <BestModelCard job={job} view={view} task={task} metric={metric} sources={sources} /> : null}
      {result?.details ? (
        <Card title="Results">
          <TaskDetailsView details={result.details} task={task} />
        </Card>
      ) : null}
      {job.outputDatasets.length > 0 ? (
        <Card title="Datasets written">
          <ul className="plain-list" data-testid="output-datasets">
            {job.outputDatasets.map((o) => (
              <li key={`${o.name}/${o.version}`}>
                <Link to={`/data/${encodeURIComponent(o.name)}?v=${o.version}`} className="strong-link">
                  {o.name} v{o.version}
                </Link>{" "}
                <span className="muted small">({o.role.replace(/_/g, " ")})</span>
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
      <div className="stack">
        <Card
          title="Leaderboard"
          actions={
            <span className="muted small">
              {rows.length} model{rows.length === 1 ? "" : "s"}
              {metric ? ` · ranked by ${metric}` : ""}
            </span>
          }
        >
          <LeaderboardTable
            rows={rows}
            task={task}
            sortMetric={metric}
            runLink={(id) => `/experiments/${id}`}
            empty={isTerminal(status as Job["status"]) ? "No model finished." : "Models appear here as each one finishes cross-validation."}
          />
        </Card>
        {metric ? (
          <Card title={`${metric} per model`}>
            {rows.length > 0 ? (
              <MetricChart rows={rows} metric={metric} task={task} />
            ) : (
              <p className="muted small">The chart fills in with the leaderboard.</p>
            )}
          </Card>
        ) : null}
      </div>
      {succeeded ? (
        <ChartsCard evaluation={evaluation} sources={sources} loading={runs.loading} task={task} canStart={runs.data !== undefined} />
      ) : null}
      {result && Object.keys(result.timings).length > 0 ? (
        <Card title="Time per stage">
          <Stats items={timingRows(result.timings).map((t) => ({ label: t.stage, value: formatSeconds(t.seconds) }))} />
        </Card>
      ) : null}
    </>
  );
}

function BestModelCard({
  job,
  view,
  task,
  metric,
  sources,
}: {
  job: Job;
  view: JobView;
  task: TaskCatalog | undefined;
  metric: string | null;
  sources: ArtifactSource[];
}) {
  const result = runResult(job, view);
  if (!result) return null;
  const rows = view.leaderboard.length > 0 ? view.leaderboard : job.leaderboard;
  const best = bestRow(rows, metric, task);
  const r = jobRequest(job);
  const target = r.kind === "train" && "target" in r.req ? r.req.target : null;
  const dataset = r.kind === "train" ? r.req.dataset : null;
  return (
    <Card title={result.kind === "operate" ? `Result of ${result.op.replace(/_/g, " ")}` : "Best model"} className="result-card">
      <div className="result-head">
        <div>
          <div className="result-model" data-testid="best-model">
            {result.best_model_name}
          </div>
          <div className="muted">
            {metric && best ? `${metric} ${formatMetric(best.metrics[metric])}` : null}
            {result.kind === "operate" ? (
              <>
                {metric && best ? " · " : ""}from run{" "}
                <Link to={`/experiments/${result.source_run_id}`}>{result.source_run_id.slice(0, 8)}</Link>
              </>
            ) : null}
          </div>
        </div>
        <div className="button-row">
          <Link className="btn" to={`/experiments/${result.parent_run_id}`} data-testid="view-run">
            View run
          </Link>
          <ReportLink sources={sources} />
          <MlflowLink experimentId={result.experiment_id} runId={result.best_run_id} />
        </div>
      </div>
      <h3 className="subhead">Register this model</h3>
      <RegisterModelForm
        runId={result.best_run_id}
        defaultName={result.kind === "operate" ? suggestModelName(result.op, result.best_model_id) : suggestModelName(dataset, target)}
      />
    </Card>
  );
}

/** True for a job that ended in the last minute (or whose end time is not known yet). */
function finishedRecently(iso: string | null): boolean {
  return iso === null || Date.now() - Date.parse(iso) < 60_000;
}
