import type { DeploymentDriftRun, DriftFeature, MonitoringPoint, MonitoringResponse } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_DRIFT_THRESHOLDS,
  driftChart,
  driftRunText,
  driftThresholdsFrom,
  finishedDriftRuns,
  latencyChart,
  performanceChart,
  totals,
  trafficChart,
  versionLabel,
  windowLabel,
  windowQuery,
} from "./monitoring.helpers.ts";

const point = (start: string, over: Partial<MonitoringPoint> = {}): MonitoringPoint => ({
  start,
  requests: 10,
  errors: 1,
  rows: 12,
  latencyP50Ms: 5,
  latencyP95Ms: 20,
  labelled: 0,
  accuracy: null,
  auc: null,
  rmse: null,
  mae: null,
  ...over,
});

const response = (versions: MonitoringResponse["versions"]): MonitoringResponse => ({
  deployment: "churn",
  from: "2026-01-01T00:00:00.000Z",
  to: "2026-01-02T00:00:00.000Z",
  bucket: "1h",
  bucketSeconds: 3600,
  versions,
});

const feature = (column: string, psi: number | null, over: Partial<DriftFeature> = {}): DriftFeature => ({
  column,
  role: "feature",
  type: "numeric",
  psi,
  ks_statistic: null,
  ks_p_value: null,
  drifted: psi !== null && psi >= 0.2,
  reference_missing: 0,
  current_missing: 0,
  bins: [],
  ...over,
});

const drift = (to: string, over: Partial<DeploymentDriftRun> = {}): DeploymentDriftRun => ({
  id: to,
  deployment: "churn",
  trigger: "manual",
  at: to,
  window: { from: "2026-01-01T00:00:00.000Z", to },
  model: "churn",
  version: 1,
  reference: { dataset: "juice", version: 1 },
  jobId: "j",
  status: "succeeded",
  error: null,
  currentRows: 40,
  referenceRows: 1000,
  maxPsi: 0.31,
  drifted: ["Price"],
  predictionDrift: false,
  thresholds: null,
  features: [feature("Price", 0.31), feature("Store", 0.02), feature("prediction_label", 0.05, { role: "prediction" })],
  ...over,
});

describe("windowQuery", () => {
  it.each([
    ["1h", "2026-01-02T11:00:00.000Z", "5m"],
    ["24h", "2026-01-01T12:00:00.000Z", "1h"],
    ["7d", "2025-12-26T12:00:00.000Z", "6h"],
    ["30d", "2025-12-03T12:00:00.000Z", "1d"],
  ] as const)("%s ends now, starts at %s with %s buckets", (key, from, bucket) => {
    expect(windowQuery(key, new Date("2026-01-02T12:00:00.000Z"))).toEqual({ from, to: "2026-01-02T12:00:00.000Z", bucket });
  });

  it("names each window", () => {
    expect(windowLabel("1h")).toBe("Last hour");
    expect(windowLabel("30d")).toBe("Last 30 days");
  });
});

describe("live figures", () => {
  const m = response([
    {
      version: 1,
      shadow: false,
      task: "classification",
      points: [point("2026-01-01T01:00:00Z"), point("2026-01-01T02:00:00Z", { errors: 0 })],
    },
    {
      version: 2,
      shadow: true,
      task: "classification",
      points: [point("2026-01-01T02:00:00Z", { latencyP50Ms: null, latencyP95Ms: null })],
    },
  ]);

  it("adds up every version's buckets", () => {
    expect(totals(m)).toEqual({ requests: 30, errors: 2, rows: 36, labelled: 0, errorRate: 2 / 30 });
    expect(totals(response([])).errorRate).toBeNull();
  });

  it("labels versions and shadows", () => {
    expect(versionLabel({ version: 3, shadow: true })).toBe("v3 (shadow)");
  });

  it("charts requests and errors per version as bars over time", () => {
    const c = trafficChart(m);
    expect(c?.x.scale).toBe("time");
    expect(c?.series.map((s) => [s.name, s.mark, s.points])).toEqual([
      [
        "v1 requests",
        "bar",
        [
          ["2026-01-01T01:00:00Z", 10],
          ["2026-01-01T02:00:00Z", 10],
        ],
      ],
      [
        "v1 errors",
        "bar",
        [
          ["2026-01-01T01:00:00Z", 1],
          ["2026-01-01T02:00:00Z", 0],
        ],
      ],
      ["v2 (shadow) requests", "bar", [["2026-01-01T02:00:00Z", 10]]],
      ["v2 (shadow) errors", "bar", [["2026-01-01T02:00:00Z", 1]]],
    ]);
    expect(trafficChart(response([{ version: 1, shadow: false, task: null, points: [] }]))).toBeNull();
  });

  it("charts latency only for versions with a latency, as points when there is one bucket", () => {
    const c = latencyChart(m);
    expect(c?.series.map((s) => [s.name, s.mark, s.points.length])).toEqual([
      ["v1 p50", "line", 2],
      ["v1 p95", "line", 2],
    ]);
    const one = latencyChart(response([{ version: 1, shadow: false, task: null, points: [point("2026-01-01T01:00:00Z")] }]));
    expect(one?.series.map((s) => s.mark)).toEqual(["point", "point"]);
  });

  it("has no performance chart before labels, then accuracy and AUC for a classifier", () => {
    expect(performanceChart(m)).toBeNull();
    const labelled = response([
      {
        version: 1,
        shadow: false,
        task: "classification",
        points: [
          point("2026-01-01T01:00:00Z", { labelled: 4, accuracy: 0.75, auc: null }),
          point("2026-01-01T02:00:00Z", { labelled: 6, accuracy: 0.5, auc: 0.6 }),
        ],
      },
    ]);
    const c = performanceChart(labelled);
    expect(c?.title).toBe("Live accuracy and AUC per 1h");
    expect(c?.note).toBe("10 labelled rows");
    expect(c?.series.map((s) => [s.name, s.mark, s.points])).toEqual([
      [
        "v1 accuracy",
        "line",
        [
          ["2026-01-01T01:00:00Z", 0.75],
          ["2026-01-01T02:00:00Z", 0.5],
        ],
      ],
      ["v1 AUC", "point", [["2026-01-01T02:00:00Z", 0.6]]],
    ]);
  });

  it("charts RMSE and MAE for a regressor", () => {
    const c = performanceChart(
      response([
        { version: 1, shadow: false, task: "regression", points: [point("2026-01-01T01:00:00Z", { labelled: 3, rmse: 2, mae: 1.5 })] },
      ]),
    );
    expect(c?.series.map((s) => [s.name, s.points[0]?.[1]])).toEqual([
      ["v1 RMSE", 2],
      ["v1 MAE", 1.5],
    ]);
  });
});

describe("drift over time", () => {
  const runs = [
    drift("2026-01-03T00:00:00.000Z", { features: [feature("Price", 0.4), feature("Store", null, { type: "skipped", note: "constant" })] }),
    drift("2026-01-04T00:00:00.000Z", { status: "running", features: [], drifted: [], maxPsi: null }),
    drift("2026-01-02T00:00:00.000Z"),
  ];

  it("keeps finished checks, oldest first", () => {
    expect(finishedDriftRuns(runs).map((r) => r.window.to)).toEqual(["2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"]);
  });

  it("draws PSI per feature at each window end, skipping columns without a PSI", () => {
    const c = driftChart(runs);
    expect(c?.series.map((s) => [s.name, s.mark, s.points])).toEqual([
      [
        "Price",
        "line",
        [
          ["2026-01-02T00:00:00.000Z", 0.31],
          ["2026-01-03T00:00:00.000Z", 0.4],
        ],
      ],
      ["Store", "line", [["2026-01-02T00:00:00.000Z", 0.02]]],
      ["prediction_label (prediction)", "line", [["2026-01-02T00:00:00.000Z", 0.05]]],
    ]);
    expect(driftChart([drift("2026-01-02T00:00:00.000Z", { status: "failed", error: "boom" })])).toBeNull();
  });

  it.each([
    [drift("t", { status: "queued" }), "Checking v1's logged inputs against juice@v1…"],
    [drift("t", { status: "failed", error: "no rows logged in the window" }), "The drift check failed: no rows logged in the window"],
    [drift("t"), "drift in Price; the predictions did not (40 logged rows against 1000 training rows, largest PSI 0.310)"],
    [drift("t", { predictionDrift: null }), "drift in Price (40 logged rows against 1000 training rows, largest PSI 0.310)"],
    [
      drift("t", { drifted: [], predictionDrift: true, maxPsi: 0.05 }),
      "no feature drifted; the predictions drifted (40 logged rows against 1000 training rows, largest PSI 0.050)",
    ],
    [
      drift("t", { thresholds: { psi: 0.25, ks_p_value: 0.01, ks_statistic: 0.1 } }),
      "drift in Price; the predictions did not (40 logged rows against 1000 training rows, largest PSI 0.310; drift at PSI ≥ 0.25, or KS p < 0.01 with a gap ≥ 0.1)",
    ],
  ])("describes a check: %#", (run, text) => {
    expect(driftRunText(run)).toBe(text);
  });

  it("reads the drift form's thresholds, the server's defaults first, and names what is wrong", () => {
    const d = DEFAULT_DRIFT_THRESHOLDS;
    const ok = { psi: String(d.psi), ksPValue: String(d.ks_p_value), ksStatistic: String(d.ks_statistic) };
    expect(driftThresholdsFrom(ok)).toEqual({ thresholds: { psi: 0.2, ks_p_value: 0.05, ks_statistic: 0.1 } });
    expect(driftThresholdsFrom({ ...ok, psi: " 0.25 ", ksStatistic: "0" })).toEqual({
      thresholds: { psi: 0.25, ks_p_value: 0.05, ks_statistic: 0 },
    });
    expect(driftThresholdsFrom({ ...ok, psi: "0" })).toEqual({
      error: "The PSI threshold must be a number above 0 (0.1 is moderate drift, 0.2 significant), not '0'.",
    });
    expect(driftThresholdsFrom({ ...ok, psi: "" })).toMatchObject({ error: expect.stringContaining("PSI threshold") });
    for (const bad of ["0", "1", "x", " "])
      expect(driftThresholdsFrom({ ...ok, ksPValue: bad })).toMatchObject({
        error: expect.stringContaining("KS p-value must be between 0 and 1"),
      });
    for (const bad of ["-0.1", "1.5", ""])
      expect(driftThresholdsFrom({ ...ok, ksStatistic: bad })).toMatchObject({ error: expect.stringContaining("smallest KS gap") });
  });
});
