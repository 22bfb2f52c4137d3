import { z } from "zod";
import { DatasetName } from "./datasets.ts";

/**
 * Data drift between a reference (the training data) and a current sample: per feature, the
 * population stability index (PSI) over the reference's quantile bins or categories, and for
 * numeric features a two-sample Kolmogorov-Smirnov test.
 */

/** When a feature counts as drifted: PSI at or above `psi`, or a KS p-value below `ks_p_value` with a statistic of at least `ks_statistic`. */
export const DriftThresholds = z.object({
  psi: z.number().positive().default(0.2).describe("PSI at or above this is drift (0.1: moderate, 0.2: significant)"),
  ks_p_value: z.number().gt(0).lt(1).default(0.05).describe("a KS p-value below this is drift, when the statistic is large enough"),
  ks_statistic: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe(
      "the smallest KS statistic (largest gap between the two distributions) that counts: large samples make tiny gaps significant",
    ),
});
export type DriftThresholds = z.infer<typeof DriftThresholds>;

/** One bin of a feature: a numeric range from the reference's quantiles, a category, `other` (not in the reference) or `missing`. */
export const DriftBin = z.object({
  label: z.string(),
  reference: z.number().describe("share of the reference rows"),
  current: z.number().describe("share of the current rows"),
});

/** A feature's (or a prediction column's) drift. */
export const DriftFeature = z.object({
  column: z.string(),
  role: z.enum(["feature", "prediction"]),
  type: z.enum(["numeric", "categorical", "skipped"]),
  psi: z.number().nullable(),
  ks_statistic: z.number().nullable().describe("numeric features only"),
  ks_p_value: z.number().nullable().describe("numeric features only"),
  drifted: z.boolean(),
  reference_missing: z.number().describe("share of missing values in the reference"),
  current_missing: z.number().describe("share of missing values in the current sample"),
  bins: z.array(DriftBin),
  note: z.string().optional().describe("why a column was skipped"),
});
export type DriftFeature = z.infer<typeof DriftFeature>;

const DatasetVersionRef = z.object({
  dataset: DatasetName,
  version: z.number().int().positive().optional().describe("defaults to the latest version"),
});

/** POST /api/drift: compare a current dataset version with a reference one (the training data). */
export const DriftRequest = z.object({
  reference: DatasetVersionRef.describe("the training data"),
  current: DatasetVersionRef.describe("the data to check: new rows, scored rows"),
  features: z.array(z.string().min(1)).min(1).optional().describe("columns to compare; default: every column both have"),
  thresholds: DriftThresholds.partial().optional(),
});
export type DriftRequest = z.infer<typeof DriftRequest>;
