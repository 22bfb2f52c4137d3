import { describe, expect, it } from "vitest";
import { formatDetails } from "./details.ts";

describe("formatDetails (unsupervised)", () => {
  it.each([
    [
      "clusters from the elbow",
      {
        task: "clustering",
        num_clusters: 3,
        suggested_clusters: 3,
        clusters_from: "elbow",
        cluster_sizes: { "Cluster 0": 199, "Cluster 1": 147, "Cluster 2": 159 },
        scoring: "model",
      },
      "clusters: 3 (the elbow method's choice; elbow suggests 3)\nsizes: Cluster 0 199, Cluster 1 147, Cluster 2 159",
    ],
    [
      "clusters of a model without predict",
      {
        task: "clustering",
        num_clusters: 2,
        suggested_clusters: null,
        clusters_from: "request",
        cluster_sizes: { "Cluster 0": 5, "Cluster 1": 4 },
        scoring: "nearest_row",
      },
      "clusters: 2 (as asked)\nsizes: Cluster 0 5, Cluster 1 4\nscoring: this model cannot label new rows itself; a new row gets its nearest training row's label",
    ],
    [
      "anomalies",
      { task: "anomaly", anomalies: 48, rows: 1000, fraction: 0.05, threshold: 0.25, scoring: "model" },
      "anomalies: 48 of 1000 rows (4.8%; expected 5%), score threshold 0.25",
    ],
  ] as const)("%s", (_name, details, text) => {
    expect(formatDetails(details)).toBe(text);
  });
});
