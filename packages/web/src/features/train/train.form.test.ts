import type { ColumnSchema } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { guessTask, initialTrainForm, taskWarning, toTrainRequest, withTarget, withTask } from "./train.form.ts";

const col = (name: string, kind: ColumnSchema["kind"]): ColumnSchema => ({ name, kind, duckdbType: "X", nullable: false });
const columns = [col("Id", "integer"), col("Purchase", "string"), col("PriceCH", "float"), col("Store7", "string")];

describe("guessTask", () => {
  it.each([
    ["string", undefined, "classification"],
    ["boolean", undefined, "classification"],
    ["float", undefined, "regression"],
    ["integer", 3, "classification"],
    ["integer", 500, "regression"],
    ["integer", undefined, null],
    ["date", undefined, null],
  ] as const)("%s with %s distinct -> %s", (kind, distinct, task) => {
    expect(guessTask(col("c", kind), distinct)).toBe(task);
  });
});

describe("form transitions", () => {
  it("choosing a target drops it from the ignored columns and picks the task", () => {
    const f = withTarget({ ...initialTrainForm("juice"), task: "regression", ignoreColumns: ["Purchase", "Id"] }, "Purchase", columns[1]);
    expect(f.ignoreColumns).toEqual(["Id"]);
    expect(f.task).toBe("classification");
    expect(f.sort).toBe("Accuracy");
  });

  it("switching the task resets models and the sort metric", () => {
    const f = withTask({ ...initialTrainForm("x"), modelMode: "include", models: ["lr", "gbc"] }, "regression");
    expect(f.models).toEqual([]);
    expect(f.modelMode).toBe("all");
    expect(f.sort).toBe("R2");
  });
});

describe("toTrainRequest", () => {
  it("builds the API request with numbers and the include list", () => {
    const f = {
      ...initialTrainForm("juice", 2),
      target: "Purchase",
      ignoreColumns: ["Id"],
      modelMode: "include" as const,
      models: ["lr", "dt"],
    };
    expect(toTrainRequest(f, columns)).toEqual({
      ok: true,
      request: {
        dataset: "juice",
        version: 2,
        task: "classification",
        target: "Purchase",
        ignoreColumns: ["Id"],
        trainSize: 0.7,
        folds: 5,
        seed: 123,
        include: ["lr", "dt"],
        exclude: [],
        sort: "Accuracy",
      },
    });
  });

  it("says what to fix, field by field", () => {
    const f = { ...initialTrainForm("juice"), trainSize: "1.5", folds: "1", seed: "-3", modelMode: "include" as const };
    const r = toTrainRequest(f, columns);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual(["folds", "models", "seed", "target", "trainSize"]);
  });

  it("refuses a target that is not a column and a sort metric of the other task", () => {
    const r = toTrainRequest({ ...initialTrainForm("juice"), target: "Nope", sort: "R2" }, columns);
    expect(r.ok ? {} : r.errors).toEqual({ target: "Nope is not a column of this version.", sort: "R2 is not a classification metric." });
  });

  it("passes the dataset name through the contracts' schema", () => {
    const r = toTrainRequest({ ...initialTrainForm("bad name!"), target: "Purchase" }, columns);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.dataset).toMatch(/letters, digits/);
  });
});

describe("taskWarning", () => {
  it("warns about a regression on a text target only", () => {
    expect(taskWarning("regression", col("Purchase", "string"))).toMatch(/numeric target/);
    expect(taskWarning("regression", col("PriceCH", "float"))).toBeNull();
    expect(taskWarning("classification", col("Purchase", "string"))).toBeNull();
    expect(taskWarning("regression", undefined)).toBeNull();
  });
});
