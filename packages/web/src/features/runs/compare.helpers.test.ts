import { Catalog, type TaskCatalog } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import catalogJson from "../../lib/fixtures/catalog.json" with { type: "json" };
import { chartRows, compareMetricRows } from "./compare.helpers.ts";

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
