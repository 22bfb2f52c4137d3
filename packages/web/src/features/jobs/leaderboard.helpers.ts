import type { LeaderboardRow } from "@caretflow/contracts";
import { lowerIsBetter } from "../../lib/pycaret.ts";

/** The metric columns to show, in PyCaret's order, for whatever metrics the rows carry. */
export function metricColumns(rows: readonly LeaderboardRow[], preferred: readonly string[]): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r.metrics)));
  const ordered = preferred.filter((m) => present.has(m));
  const rest = [...present].filter((m) => !preferred.includes(m)).sort();
  return [...ordered, ...rest];
}

/** Chart rows for the sort metric, best first, so the chart reads like the ranking. */
export function metricBars(rows: readonly LeaderboardRow[], metric: string): { model: string; id: string; value: number }[] {
  const bars = rows
    .map((r) => ({ model: r.model_name, id: r.model_id, value: r.metrics[metric] }))
    .filter((b): b is { model: string; id: string; value: number } => typeof b.value === "number" && Number.isFinite(b.value));
  const lower = lowerIsBetter(metric);
  return bars.sort((a, b) => (lower ? a.value - b.value : b.value - a.value));
}
