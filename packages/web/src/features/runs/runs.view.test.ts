import { describe, expect, it } from "vitest";
import {
  changeView,
  DEFAULT_VIEW,
  filterClause,
  keySort,
  metricColumns,
  pageCount,
  paramColumns,
  readRunsView,
  runsQuery,
  sortedKey,
  togglePicked,
  toggleSort,
  writeRunsView,
} from "./runs.view.ts";

describe("runs view in the address", () => {
  it("round-trips a view through the query string, defaults left out", () => {
    const v = {
      ...DEFAULT_VIEW,
      page: 3,
      size: 10,
      sort: "metrics.AUC",
      order: "asc" as const,
      filters: ["metrics.AUC > 0.8", "params.model = lr"],
      status: "FINISHED",
      q: "juice",
    };
    const qs = writeRunsView(v).toString();
    expect(qs).toBe("q=juice&status=FINISHED&f=metrics.AUC+%3E+0.8&f=params.model+%3D+lr&sort=metrics.AUC&order=asc&size=10&page=3");
    expect(readRunsView(new URLSearchParams(qs))).toEqual(v);
    expect(writeRunsView(DEFAULT_VIEW).toString()).toBe("");
  });

  it("keeps the runs ticked for comparison, on whichever page, and drops ids that are not run ids", () => {
    const onPage2 = { ...DEFAULT_VIEW, page: 2 };
    const one = togglePicked(onPage2, "a1b2");
    const two = togglePicked(one, "c3d4");
    expect(two).toEqual({ ...onPage2, sel: ["a1b2", "c3d4"] });
    expect(togglePicked(two, "a1b2").sel).toEqual(["c3d4"]);
    const qs = writeRunsView(two).toString();
    expect(qs).toBe("sel=a1b2&sel=c3d4&page=2");
    expect(readRunsView(new URLSearchParams(qs))).toEqual(two);
    // A filter change goes back to page 1 and keeps the selection.
    expect(changeView(two, { q: "juice" })).toMatchObject({ page: 1, sel: ["a1b2", "c3d4"] });
    expect(readRunsView(new URLSearchParams("sel=a1b2&sel=../x&sel=a1b2&sel=")).sel).toEqual(["a1b2"]);
  });

  it("keeps the dataset, the param columns and a sort on a key with a space and a dot", () => {
    const v = {
      ...DEFAULT_VIEW,
      dataset: "juice",
      cols: ["model", "n estimators"],
      sort: keySort("metrics", "Prec. "),
      filters: ["metrics.`F1 score` > 0.5"],
    };
    expect(v.sort).toBe("metrics.`Prec. `");
    const qs = writeRunsView(v).toString();
    expect(readRunsView(new URLSearchParams(qs))).toEqual(v);
    expect(sortedKey(v, "metrics")).toBe("Prec. ");
    expect(sortedKey(v, "params")).toBeNull();
    expect(runsQuery(v)).toMatchObject({ dataset: "juice", params: "model,n estimators", sort: "metrics.`Prec. `" });
    expect(keySort("params", "model")).toBe("params.model");
  });

  it("shows the parameter sorted on as a column even when not picked", () => {
    const v = { ...DEFAULT_VIEW, cols: ["model"], sort: "params.`n estimators`" };
    expect(paramColumns(v)).toEqual(["model", "n estimators"]);
    expect(runsQuery(v)).toMatchObject({ params: "model,n estimators" });
    expect(paramColumns({ ...v, sort: "params.model" })).toEqual(["model"]);
    expect(paramColumns({ ...v, sort: "metrics.AUC" })).toEqual(["model"]);
    expect(runsQuery({ ...DEFAULT_VIEW, sort: "params.fold" })).toMatchObject({ params: "fold" });
  });

  it("falls back to the defaults on what it cannot read", () => {
    const v = readRunsView(new URLSearchParams("page=-2&size=7&sort=metrics.a%60b&order=up&f="));
    expect(v).toEqual(DEFAULT_VIEW);
  });

  it("asks the server for the page, order and filters", () => {
    const v = { ...DEFAULT_VIEW, page: 2, size: 10, filters: ["metrics.AUC > 0.8", "tags.team = a"], task: "classification" };
    expect(runsQuery(v)).toEqual({
      limit: 10,
      offset: 10,
      sort: "start_time",
      order: "desc",
      filter: "metrics.AUC > 0.8 and tags.team = a",
      task: "classification",
    });
  });

  it("sorts by a header first in its own direction, then reverses; any change goes back to page 1", () => {
    const onPage3 = { ...DEFAULT_VIEW, page: 3 };
    const first = toggleSort(onPage3, "metrics.AUC", "desc");
    expect([first.sort, first.order, first.page]).toEqual(["metrics.AUC", "desc", 1]);
    expect(toggleSort(first, "metrics.AUC", "desc").order).toBe("asc");
    expect(toggleSort(first, "name", "asc").order).toBe("asc");
    expect(changeView(onPage3, { status: "FAILED" }).page).toBe(1);
  });

  it("counts pages, at least one", () => {
    expect([pageCount(0, 25), pageCount(25, 25), pageCount(26, 25)]).toEqual([1, 1, 2]);
  });
});

describe("filter clauses", () => {
  it.each([
    [["metrics", "AUC", ">=", " 0.8 "], { clause: "metrics.AUC >= 0.8" }],
    [["params", "model", "=", "lr"], { clause: "params.model = lr" }],
    [["tags", "caretflow.task", "!=", "regression"], { clause: "tags.caretflow.task != regression" }],
    [["metrics", "AUC", ">", "high"], { error: "A metric is compared with a number, e.g. 0.8." }],
    [["params", "model", ">", "lr"], { error: "A parameter is compared with > to a number, e.g. 5; = and != take any value." }],
    [["params", "max_depth", "<=", " 5 "], { clause: "params.max_depth <= 5" }],
    [["tags", "team", ">", "3"], { error: "Tags compare with = or != only." }],
    [["metrics", "", ">", "1"], { error: "Name the metric to filter on." }],
    [["tags", "team", "=", ""], { error: "Give a value to compare with." }],
    [["params", "a", "=", "x and y"], { clause: "params.a = 'x and y'" }],
    [["metrics", "F1 score", ">", "0.5"], { clause: "metrics.`F1 score` > 0.5" }],
    [["metrics", " Prec. ", "<", "1"], { clause: "metrics.`Prec.` < 1" }],
  ] as const)("%j -> %j", ([field, key, op, value], want) => {
    expect(filterClause(field, key, op, value)).toEqual(want);
  });

  it("keeps a known key exactly, trailing space included", () => {
    expect(filterClause("metrics", "Prec. ", ">", "0.5", ["Prec. "])).toEqual({ clause: "metrics.`Prec. ` > 0.5" });
  });
});

describe("metric columns", () => {
  it("puts the tasks' metrics first, then the rest by name, without per-fold values", () => {
    const runs: { metrics: Record<string, number> }[] = [
      { metrics: { Zeta: 1, AUC: 0.9, Accuracy_fold_0: 0.1 } },
      { metrics: { Accuracy: 0.8, Beta: 2 } },
    ];
    expect(metricColumns(runs, ["Accuracy", "AUC", "F1"])).toEqual(["Accuracy", "AUC", "Beta", "Zeta"]);
    expect(metricColumns(runs, [], 2)).toEqual(["AUC", "Accuracy"]);
  });
});
