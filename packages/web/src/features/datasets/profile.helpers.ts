import type { ColumnProfile, DatasetProfile, HeatmapChart, HistogramBin, XYChart } from "@caretflow/contracts";
import type { z } from "zod";
import { formatNumber, formatPercent } from "../../lib/format.ts";

type Bin = z.infer<typeof HistogramBin>;

/** Short axis label for a bin's lower edge: 1.2k, 3.4M, 0.25. */
export function compactNumber(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1e9) return `${trim(v / 1e9)}B`;
  if (abs >= 1e6) return `${trim(v / 1e6)}M`;
  if (abs >= 1e3) return `${trim(v / 1e3)}k`;
  if (abs === 0 || abs >= 1) return trim(v);
  return v.toPrecision(2);
}

function trim(v: number): string {
  return String(Number(v.toFixed(Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2)));
}

/** Recharts rows for a histogram: a short label per bin, the exact range in the tooltip. */
export function histogramPoints(bins: readonly Bin[]): { label: string; range: string; count: number }[] {
  return bins.map((b) => ({ label: compactNumber(b.lo), range: `${formatNumber(b.lo)} – ${formatNumber(b.hi)}`, count: b.count }));
}

/** Top values as shares of the non-null count, for the bar list of categorical columns. */
export function topValueShares(col: ColumnProfile, max = 8): { value: string; count: number; share: number }[] {
  const nonNull = Math.max(1, col.count - col.nulls);
  return col.topValues.slice(0, max).map((t) => ({ value: t.value ?? "null", count: t.count, share: t.count / nonNull }));
}

/** The profile's one-line verdicts a person should notice before training. */
export function columnFlags(col: ColumnProfile, rowCount: number): string[] {
  const flags: string[] = [];
  if (col.nulls > 0) flags.push(`${formatPercent(col.nullFraction)} missing`);
  if (col.distinct === 1) flags.push("constant");
  else if (rowCount > 1 && col.distinct === rowCount && (col.kind === "integer" || col.kind === "string")) flags.push("unique (an id?)");
  return flags;
}

/** The profile's correlations as a heatmap chart (drawn by ChartView as a table), or null with fewer than two numeric columns. */
export function correlationChart(profile: DatasetProfile): HeatmapChart | null {
  const c = profile.correlations;
  if (!c || c.columns.length < 2) return null;
  return {
    type: "heatmap",
    id: "correlations",
    title: "Correlations between numeric columns (Pearson r)",
    x: { label: "column", categories: c.columns },
    y: { label: "column", categories: c.columns },
    // "|| 0": a rounded -0.001 reads 0, not -0.
    values: c.matrix.map((row) => row.map((v) => (v === null ? null : Math.round(v * 100) / 100 || 0))),
    note: "1 and −1: a straight-line relation; 0: none. Empty cells: a constant column.",
  };
}

/** Nulls per column as a bar chart over the columns that have any, or null when none do. */
export function nullsChart(profile: DatasetProfile): XYChart | null {
  const m = profile.missing;
  const withNulls = (m?.nullsPerColumn ?? []).filter((c) => c.nulls > 0);
  if (!m || withNulls.length === 0) return null;
  return {
    type: "xy",
    id: "nulls-per-column",
    title: "Missing values per column",
    x: { label: "column", scale: "category" },
    y: { label: "rows missing", scale: "linear" },
    series: [{ name: "missing rows", mark: "bar", points: withNulls.map((c) => [c.column, c.nulls]) }],
  };
}

/** The missing-value patterns as table rows: one mark per column with nulls, the count and its share of rows. */
export function missingPatternRows(profile: DatasetProfile): { key: string; marks: boolean[]; count: number; share: number }[] {
  const m = profile.missing;
  if (!m) return [];
  const rows = Math.max(1, profile.rowCount);
  return m.patterns.map((p) => ({
    key: p.missing.join("\u0000") || "(complete)",
    marks: m.columns.map((c) => p.missing.includes(c)),
    count: p.count,
    share: p.count / rows,
  }));
}
