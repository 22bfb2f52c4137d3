import type { RunDetail, TaskCatalog } from "@caretflow/contracts";
import { useApi, useResource } from "../../api/context.tsx";
import { Skeleton } from "../../ui/feedback.tsx";
import { Card } from "../../ui/layout.tsx";
import { type ArtifactSource, chartPaths, PngGallery, RunCharts } from "../charts/RunCharts.tsx";
import { isTerminal } from "../jobs/job.state.ts";
import { reportPath } from "../runs/runs.helpers.ts";
import { EvaluationStatus } from "./EvaluationStatus.tsx";
import type { Evaluation } from "./useEvaluation.ts";

/** The runs whose artifacts a page draws (a training's parent run and its model's run), loaded together. */
export function useArtifactRuns(runIds: readonly (string | null | undefined)[]) {
  const ids = [...new Set(runIds.filter((id): id is string => Boolean(id)))];
  return useResource((api) => Promise.all(ids.map((id) => api.getRun(id))), `artifact-runs:${ids.join(",")}`);
}

export function artifactSources(runs: readonly RunDetail[] | undefined): ArtifactSource[] {
  return (runs ?? []).map((r) => ({ runId: r.runId, artifacts: r.artifacts }));
}

/** The HTML report among the runs' artifacts (the model's run holds it once evaluated). */
export function findReport(sources: readonly ArtifactSource[]): { runId: string; path: string } | null {
  for (const s of sources) {
    const path = reportPath(s.artifacts);
    if (path) return { runId: s.runId, path };
  }
  return null;
}

/** "Download report" for the HTML report among the runs' artifacts; nothing before the evaluation wrote one. */
export function ReportLink({ sources }: { sources: readonly ArtifactSource[] }) {
  const api = useApi();
  const report = findReport(sources);
  if (!report) return null;
  return (
    <a className="btn" href={api.artifactUrl(report.runId, report.path)} download="report.html" data-testid="report-link">
      Download report
    </a>
  );
}

/**
 * A model's interactive charts and PyCaret's PNGs, with its evaluation's state above them: the charts of a
 * supervised model arrive with the evaluate job that follows its training, and draw as soon as it ends.
 */
export function ChartsCard({
  evaluation,
  sources,
  loading,
  task,
  canStart,
  holdsModel = true,
}: {
  /** False for a run without a model of its own (a compared model's run): nothing to evaluate, no status. */
  holdsModel?: boolean;
  evaluation: Evaluation;
  sources: readonly ArtifactSource[];
  loading: boolean;
  task: TaskCatalog | undefined;
  canStart: boolean;
}) {
  const paths = chartPaths(sources, task);
  const hasResults = paths.length > 0 || findReport(sources) !== null;
  const busy = evaluation.looking || (evaluation.job !== null && !isTerminal(evaluation.status));
  return (
    <Card title="Charts" className="charts-card">
      {/* while the runs load, whether the model has results is not known yet: no button that changes its mind */}
      {holdsModel ? <EvaluationStatus evaluation={evaluation} canStart={canStart && !loading} hasResults={hasResults} /> : null}
      {loading && sources.length === 0 ? (
        <Skeleton lines={4} />
      ) : (
        <>
          <RunCharts sources={sources} task={task} />
          {paths.length === 0 && !loading && !busy ? (
            <p className="muted small">No chart data was logged for this run; the plot images below are PyCaret's.</p>
          ) : null}
          <details className="more-options" open={paths.length === 0 && !busy}>
            <summary>Plot images (PNG, as logged in MLflow)</summary>
            <PngGallery sources={sources} />
          </details>
        </>
      )}
    </Card>
  );
}
