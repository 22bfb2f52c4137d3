import { useAuth } from "../auth/auth.context.tsx";
import { mlflowRunUrl } from "./runs.helpers.ts";

/** "Open in MLflow" for a run: MLflow's own UI shows every project's experiments, so only site admins get the link. */
export function MlflowLink({ experimentId, runId, testId }: { experimentId: string; runId: string; testId?: string }) {
  const { user } = useAuth();
  if (user?.role !== "admin") return null;
  return (
    <a className="btn" href={mlflowRunUrl(experimentId, runId)} target="_blank" rel="noreferrer" data-testid={testId}>
      Open in MLflow ↗
    </a>
  );
}
