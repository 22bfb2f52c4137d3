import type { RunDetail, TaskCatalog, XYChart } from "@caretflow/contracts";
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

export interface CompareParamRow {
  param: string;
  values: (string | null)[];
  /** the runs do not all hold the same value (a missing value counts as different) */
  differs: boolean;
}

/** One row per parameter any run logged, sorted by name, the rows whose values differ first. */
export function compareParamRows(runs: readonly Pick<RunDetail, "params">[]): CompareParamRow[] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const rows = names.map((param) => {
    const values = runs.map((r) => r.params[param] ?? null);
    return { param, values, differs: new Set(values).size > 1 };
  });
  return [...rows.filter((r) => r.differs), ...rows.filter((r) => !r.differs)];
}

/** One bar chart per metric row (those at least one run logged), a bar per run, runs named by `labels`. */
export function metricBarCharts(rows: readonly CompareMetricRow[], labels: readonly string[]): XYChart[] {
  return rows
    .filter((r) => r.values.some((v) => v !== null))
    .map((r) => ({
      type: "xy",
      id: `metric-${r.metric}`,
      title: r.metric,
      x: { label: "Run", scale: "category" },
      y: { label: r.metric, scale: "linear" },
      series: [{ name: r.metric, mark: "bar", points: r.values.map((v, i) => [labels[i] ?? String(i + 1), v]) }],
      ...(r.lowerIsBetter === null ? {} : { note: `${r.lowerIsBetter ? "Lower" : "Higher"} is better` }),
    }));
}

/** A parameter's values as numbers when every logged one reads as a number, else as categories. */
function isNumericParam(values: readonly (string | null)[]): boolean {
  const logged = values.filter((v): v is string => v !== null);
  return logged.length > 0 && logged.every((v) => v.trim() !== "" && Number.isFinite(Number(v)));
}

/**
 * A metric against a parameter: one point per run that logged both, each run its own series so the legend
 * names it. A numeric parameter gets a linear axis, any other a category axis.
 */
export function metricParamScatter(
  runs: readonly Pick<RunDetail, "metrics" | "params">[],
  labels: readonly string[],
  metric: string,
  param: string,
): XYChart {
  const numeric = isNumericParam(runs.map((r) => r.params[param] ?? null));
  const series = runs.flatMap((r, i) => {
    const y = r.metrics[metric];
    const x = r.params[param];
    if (typeof y !== "number" || x === undefined) return [];
    return [{ name: labels[i] ?? String(i + 1), mark: "point" as const, points: [[numeric ? Number(x) : x, y]] }];
  });
  return {
    type: "xy",
    id: "metric-vs-param",
    title: `${metric} by ${param}`,
    x: { label: param, scale: numeric ? "linear" : "category" },
    y: { label: metric, scale: "linear" },
    series,
    ...(series.length < runs.length ? { note: `${runs.length - series.length} run(s) did not log both` } : {}),
  };
}

/** The parameters worth plotting a metric against: those whose values differ between runs, else all. */
export function scatterParams(rows: readonly CompareParamRow[]): string[] {
  const differing = rows.filter((r) => r.differs).map((r) => r.param);
  return differing.length > 0 ? differing : rows.map((r) => r.param);
}

/** Run names as chart labels, made unique (two runs named alike get #2, #3). */
export function runLabels(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n} #${k}`;
  });
}
