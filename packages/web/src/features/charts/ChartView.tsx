import type { Chart, HeatmapChart, XYChart } from "@caretflow/contracts";
import { useMemo } from "react";
import { Area, Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from "recharts";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { formatTick, formatValue, formatX, heatmapCells, seriesRows, timeTicks, type XYPlot, xyPlot } from "./chart.data.ts";
import "./charts.css";

/** Any chart the engine emitted, drawn by the renderer of its type; the title above, the note below. */
export function ChartView({ chart, height = 280 }: { chart: Chart; height?: number }) {
  return (
    <figure className="chart" data-testid={`chart-${chart.id}`} data-chart-type={chart.type}>
      <figcaption className="chart-title">{chart.title}</figcaption>
      {chart.type === "xy" ? <XYChartView chart={chart} height={height} /> : <HeatmapView chart={chart} />}
      {chart.note ? <p className="chart-note">{chart.note}</p> : null}
    </figure>
  );
}

function XYChartView({ chart, height }: { chart: XYChart; height: number }) {
  const plot = useMemo(() => xyPlot(chart), [chart]);
  const fmtX = (v: unknown) => formatX(v, plot.xScale);
  return (
    <div className="chart-plot" role="img" aria-label={`${chart.title}: ${chart.y.label} against ${chart.x.label}`}>
      <ResponsiveContainer width="100%" height={height}>
        <ComposedChart data={plot.rows} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
          <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
          <XAxis
            dataKey="x"
            type={plot.xType}
            scale={plot.xScale === "log" ? "log" : "auto"}
            domain={plot.xScale === "time" ? ["dataMin", "dataMax"] : plot.xType === "number" ? ["auto", "auto"] : undefined}
            ticks={timeTicks(plot)}
            allowDuplicatedCategory={false}
            tickFormatter={fmtX}
            tick={{ fontSize: 11, fill: "var(--muted)" }}
            label={{ value: chart.x.label, position: "insideBottom", offset: -14, fontSize: 12, fill: "var(--text-2)" }}
          />
          <YAxis
            scale={plot.yScale === "log" ? "log" : "auto"}
            domain={plot.yScale === "log" ? ["auto", "auto"] : undefined}
            allowDataOverflow={plot.yScale === "log"}
            tickFormatter={formatTick}
            tick={{ fontSize: 11, fill: "var(--muted)" }}
            width={64}
            label={{ value: chart.y.label, angle: -90, position: "insideLeft", fontSize: 12, fill: "var(--text-2)", dx: 4 }}
          />
          <Tooltip
            labelFormatter={(v) => (plot.xScale === "time" ? formatX(v, "time") : formatValue(v))}
            formatter={(v, name) => [formatValue(v), name]}
          />
          <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 12 }} />
          {plot.series.map((s) => seriesElement(plot, s))}
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}

function seriesElement(plot: XYPlot, s: XYPlot["series"][number]) {
  const common = { dataKey: s.key, name: s.name, isAnimationActive: false };
  switch (s.mark) {
    case "line":
      return <Line key={s.key} {...common} type="linear" stroke={s.color} strokeWidth={2} dot={false} connectNulls />;
    case "point":
      return <Scatter key={s.key} {...common} data={seriesRows(plot, s.key)} fill={s.color} />;
    case "bar":
      return <Bar key={s.key} {...common} fill={s.color} />;
    case "area":
      return <Area key={s.key} {...common} type="linear" stroke={s.color} fill={s.color} fillOpacity={0.35} connectNulls />;
    case "band":
      return <Area key={s.key} {...common} type="linear" stroke="none" fill={s.color} fillOpacity={0.18} connectNulls />;
    default: {
      const never: never = s.mark;
      throw new Error(`unknown mark ${String(never)}`);
    }
  }
}

/** A matrix as a table: readable by screen readers, every value printed in its cell and coloured by size. */
function HeatmapView({ chart }: { chart: HeatmapChart }) {
  const cells = useMemo(() => heatmapCells(chart), [chart]);
  return (
    <ScrollRegion className="heatmap-wrap" label={chart.title}>
      <table className="heatmap">
        <caption className="sr-only">
          {chart.title}: rows are {chart.y.label}, columns {chart.x.label}
        </caption>
        <thead>
          <tr>
            <th scope="col" className="heatmap-corner">
              {chart.y.label} \ {chart.x.label}
            </th>
            {chart.x.categories.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {chart.y.categories.map((rowLabel, i) => (
            <tr key={rowLabel}>
              <th scope="row">{rowLabel}</th>
              {(cells[i] ?? []).map((cell, j) => (
                <td
                  // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional
                  key={j}
                  style={{ background: cell.background, color: cell.color }}
                  title={`${chart.y.label} ${rowLabel}, ${chart.x.label} ${chart.x.categories[j] ?? ""}: ${cell.text}`}
                >
                  {cell.text}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
