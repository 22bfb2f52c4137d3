import { z } from "zod";
import { ColumnKind } from "./datasets.ts";

/**
 * The engine's catalog: what each ML task offers, published by the engine itself
 * (`python -m caretflow_engine catalog`, or a `catalog` job on a warm worker) and served at
 * GET /api/catalog. The web forms, the server's request validation and the CLI's help are
 * generated from it; no list of models, metrics or options is kept by hand in TypeScript.
 */
export const CATALOG_VERSION = 1;

export const TaskId = z.enum(["classification", "regression", "clustering", "anomaly", "time_series", "topics", "association_rules"]);
export type TaskId = z.infer<typeof TaskId>;

export const FamilyId = z.enum(["supervised", "unsupervised", "forecasting", "text", "association"]);
export type FamilyId = z.infer<typeof FamilyId>;

/** Operations a family may support on a task (train-time and on an existing run). */
export const OperationId = z.enum([
  "compare",
  "create",
  "tune",
  "ensemble",
  "blend",
  "stack",
  "calibrate",
  "optimize_threshold",
  "finalize",
]);
export type OperationId = z.infer<typeof OperationId>;

export const FieldType = z.enum([
  "boolean",
  "integer",
  "number",
  "string",
  "enum",
  /** one column of the dataset */
  "column",
  /** several columns of the dataset */
  "columns",
  /** model ids of this task */
  "models",
  /** a metric name of this task */
  "metric",
  /** free list of strings */
  "strings",
  /** structured value (a list of objects), e.g. custom metrics */
  "json",
]);
export type FieldType = z.infer<typeof FieldType>;

/**
 * One field of a task's training request. `scope: "spec"` fields are top-level keys of the
 * request (target, folds, include...); `scope: "setup"` fields go into its `setup` object and
 * reach PyCaret's setup() unchanged (normalize, pca, fix_imbalance...).
 */
export const CatalogField = z.object({
  name: z.string(),
  scope: z.enum(["spec", "setup"]),
  label: z.string(),
  type: FieldType,
  required: z.boolean(),
  default: z.unknown().optional().describe("JSON value used when the field is left out; absent: no default"),
  values: z.array(z.string()).optional().describe("choices of an enum field"),
  min: z.number().optional(),
  max: z.number().optional(),
  columnKinds: z.array(ColumnKind).optional().describe("column fields: the kinds of column that fit"),
  help: z.string(),
  flag: z.string().optional().describe("the CLI's short flag, e.g. date for --date (the default is the name with dashes)"),
  group: z.string().describe("form section, e.g. Data, Validation, Models, Preprocessing"),
  advanced: z.boolean().describe("hidden behind 'more options' in the UI"),
  when: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("shown and used only when each named field has the given value, e.g. { normalize: true }"),
});
export type CatalogField = z.infer<typeof CatalogField>;

export const CatalogModel = z.object({
  id: z.string().describe("PyCaret model id, e.g. lr, kmeans, auto_arima"),
  name: z.string(),
  reference: z.string().describe("estimator class, e.g. sklearn.linear_model.LogisticRegression"),
  installed: z.boolean().describe("false: its library is not in the engine's environment"),
  gpu: z.boolean().describe("can train on a GPU"),
  turbo: z.boolean().describe("in the default comparison (slow models are left out unless included)"),
});
export type CatalogModel = z.infer<typeof CatalogModel>;

export const CatalogMetric = z.object({
  id: z.string(),
  name: z.string().describe("the name in leaderboards and results, e.g. Accuracy, Prec., R2, MASE"),
  greaterIsBetter: z.boolean(),
  multiclass: z.boolean().describe("defined for targets with more than two classes"),
});
export type CatalogMetric = z.infer<typeof CatalogMetric>;

export const CatalogPlot = z.object({
  id: z.string(),
  name: z.string(),
  chart: z.boolean().describe("also emitted as chart data the UI draws interactively"),
});
export type CatalogPlot = z.infer<typeof CatalogPlot>;

export const PredictionColumn = z.object({ name: z.string(), help: z.string() });

export const TaskCatalog = z.object({
  task: TaskId,
  family: FamilyId,
  label: z.string(),
  description: z.string(),
  operations: z.array(OperationId),
  fields: z.array(CatalogField),
  models: z.array(CatalogModel),
  metrics: z.array(CatalogMetric),
  defaultSort: z.string().nullable(),
  plots: z.array(CatalogPlot),
  predictionColumns: z
    .array(PredictionColumn)
    .describe("what scoring returns; {class} stands for each class label (per-class probabilities)"),
});
export type TaskCatalog = z.infer<typeof TaskCatalog>;

export const Catalog = z.object({
  version: z.literal(CATALOG_VERSION),
  versions: z.record(z.string(), z.string()).describe("library versions of the engine that published it"),
  gpu: z.object({ available: z.boolean(), detail: z.string() }),
  tasks: z.array(TaskCatalog),
});
export type Catalog = z.infer<typeof Catalog>;

/** The task's entry, or undefined. */
export function catalogTask(catalog: Catalog, task: string): TaskCatalog | undefined {
  return catalog.tasks.find((t) => t.task === task);
}

/** A metric of the task by the spelling a person types ("accuracy", "prec", "r2"), or undefined. */
export function findMetric(task: TaskCatalog, name: string): CatalogMetric | undefined {
  const norm = (s: string) => s.trim().toLowerCase().replace(/\.$/, "");
  const wanted = norm(name);
  return task.metrics.find((m) => norm(m.name) === wanted || norm(m.id) === wanted);
}
