import type { Catalog, CatalogField, LeaderboardRow, TaskCatalog } from "@caretflow/contracts";

/**
 * What the UI knows about tasks, models and metrics, read from the engine's catalog (GET /api/catalog).
 * Nothing here lists a task, model or metric by name: a new task in the engine shows up in the UI as is.
 */

/** Training time: PyCaret's "TT (Sec)" column, "TT_Sec" in MLflow (which refuses parentheses in metric keys). */
const TRAINING_TIME = new Set(["TT (Sec)", "TT_Sec", "TT"]);

/** MLflow metric keys spell "Prec." as "Prec" and spaces as "_"; this finds the catalog's spelling of either. */
function sameMetric(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .trim()
      .toLowerCase()
      .replace(/[._\s]+$/, "")
      .replace(/[\s_]+/g, " ");
  return norm(a) === norm(b);
}

/**
 * True when a smaller value of `metric` is better: the catalog's `greaterIsBetter`, and training time.
 * null when the catalog does not know the metric (the UI then marks no "best").
 */
export function lowerIsBetter(task: TaskCatalog | undefined, metric: string): boolean | null {
  if (TRAINING_TIME.has(metric)) return true;
  const m = task?.metrics.find((x) => sameMetric(x.name, metric) || sameMetric(x.id, metric));
  return m ? !m.greaterIsBetter : null;
}

/** The task's metric columns in the catalog's order, then training time, then any others the rows carry (sorted). */
export function metricColumns(rows: readonly LeaderboardRow[], task: TaskCatalog | undefined): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r.metrics)));
  const ordered = [...(task?.metrics.map((m) => m.name) ?? []), ...TRAINING_TIME].filter((m) => present.has(m));
  const rest = [...present].filter((m) => !ordered.includes(m)).sort();
  return [...ordered, ...rest];
}

/** The metric that ranks a task's models when the request named none. */
export function defaultSort(task: TaskCatalog | undefined): string | null {
  return task?.defaultSort ?? task?.metrics[0]?.name ?? null;
}

/**
 * The best leaderboard row: the engine's rank 1 once the comparison is sorted, otherwise the best value of
 * `metric` so far in the catalog's direction (rows arrive one by one while training runs).
 */
export function bestRow(rows: readonly LeaderboardRow[], metric: string | null, task: TaskCatalog | undefined): LeaderboardRow | null {
  const ranked = rows.find((r) => r.rank === 1);
  if (ranked) return ranked;
  if (!metric) return null;
  const lower = lowerIsBetter(task, metric);
  if (lower === null) return null;
  let best: LeaderboardRow | null = null;
  let bestValue = 0;
  for (const r of rows) {
    const v = r.metrics[metric];
    if (v === null || v === undefined || Number.isNaN(v)) continue;
    if (best === null || (lower ? v < bestValue : v > bestValue)) {
      best = r;
      bestValue = v;
    }
  }
  return best;
}

/** The index of the best of several values (compare tables), or -1 when none is comparable or the direction is unknown. */
export function bestIndex(values: readonly (number | null | undefined)[], lower: boolean | null): number {
  if (lower === null) return -1;
  let best = -1;
  values.forEach((v, i) => {
    if (v === null || v === undefined || !Number.isFinite(v)) return;
    const b = best === -1 ? undefined : values[best];
    if (b === undefined || b === null || (lower ? v < b : v > b)) best = i;
  });
  // one value is no comparison
  return values.filter((v) => typeof v === "number" && Number.isFinite(v)).length > 1 ? best : -1;
}

/** A model id as the task's display name (lr → Logistic Regression); unknown ids come back unchanged. */
export function modelName(task: TaskCatalog | undefined, id: string | null): string | null {
  if (!id) return id;
  return task?.models.find((m) => m.id === id)?.name ?? id;
}

/** The task's human label ("Classification"), or the id when the catalog does not have it. */
export function taskLabel(catalog: Catalog | undefined, task: string | null | undefined): string {
  if (!task) return "—";
  return catalog?.tasks.find((t) => t.task === task)?.label ?? task;
}

/** The headline number of a run: its task's default sort metric when logged, else the first summary metric. */
export function headlineMetric(
  run: { metrics: Record<string, number> },
  task: TaskCatalog | undefined,
): { name: string; value: number } | null {
  const keys = Object.keys(run.metrics);
  const preferred = [defaultSort(task), ...(task?.metrics.map((m) => m.name) ?? [])].filter((m): m is string => !!m);
  for (const name of preferred) {
    const key = keys.find((k) => sameMetric(k, name));
    if (key !== undefined) return { name, value: run.metrics[key] as number };
  }
  const first = keys.find((k) => !/fold|[._]std$/i.test(k) && !k.includes("."));
  return first === undefined ? null : { name: first, value: run.metrics[first] as number };
}

/** A run's metric keys the way a summary shows them: no per-fold values, no namespaced details. */
export function summaryMetrics(metrics: Record<string, number>): [string, number][] {
  return Object.entries(metrics).filter(([k]) => !/fold/i.test(k));
}

/** A task that forecasts periods ahead (its requests take a horizon) predicts from a horizon, not from rows. */
export function horizonField(task: TaskCatalog | undefined): CatalogField | undefined {
  return task?.fields.find((f) => f.name === "horizon" && f.scope === "spec");
}
