import { Catalog, type TaskCatalog, TaskDetails } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import catalogJson from "../../lib/fixtures/catalog.json" with { type: "json" };
import { clusterChoice, clusterRows, forecastChart, holdoutItems, ruleRows, topicRows } from "./details.helpers.ts";

const cls = Catalog.parse(catalogJson).tasks.find((t) => t.task === "classification") as TaskCatalog;
type D<T extends TaskDetails["task"]> = Extract<TaskDetails, { task: T }>;
const parse = <T extends TaskDetails["task"]>(d: unknown) => TaskDetails.parse(d) as D<T>;

describe("details formatting", () => {
  it("orders hold-out metrics like the catalog", () => {
    expect(holdoutItems({ zeta: 1, AUC: 0.9, Accuracy: 0.8, F1: null }, cls).map((m) => m.name)).toEqual(["Accuracy", "AUC", "F1", "zeta"]);
  });

  it("lists clusters in natural order with their share, and says what the elbow suggested", () => {
    const d = parse<"clustering">({
      task: "clustering",
      num_clusters: 3,
      suggested_clusters: 4,
      cluster_sizes: { "Cluster 10": 10, "Cluster 2": 30, "Cluster 1": 60 },
    });
    expect(clusterRows(d)).toEqual([
      { cluster: "Cluster 1", size: 60, share: 0.6 },
      { cluster: "Cluster 2", size: 30, share: 0.3 },
      { cluster: "Cluster 10", size: 10, share: 0.1 },
    ]);
    expect(clusterChoice(d)).toBe("3 clusters; the elbow method suggests 4.");
    expect(clusterChoice({ ...d, suggested_clusters: 3 })).toBe("3 clusters, as the elbow method suggests.");
    expect(clusterChoice({ ...d, suggested_clusters: null })).toMatch(/no clear elbow/);
  });

  it("draws a forecast as chart data with its interval as a band", () => {
    const d = parse<"time_series">({
      task: "time_series",
      frequency: "MS",
      horizon: 2,
      coverage: 0.9,
      holdout: { MASE: 0.8 },
      forecast: [
        { period: "2026-01-01", y_pred: 10, lower: 8, upper: 12 },
        { period: "2026-02-01", y_pred: 11, lower: 9, upper: 13 },
      ],
      notes: [],
    });
    const chart = forecastChart(d);
    expect(chart.type === "xy" && chart.series.map((s) => s.mark)).toEqual(["band", "line"]);
    expect(chart.type === "xy" && chart.series[0]?.points[1]).toEqual(["2026-02-01", 9, 13]);
    const noBand = forecastChart({ ...d, forecast: d.forecast.map((f) => ({ ...f, lower: null, upper: null })) });
    expect(noBand.type === "xy" && noBand.series.map((s) => s.mark)).toEqual(["line"]);
  });

  it("writes rules and topics as rows", () => {
    const rules = parse<"association_rules">({
      task: "association_rules",
      transactions: 10,
      items: 5,
      itemsets: 7,
      rules: 1,
      top_rules: [{ antecedents: ["bread", "milk"], consequents: ["butter"], support: 0.2, confidence: 0.8, lift: 1.5 }],
    });
    expect(ruleRows(rules)).toEqual([
      { key: "bread, milk→butter", antecedents: "bread, milk", consequents: "butter", support: 0.2, confidence: 0.8, lift: 1.5 },
    ]);
    const topics = parse<"topics">({
      task: "topics",
      num_topics: 2,
      coherence: -1.2,
      topics: [
        { topic: 0, words: ["free", "win"], documents: 3 },
        { topic: 1, words: ["call", "later"], documents: 9 },
      ],
    });
    expect(topicRows(topics)).toEqual([
      { topic: 1, words: "call, later", documents: 9 },
      { topic: 0, words: "free, win", documents: 3 },
    ]);
  });
});
