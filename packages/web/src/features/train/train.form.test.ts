import type { CatalogField, ColumnSchema, TaskCatalog } from "@caretflow/contracts";
import { Catalog } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import catalogJson from "../../lib/fixtures/catalog.json" with { type: "json" };
import {
  collectValues,
  columnsFor,
  defaultText,
  fieldApplies,
  formSections,
  initialTrainForm,
  isListField,
  parseInput,
  takenColumns,
  toSetupPreviewRequest,
  toTrainRequest,
  withInput,
  withTask,
} from "./train.form.ts";

// The engine's real catalog (engine/.venv/bin/python -m caretflow_engine catalog), parsed by the contract.
const catalog = Catalog.parse(catalogJson);
const task = (id: string) => catalog.tasks.find((t) => t.task === id) as TaskCatalog;
const cls = task("classification");
const reg = task("regression");
const col = (name: string, kind: ColumnSchema["kind"]): ColumnSchema => ({ name, kind, duckdbType: "X", nullable: false });
const columns = [col("Id", "integer"), col("Purchase", "string"), col("PriceCH", "float"), col("Store7", "string"), col("Notes", "string")];
const field = (t: TaskCatalog, name: string) => t.fields.find((f) => f.name === name) as CatalogField;

describe("form state from catalog fields", () => {
  it("starts from each field's default, in the field's input form", () => {
    const f = initialTrainForm(catalog, "juice", 2);
    expect(f).toMatchObject({ dataset: "juice", version: 2, task: catalog.tasks[0]?.task });
    const v = initialTrainForm(catalog, "juice", null, "classification").values;
    expect(v.train_size).toBe("0.7");
    expect(v.folds).toBe("5");
    expect(v.include).toEqual([]);
    expect(v.model).toBe("");
    expect(v["setup.normalize"]).toBe(false);
    expect(v["setup.normalize_method"]).toBe("zscore");
  });

  it("knows a list of models from a single model by the request schema", () => {
    expect(isListField("classification", field(cls, "include"))).toBe(true);
    expect(isListField("classification", field(cls, "model"))).toBe(false);
    expect(isListField("classification", field(cls, "ignore_columns"))).toBe(true);
  });

  it("honours `when`: a setup option shows only when the option it depends on has the value it names", () => {
    const f = initialTrainForm(catalog, "juice", null, "classification");
    expect(fieldApplies(cls, field(cls, "normalize_method"), f.values)).toBe(false);
    expect(fieldApplies(cls, field(cls, "normalize_method"), { ...f.values, "setup.normalize": true })).toBe(true);
    expect(fieldApplies(cls, field(cls, "model"), f.values)).toBe(false);
    expect(fieldApplies(cls, field(cls, "model"), { ...f.values, operation: "create" })).toBe(true);
    expect(fieldApplies(cls, field(cls, "include"), { ...f.values, operation: "create" })).toBe(false);
  });

  it("groups fields by scope and group, advanced ones apart", () => {
    const [spec, setup] = formSections(cls);
    expect(spec?.groups.map((g) => g.name)).toEqual(["Data", "Models", "Validation"]);
    const data = spec?.groups[0];
    expect(data?.basic.map((f) => f.name)).toEqual(["target", "ignore_columns"]);
    expect(data?.advanced.map((f) => f.name)).toEqual(["text_columns"]);
    expect(setup?.groups.every((g) => [...g.basic, ...g.advanced].every((f) => f.scope === "setup"))).toBe(true);
    expect(setup?.groups.flatMap((g) => g.basic).map((f) => f.name)).toContain("normalize");
  });

  it("filters column pickers by the field's column kinds", () => {
    expect(columnsFor(field(cls, "text_columns"), columns).map((c) => c.name)).toEqual(["Purchase", "Store7", "Notes"]);
    expect(columnsFor(field(cls, "bin_numeric_features"), columns).map((c) => c.name)).toEqual(["Id", "PriceCH"]);
    expect(columnsFor(field(cls, "target"), columns)).toHaveLength(5);
  });

  it("takes the target out of the column lists and does not offer it there again", () => {
    let f = initialTrainForm(catalog, "juice", null, "classification");
    f = withInput(f, cls, "ignore_columns", ["Id", "Purchase"]);
    f = withInput(f, cls, "target", "Purchase");
    expect(f.values.ignore_columns).toEqual(["Id"]);
    expect([...takenColumns(cls, f.values)]).toEqual(["Purchase"]);
  });

  it("keeps shared inputs when the task changes, and drops model ids and metrics (they belong to one task)", () => {
    let f = initialTrainForm(catalog, "juice", null, "classification");
    f = withInput(withInput(withInput(f, cls, "target", "PriceCH"), cls, "include", ["lr"]), cls, "folds", "3");
    f = withInput(f, cls, "sort", "AUC");
    const g = withTask(f, reg, cls);
    expect(g.task).toBe("regression");
    expect(g.values.target).toBe("PriceCH");
    expect(g.values.folds).toBe("3");
    expect(g.values.include).toEqual([]);
    expect(g.values.sort).toBe("");
    expect(g.values["setup.transform_target"]).toBe(false);
    expect(g.values["setup.fix_imbalance"]).toBeUndefined();
  });

  it("shows defaults in words", () => {
    expect(defaultText(field(cls, "train_size"))).toBe("default 0.7");
    expect(defaultText(field(cls, "include"))).toBeNull();
    expect(defaultText(field(cls, "data_split_shuffle"))).toBe("on by default");
  });
});

describe("parseInput", () => {
  it.each([
    ["folds", "7", { value: 7 }],
    ["folds", "", { value: undefined }],
    ["folds", "2.5", { error: "Use a whole number." }],
    ["folds", "abc", { error: "Use a number." }],
    ["train_size", "0.8", { value: 0.8 }],
    ["custom_metrics", "[1", { error: expect.stringMatching(/not valid JSON/) }],
    ["fold_strategy", "kfold", { value: "kfold" }],
    ["fold_strategy", "nope", { error: "Use one of kfold, stratifiedkfold, groupkfold, timeseries." }],
  ] as const)("%s %j", (name, input, expected) => {
    expect(parseInput("classification", field(cls, name), input)).toEqual(expected);
  });

  it("checks the catalog's bounds", () => {
    const f: CatalogField = { ...field(cls, "folds"), min: 2, max: 20 };
    expect(parseInput("classification", f, "1")).toEqual({ error: "Use a number from 2 to 20." });
  });
});

describe("toTrainRequest", () => {
  const filled = () => {
    let f = initialTrainForm(catalog, "juice", 2, "classification");
    f = withInput(f, cls, "target", "Purchase");
    f = withInput(f, cls, "ignore_columns", ["Id"]);
    f = withInput(f, cls, "include", ["lr", "dt"]);
    f = withInput(f, cls, "setup.normalize", true);
    f = withInput(f, cls, "setup.normalize_method", "minmax");
    return f;
  };

  it("sends what differs from the defaults, setup options in `setup`", () => {
    expect(toTrainRequest(filled(), cls, columns)).toEqual({
      ok: true,
      request: {
        dataset: "juice",
        version: 2,
        task: "classification",
        target: "Purchase",
        ignore_columns: ["Id"],
        include: ["lr", "dt"],
        setup: { normalize: true, normalize_method: "minmax" },
      },
    });
  });

  it("leaves out options whose `when` does not hold, even when typed", () => {
    const f = withInput(withInput(filled(), cls, "setup.normalize", false), cls, "model", "lr");
    const r = toTrainRequest(f, cls, columns);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect("setup" in r.request).toBe(false);
    expect("model" in r.request).toBe(false);
  });

  it("says what to fix, field by field", () => {
    let f = initialTrainForm(catalog, "", null, "classification");
    f = withInput(f, cls, "folds", "1.5");
    f = withInput(f, cls, "ignore_columns", ["Nope"]);
    const r = toTrainRequest(f, cls, columns);
    expect(r.ok ? {} : r.errors).toEqual({
      target: "Choose a column.",
      folds: "Use a whole number.",
      ignore_columns: "Nope is not a column of this version.",
      dataset: "Choose a dataset.",
    });
  });

  it("lets the contracts' schema have the last word (folds below 2)", () => {
    const r = toTrainRequest(withInput(filled(), cls, "folds", "1"), cls, columns);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors)).toEqual(["folds"]);
  });

  it("sends a Dask scheduler address for a comparison, and names the field when it is not one", () => {
    const good = toTrainRequest(withInput(filled(), cls, "dask_scheduler", "tcp://10.0.0.5:8786"), cls, columns);
    expect(good.ok && good.request).toMatchObject({ dask_scheduler: "tcp://10.0.0.5:8786" });
    const bad = toTrainRequest(withInput(filled(), cls, "dask_scheduler", "http://10.0.0.5:8786"), cls, columns);
    expect(bad.ok ? {} : bad.errors).toEqual({ dask_scheduler: "a Dask scheduler address: tcp://HOST:PORT or tls://HOST:PORT" });
    const create = withInput(
      withInput(withInput(filled(), cls, "dask_scheduler", "tcp://h:1"), cls, "operation", "create"),
      cls,
      "model",
      "lr",
    );
    const r = toTrainRequest(create, cls, columns);
    expect(r.ok && "dask_scheduler" in r.request).toBe(false); // it only applies to comparisons
  });

  it("sends the model to create, and not the comparison's list, in create mode", () => {
    const f = withInput(withInput(filled(), cls, "operation", "create"), cls, "model", "lr");
    const r = toTrainRequest(f, cls, columns);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request).toMatchObject({ operation: "create", model: "lr" });
    expect("include" in r.request).toBe(false);
  });
});

describe("setup preview request", () => {
  it("carries the target, ignored columns and setup options of the form", () => {
    let f = initialTrainForm(catalog, "juice", 1, "classification");
    f = withInput(withInput(f, cls, "target", "Purchase"), cls, "setup.pca", true);
    expect(toSetupPreviewRequest(f, cls, columns)).toEqual({
      ok: true,
      request: { task: "classification", target: "Purchase", ignore_columns: [], setup: { pca: true }, rows: 8 },
    });
  });
  it("reports only the setup options' errors", () => {
    const f = withInput(initialTrainForm(catalog, "juice", 1, "classification"), cls, "setup.polynomial_features", true);
    const g = withInput(f, cls, "setup.polynomial_degree", "x");
    expect(toSetupPreviewRequest(g, cls, columns)).toEqual({ ok: false, errors: { "setup.polynomial_degree": "Use a number." } });
    expect(collectValues(g, cls, columns).errors).toHaveProperty("target");
  });
});
