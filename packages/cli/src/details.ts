import type { TaskDetails } from "@caretflow/contracts";
import { formatTable } from "./table.ts";

const num = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? "-" : Number(v.toFixed(digits)).toString());

const CLUSTERS_FROM = {
  request: "as asked",
  elbow: "the elbow method's choice",
  default: "no clear elbow: the default",
  model: "found by the model",
} as const;
const NEAREST_ROW = "scoring: this model cannot label new rows itself; a new row gets its nearest training row's label";

/** What a task adds to a training result, as text for a terminal. */
export function formatDetails(d: TaskDetails): string {
  switch (d.task) {
    case "classification":
      return [
        `classes: ${d.classes.join(", ")}`,
        formatTable(
          [
            { header: "CLASS" },
            { header: "PRECISION", right: true },
            { header: "RECALL", right: true },
            { header: "F1", right: true },
            { header: "SUPPORT", right: true },
          ],
          d.per_class.map((c) => [c.class, num(c.precision), num(c.recall), num(c.f1), String(c.support)]),
        ),
      ].join("\n");
    case "regression":
      return `hold-out: ${Object.entries(d.holdout)
        .map(([k, v]) => `${k} ${num(v)}`)
        .join(", ")}`;
    case "clustering":
      return [
        `clusters: ${d.num_clusters} (${CLUSTERS_FROM[d.clusters_from]}${d.suggested_clusters !== null ? `; elbow suggests ${d.suggested_clusters}` : ""})`,
        `sizes: ${Object.entries(d.cluster_sizes)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
        ...(d.scoring === "nearest_row" ? [NEAREST_ROW] : []),
      ].join("\n");
    case "anomaly":
      return [
        `anomalies: ${d.anomalies} of ${d.rows} rows (${num((d.anomalies / Math.max(d.rows, 1)) * 100, 2)}%; expected ${num(d.fraction * 100, 2)}%)` +
          (d.threshold !== null ? `, score threshold ${num(d.threshold)}` : ""),
        ...(d.scoring === "nearest_row" ? [NEAREST_ROW] : []),
      ].join("\n");
    case "time_series":
      return [
        `frequency ${d.frequency}, horizon ${d.horizon}, ${num(d.coverage * 100, 1)}% intervals`,
        ...d.notes.map((n) => `note: ${n}`),
        formatTable(
          [{ header: "PERIOD" }, { header: "FORECAST", right: true }, { header: "LOWER", right: true }, { header: "UPPER", right: true }],
          d.forecast.slice(0, 12).map((p) => [p.period, num(p.y_pred), num(p.lower), num(p.upper)]),
        ),
        ...(d.forecast.length > 12 ? [`… ${d.forecast.length - 12} more periods (--json has them all)`] : []),
      ].join("\n");
    case "topics":
      return [
        `${d.num_topics} topics, coherence ${num(d.coherence)}`,
        ...d.topics.map((t) => `topic ${t.topic} (${t.documents} documents): ${t.words.join(", ")}`),
      ].join("\n");
    case "association_rules":
      return [
        `${d.transactions} transactions, ${d.items} items, ${d.itemsets} frequent itemsets, ${d.rules} rules`,
        formatTable(
          [
            { header: "IF" },
            { header: "THEN" },
            { header: "SUPPORT", right: true },
            { header: "CONFIDENCE", right: true },
            { header: "LIFT", right: true },
          ],
          d.top_rules.map((r) => [r.antecedents.join(" & "), r.consequents.join(" & "), num(r.support), num(r.confidence), num(r.lift, 2)]),
        ),
      ].join("\n");
    default: {
      const never: never = d;
      return JSON.stringify(never);
    }
  }
}
