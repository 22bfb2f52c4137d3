import type { LeaderboardRow, TaskCatalog } from "@caretflow/contracts";
import { Link } from "react-router-dom";
import { Bar, BarChart, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { bestRow, lowerIsBetter, metricColumns } from "../../lib/catalog.ts";
import { formatMetric } from "../../lib/format.ts";
import { type Column, DataTable } from "../../ui/table.tsx";
import { metricBars, rowKey } from "./leaderboard.helpers.ts";

/** The comparison table: one row per model, sortable, the best one highlighted. */
export function LeaderboardTable({
  rows,
  task,
  sortMetric,
  runLink,
  empty,
}: {
  rows: readonly LeaderboardRow[];
  task: TaskCatalog | undefined;
  sortMetric: string | null;
  runLink?: (runId: string) => string;
  empty?: string;
}) {
  const metrics = metricColumns(rows, task);
  const best = bestRow(rows, sortMetric, task);
  const columns: Column<LeaderboardRow>[] = [
    { key: "rank", header: "#", align: "right", sortValue: (r) => r.rank ?? null, render: (r) => r.rank ?? "" },
    {
      key: "model",
      header: "Model",
      sortValue: (r) => r.model_name,
      render: (r) => (
        <span className="model-cell">
          {runLink && r.mlflow_run_id ? <Link to={runLink(r.mlflow_run_id)}>{r.model_name}</Link> : r.model_name}{" "}
          {/^[a-f0-9]{32}$/.test(r.model_id) ? null : <span className="muted mono small">{r.model_id}</span>}
          {r === best ? <span className="best-tag">best</span> : null}
        </span>
      ),
    },
    ...metrics.map(
      (m): Column<LeaderboardRow> => ({
        key: `m:${m}`,
        header: m === sortMetric ? <strong>{m}</strong> : m,
        align: "right",
        firstDir: lowerIsBetter(task, m) ? "asc" : "desc",
        sortValue: (r) => r.metrics[m] ?? null,
        render: (r) => formatMetric(r.metrics[m]),
      }),
    ),
  ];
  if (!metrics.includes("TT (Sec)") && !metrics.includes("TT_Sec"))
    columns.push({
      key: "fit",
      header: "Fit (s)",
      align: "right",
      sortValue: (r) => r.fit_seconds,
      render: (r) => r.fit_seconds.toFixed(2),
    });

  // Ranked rows keep the engine's order; unranked ones (live, or child runs) start best first by the sort metric.
  const initialSort = rows.some((r) => r.rank !== undefined)
    ? { key: "rank", dir: "asc" as const }
    : sortMetric
      ? { key: `m:${sortMetric}`, dir: lowerIsBetter(task, sortMetric) ? ("asc" as const) : ("desc" as const) }
      : null;
  return (
    <DataTable
      rows={rows}
      columns={columns}
      initialSort={initialSort}
      rowKey={rowKey}
      rowClassName={(r) => (r === best ? "row-best" : undefined)}
      empty={empty ?? "No models finished yet."}
      testId="leaderboard"
      caption="Leaderboard"
    />
  );
}

/** One bar per model for the ranking metric; the best bar in the accent colour. */
export function MetricChart({ rows, metric, task }: { rows: readonly LeaderboardRow[]; metric: string; task: TaskCatalog | undefined }) {
  const bars = metricBars(rows, metric, lowerIsBetter(task, metric) ?? false);
  if (bars.length === 0) return null;
  const best = bestRow(rows, metric, task);
  const height = Math.max(120, bars.length * 30 + 30);
  return (
    <div role="img" aria-label={`${metric} per model`} data-testid="metric-chart" className="metric-chart">
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={bars} layout="vertical" margin={{ top: 4, right: 24, bottom: 4, left: 8 }}>
          <XAxis
            type="number"
            tick={{ fontSize: 11, fill: "var(--muted)" }}
            // bars grow from 0: the axis spans 0 whether the values are all positive (accuracy) or all negative (coherence)
            domain={[(min: number) => Math.min(0, min), (max: number) => Math.max(0, max)]}
            tickLine={false}
            axisLine={false}
          />
          <YAxis
            type="category"
            dataKey="model"
            width={150}
            tick={{ fontSize: 12, fill: "var(--text)" }}
            tickLine={false}
            axisLine={false}
          />
          <Tooltip cursor={{ fill: "var(--accent-soft)" }} formatter={(v) => [formatMetric(Number(v)), metric]} />
          <Bar dataKey="value" radius={[0, 3, 3, 0]} isAnimationActive={false} barSize={18}>
            {bars.map((b) => (
              <Cell key={b.key} fill={b.row === best ? "var(--accent)" : "var(--bar-muted)"} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
