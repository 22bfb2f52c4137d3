import {
  type ChartSeries,
  type DeploymentDriftRun,
  DriftThresholds,
  type MonitoringResponse,
  type MonitoringVersionSeries,
  type XYChart,
} from "@caretflow/contracts";

/** The time windows the Monitoring tab offers, each with a bucket that gives a readable number of points. */
export const WINDOWS = [
  { key: "1h", label: "Last hour", ms: 3_600_000, bucket: "5m" },
  { key: "24h", label: "Last 24 hours", ms: 86_400_000, bucket: "1h" },
  { key: "7d", label: "Last 7 days", ms: 7 * 86_400_000, bucket: "6h" },
  { key: "30d", label: "Last 30 days", ms: 30 * 86_400_000, bucket: "1d" },
] as const;
export type WindowKey = (typeof WINDOWS)[number]["key"];

/** The monitoring query of a window ending now: `{from, to, bucket}` in the form GET /monitoring takes. */
export function windowQuery(key: WindowKey, now: Date): { from: string; to: string; bucket: string } {
  const w = WINDOWS.find((x) => x.key === key) ?? WINDOWS[1];
  return { from: new Date(now.getTime() - w.ms).toISOString(), to: now.toISOString(), bucket: w.bucket };
}

/** "Last 24 hours" */
export function windowLabel(key: WindowKey): string {
  return (WINDOWS.find((x) => x.key === key) ?? WINDOWS[1]).label;
}

/** "v2", "v3 (shadow)" */
export function versionLabel(s: Pick<MonitoringVersionSeries, "version" | "shadow">): string {
  return `v${s.version}${s.shadow ? " (shadow)" : ""}`;
}

/** A line needs two points to show; a lone bucket is drawn as a point. */
const trend = (n: number): ChartSeries["mark"] => (n > 1 ? "line" : "point");

/** Totals over the window, every version together. */
export function totals(m: MonitoringResponse): {
  requests: number;
  errors: number;
  rows: number;
  labelled: number;
  errorRate: number | null;
} {
  let requests = 0;
  let errors = 0;
  let rows = 0;
  let labelled = 0;
  for (const s of m.versions)
    for (const p of s.points) {
      requests += p.requests;
      errors += p.errors;
      rows += p.rows;
      labelled += p.labelled;
    }
  return { requests, errors, rows, labelled, errorRate: requests ? errors / requests : null };
}

/** Requests and errors per bucket, per version (bars). Null when nothing was logged in the window. */
export function trafficChart(m: MonitoringResponse): XYChart | null {
  if (!m.versions.some((s) => s.points.length)) return null;
  return {
    type: "xy",
    id: "monitoring-traffic",
    title: `Requests and errors per ${m.bucket}`,
    x: { label: "time", scale: "time" },
    y: { label: "requests", scale: "linear" },
    series: m.versions.flatMap((s): ChartSeries[] => [
      { name: `${versionLabel(s)} requests`, mark: "bar", points: s.points.map((p) => [p.start, p.requests]) },
      { name: `${versionLabel(s)} errors`, mark: "bar", points: s.points.map((p) => [p.start, p.errors]) },
    ]),
  };
}

/** Latency p50 and p95 per bucket, per version. Null when no bucket has a latency. */
export function latencyChart(m: MonitoringResponse): XYChart | null {
  const series = m.versions.flatMap((s): ChartSeries[] => {
    const timed = s.points.filter((p) => p.latencyP50Ms !== null || p.latencyP95Ms !== null);
    if (!timed.length) return [];
    return [
      { name: `${versionLabel(s)} p50`, mark: trend(timed.length), points: timed.map((p) => [p.start, p.latencyP50Ms]) },
      { name: `${versionLabel(s)} p95`, mark: trend(timed.length), points: timed.map((p) => [p.start, p.latencyP95Ms]) },
    ];
  });
  if (!series.length) return null;
  return {
    type: "xy",
    id: "monitoring-latency",
    title: `Latency per ${m.bucket}`,
    x: { label: "time", scale: "time" },
    y: { label: "ms", scale: "linear" },
    series,
  };
}

const PERFORMANCE = {
  classification: [
    ["accuracy", "accuracy"],
    ["auc", "AUC"],
  ],
  regression: [
    ["rmse", "RMSE"],
    ["mae", "MAE"],
  ],
} as const;

/**
 * Live performance per bucket from the labels sent back: accuracy and AUC for a classifier, RMSE and MAE for
 * a regressor. Null until some bucket has a figure.
 */
export function performanceChart(m: MonitoringResponse): XYChart | null {
  const task = m.versions.find((s) => s.task)?.task ?? null;
  if (!task) return null;
  const series = m.versions.flatMap((s) =>
    PERFORMANCE[task].flatMap(([key, label]): ChartSeries[] => {
      const known = s.points.filter((p) => p[key] !== null);
      return known.length
        ? [{ name: `${versionLabel(s)} ${label}`, mark: trend(known.length), points: known.map((p) => [p.start, p[key]]) }]
        : [];
    }),
  );
  if (!series.length) return null;
  return {
    type: "xy",
    id: "monitoring-performance",
    title: task === "classification" ? `Live accuracy and AUC per ${m.bucket}` : `Live RMSE and MAE per ${m.bucket}`,
    x: { label: "time", scale: "time" },
    y: { label: task === "classification" ? "score" : "error", scale: "linear" },
    series,
    note: `${totals(m).labelled} labelled rows`,
  };
}

/** Finished drift checks, oldest first. */
export function finishedDriftRuns(runs: readonly DeploymentDriftRun[]): DeploymentDriftRun[] {
  return runs.filter((r) => r.status === "succeeded").sort((a, b) => a.window.to.localeCompare(b.window.to) || a.at.localeCompare(b.at));
}

/** PSI per feature (and prediction column) over the finished checks, at each check's window end. Null without any. */
export function driftChart(runs: readonly DeploymentDriftRun[]): XYChart | null {
  const done = finishedDriftRuns(runs);
  const columns = new Map<string, ChartSeries["points"]>();
  for (const r of done)
    for (const f of r.features)
      if (f.psi !== null) {
        const name = f.role === "prediction" ? `${f.column} (prediction)` : f.column;
        const points = columns.get(name) ?? [];
        columns.set(name, points);
        points.push([r.window.to, f.psi]);
      }
  if (!columns.size) return null;
  return {
    type: "xy",
    id: "monitoring-drift",
    title: "PSI per feature at each drift check",
    x: { label: "window end", scale: "time" },
    y: { label: "PSI", scale: "linear" },
    series: [...columns].map(([name, points]) => ({ name, mark: trend(done.length), points })),
    note: "PSI of 0.1 is moderate drift, 0.2 or more significant.",
  };
}

/** The thresholds a drift check uses unless the person sets others (the server's defaults). */
export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = DriftThresholds.parse({});

/** The drift form's fields, as typed. */
export interface DriftThresholdFields {
  psi: string;
  ksPValue: string;
  ksStatistic: string;
}

/**
 * The thresholds typed in the drift form, or what to fix (the server refuses the same values).
 * @example driftThresholdsFrom({ psi: "0.25", ksPValue: "0.01", ksStatistic: "0.1" }) // { thresholds: { psi: 0.25, ks_p_value: 0.01, ks_statistic: 0.1 } }
 */
export function driftThresholdsFrom(f: DriftThresholdFields): { thresholds: DriftThresholds } | { error: string } {
  const num = (text: string) => (text.trim() === "" ? Number.NaN : Number(text));
  const psi = num(f.psi);
  if (!Number.isFinite(psi) || psi <= 0)
    return { error: `The PSI threshold must be a number above 0 (0.1 is moderate drift, 0.2 significant), not '${f.psi}'.` };
  const p = num(f.ksPValue);
  if (!Number.isFinite(p) || p <= 0 || p >= 1)
    return { error: `The KS p-value must be between 0 and 1 (0.05 is usual), not '${f.ksPValue}'.` };
  const stat = num(f.ksStatistic);
  if (!Number.isFinite(stat) || stat < 0 || stat > 1)
    return { error: `The smallest KS gap must be between 0 and 1 (0.1: ten points of the distributions), not '${f.ksStatistic}'.` };
  return { thresholds: { psi, ks_p_value: p, ks_statistic: stat } };
}

/** What counted as drift, in words: "PSI ≥ 0.2, or KS p < 0.05 with a gap ≥ 0.1". */
export function thresholdsText(t: DriftThresholds): string {
  return `PSI ≥ ${t.psi}, or KS p < ${t.ks_p_value} with a gap ≥ ${t.ks_statistic}`;
}

/** One line about a drift check: where it is, or what it found. */
export function driftRunText(r: DeploymentDriftRun): string {
  switch (r.status) {
    case "queued":
    case "running":
      return `Checking v${r.version}'s logged inputs against ${r.reference.dataset}@v${r.reference.version}…`;
    case "failed":
      return `The drift check failed: ${r.error ?? "no reason given"}`;
    case "cancelled":
      return "The drift check was cancelled.";
    case "succeeded": {
      const rows = `${r.currentRows ?? 0} logged rows against ${r.referenceRows ?? 0} training rows`;
      const drifted = r.drifted.length ? `drift in ${r.drifted.join(", ")}` : "no feature drifted";
      // null: no prediction to compare (a model whose training target is unknown).
      const prediction = r.predictionDrift === null ? "" : r.predictionDrift ? "; the predictions drifted" : "; the predictions did not";
      const at = r.thresholds ? `; drift at ${thresholdsText(r.thresholds)}` : "";
      return `${drifted}${prediction} (${rows}, largest PSI ${r.maxPsi === null ? "–" : r.maxPsi.toFixed(3)}${at})`;
    }
    default: {
      const never: never = r.status;
      throw new Error(`unknown drift status ${String(never)}`);
    }
  }
}

/** Whether a drift check is still to finish. */
export const driftPending = (r: Pick<DeploymentDriftRun, "status">) => r.status === "queued" || r.status === "running";
