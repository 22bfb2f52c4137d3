import { Catalog, type TaskCatalog } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import catalogJson from "../../lib/fixtures/catalog.json" with { type: "json" };
import {
  chartRows,
  compareMetricRows,
  compareParamRows,
  metricBarCharts,
  metricParamScatter,
  runLabels,
  scatterParams,
} from "./compare.helpers.ts";

const catalog = Catalog.parse(catalogJson);
const cls = catalog.tasks.find((t) => t.task === "classification") as TaskCatalog;
const reg = catalog.tasks.find((t) => t.task === "regression") as TaskCatalog;

describe("compare", () => {
  it("puts each metric on a row, best per metric by its direction", () => {
    const rows = compareMetricRows(
      [
        { metrics: { Accuracy: 0.8, AUC: 0.9, Accuracy_fold_0: 0.1, "TT (Sec)": 2 } },
        { metrics: { Accuracy: 0.85, AUC: 0.88, "TT (Sec)": 1 } },
      ],
      [cls, cls],
    );
    expect(rows.map((r) => [r.metric, r.best])).toEqual([
      ["Accuracy", 1],
      ["AUC", 0],
      ["TT (Sec)", 1],
    ]);
  });

  it("compares runs of different tasks: a metric only one run has is not ranked", () => {
    const rows = compareMetricRows([{ metrics: { Accuracy: 0.8 } }, { metrics: { MAE: 3, R2: 0.5 } }], [cls, reg]);
    expect(rows.map((r) => [r.metric, r.values, r.best, r.lowerIsBetter])).toEqual([
      ["Accuracy", [0.8, null], -1, false],
      ["MAE", [null, 3], -1, true],
      ["R2", [null, 0.5], -1, false],
    ]);
  });

  it("lines up the same chart id across runs", () => {
    expect(
      chartRows([
        [{ id: "roc" }, { id: "pr" }],
        [{ id: "pr" }, { id: "feature" }],
      ]).map((r) => [r.id, r.cells.map((c) => c?.id ?? null)]),
    ).toEqual([
      ["roc", ["roc", null]],
      ["pr", ["pr", "pr"]],
      ["feature", [null, "feature"]],
    ]);
  });
});

describe("compare params and metric charts", () => {
  const runs: { params: Record<string, string>; metrics: Record<string, number> }[] = [
    { params: { model: "lr", folds: "3", seed: "1" }, metrics: { AUC: 0.9, Accuracy: 0.8 } },
    { params: { model: "rf", folds: "5", seed: "1" }, metrics: { AUC: 0.7 } },
    { params: { model: "dt", seed: "1" }, metrics: { AUC: 0.8, Accuracy: 0.75 } },
  ];

  it("lists the params that differ first, a missing value counting as a difference", () => {
    expect(compareParamRows(runs)).toEqual([
      { param: "folds", values: ["3", "5", null], differs: true },
      { param: "model", values: ["lr", "rf", "dt"], differs: true },
      { param: "seed", values: ["1", "1", "1"], differs: false },
    ]);
    expect(scatterParams(compareParamRows(runs))).toEqual(["folds", "model"]);
    expect(scatterParams(compareParamRows([runs[0]!, runs[0]!]))).toEqual(["folds", "model", "seed"]);
  });

  it("draws a bar chart per metric, one bar per run, skipping metrics no run logged", () => {
    const rows = compareMetricRows(runs, [cls, cls, cls]);
    const charts = metricBarCharts(
      [...rows, { metric: "none", values: [null, null, null], best: -1, lowerIsBetter: null }],
      ["a", "b", "c"],
    );
    expect(charts.map((c) => c.id)).toEqual(["metric-Accuracy", "metric-AUC"]);
    expect(charts[0]).toMatchObject({
      type: "xy",
      x: { scale: "category" },
      series: [
        {
          mark: "bar",
          points: [
            ["a", 0.8],
            ["b", null],
            ["c", 0.75],
          ],
        },
      ],
      note: "Higher is better",
    });
  });

  it("plots a metric against a numeric param on a linear axis, a text param on categories", () => {
    const numeric = metricParamScatter(runs, ["a", "b", "c"], "AUC", "folds");
    expect(numeric.x.scale).toBe("linear");
    expect(numeric.series).toEqual([
      { name: "a", mark: "point", points: [[3, 0.9]] },
      { name: "b", mark: "point", points: [[5, 0.7]] },
    ]);
    expect(numeric.note).toBe("1 run(s) did not log both");
    const text = metricParamScatter(runs, ["a", "b", "c"], "Accuracy", "model");
    expect(text.x.scale).toBe("category");
    expect(text.series.map((s) => s.points[0])).toEqual([
      ["lr", 0.8],
      ["dt", 0.75],
    ]);
  });

  it("makes run labels unique", () => {
    expect(runLabels(["x", "y", "x", "x"])).toEqual(["x", "y", "x #2", "x #3"]);
  });
});
