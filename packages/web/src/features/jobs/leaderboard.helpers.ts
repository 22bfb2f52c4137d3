import type { LeaderboardRow } from "@caretflow/contracts";

/** Chart rows for the sort metric, best first (by the metric's direction), so the chart reads like the ranking. */
export function metricBars(
  rows: readonly LeaderboardRow[],
  metric: string,
  lower: boolean,
): { model: string; id: string; value: number }[] {
  const bars = rows
    .map((r) => ({ model: r.model_name, id: r.model_id, value: r.metrics[metric] }))
    .filter((b): b is { model: string; id: string; value: number } => typeof b.value === "number" && Number.isFinite(b.value));
  return bars.sort((a, b) => (lower ? a.value - b.value : b.value - a.value));
}
