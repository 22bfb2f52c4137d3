import { z } from "zod";
import { PipelineName } from "./pipeline.ts";
import { ParamValue } from "./pipelines.ts";

/**
 * Alert rules: a metric of a deployment over a time window, compared with a threshold, checked on a
 * schedule; when it crosses, the rule fires once (a webhook, a pipeline run) and resolves when it
 * comes back. Which metrics exist depends on what the server measures (GET /api/alerts/metrics).
 */

export const AlertRuleName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "letters, digits, '_', '.' and '-', starting with a letter or digit");

/** A metric a rule can watch, e.g. `latency_p95_ms`, `error_rate`, `drift_psi_max`, `accuracy`. */
export const AlertMetricName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, "lower-case letters, digits and '_'");

export const AlertOperator = z.enum([">", ">=", "<", "<="]);
export type AlertOperator = z.infer<typeof AlertOperator>;

/** What a rule watches and when it fires. */
const AlertRuleFields = {
  deployment: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "a deployment name: letters, digits, '_', '.' and '-'")
    .describe("the deployment whose metric is watched"),
  metric: AlertMetricName,
  op: AlertOperator,
  threshold: z.number().finite(),
  window_minutes: z.number().int().min(1).max(43_200).default(60).describe("the metric is computed over this many minutes up to now"),
  enabled: z.boolean().default(true),
};

/** A pipeline an alert starts when it fires, with its parameters (e.g. a retraining). */
export const AlertPipelineAction = z.object({
  name: PipelineName,
  params: z.record(z.string(), ParamValue).default({}),
});

export const AlertRuleRequest = z.object({
  name: AlertRuleName,
  ...AlertRuleFields,
  /** POSTed a JSON message when the rule fires or resolves; stored encrypted, never shown again (only its origin). */
  webhook_url: z.string().url().max(2000).optional(),
  pipeline: AlertPipelineAction.optional(),
});
export type AlertRuleRequest = z.infer<typeof AlertRuleRequest>;

/** A change of a rule: any field; `webhook_url: null` removes the webhook, `pipeline: null` the pipeline. */
export const AlertRuleUpdate = z.object({
  deployment: AlertRuleFields.deployment.optional(),
  metric: AlertMetricName.optional(),
  op: AlertOperator.optional(),
  threshold: AlertRuleFields.threshold.optional(),
  window_minutes: z.number().int().min(1).max(43_200).optional(),
  enabled: z.boolean().optional(),
  webhook_url: z.string().url().max(2000).nullable().optional(),
  pipeline: AlertPipelineAction.nullable().optional(),
});
export type AlertRuleUpdate = z.infer<typeof AlertRuleUpdate>;

/** `ok`: within the threshold; `firing`: past it; `no_data`: nothing to compute the metric from in the window; `error`: computing it failed. */
export const AlertState = z.enum(["ok", "firing", "no_data", "error", "unknown"]);
export type AlertState = z.infer<typeof AlertState>;

export const AlertRule = z.object({
  name: AlertRuleName,
  project: z.string(),
  deployment: z.string(),
  metric: AlertMetricName,
  op: AlertOperator,
  threshold: z.number(),
  window_minutes: z.number().int(),
  enabled: z.boolean(),
  /** The webhook's origin (scheme, host, port) only: its path often holds a secret. */
  webhook_origin: z.string().nullable(),
  pipeline: AlertPipelineAction.nullable(),
  state: AlertState,
  /** The metric's value at the last check (null: no data or an error). */
  last_value: z.number().nullable(),
  last_checked_at: z.string().nullable(),
  /** Why the last check gave no value, when it gave none. */
  last_error: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type AlertRule = z.infer<typeof AlertRule>;

/** One firing or resolution of a rule, with what its actions did. */
export const AlertEvent = z.object({
  id: z.string(),
  rule: AlertRuleName,
  deployment: z.string(),
  kind: z.enum(["fired", "resolved"]),
  at: z.string(),
  metric: AlertMetricName,
  value: z.number().nullable(),
  threshold: z.number(),
  op: AlertOperator,
  message: z.string(),
  /** `sent (HTTP 204)`, `failed: ...`, or null without a webhook. */
  webhook: z.string().nullable(),
  /** The pipeline run started, or why none could be. */
  pipeline_run: z.string().nullable(),
  pipeline_error: z.string().nullable(),
});
export type AlertEvent = z.infer<typeof AlertEvent>;

export const AlertMetricInfo = z.object({
  name: AlertMetricName,
  description: z.string(),
  unit: z.string(),
});
export type AlertMetricInfo = z.infer<typeof AlertMetricInfo>;

export const AlertEventsQuery = z.object({
  rule: AlertRuleName.optional(),
  deployment: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
