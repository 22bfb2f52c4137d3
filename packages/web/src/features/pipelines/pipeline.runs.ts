import type { ParamValue, PipelineParam, PipelineRun, PipelineRunStatus, PipelineStepRun, PipelineTriggerKind } from "@caretflow/contracts";
import { PipelineRunStatus as RunStatuses, PipelineTriggerKind as TriggerKinds } from "@caretflow/contracts";
import { type BuilderModel, importYaml, newKey, relayout, stepId } from "./pipeline.model.ts";

/** A run still changes while it is queued or running; the run view polls it until then. */
export function isRunActive(status: PipelineRunStatus): boolean {
  return status === "queued" || status === "running";
}

/** A step's time: from its start to its end, or to `now` while it runs; null before it starts. */
export function stepDurationMs(step: Pick<PipelineStepRun, "startedAt" | "finishedAt">, now: number): number | null {
  if (!step.startedAt) return null;
  const start = Date.parse(step.startedAt);
  const end = step.finishedAt ? Date.parse(step.finishedAt) : now;
  return Number.isNaN(start) || Number.isNaN(end) ? null : Math.max(0, end - start);
}

/** "attempt 2" once a step was retried; nothing for a first attempt. */
export function attemptsLabel(step: Pick<PipelineStepRun, "attempts">): string {
  return step.attempts.length > 1 ? `attempt ${step.attempts.length}` : "";
}

/** The runs list's filters, as kept in the address (`?pipeline=&status=&trigger=`). */
export interface RunFilters {
  pipeline?: string;
  status?: PipelineRunStatus;
  trigger?: PipelineTriggerKind;
}

/** The filters named in the address; values the API does not know are left out. */
export function readRunFilters(params: URLSearchParams): RunFilters {
  const out: RunFilters = {};
  const pipeline = params.get("pipeline")?.trim();
  if (pipeline) out.pipeline = pipeline;
  const status = RunStatuses.safeParse(params.get("status"));
  if (status.success) out.status = status.data;
  const trigger = TriggerKinds.safeParse(params.get("trigger"));
  if (trigger.success) out.trigger = trigger.data;
  return out;
}

/** The filters as the address's query; unset ones are left out. */
export function writeRunFilters(filters: RunFilters): URLSearchParams {
  const out = new URLSearchParams();
  for (const key of ["pipeline", "status", "trigger"] as const) {
    const v = filters[key];
    if (v) out.set(key, v);
  }
  return out;
}

/** "3 succeeded · 1 running · 2 pending" from a run summary's step counts, in a run's order of states. */
export function stepCountsText(counts: Partial<Record<PipelineStepRun["status"], number>>): string {
  const order: PipelineStepRun["status"][] = ["succeeded", "running", "failed", "pending", "skipped", "cancelled"];
  return order
    .filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(" · ");
}

/** The values a run form starts with: each param's default, or an empty text. */
export function initialParamTexts(params: Record<string, PipelineParam>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, p]) => [k, p.default === undefined ? "" : String(p.default)]));
}

/**
 * The run form's texts as the request's params: typed as each param declares; params left empty keep
 * their defaults (they are not sent). A text that is not of its type is returned as a problem to show.
 */
export function runParams(
  params: Record<string, PipelineParam>,
  texts: Record<string, string>,
): { ok: true; params: Record<string, ParamValue> } | { ok: false; problems: Record<string, string> } {
  const out: Record<string, ParamValue> = {};
  const problems: Record<string, string> = {};
  for (const [name, p] of Object.entries(params)) {
    const text = (texts[name] ?? "").trim();
    if (text === "") continue;
    if (p.type === "number") {
      const n = Number(text);
      if (Number.isFinite(n) && /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(text)) out[name] = n;
      else problems[name] = `${name} is a number; '${text}' is not one`;
    } else if (p.type === "boolean") {
      if (text === "true" || text === "false") out[name] = text === "true";
      else problems[name] = `${name} is true or false`;
    } else out[name] = text;
  }
  return Object.keys(problems).length > 0 ? { ok: false, problems } : { ok: true, params: out };
}

/**
 * The graph a run is drawn on: the pipeline's steps (from its YAML) that the run has, laid out in run
 * order; steps of the run the YAML no longer has (the pipeline changed since) are added without edges.
 */
export function runGraph(yaml: string | null, run: Pick<PipelineRun, "steps">): BuilderModel {
  const imported = yaml === null ? null : importYaml(yaml);
  const model = imported?.ok ? imported.model : { top: {}, steps: [] };
  const ran = new Set(run.steps.map((s) => s.id));
  const kept = model.steps.filter((s) => ran.has(stepId(s)));
  const known = new Set(kept.map(stepId));
  const added = run.steps
    .filter((s) => !known.has(s.id))
    .map((s) => ({ key: newKey(), step: { id: s.id, type: s.type }, position: { x: 0, y: 0 } }));
  return relayout({ top: model.top, steps: [...kept, ...added] });
}
