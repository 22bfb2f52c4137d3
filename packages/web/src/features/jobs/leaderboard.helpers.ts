import type { LeaderboardRow } from "@caretflow/contracts";

export interface MetricBar {
  model: string;
  /** unique per row: the row's MLflow run, else its model id (an operation's rows can share a model id) */
  key: string;
  row: LeaderboardRow;
  value: number;
}

/** A stable, unique key for a leaderboard row. */
export function rowKey(r: LeaderboardRow): string {
  return r.mlflow_run_id ?? r.model_id;
}

/** Chart rows for the sort metric, best first (by the metric's direction), so the chart reads like the ranking. */
export function metricBars(rows: readonly LeaderboardRow[], metric: string, lower: boolean): MetricBar[] {
  const bars = rows
    .map((row) => ({ model: row.model_name, key: rowKey(row), row, value: row.metrics[metric] }))
    .filter((b): b is MetricBar => typeof b.value === "number" && Number.isFinite(b.value));
  return bars.sort((a, b) => (lower ? a.value - b.value : b.value - a.value));
}
