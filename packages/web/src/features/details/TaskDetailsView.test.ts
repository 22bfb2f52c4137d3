import { Chart, TaskDetails } from "@caretflow/contracts";
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { ChartView } from "../charts/ChartView.tsx";
import chartsJson from "../charts/fixtures/charts.json" with { type: "json" };
import { TaskDetailsView } from "./TaskDetailsView.tsx";

// Rendered on the server side (no DOM): what each task's result shows, as text a person reads.
const cases: [unknown, string[]][] = [
  [
    {
      task: "classification",
      classes: ["CH", "MM"],
      holdout: { Accuracy: 0.84 },
      per_class: [{ class: "CH", precision: 0.86, recall: 0.88, f1: 0.87, support: 196 }],
    },
    ["CH, MM", "0.8400", "196"],
  ],
  [{ task: "regression", holdout: { R2: 0.74 } }, ["Hold-out metrics", "R2", "0.7400"]],
  [
    { task: "clustering", num_clusters: 3, suggested_clusters: 4, cluster_sizes: { "Cluster 0": 1, "Cluster 1": 3 } },
    ["the elbow method suggests 4", "Cluster 1", "75.0%"],
  ],
  [{ task: "anomaly", anomalies: 50, rows: 1000, fraction: 0.05 }, ["Anomalies", "50", "5.0%"]],
  [
    {
      task: "time_series",
      frequency: "D",
      horizon: 1,
      coverage: 0.9,
      holdout: { MASE: 0.8 },
      forecast: [{ period: "2026-01-01", y_pred: 5, lower: 4, upper: 6 }],
      notes: ["filled 2 gaps"],
    },
    ["filled 2 gaps", "2026-01-01", "1 periods", "90%"],
  ],
  [
    { task: "topics", num_topics: 1, coherence: -1.5, topics: [{ topic: 0, words: ["free", "win"], documents: 7 }] },
    ["free, win", "-1.5000"],
  ],
  [
    {
      task: "association_rules",
      transactions: 9,
      items: 4,
      itemsets: 5,
      rules: 1,
      top_rules: [{ antecedents: ["tea"], consequents: ["sugar"], support: 0.5, confidence: 0.9, lift: 1.8 }],
    },
    ["tea", "sugar", "1.8000", "Frequent itemsets"],
  ],
];

describe("TaskDetailsView", () => {
  it.each(cases.map(([d, texts]) => [(d as { task: string }).task, d, texts] as const))("%s", (_, d, texts) => {
    const html = renderToStaticMarkup(createElement(TaskDetailsView, { details: TaskDetails.parse(d), task: undefined }));
    for (const t of texts) expect(html).toContain(t);
  });
  it("covers every task of the contract", () => {
    expect(cases.map(([d]) => (d as { task: string }).task).sort()).toEqual(TaskDetails.options.map((o) => o.shape.task.value).sort());
  });
});

describe("ChartView", () => {
  it("draws a heatmap as a table, every value in its cell, with the note", () => {
    const chart = Chart.parse(chartsJson.find((c) => c.id === "confusion_matrix"));
    const html = renderToStaticMarkup(createElement(ChartView, { chart }));
    const values = chart.type === "heatmap" ? chart.values.flat() : [];
    expect(html.match(/<td /g)).toHaveLength(values.length);
    for (const v of values) expect(html).toContain(`>${v}</td>`);
    expect(html).toContain(chart.note ?? "");
    expect(html).toContain('data-chart-type="heatmap"');
  });
  it("labels an xy chart for screen readers with its axes", () => {
    const chart = Chart.parse(chartsJson.find((c) => c.id === "roc"));
    const html = renderToStaticMarkup(createElement(ChartView, { chart }));
    expect(html).toContain('aria-label="ROC curve: True positive rate against False positive rate"');
  });
});
