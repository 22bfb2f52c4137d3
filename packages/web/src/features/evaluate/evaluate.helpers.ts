import type { EvaluateResult, Job, RunDetail } from "@caretflow/contracts";
import { chartIdOfPath } from "../charts/chart.data.ts";
import type { EvaluateRequest } from "../jobs/jobs.helpers.ts";
import { reportPath } from "../runs/runs.helpers.ts";

/** Which evaluate job a page follows: the one queued after a training or operation job, or the newest on a model's run. */
export type EvaluationMatch = { after: string } | { run: string };

/**
 * The newest evaluate job matching: the server queues one after every successful training or operation
 * job (request.after = that job), and one per "evaluate" click (request.after = null) on the model's run.
 */
export function findEvaluation(jobs: readonly Job[], match: EvaluationMatch): Job | null {
  const hits = jobs.filter((j) => {
    if (j.kind !== "evaluate") return false;
    const req = j.request as EvaluateRequest;
    return "after" in match ? req.after === match.after : req.run === match.run;
  });
  // newest first, whatever order the list came in (ISO timestamps sort as text)
  return hits.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))[0] ?? null;
}

/** What an evaluation left on the model's run, from the run's artifacts: chart data and the HTML report. */
export function evaluationArtifacts(artifacts: RunDetail["artifacts"] | undefined): { charts: number; report: string | null } {
  const list = artifacts ?? [];
  return { charts: list.filter((a) => !a.isDir && chartIdOfPath(a.path) !== null).length, report: reportPath(list) };
}

/** "14 charts, 9 plots and the report" for a finished evaluation. */
export function evaluationSummary(result: Pick<EvaluateResult, "charts" | "plots" | "report">): string {
  const parts = [
    ...(result.charts.length > 0 ? [count(result.charts.length, "chart")] : []),
    ...(result.plots.length > 0 ? [count(result.plots.length, "plot")] : []),
    ...(result.report ? ["the report"] : []),
  ];
  if (parts.length === 0) return "nothing to show";
  return parts.length === 1 ? (parts[0] ?? "") : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The evaluate job's result, from the live events or the stored job. */
export function evaluateResult(job: Job | null, live: Job["result"] | null): EvaluateResult | null {
  for (const r of [live, job?.result]) if (r?.kind === "evaluate") return r;
  return null;
}

/** A job's time from its per-stage timings: their `total` when the engine gave one, else the sum of the stages. */
export function totalSeconds(timings: Record<string, number>): number {
  if (Number.isFinite(timings.total)) return timings.total ?? 0;
  return Object.values(timings).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
}
