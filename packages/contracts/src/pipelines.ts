import { z } from "zod";
import { ErrorInfo } from "./engine-protocol.ts";
import { PipelineName, StepId } from "./pipeline.ts";

/**
 * Pipelines as the API serves them: a stored pipeline (its YAML and revision), its runs, and each run's
 * steps with their attempts. The file format itself is pipeline.ts.
 */

export const ParamValue = z.union([z.string(), z.number(), z.boolean()]);
export type ParamValue = z.infer<typeof ParamValue>;

export const PipelineRunStatus = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]);
export type PipelineRunStatus = z.infer<typeof PipelineRunStatus>;

/**
 * A step of a run:
 * - `pending`: waits for the steps it needs;
 * - `running`: an attempt is under way (or waits out its retry backoff);
 * - `succeeded`: done, by running or by reusing a finished result (`reusedFrom`);
 * - `failed`: its last attempt failed;
 * - `skipped`: its `if` was false, or a step it needs was skipped or failed (`error` says which);
 * - `cancelled`: the run was cancelled before the step finished.
 */
export const StepRunStatus = z.enum(["pending", "running", "succeeded", "failed", "skipped", "cancelled"]);
export type StepRunStatus = z.infer<typeof StepRunStatus>;

export const StepAttempt = z.object({
  attempt: z.number().int().min(1),
  status: z.enum(["running", "succeeded", "failed", "cancelled"]),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  error: ErrorInfo.nullable(),
});
export type StepAttempt = z.infer<typeof StepAttempt>;

export const PipelineStepRun = z.object({
  id: StepId,
  type: z.string(),
  status: StepRunStatus,
  /** The step's `with` once references are resolved; null until it starts. */
  inputs: z.record(z.string(), z.unknown()).nullable(),
  outputs: z.record(z.string(), z.unknown()),
  attempts: z.array(StepAttempt),
  error: ErrorInfo.nullable(),
  /** Hash of the step's type, resolved inputs and code; equal keys give equal results. */
  cacheKey: z.string().nullable(),
  /** The run whose result this step reused (a cache hit or a resume); null when it ran. */
  reusedFrom: z.string().nullable(),
  /** The job that runs this step (train, batch_predict), for its progress and log. */
  jobId: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type PipelineStepRun = z.infer<typeof PipelineStepRun>;

/** A step of a new run, before anything happened to it. */
export function pendingStep(step: { id: string; type: string }): PipelineStepRun {
  return {
    id: step.id,
    type: step.type,
    status: "pending",
    inputs: null,
    outputs: {},
    attempts: [],
    error: null,
    cacheKey: null,
    reusedFrom: null,
    jobId: null,
    startedAt: null,
    finishedAt: null,
  };
}

export const PipelineTriggerKind = z.enum(["manual", "schedule", "dataset_version", "pipeline_finished", "resume", "alert"]);
export type PipelineTriggerKind = z.infer<typeof PipelineTriggerKind>;

export const PipelineRunTrigger = z.object({
  kind: PipelineTriggerKind,
  /** What started it in words, e.g. "cron 0 2 * * * due 2026-12-02T01:00:00Z", "dataset sales v4". */
  detail: z.string().nullable(),
  /** pipeline_finished: the run whose end started this one. */
  cause: z.string().optional(),
});
export type PipelineRunTrigger = z.infer<typeof PipelineRunTrigger>;

export const PipelineRun = z.object({
  id: z.string(),
  project: z.string(),
  pipeline: PipelineName,
  /** The pipeline revision the run follows. */
  revision: z.number().int().min(1),
  status: PipelineRunStatus,
  params: z.record(z.string(), ParamValue),
  trigger: PipelineRunTrigger,
  /** Whether cached results were ignored. */
  force: z.boolean(),
  /** The run this one resumes (its finished steps are reused). */
  resumedFrom: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: ErrorInfo.nullable(),
  steps: z.array(PipelineStepRun),
});
export type PipelineRun = z.infer<typeof PipelineRun>;

/** A run without its steps, for lists. */
export const PipelineRunSummary = PipelineRun.omit({ steps: true }).extend({
  stepCounts: z.partialRecord(StepRunStatus, z.number().int()).describe("how many steps are in each state"),
});
export type PipelineRunSummary = z.infer<typeof PipelineRunSummary>;

export const Pipeline = z.object({
  name: PipelineName,
  project: z.string(),
  description: z.string().nullable(),
  /** 1 for the first apply; each apply that changes the file adds one. */
  revision: z.number().int().min(1),
  /** The YAML exactly as applied. */
  yaml: z.string(),
  steps: z.number().int(),
  schedule: z.object({ cron: z.string(), timezone: z.string(), next: z.string().nullable() }).nullable(),
  updatedBy: z.string().nullable(),
  updatedAt: z.string(),
  lastRun: PipelineRunSummary.nullable(),
});
export type Pipeline = z.infer<typeof Pipeline>;

/** A path of a code file named by a custom step, relative to the pipeline file's folder. */
export const PipelineFilePath = z
  .string()
  .min(1)
  .max(512)
  .regex(
    /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9_./-]+$/,
    "use a relative path inside the pipeline's folder (letters, digits, '_', '-', '.', '/'; no '..')",
  );

export const PipelineApplyRequest = z.object({
  yaml: z.string().max(1_000_000).describe("the pipeline file (YAML, spec version 1)"),
  files: z
    .record(PipelineFilePath, z.string().max(1_000_000))
    .default({})
    .describe(
      "the code files custom steps name in `file`, by their path relative to the pipeline file, with their text; a file not sent is kept from the pipeline's current revision",
    ),
});
export type PipelineApplyRequest = z.infer<typeof PipelineApplyRequest>;

/** One stored revision of a pipeline (kept after later changes and after the pipeline is deleted, for its runs). */
export const PipelineRevision = z.object({
  name: PipelineName,
  revision: z.number().int().min(1),
  yaml: z.string(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});
export type PipelineRevision = z.infer<typeof PipelineRevision>;

export const PipelineApplyResult = z.object({
  pipeline: Pipeline,
  change: z.enum(["created", "updated", "unchanged"]),
});
export type PipelineApplyResult = z.infer<typeof PipelineApplyResult>;

export const PipelineRunRequest = z.object({
  params: z.record(z.string(), ParamValue).default({}).describe("values for the pipeline's params; the others keep their defaults"),
  force: z.boolean().default(false).describe("run every step even when an unchanged earlier result exists"),
});
export type PipelineRunRequest = z.infer<typeof PipelineRunRequest>;

export const PipelineRunsQuery = z.object({
  pipeline: PipelineName.optional(),
  status: PipelineRunStatus.optional(),
  trigger: PipelineTriggerKind.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type PipelineRunsQuery = z.infer<typeof PipelineRunsQuery>;

export const PipelineLogQuery = z.object({ step: StepId.optional() });
