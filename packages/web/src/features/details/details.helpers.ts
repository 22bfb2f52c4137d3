import type { Chart, TaskCatalog, TaskDetails } from "@caretflow/contracts";
import { compareValues } from "../../lib/sort.ts";

type Details<T extends TaskDetails["task"]> = Extract<TaskDetails, { task: T }>;

/** Hold-out metrics in the catalog's metric order, then any others; missing values stay (shown as a dash). */
export function holdoutItems(
  holdout: Record<string, number | null>,
  task: TaskCatalog | undefined,
): { name: string; value: number | null }[] {
  const order = task?.metrics.map((m) => m.name) ?? [];
  const names = Object.keys(holdout);
  const known = order.filter((m) => names.includes(m));
  const rest = names.filter((n) => !known.includes(n)).sort();
  return [...known, ...rest].map((name) => ({ name, value: holdout[name] ?? null }));
}

/** Clusters in natural order ("Cluster 2" before "Cluster 10") with their share of rows. */
export function clusterRows(d: Details<"clustering">): { cluster: string; size: number; share: number }[] {
  const total = Object.values(d.cluster_sizes).reduce((a, b) => a + b, 0);
  return Object.entries(d.cluster_sizes)
    .map(([cluster, size]) => ({ cluster, size, share: total > 0 ? size / total : 0 }))
    .sort((a, b) => compareValues(a.cluster, b.cluster));
}

/** One sentence on the number of clusters: chosen, suggested by the elbow, or both. */
export function clusterChoice(d: Details<"clustering">): string {
  if (d.suggested_clusters === null) return `${d.num_clusters} clusters; the elbow method found no clear elbow.`;
  if (d.suggested_clusters === d.num_clusters) return `${d.num_clusters} clusters, as the elbow method suggests.`;
  return `${d.num_clusters} clusters; the elbow method suggests ${d.suggested_clusters}.`;
}

/** The forecast table as chart data, so it draws with the same renderer as the engine's charts. */
export function forecastChart(d: Details<"time_series">): Chart {
  const band = d.forecast.some((f) => f.lower !== null && f.upper !== null);
  return {
    type: "xy",
    id: "forecast_table",
    title: `Forecast, ${d.horizon} periods ahead`,
    x: { label: "Period", scale: "time" },
    y: { label: "Forecast", scale: "linear" },
    series: [
      ...(band
        ? [
            {
              name: `${Math.round(d.coverage * 100)}% prediction interval`,
              mark: "band" as const,
              points: d.forecast.map((f) => [f.period, f.lower, f.upper]),
            },
          ]
        : []),
      { name: "forecast", mark: "line" as const, points: d.forecast.map((f) => [f.period, f.y_pred]) },
    ],
    note: band ? `${Math.round(d.coverage * 100)}% prediction interval` : "this model gives no prediction interval",
  };
}

export interface RuleRow {
  key: string;
  antecedents: string;
  consequents: string;
  support: number;
  confidence: number;
  lift: number;
}

/** Rules as table rows: item sets as text ("bread, milk"), a stable key per rule. */
export function ruleRows(d: Details<"association_rules">): RuleRow[] {
  return d.top_rules.map((r) => {
    const antecedents = r.antecedents.join(", ");
    const consequents = r.consequents.join(", ");
    return { key: `${antecedents}→${consequents}`, antecedents, consequents, support: r.support, confidence: r.confidence, lift: r.lift };
  });
}

/** Topics sorted by the documents they lead, largest first. */
export function topicRows(d: Details<"topics">): { topic: number; words: string; documents: number }[] {
  return [...d.topics]
    .sort((a, b) => b.documents - a.documents || a.topic - b.topic)
    .map((t) => ({ topic: t.topic, words: t.words.join(", "), documents: t.documents }));
}
