import type { LeaderboardRow, RunSummary, Task } from "@caretflow/contracts";
import { defaultSortMetric, taskFromMetrics } from "../../lib/pycaret.ts";

/** The task of a run: its tag when the engine set one, else what its metrics say. */
export function runTask(run: Pick<RunSummary, "task" | "metrics">): Task | null {
  if (run.task === "classification" || run.task === "regression") return run.task;
  return taskFromMetrics(Object.keys(run.metrics));
}

/** The one number a runs table shows: the task's default score, if the run logged it. */
export function headlineMetric(run: Pick<RunSummary, "task" | "metrics">): { name: string; value: number } | null {
  const task = runTask(run);
  const candidates = task ? [defaultSortMetric(task)] : [];
  candidates.push(...Object.keys(run.metrics).filter((k) => !k.includes("_")));
  for (const name of candidates) {
    const value = run.metrics[name];
    if (typeof value === "number") return { name, value };
  }
  return null;
}

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

/**
 * A child run as a leaderboard row, so runs and live jobs share one table. Only the task's summary metrics
 * are kept (the engine also logs per-fold values, which would flood the table).
 */
export function childToRow(
  child: Pick<RunSummary, "runId" | "name" | "metrics"> & { bestModel?: string | null; params: Record<string, string> },
  task: Task | null,
  known: readonly string[],
): LeaderboardRow {
  const keep = Object.entries(child.metrics).filter(([k]) => known.includes(k));
  const metrics = Object.fromEntries(keep.length > 0 || !task ? keep : Object.entries(child.metrics).filter(([k]) => !/fold/i.test(k)));
  const fit = child.metrics["TT (Sec)"] ?? child.metrics.fit_seconds ?? child.metrics.TT_Sec ?? 0;
  return {
    // A child run carries its PyCaret display name as a tag (bestModel); the model id is not exposed, so the run id stands in.
    model_id: child.params.model_id ?? child.runId,
    model_name: child.bestModel ?? child.name,
    metrics,
    fit_seconds: Math.max(0, fit),
    mlflow_run_id: child.runId,
  };
}
