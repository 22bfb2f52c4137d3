import type { Job, TaskCatalog } from "@caretflow/contracts";
import { Link } from "react-router-dom";
import { Card, Stats } from "../../ui/layout.tsx";
import { PngGallery, RunCharts } from "../charts/RunCharts.tsx";
import { isTerminal, type JobView } from "../jobs/job.state.ts";
import { type EvaluateRequest, formatSeconds, timingRows } from "../jobs/jobs.helpers.ts";
import { artifactSources, ReportLink, useArtifactRuns } from "./ChartsCard.tsx";
import "./evaluate.css";
import { evaluateResult, evaluationSummary } from "./evaluate.helpers.ts";

/** An evaluate job's page: what it logged to the model's run (charts, plots, the report), drawn once it is done. */
export function EvaluateJobPanel({
  job,
  view,
  status,
  taskOf,
}: {
  job: Job;
  view: JobView;
  status: string;
  taskOf: (task: string | null) => TaskCatalog | undefined;
}) {
  const req = job.request as EvaluateRequest;
  const done = status === "succeeded";
  // loaded once the job is over, so the charts it logged are listed
  const runs = useArtifactRuns(isTerminal(status as Job["status"]) ? [req.run] : []);
  const sources = artifactSources(runs.data);
  const result = evaluateResult(job, view.result);
  const task = taskOf(runs.data?.[0]?.task ?? null);
  if (!done) return null;
  return (
    <>
      <Card title="What the evaluation logged" className="result-card">
        <p className="evaluation-summary" data-testid="evaluation-summary">
          Logged {result ? evaluationSummary(result) : "its results"} to the model's run{" "}
          <Link to={`/experiments/${req.run}`}>{runs.data?.[0]?.name ?? req.run.slice(0, 8)}</Link>.
        </p>
        <div className="button-row">
          <Link className="btn" to={`/experiments/${req.run}`} data-testid="view-run">
            View run
          </Link>
          <ReportLink sources={sources} />
          {req.after ? (
            <Link className="btn" to={`/jobs/${encodeURIComponent(req.after)}`}>
              The job it follows
            </Link>
          ) : null}
        </div>
      </Card>
      <Card title="Charts">
        <RunCharts sources={sources} task={task} />
        <details className="more-options">
          <summary>Plot images (PNG, as logged in MLflow)</summary>
          <PngGallery sources={sources} />
        </details>
      </Card>
      {result && Object.keys(result.timings).length > 0 ? (
        <Card title="Time per stage">
          <Stats items={timingRows(result.timings).map((t) => ({ label: t.stage, value: formatSeconds(t.seconds) }))} />
        </Card>
      ) : null}
    </>
  );
}
