import type { LeaderboardRow } from "@caretflow/contracts";
import { formatMetric, formatTable } from "./table.ts";

/** Metric names in the order PyCaret reports them, across all rows. */
export function metricNames(rows: LeaderboardRow[]): string[] {
  const names: string[] = [];
  for (const row of rows) for (const k of Object.keys(row.metrics)) if (!names.includes(k)) names.push(k);
  return names;
}

/** The leaderboard as PyCaret's compare_models grid shows it: one row per model, its metrics as columns. */
export function formatLeaderboard(rows: LeaderboardRow[]): string {
  const metrics = metricNames(rows);
  return formatTable(
    [{ header: "#", right: true }, { header: "MODEL" }, { header: "ID" }, ...metrics.map((m) => ({ header: m, right: true }))],
    // Rows of a running or cancelled job arrive unranked, in fit order.
    rows.map((r) => [
      r.rank === undefined ? "-" : String(r.rank),
      r.model_name,
      r.model_id,
      ...metrics.map((m) => formatMetric(r.metrics[m])),
    ]),
  );
}

/** One line for a row arriving while the comparison runs. */
export function formatLeaderboardLine(row: LeaderboardRow): string {
  const metrics = Object.entries(row.metrics)
    .filter(([k]) => k !== "TT (Sec)")
    .map(([k, v]) => `${k} ${formatMetric(v)}`)
    .join("  ");
  return `  ${row.model_name} (${row.model_id})  ${metrics}  [${row.fit_seconds.toFixed(1)} s]`;
}
