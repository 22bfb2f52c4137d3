import type { RunDetail, TaskCatalog } from "@caretflow/contracts";
import { bestIndex, lowerIsBetter, summaryMetrics } from "../../lib/catalog.ts";

export interface CompareMetricRow {
  metric: string;
  values: (number | null)[];
  /** the column holding the best value, or -1 (direction unknown, or fewer than two values) */
  best: number;
  lowerIsBetter: boolean | null;
}

/**
 * One row per metric any of the runs logged (the tasks' catalog metrics first, in their order), one value per run,
 * the best marked by the metric's direction from the catalog of a task that knows it.
 */
export function compareMetricRows(
  runs: readonly Pick<RunDetail, "metrics">[],
  tasks: readonly (TaskCatalog | undefined)[],
): CompareMetricRow[] {
  const names: string[] = [];
  for (const t of tasks) for (const m of t?.metrics ?? []) if (!names.includes(m.name)) names.push(m.name);
  const logged = new Set(runs.flatMap((r) => summaryMetrics(r.metrics).map(([k]) => k)));
  const ordered = [...names.filter((n) => logged.has(n)), ...[...logged].filter((n) => !names.includes(n)).sort()];
  return ordered.map((metric) => {
    const values = runs.map((r) => (typeof r.metrics[metric] === "number" ? (r.metrics[metric] as number) : null));
    let lower: boolean | null = null;
    for (const t of tasks) {
      lower = lowerIsBetter(t, metric);
      if (lower !== null) break;
    }
    return { metric, values, best: bestIndex(values, lower), lowerIsBetter: lower };
  });
}

/** Chart ids across runs in first-seen order, each with the run's chart (or undefined) per column: same plot side by side. */
export function chartRows<T extends { id: string }>(perRun: readonly (readonly T[])[]): { id: string; cells: (T | undefined)[] }[] {
  const ids: string[] = [];
  for (const charts of perRun) for (const c of charts) if (!ids.includes(c.id)) ids.push(c.id);
  return ids.map((id) => ({ id, cells: perRun.map((charts) => charts.find((c) => c.id === id)) }));
}
