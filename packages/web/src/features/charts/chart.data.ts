import type { ChartSeries, HeatmapChart, XYChart } from "@caretflow/contracts";
import { contrastRatio } from "../../lib/contrast.ts";

/**
 * Chart data as the engine emits it (`Chart` in the contracts) turned into what recharts draws: one table of rows
 * keyed by x with a column per series. Pure, so every plot (ROC, residuals, forecast, elbow...) goes through the
 * same tested code; the UI has one renderer per chart type, none per plot.
 */

/**
 * Series colours, distinct for the usual colour-vision deficiencies. Legends and tooltips print series names in
 * their colour, so each reads at least 4.5:1 on white (WCAG AA for text), not only the 3:1 lines need.
 */
export const PALETTE = ["#3b5bdb", "#c2410c", "#1e7a34", "#c2255c", "#7048e8", "#0b7285", "#4a7a0b", "#862e9c", "#495057"];

export type XYValue = number | string | [number, number] | null;
export type XYRow = { x: number | string } & Record<string, XYValue>;

export interface XYSeriesProps {
  /** the row column holding this series' values */
  key: string;
  name: string;
  mark: ChartSeries["mark"];
  color: string;
}

export interface XYPlot {
  rows: XYRow[];
  series: XYSeriesProps[];
  /** recharts axis type: category axes place x values side by side in order, number axes by value */
  xType: "number" | "category";
  xScale: "linear" | "log" | "time" | "category";
  yScale: "linear" | "log";
}

function toNumber(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return null;
}

/** An x value on the chart's axis: epoch milliseconds on a time axis, the text on a category axis, else a number. */
export function xValue(raw: unknown, scale: XYPlot["xScale"]): number | string | null {
  if (raw === null || raw === undefined) return null;
  if (scale === "category") return String(raw);
  if (scale === "time") {
    const t = typeof raw === "number" ? raw : Date.parse(String(raw));
    return Number.isFinite(t) ? t : null;
  }
  return toNumber(raw);
}

/** Merges the chart's series into rows keyed by x (series with different x values leave gaps the lines bridge). */
export function xyPlot(chart: XYChart): XYPlot {
  const xScale = chart.x.scale ?? "linear";
  const category = xScale === "category";
  const rows = new Map<string, XYRow>();
  const series = chart.series.map(
    (s, i): XYSeriesProps => ({ key: `s${i}`, name: s.name, mark: s.mark, color: PALETTE[i % PALETTE.length] as string }),
  );
  chart.series.forEach((s, i) => {
    const key = `s${i}`;
    for (const point of s.points) {
      const x = xValue(point[0], xScale);
      if (x === null) continue;
      let value: XYValue;
      if (s.mark === "band") {
        const lo = toNumber(point[1]);
        const hi = toNumber(point[2]);
        value = lo === null || hi === null ? null : [lo, hi];
      } else {
        value = toNumber(point[1]);
      }
      const id = String(x);
      let row = rows.get(id);
      if (!row) {
        row = { x } as XYRow;
        rows.set(id, row);
      }
      row[key] = value;
    }
  });
  const list = [...rows.values()];
  if (!category) list.sort((a, b) => (a.x as number) - (b.x as number));
  return { rows: list, series, xType: category ? "category" : "number", xScale, yScale: chart.y.scale === "log" ? "log" : "linear" };
}

/** The points of one series only (scatter marks are drawn from their own rows, so gaps are not drawn as points at 0). */
export function seriesRows(plot: XYPlot, key: string): XYRow[] {
  return plot.rows.filter((r) => r[key] !== null && r[key] !== undefined);
}

/**
 * Tick positions for a time axis: up to `max` of the data's own periods, evenly spaced, first and last included,
 * so ticks fall on real periods (months, days) rather than on arbitrary instants between them.
 */
export function timeTicks(plot: XYPlot, max = 6): number[] | undefined {
  if (plot.xScale !== "time") return undefined;
  const xs = plot.rows.map((r) => r.x as number);
  if (xs.length <= max) return xs;
  const step = (xs.length - 1) / (max - 1);
  return [...new Set(Array.from({ length: max }, (_, i) => xs[Math.round(i * step)] as number))];
}

/** Short text for a number on an axis or in a tooltip. */
export function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `${formatValue(v[0])} – ${formatValue(v[1])}`;
  if (typeof v !== "number") return v === null || v === undefined ? "—" : String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return v.toExponential(2);
  return v.toLocaleString("en-US", { maximumFractionDigits: abs < 1 ? 3 : 2 });
}

/** A tick label: large numbers in compact form (300M, 12.5k) so they fit beside the axis; others as formatValue. */
export function formatTick(v: unknown): string {
  if (typeof v === "number" && Math.abs(v) >= 10_000) {
    return new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v);
  }
  return formatValue(v);
}

/** An x value as a tick label: dates for time axes (with the time when it is not midnight), else the value. */
export function formatX(v: unknown, scale: XYPlot["xScale"]): string {
  if (scale === "time" && typeof v === "number") {
    const iso = new Date(v).toISOString();
    return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso.slice(0, 16).replace("T", " ");
  }
  return formatTick(v);
}

export interface HeatCell {
  value: number | null;
  text: string;
  background: string;
  color: string;
}

const LOW = [255, 255, 255];
const HIGH = [59, 91, 219]; // --accent
// Black or white: one of them reaches 4.5:1 on any background (a softer dark does not on mid tones).
const DARK_TEXT = "#000000";
const LIGHT_TEXT = "#ffffff";

function mix(t: number): string {
  const c = LOW.map((lo, i) => Math.round(lo + ((HIGH[i] as number) - lo) * t));
  return `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Heatmap cells coloured from white (smallest) to the accent (largest), each with the text colour that reads best
 * on it (at least 4.5:1 whatever the value), so the numbers in the cells stay legible.
 */
export function heatmapCells(chart: HeatmapChart): HeatCell[][] {
  const all = chart.values.flat().filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  const min = all.length ? Math.min(...all) : 0;
  const max = all.length ? Math.max(...all) : 0;
  return chart.values.map((row) =>
    row.map((v) => {
      if (v === null || !Number.isFinite(v)) return { value: null, text: "—", background: "#f1f3f6", color: DARK_TEXT };
      const background = mix(max > min ? (v - min) / (max - min) : 0.5);
      const color = contrastRatio(DARK_TEXT, background) >= contrastRatio(LIGHT_TEXT, background) ? DARK_TEXT : LIGHT_TEXT;
      return { value: v, text: formatValue(v), background, color };
    }),
  );
}

/** "charts/roc.json" → "roc"; null for anything that is not a chart artifact. */
export function chartIdOfPath(path: string): string | null {
  const m = /(?:^|\/)charts\/([^/]+)\.json$/.exec(path);
  return m?.[1] ?? null;
}
