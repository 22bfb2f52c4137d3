import { Catalog, type TaskCatalog, TaskDetails } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import catalogJson from "../../lib/fixtures/catalog.json" with { type: "json" };
import { clusterChoice, clusterRows, forecastChart, holdoutItems, ruleRows, scoringNote, topicRows } from "./details.helpers.ts";

const cls = Catalog.parse(catalogJson).tasks.find((t) => t.task === "classification") as TaskCatalog;
type D<T extends TaskDetails["task"]> = Extract<TaskDetails, { task: T }>;
const parse = <T extends TaskDetails["task"]>(d: unknown) => TaskDetails.parse(d) as D<T>;

describe("details formatting", () => {
  it("orders hold-out metrics like the catalog", () => {
    expect(holdoutItems({ zeta: 1, AUC: 0.9, Accuracy: 0.8, F1: null }, cls).map((m) => m.name)).toEqual(["Accuracy", "AUC", "F1", "zeta"]);
  });

  it("lists clusters in natural order with their share, and says where the count came from", () => {
    const d = parse<"clustering">({
      task: "clustering",
      num_clusters: 3,
      suggested_clusters: 4,
      clusters_from: "request",
      cluster_sizes: { "Cluster 10": 10, "Cluster 2": 30, "Cluster 1": 60 },
      scoring: "model",
    });
    expect(clusterRows(d)).toEqual([
      { cluster: "Cluster 1", size: 60, share: 0.6 },
      { cluster: "Cluster 2", size: 30, share: 0.3 },
      { cluster: "Cluster 10", size: 10, share: 0.1 },
    ]);
    const cases: [Partial<typeof d>, string][] = [
      [{}, "3 clusters, as asked; the elbow method suggests 4."],
      [{ suggested_clusters: 3 }, "3 clusters, as asked; the elbow method agrees."],
      [{ suggested_clusters: null }, "3 clusters, as asked; the elbow method found no clear elbow."],
      [{ clusters_from: "elbow", suggested_clusters: 3 }, "3 clusters, as the elbow method suggests."],
      [
        { clusters_from: "default", num_clusters: 4, suggested_clusters: null },
        "4 clusters, the default: the elbow method found no clear elbow.",
      ],
      [
        { clusters_from: "model", num_clusters: 1 },
        "1 cluster, formed by the model itself (it takes no cluster count); the elbow method suggests 4.",
      ],
    ];
    for (const [change, text] of cases) expect(clusterChoice({ ...d, ...change })).toBe(text);
  });

  it("says how new rows are labelled", () => {
    expect(scoringNote("model", "cluster")).toBe("New rows get their cluster from the model itself.");
    expect(scoringNote("nearest_row", "label")).toMatch(
      /cannot label new rows itself: a new row gets the label of its nearest training row/,
    );
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
