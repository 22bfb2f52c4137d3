import type { LeaderboardRow, RunDetail, RunSummary } from "@caretflow/contracts";

/** Split "juice@v2" into its parts for links; null when the run did not record one. */
export function parseDatasetRef(ref: string | null): { name: string; version: number | null } | null {
  if (!ref) return null;
  const m = /^(.+?)(?:@v(\d+))?$/.exec(ref);
  if (!m?.[1]) return null;
  return { name: m[1], version: m[2] ? Number(m[2]) : null };
}

/** MLflow's own UI for a run, reached through caretflow's /mlflow proxy. */
export function mlflowRunUrl(experimentId: string, runId: string): string {
  return `/mlflow/#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;
}

const imageExt = /\.(png|jpe?g|gif|svg|webp)$/i;
export function isImagePath(path: string): boolean {
  return imageExt.test(path);
}

/** "plots/Confusion Matrix.png" -> "Confusion Matrix". */
export function artifactTitle(path: string): string {
  const base = path.split("/").at(-1) ?? path;
  return base.replace(imageExt, "").replace(/[_-]+/g, " ");
}

/** The run's HTML report (report/report.html), if the engine logged one. */
export function reportPath(artifacts: RunDetail["artifacts"]): string | null {
  return artifacts.find((a) => !a.isDir && /(^|\/)report\/report\.html$/.test(a.path))?.path ?? null;
}

/** What an operation run says about itself: the operation and the run it started from (its tags). */
export function operationOf(tags: Record<string, string> | undefined): { op: string; sourceRunId: string | null } | null {
  const op = tags?.["caretflow.operation"];
  return op ? { op, sourceRunId: tags?.["caretflow.source_run_id"] ?? null } : null;
}

/** The role the engine gave a run: parent, child (one compared model), final (the kept model), operation. */
export function runRole(tags: Record<string, string> | undefined): string | null {
  return tags?.["caretflow.role"] ?? null;
}

/**
 * A child run as a leaderboard row, so runs and live jobs share one table. Only the task's summary metrics
 * are kept (the engine also logs per-fold values, which would flood the table).
 */
export function childToRow(
  child: Pick<RunSummary, "runId" | "name" | "metrics"> & { bestModel?: string | null; params: Record<string, string> },
  known: readonly string[],
): LeaderboardRow {
  const keep = Object.entries(child.metrics).filter(([k]) => known.includes(k));
  const metrics = Object.fromEntries(keep.length > 0 ? keep : Object.entries(child.metrics).filter(([k]) => !/fold/i.test(k)));
  const fit = child.metrics["TT (Sec)"] ?? child.metrics.fit_seconds ?? child.metrics.TT_Sec ?? 0;
  return {
    model_id: child.params.model_id ?? child.runId,
    model_name: child.bestModel ?? child.name,
    metrics,
    fit_seconds: Math.max(0, fit),
    mlflow_run_id: child.runId,
  };
}

/** Run ids picked for comparison, from and to the compare page's address (?runs=a,b,c). */
export function parseRunIds(param: string | null): string[] {
  return [...new Set((param ?? "").split(",").filter((id) => /^[a-f0-9]{32}$/.test(id)))];
}
