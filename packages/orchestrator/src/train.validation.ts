import {
  type Catalog,
  type CatalogField,
  type ColumnKind,
  catalogTask,
  findMetric,
  type TaskCatalog,
  type TrainRequest,
  userError,
} from "@caretflow/contracts";

/** Facts about a dataset version that decide whether a training request can start. */
export interface TrainDatasetFacts {
  dataset: string;
  version: number;
  rowCount: number;
  columns: Array<{ name: string; kind: ColumnKind }>;
  /** For tasks with a target column: its nulls and distinct values. */
  target?: { nulls: number; distinct: number; count: number };
}

type Values = Record<string, unknown>;

/** The value a field has in the request (spec fields at the top, setup options in `setup`), else its default. */
export function fieldValue(req: Values, field: CatalogField): unknown {
  const own = field.scope === "spec" ? req[field.name] : (req.setup as Values | undefined)?.[field.name];
  return own === undefined ? field.default : own;
}

/** Whether a field applies, given its `when` conditions on other fields. */
export function fieldApplies(req: Values, field: CatalogField, task: TaskCatalog): boolean {
  if (!field.when) return true;
  return Object.entries(field.when).every(([name, wanted]) => {
    const other = task.fields.find((f) => f.name === name);
    return (other ? fieldValue(req, other) : req[name]) === wanted;
  });
}

/**
 * Checks a training request against the engine's catalog and the dataset before anything is
 * queued, so a person learns at once (422 with a hint) instead of from a failed job. Every rule
 * comes from the catalog's field descriptions (columns exist and fit, model ids exist and are
 * installed, metrics exist, setup options are known and in range); a few facts need the data
 * (a classification target with one class). Returns the request with metric names in the
 * engine's spelling.
 */
export function validateTrainRequest(req: TrainRequest, catalog: Catalog, facts: TrainDatasetFacts): TrainRequest {
  const task = catalogTask(catalog, req.task);
  if (!task) {
    throw userError(
      "unknown_task",
      `This engine has no '${req.task}' task`,
      `Use one of: ${catalog.tasks.map((t) => t.task).join(", ")}.`,
      422,
    );
  }
  if (req.use_gpu === "on" && !catalog.gpu.available) {
    throw userError(
      "gpu_unavailable",
      `use_gpu is 'on' but the engine has no GPU: ${catalog.gpu.detail}`,
      "Set use_gpu to 'auto' (GPU where possible) or 'off', or run caretflow on a machine with a GPU.",
      422,
    );
  }
  const where = `${facts.dataset} v${facts.version}`;
  const values = req as unknown as Values;
  const normalized: Values = { ...values, setup: { ...(req as { setup?: Values }).setup } };
  const known = new Set(task.fields.filter((f) => f.scope === "setup").map((f) => f.name));
  for (const key of Object.keys((normalized.setup as Values) ?? {})) {
    if (!known.has(key)) {
      throw userError(
        "unknown_setup_option",
        `'${key}' is not a setup option of the ${task.task} task`,
        `Use one of: ${[...known].join(", ")} (GET /api/catalog?task=${task.task} lists them with their help).`,
        422,
      );
    }
  }
  for (const field of task.fields) {
    const value = fieldValue(values, field);
    const applies = fieldApplies(values, field, task);
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
      if (field.required && applies) {
        throw userError("missing_field", `${field.label} (${field.name}) is required for ${task.task}`, field.help, 422);
      }
      continue;
    }
    if (!applies) continue;
    const checked = checkField(field, value, task, facts, where);
    if (checked !== value) {
      if (field.scope === "spec") normalized[field.name] = checked;
      else (normalized.setup as Values)[field.name] = checked;
    }
  }
  checkFamilyFacts(req, task, facts, where);
  return normalized as unknown as TrainRequest;
}

function checkField(field: CatalogField, value: unknown, task: TaskCatalog, facts: TrainDatasetFacts, where: string): unknown {
  const bad = (code: string, message: string, hint: string) => userError(code, message, hint, 422);
  switch (field.type) {
    case "column":
    case "columns": {
      const names = Array.isArray(value) ? (value as string[]) : [value as string];
      for (const name of names) {
        const column = facts.columns.find((c) => c.name === name);
        if (!column) {
          const all = facts.columns.map((c) => c.name);
          throw bad(
            "column_not_found",
            `${field.label}: column '${name}' does not exist in ${where}`,
            `Pick one of: ${all.slice(0, 30).join(", ")}${all.length > 30 ? ", ..." : ""} (names are case-sensitive).`,
          );
        }
        if (field.columnKinds && field.columnKinds.length > 0 && !field.columnKinds.includes(column.kind)) {
          throw bad(
            "column_kind_mismatch",
            `${field.label}: column '${name}' holds ${column.kind} values; ${field.name} needs ${field.columnKinds.join(" or ")} values`,
            field.help,
          );
        }
      }
      return value;
    }
    case "models": {
      const ids = Array.isArray(value) ? (value as string[]) : [value as string];
      for (const id of ids) {
        const model = task.models.find((m) => m.id === id);
        if (!model) {
          throw bad(
            "unknown_model",
            `Unknown ${task.task} model id '${id}' in ${field.name}`,
            `Known ${task.task} model ids: ${task.models.map((m) => m.id).join(", ")}`,
          );
        }
        if (!model.installed) {
          throw bad(
            "model_not_installed",
            `${model.name} (${id}) is not installed in this engine`,
            `Pick another model, or install its library in the engine's environment.`,
          );
        }
      }
      return value;
    }
    case "metric": {
      const name = String(value);
      if (name === "TT" || name === "TT (Sec)") return "TT (Sec)";
      const metric = findMetric(task, name);
      if (!metric) {
        throw bad(
          "unknown_metric",
          `'${name}' is not a ${task.task} metric`,
          `Use one of: ${task.metrics.map((m) => m.name).join(", ") || "(this task has no metrics)"}`,
        );
      }
      return metric.name;
    }
    case "enum":
      if (!field.values?.includes(String(value))) {
        throw bad("invalid_option", `${field.label} (${field.name}) must be one of ${field.values?.join(", ")}`, field.help);
      }
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw bad("invalid_option", `${field.label} (${field.name}) must be true or false`, field.help);
      return value;
    case "integer":
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value) || (field.type === "integer" && !Number.isInteger(value))) {
        throw bad(
          "invalid_option",
          `${field.label} (${field.name}) must be ${field.type === "integer" ? "a whole number" : "a number"}`,
          field.help,
        );
      }
      if ((field.min !== undefined && value < field.min) || (field.max !== undefined && value > field.max)) {
        throw bad(
          "invalid_option",
          `${field.label} (${field.name}) must be between ${field.min ?? "-∞"} and ${field.max ?? "∞"}, got ${value}`,
          field.help,
        );
      }
      return value;
    }
    default:
      return value;
  }
}

/**
 * A forecast's columns each have one role, and the series is long enough for the hold-out and the
 * folds. Rows can only be counted as periods when gaps are refused (filling gaps adds periods).
 */
function checkSeriesFacts(req: TrainRequest & { task: "time_series" }, facts: TrainDatasetFacts, where: string): void {
  const roles: Array<[string, string | undefined]> = [
    ["date column", req.date_column],
    ["time column", req.time_column],
    ["target", req.target],
    ...req.exogenous.map((c): [string, string] => ["exogenous column", c]),
  ];
  const seen = new Map<string, string>();
  for (const [role, column] of roles) {
    if (column === undefined) continue;
    const first = seen.get(column);
    if (first) {
      throw userError(
        "column_reused",
        `Column '${column}' is used twice: as the ${first} and as the ${role}`,
        "Give each column one role: the date, the time of day, the target, or an exogenous series.",
        422,
      );
    }
    seen.set(column, role);
  }
  const need = req.horizon * (req.folds + 1) + 1;
  if (req.gaps === "error" && facts.rowCount < need) {
    throw userError(
      "series_too_short",
      `${where} has ${facts.rowCount} rows; a horizon of ${req.horizon} with ${req.folds} folds needs a series of at least ${need} periods ` +
        `(${req.horizon} for the hold-out, ${req.folds} × ${req.horizon} for cross-validation and 1 to train on)`,
      "Use a shorter horizon, fewer folds, or a longer series.",
      422,
    );
  }
}

/** Two clusters and one row more (the engine's elbow curve starts at k = 2). */
const MIN_UNSUPERVISED_ROWS = 3;

/** Facts that need the data, per family. */
function checkFamilyFacts(req: TrainRequest, task: TaskCatalog, facts: TrainDatasetFacts, where: string): void {
  if (facts.rowCount === 0) throw userError("empty_dataset", `${where} has no rows`, "Import a dataset with data rows.", 422);
  switch (req.task) {
    case "classification":
    case "regression": {
      const target = facts.target;
      if (target && target.nulls >= target.count) {
        throw userError(
          "target_all_null",
          `Target column '${req.target}' has no values in ${where}`,
          "Choose a target column that is filled in.",
          422,
        );
      }
      if (req.task === "classification" && target && target.distinct < 2) {
        throw userError(
          "target_single_class",
          `Target column '${req.target}' has only ${target.distinct} distinct value in ${where}; classification needs at least 2 classes`,
          "Choose another target, or add rows of the other classes to the dataset.",
          422,
        );
      }
      if (req.ignore_columns.includes(req.target)) {
        throw userError(
          "target_ignored",
          `The target '${req.target}' is also in the ignore list`,
          "Remove the target from the ignore list.",
          422,
        );
      }
      break;
    }
    case "time_series":
      checkSeriesFacts(req, facts, where);
      break;
    case "association_rules":
      if (req.layout === "transactions" && (!req.transaction_column || !req.item_column)) {
        throw userError(
          "missing_field",
          "The transactions layout needs a transaction column and an item column",
          "Set transaction_column and item_column, or use layout 'basket' with basket_column.",
          422,
        );
      }
      if (req.layout === "basket" && !req.basket_column) {
        throw userError("missing_field", "The basket layout needs a basket column", "Set basket_column.", 422);
      }
      break;
    case "clustering":
    case "anomaly":
      checkUnsupervisedFacts(req, facts, where);
      break;
    case "topics":
      break;
    default: {
      const never: never = req;
      throw new Error(`unhandled task ${String((never as { task: string }).task)}`);
    }
  }
  if ("operation" in req) {
    if (req.operation === "create" && !req.model) {
      throw userError("model_required", "Mode 'create' trains one model: say which", "Set model to a model id from the catalog.", 422);
    }
    if (req.operation === "compare") {
      const pool = req.include.length > 0 ? req.include : task.models.filter((m) => m.turbo && m.installed).map((m) => m.id);
      if (pool.filter((id) => !req.exclude.includes(id)).length === 0) {
        throw userError("no_models", "include and exclude leave no model to train", "Exclude fewer models or include more.", 422);
      }
    }
  }
}

/** Rows left one per dataset row for labels: a cluster count below the row count, and columns left to learn from. */
function checkUnsupervisedFacts(req: TrainRequest & { task: "clustering" | "anomaly" }, facts: TrainDatasetFacts, where: string): void {
  if (facts.columns.every((c) => req.ignore_columns.includes(c.name))) {
    throw userError("no_features", `Every column of ${where} is ignored: nothing is left to learn from`, "Ignore fewer columns.", 422);
  }
  if (facts.rowCount < MIN_UNSUPERVISED_ROWS) {
    throw userError(
      "too_few_rows",
      `${where} has ${facts.rowCount} row(s); ${req.task} needs at least ${MIN_UNSUPERVISED_ROWS}`,
      "Import a dataset with more rows.",
      422,
    );
  }
  if (req.task === "clustering" && req.num_clusters !== undefined && req.num_clusters >= facts.rowCount) {
    throw userError(
      "too_many_clusters",
      `num_clusters is ${req.num_clusters} but ${where} has only ${facts.rowCount} rows`,
      `Ask for fewer clusters than rows (at most ${facts.rowCount - 1}), or leave num_clusters out for the elbow method's choice.`,
      422,
    );
  }
}
