import { type TrainRequest, userError } from "@caretflow/contracts";
import { canonicalMetric, NOT_INSTALLED_MODELS, PYCARET_CATALOG } from "./pycaret.catalog.ts";

/** Facts about a dataset version that decide whether a training request can start. */
export interface TrainDatasetFacts {
  dataset: string;
  version: number;
  rowCount: number;
  columns: string[];
  target: { nulls: number; distinct: number; count: number };
}

/**
 * Checks a training request against the dataset before anything is queued, so a
 * person learns at once (4xx with a hint) instead of from a failed job.
 * Returns the request with the sort metric normalized to PyCaret's spelling.
 */
export function validateTrainRequest(req: TrainRequest, facts: TrainDatasetFacts): TrainRequest {
  const where = `${facts.dataset} v${facts.version}`;
  const columns = new Set(facts.columns);
  if (!columns.has(req.target)) {
    throw userError(
      "target_not_found",
      `Column '${req.target}' does not exist in ${where}`,
      `Pick one of: ${facts.columns.slice(0, 30).join(", ")}${facts.columns.length > 30 ? ", ..." : ""}`,
      422,
    );
  }
  if (facts.rowCount === 0 || facts.target.nulls >= facts.target.count) {
    throw userError(
      "target_all_null",
      `Target column '${req.target}' has no values in ${where}`,
      "Choose a target column that is filled in.",
      422,
    );
  }
  if (req.task === "classification" && facts.target.distinct < 2) {
    throw userError(
      "target_single_class",
      `Target column '${req.target}' has only ${facts.target.distinct} distinct value in ${where}; classification needs at least 2 classes`,
      "Choose another target, or add rows of the other classes to the dataset.",
      422,
    );
  }
  const missingIgnored = req.ignoreColumns.filter((c) => !columns.has(c));
  if (missingIgnored.length > 0) {
    throw userError(
      "ignore_column_not_found",
      `Columns to ignore do not exist in ${where}: ${missingIgnored.join(", ")}`,
      "Remove them from the ignore list; column names are case-sensitive.",
      422,
    );
  }
  if (req.ignoreColumns.includes(req.target)) {
    throw userError(
      "target_ignored",
      `The target '${req.target}' is also in the ignore list`,
      "Remove the target from the ignore list.",
      422,
    );
  }
  const catalog = PYCARET_CATALOG[req.task];
  for (const [field, ids] of [
    ["include", req.include],
    ["exclude", req.exclude],
  ] as const) {
    const unknown = ids.filter((id) => !(id in catalog.models));
    if (unknown.length > 0) {
      const notInstalled = unknown.filter((id) => id in NOT_INSTALLED_MODELS);
      throw userError(
        "unknown_model",
        notInstalled.length === unknown.length
          ? `Models not installed in this engine: ${unknown.join(", ")}`
          : `Unknown ${req.task} model ids in ${field}: ${unknown.join(", ")}`,
        `Known ${req.task} model ids: ${Object.keys(catalog.models).join(", ")}`,
        422,
      );
    }
  }
  const remaining = (req.include.length > 0 ? req.include : Object.keys(catalog.models)).filter((id) => !req.exclude.includes(id));
  if (remaining.length === 0) {
    throw userError("no_models", "include and exclude leave no model to train", "Exclude fewer models or include more.", 422);
  }
  let sort = req.sort;
  if (sort !== undefined) {
    const canonical = canonicalMetric(req.task, sort);
    if (canonical === null) {
      throw userError(
        "unknown_sort_metric",
        `'${sort}' is not a ${req.task} metric`,
        `Sort by one of: ${Object.keys(catalog.metrics).join(", ")}`,
        422,
      );
    }
    sort = canonical;
  }
  return { ...req, ...(sort === undefined ? {} : { sort }) };
}
