import type { RunDetail } from "@caretflow/contracts";
import { useState } from "react";
import { ChartView } from "../charts/ChartView.tsx";
import { type CompareMetricRow, type CompareParamRow, metricBarCharts, metricParamScatter, scatterParams } from "./compare.helpers.ts";

/** A bar chart per metric across the compared runs, and one metric plotted against a parameter. */
export function CompareMetricCharts({
  runs,
  labels,
  metrics,
  params,
}: {
  runs: readonly RunDetail[];
  labels: readonly string[];
  metrics: readonly CompareMetricRow[];
  params: readonly CompareParamRow[];
}) {
  const bars = metricBarCharts(metrics, labels);
  const paramChoices = scatterParams(params);
  const [metric, setMetric] = useState<string>("");
  const [param, setParam] = useState<string>("");
  const m = metrics.some((r) => r.metric === metric) ? metric : (metrics[0]?.metric ?? "");
  const p = paramChoices.includes(param) ? param : (paramChoices[0] ?? "");
  return (
    <>
      {bars.length === 0 ? (
        <p className="muted small">None of these runs logged a metric.</p>
      ) : (
        <div className="compare-bars" data-testid="compare-metric-bars">
          {bars.map((chart) => (
            <ChartView key={chart.id} chart={chart} height={220} />
          ))}
        </div>
      )}
      <h3 className="compare-scatter-title">Metric against a parameter</h3>
      {m && p ? (
        <div data-testid="compare-scatter">
          <div className="compare-scatter-pick">
            <select aria-label="Metric to plot" value={m} onChange={(e) => setMetric(e.target.value)}>
              {metrics.map((r) => (
                <option key={r.metric} value={r.metric}>
                  {r.metric}
                </option>
              ))}
            </select>
            <span className="muted small">by</span>
            <select aria-label="Parameter to plot against" value={p} onChange={(e) => setParam(e.target.value)}>
              {paramChoices.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </div>
          <ChartView chart={metricParamScatter(runs, labels, m, p)} height={300} />
        </div>
      ) : (
        <p className="muted small">These runs logged no parameters to plot a metric against.</p>
      )}
    </>
  );
}
