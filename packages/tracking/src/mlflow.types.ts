import { z } from "zod";

/**
 * Shapes of MLflow 3.x REST responses, parsed once at the boundary.
 * Only the fields caretflow reads are listed; unknown fields are ignored so a
 * newer server that adds fields does not break parsing. MLflow's JSON encodes
 * int64 (timestamps, versions) as strings or numbers depending on the field,
 * so those accept both.
 */

const int64 = z.union([z.number(), z.string()]).transform((v) => Number(v));

export const MlflowTag = z.object({ key: z.string(), value: z.string().default("") });
export type MlflowTag = z.infer<typeof MlflowTag>;

export const MlflowExperiment = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().optional(),
  lifecycle_stage: z.string().optional(),
  creation_time: int64.optional(),
  last_update_time: int64.optional(),
  tags: z.array(MlflowTag).default([]),
});
export type MlflowExperiment = z.infer<typeof MlflowExperiment>;

export const MlflowRunStatus = z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]);
export type MlflowRunStatus = z.infer<typeof MlflowRunStatus>;

export const MlflowMetric = z.object({
  key: z.string(),
  // NaN and infinities arrive as strings ("NaN", "Infinity") from MLflow's JSON encoder.
  value: z.union([z.number(), z.string()]).transform((v) => Number(v)),
  timestamp: int64.optional(),
  step: int64.default(0),
});
export type MlflowMetric = z.infer<typeof MlflowMetric>;

export const MlflowParam = z.object({ key: z.string(), value: z.string().default("") });

export const MlflowDatasetInput = z.object({
  tags: z.array(MlflowTag).default([]),
  dataset: z.object({
    name: z.string(),
    digest: z.string().default(""),
    source_type: z.string().optional(),
    source: z.string().optional(),
    schema: z.string().optional(),
    profile: z.string().optional(),
  }),
});

export const MlflowRun = z.object({
  info: z.object({
    run_id: z.string(),
    run_uuid: z.string().optional(),
    experiment_id: z.string(),
    run_name: z.string().optional(),
    user_id: z.string().optional(),
    status: MlflowRunStatus,
    start_time: int64.optional(),
    end_time: int64.optional(),
    artifact_uri: z.string().optional(),
    lifecycle_stage: z.string().optional(),
  }),
  data: z
    .object({
      metrics: z.array(MlflowMetric).default([]),
      params: z.array(MlflowParam).default([]),
      tags: z.array(MlflowTag).default([]),
    })
    .default({ metrics: [], params: [], tags: [] }),
  inputs: z
    .object({
      dataset_inputs: z.array(MlflowDatasetInput).default([]),
    })
    .default({ dataset_inputs: [] }),
  outputs: z
    .object({
      model_outputs: z.array(z.object({ model_id: z.string(), step: int64.optional() })).default([]),
    })
    .default({ model_outputs: [] }),
});
export type MlflowRun = z.infer<typeof MlflowRun>;

export const MlflowFileInfo = z.object({
  path: z.string(),
  is_dir: z.boolean().default(false),
  file_size: int64.optional(),
});
export type MlflowFileInfo = z.infer<typeof MlflowFileInfo>;

export const MlflowLoggedModel = z.object({
  info: z.object({
    model_id: z.string(),
    experiment_id: z.string(),
    name: z.string(),
    artifact_uri: z.string().optional(),
    status: z.string().optional(),
    source_run_id: z.string().optional(),
    tags: z.array(MlflowTag).default([]),
  }),
});
export type MlflowLoggedModel = z.infer<typeof MlflowLoggedModel>;

export const MlflowModelVersion = z.object({
  name: z.string(),
  version: int64,
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  description: z.string().optional(),
  source: z.string().default(""),
  run_id: z.string().optional(),
  model_id: z.string().optional(),
  status: z.string().default("READY"),
  tags: z.array(MlflowTag).default([]),
  aliases: z.array(z.string()).default([]),
});
export type MlflowModelVersion = z.infer<typeof MlflowModelVersion>;

export const MlflowRegisteredModel = z.object({
  name: z.string(),
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  description: z.string().optional(),
  latest_versions: z.array(MlflowModelVersion).default([]),
  tags: z.array(MlflowTag).default([]),
  aliases: z.array(z.object({ alias: z.string(), version: int64 })).default([]),
});
export type MlflowRegisteredModel = z.infer<typeof MlflowRegisteredModel>;

/** Body of an MLflow error response. */
export const MlflowErrorBody = z.object({ error_code: z.string(), message: z.string().default("") });

/** Turns MLflow's `[{key, value}]` lists into a plain record. */
export function tagsToRecord(tags: ReadonlyArray<{ key: string; value: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) out[t.key] = t.value;
  return out;
}
