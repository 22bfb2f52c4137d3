import type { JobOutput } from "@caretflow/contracts";

const SUFFIX: Record<JobOutput["role"], string> = {
  labels: "",
  predictions: "-predictions",
  topic_weights: "-topics",
  rules: "-rules",
  itemsets: "-itemsets",
  forecast: "-forecast",
};

/**
 * The dataset a job output is stored as. Labels (clusters, anomalies) become a new version of the
 * input dataset, as PyCaret's assign_model adds them to the data; other tables get a dataset of
 * their own named after the input (juice-predictions, france-rules...), or the name asked for.
 */
export function outputDatasetName(role: JobOutput["role"], input: string, requested?: string): string {
  if (requested) return requested;
  const suffix = SUFFIX[role];
  return `${input.slice(0, 64 - suffix.length)}${suffix}`;
}
