import { z } from "zod";

/**
 * Chart data the engine emits (as `charts/<id>.json` artifacts of an MLflow run) and the web UI
 * draws as interactive charts. The PNGs PyCaret draws stay in MLflow beside them; these carry the
 * numbers, so the UI can zoom, hover and compare runs.
 *
 * Two shapes cover every plot caretflow draws:
 * - `xy`: series of points on two axes (ROC and PR curves, learning curves, residuals, forecasts with
 *   their interval as a `band`, elbow, silhouette, feature importance as `bar` over categories).
 * - `heatmap`: a matrix of values over two sets of categories (confusion matrix, correlation).
 */
export const ChartAxis = z.object({
  label: z.string(),
  scale: z.enum(["linear", "log", "category", "time"]).default("linear").describe("time: x values are ISO 8601 strings"),
});
export type ChartAxis = z.infer<typeof ChartAxis>;

const ChartValue = z.union([z.number(), z.string(), z.null()]);

export const ChartSeries = z.object({
  name: z.string(),
  mark: z
    .enum(["line", "point", "bar", "area", "band"])
    .describe("band: each point is [x, low, high] (a prediction interval); the others: [x, y]"),
  points: z.array(z.array(ChartValue).min(2).max(3)),
});
export type ChartSeries = z.infer<typeof ChartSeries>;

export const XYChart = z.object({
  type: z.literal("xy"),
  id: z.string().describe("plot id, e.g. roc, pr, residuals, forecast, elbow"),
  title: z.string(),
  x: ChartAxis,
  y: ChartAxis,
  series: z.array(ChartSeries),
  note: z.string().optional().describe("one line under the chart, e.g. 'AUC 0.91 (class MM)'"),
});
export type XYChart = z.infer<typeof XYChart>;

export const HeatmapChart = z.object({
  type: z.literal("heatmap"),
  id: z.string(),
  title: z.string(),
  x: z.object({ label: z.string(), categories: z.array(z.string()) }),
  y: z.object({ label: z.string(), categories: z.array(z.string()) }),
  values: z.array(z.array(z.number().nullable())).describe("values[row][column]: rows follow y.categories, columns x.categories"),
  note: z.string().optional(),
});
export type HeatmapChart = z.infer<typeof HeatmapChart>;

export const Chart = z.discriminatedUnion("type", [XYChart, HeatmapChart]);
export type Chart = z.infer<typeof Chart>;
