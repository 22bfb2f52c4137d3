import { type ColumnSchema, type Task, TrainRequest } from "@caretflow/contracts";
import type { TrainRequestInput } from "../../api/client.ts";
import { defaultSortMetric, taskMetrics } from "../../lib/pycaret.ts";

export type ModelMode = "all" | "include" | "exclude";

/** Everything the train form holds; strings where the person types, so half-typed numbers do not jump around. */
export interface TrainForm {
  dataset: string;
  version: number | null;
  task: Task;
  target: string;
  ignoreColumns: string[];
  trainSize: string;
  folds: string;
  seed: string;
  modelMode: ModelMode;
  models: string[];
  sort: string;
}

export function initialTrainForm(dataset = "", version: number | null = null): TrainForm {
  return {
    dataset,
    version,
    task: "classification",
    target: "",
    ignoreColumns: [],
    trainSize: "0.7",
    folds: "5",
    seed: "123",
    modelMode: "all",
    models: [],
    sort: defaultSortMetric("classification"),
  };
}

/**
 * A likely task for a target column: text and yes/no columns are classes, fractional numbers are a regression;
 * whole numbers are classes only when there are few distinct values.
 */
export function guessTask(column: ColumnSchema, distinct?: number): Task | null {
  switch (column.kind) {
    case "string":
    case "boolean":
      return "classification";
    case "float":
      return "regression";
    case "integer":
      if (distinct === undefined) return null;
      return distinct <= 20 ? "classification" : "regression";
    case "date":
    case "timestamp":
    case "other":
      return null;
    default: {
      const never: never = column.kind;
      return never;
    }
  }
}

/** Switching the task resets what only made sense for the other one (model ids, the sort metric). */
export function withTask(form: TrainForm, task: Task): TrainForm {
  if (task === form.task) return form;
  return { ...form, task, models: [], modelMode: "all", sort: defaultSortMetric(task) };
}

/** Choosing a target removes it from the ignored columns and, if the type says so, picks the task. */
export function withTarget(form: TrainForm, target: string, column: ColumnSchema | undefined, distinct?: number): TrainForm {
  const next = { ...form, target, ignoreColumns: form.ignoreColumns.filter((c) => c !== target) };
  const task = column ? guessTask(column, distinct) : null;
  return task ? withTask(next, task) : next;
}

/** A warning shown under the task, not a blocker: the engine has the last word on what it can fit. */
export function taskWarning(task: Task, target: ColumnSchema | undefined): string | null {
  if (!target) return null;
  if (task === "regression" && !(target.kind === "integer" || target.kind === "float"))
    return `Regression needs a numeric target, and ${target.name} is ${target.kind}. Choose classification, or another target.`;
  return null;
}

export type FormErrors = Partial<Record<keyof TrainForm, string>>;

/** The request to POST, or what to fix, field by field, before anything is sent. */
export function toTrainRequest(
  form: TrainForm,
  columns: readonly ColumnSchema[],
): { ok: true; request: TrainRequestInput } | { ok: false; errors: FormErrors } {
  const errors: FormErrors = {};
  if (!form.dataset) errors.dataset = "Choose a dataset.";
  if (!form.target) errors.target = "Choose the column to predict.";
  else if (columns.length > 0 && !columns.some((c) => c.name === form.target))
    errors.target = `${form.target} is not a column of this version.`;
  const trainSize = Number(form.trainSize);
  if (!(trainSize > 0 && trainSize < 1)) errors.trainSize = "Use a fraction between 0 and 1, e.g. 0.7.";
  const folds = Number(form.folds);
  if (!Number.isInteger(folds) || folds < 2 || folds > 20) errors.folds = "Use a whole number from 2 to 20.";
  const seed = Number(form.seed);
  if (form.seed.trim() === "" || !Number.isInteger(seed) || seed < 0) errors.seed = "Use a whole number, 0 or more.";
  if (form.modelMode !== "all" && form.models.length === 0)
    errors.models =
      form.modelMode === "include" ? "Pick at least one model to train." : "Pick the models to leave out, or choose “All models”.";
  if (form.ignoreColumns.length > 0 && columns.length > 0 && form.ignoreColumns.length >= columns.length - 1)
    errors.ignoreColumns = "Leave at least one feature column.";
  if (!taskMetrics(form.task).includes(form.sort)) errors.sort = `${form.sort} is not a ${form.task} metric.`;
  if (Object.keys(errors).length > 0) return { ok: false, errors };

  const request: TrainRequestInput = {
    dataset: form.dataset,
    ...(form.version ? { version: form.version } : {}),
    task: form.task,
    target: form.target,
    ignoreColumns: form.ignoreColumns,
    trainSize,
    folds,
    seed,
    include: form.modelMode === "include" ? form.models : [],
    exclude: form.modelMode === "exclude" ? form.models : [],
    sort: form.sort,
  };
  // The contracts' schema has the last word: whatever it refuses, the server would refuse too.
  const parsed = TrainRequest.safeParse(request);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const field = (first?.path[0] as keyof TrainForm | undefined) ?? "dataset";
    return { ok: false, errors: { [field]: first?.message ?? "Invalid value." } };
  }
  return { ok: true, request };
}
