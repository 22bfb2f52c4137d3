import { z } from "zod";
import { DriftFeature, DriftThresholds } from "./drift.ts";
import { durationSeconds } from "./pipeline.ts";

/**
 * Monitoring of a deployment: ground-truth labels sent back by prediction id (feedback), live figures per
 * time bucket from the prediction log joined with those labels, and drift of the logged inputs against the
 * training data of the version served.
 */

/** A prediction id as the deployment's predict answer gives it (a UUID). */
export const PredictionId = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "a prediction id as the predict answer gives it (a UUID)");

/** The true outcome of one predicted row. */
export const FeedbackLabel = z
  .object({
    predictionId: PredictionId,
    row: z.number().int().min(0).max(9_999).default(0).describe("the row's index in the predict request (default 0: the first)"),
    label: z.union([z.string().min(1).max(200), z.number().finite(), z.boolean()]).describe("the true class, or the true value"),
  })
  .strict();
export type FeedbackLabel = z.infer<typeof FeedbackLabel>;

/** Sending a label again for the same prediction id and row replaces it (the last one wins). */
export const FeedbackRequest = z
  .object({
    labels: z.array(FeedbackLabel).min(1, "send at least one label").max(10_000, "send at most 10,000 labels per request"),
  })
  .strict();
export type FeedbackRequest = z.infer<typeof FeedbackRequest>;

export const FeedbackResponse = z.object({
  deployment: z.string(),
  stored: z.number().int().describe("labels stored (new or replaced)"),
  matched: z.number().int().describe("of those, labels whose prediction id and row are in the prediction log"),
  unmatched: z.array(PredictionId).max(20).describe("up to 20 prediction ids not found in the log (unknown, or older than its retention)"),
});
export type FeedbackResponse = z.infer<typeof FeedbackResponse>;

/** A duration such as `5m`, `1h`, `1d`. */
export const DurationText = z.string().regex(/^[1-9][0-9]{0,3}[mhd]$/, "a duration such as 5m, 1h or 1d");

const MAX_BUCKETS = 2_000;

export const MonitoringQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional().describe("default: 24 hours before `to`"),
    to: z.iso.datetime({ offset: true }).optional().describe("default: now"),
    bucket: DurationText.default("1h").describe("the width of each time bucket"),
  })
  .strict();
export type MonitoringQuery = z.infer<typeof MonitoringQuery>;

/** One time bucket of one version. Performance figures are null without labels (or, for AUC, without both classes). */
export const MonitoringPoint = z.object({
  start: z.string().describe("the bucket's start (ISO, UTC); it spans `bucketSeconds`"),
  requests: z.number().int().describe("prediction ids this version answered (or scored, for a shadow)"),
  errors: z.number().int(),
  rows: z.number().int().describe("input rows scored"),
  latencyP50Ms: z.number().nullable(),
  latencyP95Ms: z.number().nullable(),
  labelled: z.number().int().describe("scored rows with a label"),
  accuracy: z.number().nullable().describe("classification: share of labelled rows predicted right"),
  auc: z.number().nullable().describe("binary classification: ROC AUC from the logged score"),
  rmse: z.number().nullable().describe("regression: root mean squared error"),
  mae: z.number().nullable().describe("regression: mean absolute error"),
});
export type MonitoringPoint = z.infer<typeof MonitoringPoint>;

export const MonitoringVersionSeries = z.object({
  version: z.number().int(),
  shadow: z.boolean().describe("a shadow version's answers: logged, never returned"),
  task: z.enum(["classification", "regression"]).nullable().describe("from the logged prediction columns; null: no answer logged"),
  points: z.array(MonitoringPoint).describe("buckets with at least one logged row, oldest first"),
});
export type MonitoringVersionSeries = z.infer<typeof MonitoringVersionSeries>;

export const MonitoringResponse = z.object({
  deployment: z.string(),
  from: z.string(),
  to: z.string(),
  bucket: DurationText,
  bucketSeconds: z.number().int(),
  versions: z.array(MonitoringVersionSeries),
});
export type MonitoringResponse = z.infer<typeof MonitoringResponse>;

/** The window and bucket of a monitoring query, checked: `from` before `to`, at most MAX_BUCKETS buckets. */
export function monitoringWindow(q: MonitoringQuery, now: Date): { from: Date; to: Date; bucketSeconds: number } | string {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 86_400_000);
  const bucketSeconds = durationSeconds(q.bucket);
  if (from >= to) return "`from` must be before `to`";
  if ((to.getTime() - from.getTime()) / 1000 / bucketSeconds > MAX_BUCKETS)
    return `the window holds more than ${MAX_BUCKETS} buckets of ${q.bucket}; choose a wider bucket or a shorter window`;
  return { from, to, bucketSeconds };
}

/** How often the server checks a deployment's logged inputs for drift on its own; null: only on demand. */
export const DriftSchedule = z.enum(["1h", "6h", "1d", "7d"]).nullable();
export type DriftSchedule = z.infer<typeof DriftSchedule>;

export const DeploymentDriftRequest = z
  .object({
    from: z.iso.datetime({ offset: true }).optional().describe("default: 24 hours before `to`"),
    to: z.iso.datetime({ offset: true }).optional().describe("default: now"),
    thresholds: DriftThresholds.partial().optional(),
  })
  .strict();
export type DeploymentDriftRequest = z.infer<typeof DeploymentDriftRequest>;

/** What a drift job over a deployment's log is asked (stored as the job's request). */
export const PredictionLogDriftRequest = z.object({
  deployment: z.string(),
  model: z.string(),
  version: z.number().int().describe("the model version whose logged answers and inputs are compared"),
  window: z.object({ from: z.string(), to: z.string() }),
  reference: z.object({ dataset: z.string(), version: z.number().int() }).describe("the version's training dataset version"),
  target: z
    .string()
    .nullable()
    .default(null)
    .describe("the training target column: its values in the reference are compared with the logged prediction_label (null: unknown)"),
  files: z.array(z.string()).min(1).describe("prediction-log files (relative to the log's folder) the window spans"),
  thresholds: DriftThresholds,
});
export type PredictionLogDriftRequest = z.infer<typeof PredictionLogDriftRequest>;

/** One drift check of a deployment: its window, the job that ran it and, once finished, the figures. */
export const DeploymentDriftRun = z.object({
  id: z.string(),
  deployment: z.string(),
  trigger: z.enum(["manual", "schedule"]),
  at: z.string().describe("when the check was started"),
  window: z.object({ from: z.string(), to: z.string() }),
  model: z.string(),
  version: z.number().int(),
  reference: z.object({ dataset: z.string(), version: z.number().int() }),
  jobId: z.string(),
  status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]),
  error: z.string().nullable(),
  currentRows: z.number().int().nullable(),
  referenceRows: z.number().int().nullable(),
  maxPsi: z.number().nullable().describe("the largest PSI of a feature"),
  drifted: z.array(z.string()).describe("drifted features"),
  predictionDrift: z.boolean().nullable(),
  thresholds: DriftThresholds.nullable().describe("what counted as drift in this check (null until it has finished)"),
  features: z.array(DriftFeature).describe("per feature (and prediction column): PSI, KS p-value, drifted, bins"),
});
export type DeploymentDriftRun = z.infer<typeof DeploymentDriftRun>;

export const DeploymentDriftHistoryQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();
