import { Chart, type HeatmapChart, type XYChart } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { contrastRatio } from "../../lib/contrast.ts";
import { chartIdOfPath, formatTick, formatValue, formatX, heatmapCells, PALETTE, seriesRows, timeTicks, xyPlot } from "./chart.data.ts";
import chartsJson from "./fixtures/charts.json" with { type: "json" };

// Chart data made by the engine's own builders (fixtures/make_charts.py), parsed by the contract.
const charts = chartsJson.map((c) => Chart.parse(c));
const byId = <T extends Chart>(id: string) => charts.find((c) => c.id === id) as T;

describe("xy chart data → recharts rows", () => {
  it("merges series on x, sorted, one column per series", () => {
    const roc = byId<XYChart>("roc");
    const plot = xyPlot(roc);
    expect(plot.xType).toBe("number");
    expect(plot.series.map((s) => [s.key, s.mark])).toEqual([
      ["s0", "line"],
      ["s1", "line"],
    ]);
    const xs = plot.rows.map((r) => r.x as number);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    // the chance line is drawn from its two points; the curve's other x values leave it gaps the line bridges
    expect(seriesRows(plot, "s1").map((r) => [r.x, r.s1])).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it("keeps category order for bars (feature importance, largest first)", () => {
    const plot = xyPlot(byId<XYChart>("feature"));
    expect(plot.xType).toBe("category");
    expect(plot.rows.map((r) => r.x)).toEqual(["LoyalCH", "PriceCH", "STORE"]);
    expect(plot.rows[0]?.s0).toBe(-1.2);
  });

  it("turns band points into [low, high] ranges and time x values into epoch milliseconds", () => {
    const plot = xyPlot(byId<XYChart>("forecast"));
    expect(plot.xScale).toBe("time");
    const band = plot.series.find((s) => s.mark === "band");
    const first = seriesRows(plot, band?.key ?? "")[0];
    expect(first?.x).toBe(Date.parse("2026-01-01T00:00:00"));
    expect(first?.[band?.key ?? ""]).toEqual([92, 108]);
    expect(formatX(first?.x, "time")).toBe("2026-01-01");
    // history and forecast do not overlap: each row holds one of them
    expect(plot.rows).toHaveLength(24 + 6);
  });

  it("puts time ticks on the data's own periods, first and last included", () => {
    const plot = xyPlot(byId<XYChart>("forecast"));
    const ticks = timeTicks(plot, 6) ?? [];
    expect(ticks).toHaveLength(6);
    expect(ticks[0]).toBe(plot.rows[0]?.x);
    expect(ticks.at(-1)).toBe(plot.rows.at(-1)?.x);
    for (const t of ticks) expect(plot.rows.some((r) => r.x === t)).toBe(true);
    expect(timeTicks(xyPlot(byId<XYChart>("roc")))).toBeUndefined();
  });

  it("leaves a gap for a missing value instead of drawing it at 0", () => {
    const chart: XYChart = {
      type: "xy",
      id: "t",
      title: "t",
      x: { label: "x", scale: "linear" },
      y: { label: "y", scale: "linear" },
      series: [
        {
          name: "a",
          mark: "point",
          points: [
            [1, 2],
            [2, null],
            ["3", 4],
          ],
        },
      ],
    };
    const plot = xyPlot(chart);
    expect(plot.rows.map((r) => r.s0)).toEqual([2, null, 4]);
    expect(seriesRows(plot, "s0")).toHaveLength(2);
  });

  it("colours series from the palette, each readable as text on white (legends and tooltips)", () => {
    const plot = xyPlot(byId<XYChart>("learning"));
    expect(plot.series.map((s) => s.color)).toEqual(PALETTE.slice(0, 4));
    for (const c of PALETTE) expect(contrastRatio(c, "#ffffff")).toBeGreaterThanOrEqual(4.5);
  });

  it("formats values for ticks and tooltips", () => {
    expect(formatValue(0.123456)).toBe("0.123");
    expect(formatValue(1234.5678)).toBe("1,234.57");
    expect(formatValue([1.5, 2])).toBe("1.5 – 2");
    expect(formatValue(null)).toBe("—");
    expect(formatX(Date.parse("2024-03-01T13:00:00Z"), "time")).toBe("2024-03-01 13:00");
    expect([formatTick(300_000_000), formatTick(12_500), formatTick(0.25)]).toEqual(["300M", "12.5K", "0.25"]);
  });
});

describe("heatmap cells", () => {
  it("prints every value in a colour that reads at least 4.5:1 on its cell", () => {
    const cm = byId<HeatmapChart>("confusion_matrix");
    const cells = heatmapCells(cm);
    expect(cells.map((r) => r.map((c) => c.value))).toEqual(cm.values);
    const ramp: HeatmapChart = { ...cm, values: [Array.from({ length: 21 }, (_, i) => i), [null]] };
    for (const cell of heatmapCells(ramp).flat()) expect(contrastRatio(cell.color, cell.background)).toBeGreaterThanOrEqual(4.5);
    expect(heatmapCells(ramp)[1]?.[0]?.text).toBe("—");
  });
});

it("finds chart ids in artifact paths", () => {
  expect(chartIdOfPath("charts/roc.json")).toBe("roc");
  expect(chartIdOfPath("model/charts/shap_summary.json")).toBe("shap_summary");
  expect(chartIdOfPath("plots/roc.png")).toBeNull();
});
