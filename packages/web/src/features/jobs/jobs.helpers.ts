import type {
  BatchPredictRequest,
  Catalog,
  DriftRequest,
  EvaluateRequest as EvaluateRequestSchema,
  Job,
  OperateRequest,
  TrainRequest,
} from "@caretflow/contracts";
import type { z } from "zod";
import { defaultSort, taskLabel } from "../../lib/catalog.ts";
import type { JobView } from "./job.state.ts";

type OperateJobRequest = OperateRequest & { run: string };
export type EvaluateRequest = z.infer<typeof EvaluateRequestSchema>;

export type JobRequest =
  | { kind: "train"; req: TrainRequest }
  | { kind: "operate"; req: OperateJobRequest }
  | { kind: "evaluate"; req: EvaluateRequest }
  | { kind: "predict"; req: BatchPredictRequest }
  | { kind: "drift"; req: DriftRequest };

/** The job's request as its kind says it is. */
export function jobRequest(job: Job): JobRequest {
  switch (job.kind) {
    case "train":
      return { kind: "train", req: job.request as TrainRequest };
    case "operate":
      return { kind: "operate", req: job.request as OperateJobRequest };
    case "evaluate":
      return { kind: "evaluate", req: job.request as EvaluateRequest };
    case "predict":
      return { kind: "predict", req: job.request as BatchPredictRequest };
    case "drift":
      return { kind: "drift", req: job.request as DriftRequest };
    default: {
      const never: never = job.kind;
      throw new Error(`unknown job kind ${String(never)}`);
    }
  }
}

/** The training or operation result, from the live events or the stored job. */
export function runResult(job: Job, view: JobView) {
  for (const r of [view.result, job.result]) if (r?.kind === "train" || r?.kind === "operate") return r;
  return null;
}

/** The task a job trains for: its request's, or for an operation, its result's (the source run's task). */
export function jobTask(job: Job, view?: JobView): string | null {
  const r = jobRequest(job);
  if (r.kind === "train") return r.req.task;
  const result = view ? runResult(job, view) : job.result?.kind === "operate" ? job.result : null;
  return result?.task ?? null;
}

/** One line naming a job in lists and titles, e.g. "Classification on juice → Purchase". */
export function describeJob(job: Job, catalog?: Catalog): string {
  const r = jobRequest(job);
  switch (r.kind) {
    case "train": {
      const target = "target" in r.req && typeof r.req.target === "string" ? ` → ${r.req.target}` : "";
      return `${taskLabel(catalog, r.req.task)} on ${r.req.dataset}${target}`;
    }
    case "operate":
      return `${r.req.operation.op.replace(/_/g, " ")} of run ${r.req.run.slice(0, 8)}`;
    case "evaluate":
      return `evaluate run ${r.req.run.slice(0, 8)}`;
    case "predict":
      return `${r.req.model} on ${r.req.dataset}`;
    case "drift":
      return `drift of ${r.req.current.dataset} v${r.req.current.version} against ${r.req.reference.dataset} v${r.req.reference.version}`;
    default: {
      const never: never = r;
      throw new Error(`unknown job ${JSON.stringify(never)}`);
    }
  }
}

/** What a finished job produced, in a few words for the jobs list: the kept model, what an evaluation logged, the rows scored. */
export function jobOutcome(job: Job): string {
  const r = job.result;
  switch (r?.kind) {
    case "train":
    case "operate":
      return r.best_model_name;
    case "evaluate":
      return [r.charts.length > 0 ? `${r.charts.length} chart${r.charts.length === 1 ? "" : "s"}` : null, r.report ? "report" : null]
        .filter(Boolean)
        .join(" · ");
    case "predict":
      return `${r.rows.toLocaleString("en-US")} rows`;
    case "drift":
      return `${r.drifted.length} of ${r.features.filter((f) => f.role === "feature").length} features drifted`;
    case "catalog":
    case undefined:
      return "";
    default: {
      const never: never = r;
      throw new Error(`unknown result ${JSON.stringify(never)}`);
    }
  }
}

/** The metric ranking a job's models: the result's, the request's, else the task's default. */
export function jobSortMetric(job: Job, view: JobView, catalog: Catalog | undefined): string | null {
  const result = runResult(job, view);
  if (result?.sort_metric) return result.sort_metric;
  const r = jobRequest(job);
  if (r.kind === "train" && "sort" in r.req && typeof r.req.sort === "string") return r.req.sort;
  const task = catalog?.tasks.find((t) => t.task === jobTask(job, view));
  return defaultSort(task);
}

/** Seconds per stage, largest stage first, total last. */
export function timingRows(timings: Record<string, number>): { stage: string; seconds: number }[] {
  const rows = Object.entries(timings)
    .filter(([, s]) => Number.isFinite(s))
    .map(([stage, seconds]) => ({ stage, seconds }));
  const total = rows.filter((r) => r.stage === "total");
  return [...rows.filter((r) => r.stage !== "total").sort((a, b) => b.seconds - a.seconds), ...total];
}

/** "setup 3.2 s" style duration for timings. */
export function formatSeconds(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
}
