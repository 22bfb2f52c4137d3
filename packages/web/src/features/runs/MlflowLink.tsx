import { mlflowRunUrl } from "./runs.helpers.ts";

/** "Open in MLflow" for a run: MLflow's own UI shows each project member their projects' experiments, read-only. */
export function MlflowLink({ experimentId, runId, testId }: { experimentId: string; runId: string; testId?: string }) {
  return (
    <a className="btn" href={mlflowRunUrl(experimentId, runId)} target="_blank" rel="noreferrer" data-testid={testId}>
      Open in MLflow ↗
    </a>
  );
}
