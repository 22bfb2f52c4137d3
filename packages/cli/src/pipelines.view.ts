import type { ErrorInfo, Pipeline, PipelineRun, PipelineRunSummary, PipelineStepRun, StepRunStatus } from "@caretflow/contracts";
import { formatFields, formatTable, formatTime } from "./table.ts";

/** Pipelines, runs and steps as text for a person. Pure. */

/**
 * A length of time for people: tenths of seconds under a minute, then minutes and hours.
 * @example formatDuration(12_340) // "12.3s"; formatDuration(185_000) // "3m05s"; formatDuration(3_720_000) // "1h02m"
 */
export function formatDuration(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 60_000) return `${(Math.floor(t / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(t / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Time from `startedAt` to `finishedAt` (or to `now` while it runs), or "-" before it starts. */
export function spanOf(item: { startedAt: string | null; finishedAt: string | null }, now: number): string {
  if (!item.startedAt) return "-";
  const end = item.finishedAt ? Date.parse(item.finishedAt) : now;
  return formatDuration(end - Date.parse(item.startedAt));
}

/** What a step's state says in one line: "succeeded 12.3s", "reused from run X", "skipped (why)", "failed 2.0s: message". */
export function describeStep(step: PipelineStepRun): string {
  const took = step.startedAt && step.finishedAt ? ` ${formatDuration(Date.parse(step.finishedAt) - Date.parse(step.startedAt))}` : "";
  const attempt = step.attempts.length;
  switch (step.status) {
    case "pending":
      return "pending";
    case "running":
      return attempt > 1 ? `running (attempt ${attempt})` : "running";
    case "succeeded":
      return step.reusedFrom ? `reused from run ${step.reusedFrom}` : `succeeded${took}`;
    case "failed":
      return `failed${took}${attempt > 1 ? ` after ${attempt} attempts` : ""}${step.error ? `: ${step.error.message}` : ""}`;
    case "skipped":
      return `skipped (${step.error?.message ?? "if was false"})`;
    case "cancelled":
      return "cancelled";
    default:
      return unknownStatus(step.status);
  }
}

function unknownStatus(status: never): string {
  return String(status);
}

/** What is remembered of each step between two looks at a run, to print only what changed. */
export type StepStates = Map<string, string>;

/**
 * The lines to print for the steps whose state changed since `seen` (which is updated): one per step,
 * its id padded so the states line up, e.g. "train     succeeded 12.3s". Pending steps print nothing.
 */
export function stepChanges(run: PipelineRun, seen: StepStates): string[] {
  const width = Math.max(0, ...run.steps.map((s) => s.id.length));
  const lines: string[] = [];
  for (const step of run.steps) {
    const state = `${step.status}/${step.attempts.length}`;
    if (seen.get(step.id) === state) continue;
    seen.set(step.id, state);
    if (step.status === "pending") continue;
    lines.push(`${step.id.padEnd(width)}  ${describeStep(step)}`);
  }
  return lines;
}

/** "5 steps: 3 succeeded, 1 skipped, 1 failed" from a run's steps or a summary's counts. */
export function countSteps(counts: Partial<Record<StepRunStatus, number>>): string {
  const order: StepRunStatus[] = ["succeeded", "failed", "skipped", "cancelled", "running", "pending"];
  const total = order.reduce((n, s) => n + (counts[s] ?? 0), 0);
  const parts = order.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`);
  return `${total} step${total === 1 ? "" : "s"}${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`;
}

export function stepCounts(run: PipelineRun): Partial<Record<StepRunStatus, number>> {
  const counts: Partial<Record<StepRunStatus, number>> = {};
  for (const s of run.steps) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return counts;
}

/** "run pr_1 of nightly (revision 2): succeeded in 14.2s, 3 steps: 3 succeeded". */
export function runLine(run: PipelineRun, now: number): string {
  const took = run.startedAt ? ` in ${spanOf(run, now)}` : "";
  return `run ${run.id} of ${run.pipeline} (revision ${run.revision}): ${run.status}${took}, ${countSteps(stepCounts(run))}`;
}

/** The error of each failed step (and the run's own), with its hint, for the end of a failed run. */
export function runErrors(run: PipelineRun): string[] {
  const lines: string[] = [];
  for (const step of run.steps) {
    if (step.status === "failed" && step.error) lines.push(`step ${step.id} failed: ${errorText(step.error)}`);
  }
  if (lines.length === 0 && run.error) lines.push(`error: ${errorText(run.error)}`);
  return lines;
}

function errorText(e: ErrorInfo): string {
  return `${e.message}${e.hint ? `\nhint: ${e.hint}` : ""}`;
}

/** How a run was started, e.g. "manual by admin", "schedule (cron 0 2 * * * due ...)". */
export function describeTrigger(run: Pick<PipelineRun, "trigger" | "createdBy">): string {
  const by = run.trigger.kind === "manual" && run.createdBy ? ` by ${run.createdBy}` : "";
  return `${run.trigger.kind}${by}${run.trigger.detail ? ` (${run.trigger.detail})` : ""}`;
}

/** `caretflow pipelines list`. */
export function formatPipelines(list: Pipeline[]): string {
  if (list.length === 0) return "no pipelines yet; store one with `caretflow pipelines apply FILE`";
  return formatTable(
    [
      { header: "NAME" },
      { header: "REVISION", right: true },
      { header: "STEPS", right: true },
      { header: "SCHEDULE" },
      { header: "LAST RUN" },
      { header: "UPDATED" },
    ],
    list.map((p) => [
      p.name,
      String(p.revision),
      String(p.steps),
      p.schedule ? `${p.schedule.cron} ${p.schedule.timezone}` : "-",
      p.lastRun ? `${p.lastRun.status} ${formatTime(p.lastRun.createdAt)}` : "-",
      formatTime(p.updatedAt),
    ]),
  );
}

/** `caretflow pipelines runs`: one row a run; the pipeline column only when runs of every pipeline are listed. */
export function formatRuns(runs: PipelineRunSummary[], now: number, withPipeline: boolean): string {
  const columns = [
    { header: "ID" },
    ...(withPipeline ? [{ header: "PIPELINE" }] : []),
    { header: "STATUS" },
    { header: "TRIGGER" },
    { header: "STARTED" },
    { header: "DURATION", right: true },
    { header: "STEPS OK", right: true },
  ];
  return formatTable(
    columns,
    runs.map((r) => {
      const total = Object.values(r.stepCounts).reduce((n, c) => n + (c ?? 0), 0);
      return [
        r.id,
        ...(withPipeline ? [r.pipeline] : []),
        r.status,
        r.trigger.kind,
        formatTime(r.startedAt ?? r.createdAt),
        spanOf(r, now),
        `${r.stepCounts.succeeded ?? 0}/${total}`,
      ];
    }),
  );
}

/** `caretflow pipelines show`: the run's fields, then a table of its steps. */
export function formatRun(run: PipelineRun, now: number): string {
  const params = Object.entries(run.params);
  const fields: [string, string][] = [
    ["run", run.id],
    ["pipeline", `${run.pipeline} (revision ${run.revision})`],
    ["status", run.status],
    ["trigger", describeTrigger(run)],
    ["params", params.length === 0 ? "-" : params.map(([k, v]) => `${k}=${String(v)}`).join(" ")],
  ];
  if (run.force) fields.push(["force", "yes: cached results ignored"]);
  if (run.resumedFrom) fields.push(["resumes", run.resumedFrom]);
  fields.push(["created", formatTime(run.createdAt)], ["started", formatTime(run.startedAt)], ["finished", formatTime(run.finishedAt)]);
  fields.push(["duration", spanOf(run, now)]);
  const parts = [formatFields(fields), "", formatSteps(run.steps, now)];
  const errors = runErrors(run);
  if (errors.length > 0) parts.push("", ...errors);
  return parts.join("\n");
}

export function formatSteps(steps: PipelineStepRun[], now: number): string {
  return formatTable(
    [
      { header: "STEP" },
      { header: "TYPE" },
      { header: "STATUS" },
      { header: "ATTEMPTS", right: true },
      { header: "DURATION", right: true },
      { header: "REUSED FROM" },
      { header: "ERROR", maxWidth: 60 },
    ],
    steps.map((s) => [
      s.id,
      s.type,
      s.status,
      String(s.attempts.length),
      s.reusedFrom ? "-" : spanOf(s, now),
      s.reusedFrom ?? "-",
      s.error ? s.error.message : "-",
    ]),
  );
}
