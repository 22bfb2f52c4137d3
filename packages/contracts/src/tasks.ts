import { z } from "zod";

/**
 * What each task family needs to train, shared by the HTTP request (`TrainRequest`) and the
 * engine's job spec (`TrainSpec`): one discriminated union on `task`, one member per family.
 * Keys are snake_case because they are the engine's (and mostly PyCaret's) parameter names; the
 * catalog describes the same keys for forms and help, so one name is used everywhere.
 * `setup` carries PyCaret setup() options listed in the catalog with `scope: "setup"`.
 */

const Columns = z.array(z.string().min(1));
const ModelIds = z.array(z.string().min(1));
const SetupOptions = z.record(z.string(), z.unknown()).default({}).describe("PyCaret setup() options, as listed in the catalog");

export const UseGpu = z.enum(["off", "auto", "on"]).describe("auto: use a GPU where the model supports one; on: require one");

export const CustomMetric = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_ ]{0,39}$/, "a metric name starts with a letter; letters, digits, '_' and spaces, at most 40"),
    scorer: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/, "an import path such as sklearn.metrics.balanced_accuracy_score")
      .optional()
      .describe("import path of a score function f(y_true, y_pred)"),
    expression: z
      .string()
      .min(1)
      .max(500)
      .optional()
      .describe("an expression over y_true and y_pred with numpy functions, e.g. mean(abs(y_true - y_pred))"),
    greater_is_better: z.boolean().default(true),
    target: z.enum(["pred", "pred_proba"]).default("pred").describe("what the function receives: labels/values or probabilities"),
  })
  .refine((m) => (m.scorer === undefined) !== (m.expression === undefined), {
    message: "give either scorer or expression, not both",
  });
export type CustomMetric = z.infer<typeof CustomMetric>;

export const CustomModel = z.object({
  import_path: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/, "an import path such as sklearn.svm.LinearSVC")
    .describe("a scikit-learn compatible estimator class"),
  params: z.record(z.string(), z.unknown()).default({}).describe("constructor arguments"),
});
export type CustomModel = z.infer<typeof CustomModel>;

const Comparison = {
  operation: z.enum(["compare", "create"]).default("compare").describe("compare several models, or train one (model)"),
  model: z.string().min(1).optional().describe("the model id when operation is create"),
  include: ModelIds.default([]).describe("model ids to compare; empty: the catalog's default set"),
  exclude: ModelIds.default([]),
  sort: z.string().optional().describe("metric that ranks the comparison; the task's default when left out"),
};

/** A Dask scheduler's address: `tcp://HOST:PORT` or `tls://HOST:PORT` (a host name, an IPv4 address or a bracketed IPv6 address). */
export const DaskSchedulerAddress = z
  .string()
  .max(300)
  .regex(
    /^(tcp|tls):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}$/,
    "a Dask scheduler address: tcp://HOST:PORT or tls://HOST:PORT",
  )
  .refine((address) => {
    const port = Number(address.slice(address.lastIndexOf(":") + 1));
    return port >= 1 && port <= 65_535;
  }, "the port of a Dask scheduler address is between 1 and 65535");

export const SupervisedFields = z.object({
  task: z.enum(["classification", "regression"]),
  target: z.string().min(1),
  ignore_columns: Columns.default([]),
  text_columns: Columns.default([]).describe("free-text columns turned into features (TF-IDF)"),
  train_size: z.number().gt(0).lt(1).default(0.7),
  folds: z.number().int().min(2).max(20).default(5),
  fold_strategy: z.enum(["kfold", "stratifiedkfold", "groupkfold", "timeseries"]).optional(),
  fold_groups: z.string().min(1).optional().describe("column of group labels for groupkfold"),
  ...Comparison,
  custom_metrics: z.array(CustomMetric).max(10).default([]),
  custom_models: z.array(CustomModel).max(10).default([]),
  dask_scheduler: DaskSchedulerAddress.optional().describe(
    "spread the comparison's models over the Dask cluster of this scheduler (its workers run the engine's Python environment)",
  ),
  setup: SetupOptions,
});

export const UnsupervisedFields = z.object({
  task: z.enum(["clustering", "anomaly"]),
  ignore_columns: Columns.default([]),
  ...Comparison,
  num_clusters: z.number().int().min(2).max(100).optional().describe("clustering: leave out to use the elbow method's suggestion"),
  fraction: z.number().gt(0).max(0.5).default(0.05).describe("anomaly: the expected share of anomalies"),
  setup: SetupOptions,
});

export const ForecastingFields = z.object({
  task: z.literal("time_series"),
  date_column: z.string().min(1),
  time_column: z.string().min(1).optional().describe("a separate time-of-day column joined to the date"),
  target: z.string().min(1),
  exogenous: Columns.default([]),
  frequency: z.string().min(1).max(20).optional().describe("pandas frequency alias (D, h, W, M...); inferred when left out"),
  horizon: z.number().int().min(1).max(10_000).default(12),
  folds: z.number().int().min(1).max(20).default(3),
  duplicates: z.enum(["error", "mean", "sum", "first", "last"]).default("error"),
  gaps: z.enum(["error", "ffill", "interpolate", "zero"]).default("error"),
  missing_values: z
    .enum(["error", "ffill", "interpolate", "zero"])
    .default("error")
    .describe("empty target or exogenous values (and na_values): error, or fill them like gaps"),
  na_values: z.array(z.number()).max(20).default([]).describe("numbers that mean 'missing', e.g. -200"),
  seasonal_period: z.number().int().min(1).optional(),
  coverage: z.number().gt(0).lt(1).default(0.9).describe("prediction interval coverage"),
  ...Comparison,
  setup: SetupOptions,
});

export const TextFields = z.object({
  task: z.literal("topics"),
  text_column: z.string().min(1),
  method: z.enum(["nmf", "lda"]).default("nmf"),
  num_topics: z.number().int().min(2).max(100).default(4),
  top_words: z.number().int().min(3).max(50).default(10),
  max_features: z.number().int().min(10).max(100_000).default(5000),
  min_df: z.number().int().min(1).default(2),
});

export const AssociationFields = z.object({
  task: z.literal("association_rules"),
  layout: z.enum(["transactions", "basket"]).default("transactions"),
  transaction_column: z.string().min(1).optional().describe("transactions layout: the transaction id"),
  item_column: z.string().min(1).optional().describe("transactions layout: the item"),
  basket_column: z.string().min(1).optional().describe("basket layout: the items of a basket in one cell"),
  separator: z.string().min(1).max(5).default(","),
  min_support: z.number().gt(0).max(1).default(0.05),
  min_confidence: z.number().gt(0).max(1).default(0.5),
  min_lift: z.number().min(0).default(1),
  max_len: z.number().int().min(2).max(10).default(3),
  ignore_items: z.array(z.string()).default([]),
});

/** Task id → family id, as in the engine's catalog. */
export const TASK_FAMILY = {
  classification: "supervised",
  regression: "supervised",
  clustering: "unsupervised",
  anomaly: "unsupervised",
  time_series: "forecasting",
  topics: "text",
  association_rules: "association",
} as const;

/** Options every training job takes, whatever its task. */
export const TrainCommon = {
  seed: z.number().int().nonnegative().default(123),
  use_gpu: UseGpu.default("off"),
};

const familyMembers = [SupervisedFields, UnsupervisedFields, ForecastingFields, TextFields, AssociationFields] as const;

/** The task-specific part of a training request or spec, one member per family. */
export const TrainFields = z.discriminatedUnion("task", familyMembers);
export type TrainFields = z.infer<typeof TrainFields>;

export type SupervisedFields = z.infer<typeof SupervisedFields>;
export type UnsupervisedFields = z.infer<typeof UnsupervisedFields>;
export type ForecastingFields = z.infer<typeof ForecastingFields>;
export type TextFields = z.infer<typeof TextFields>;
export type AssociationFields = z.infer<typeof AssociationFields>;

/** Each family member extended with the same extra keys (a request's or a spec's envelope). */
export function withEnvelope<S extends z.ZodRawShape>(shape: S) {
  return z.discriminatedUnion("task", [
    SupervisedFields.extend(shape),
    UnsupervisedFields.extend(shape),
    ForecastingFields.extend(shape),
    TextFields.extend(shape),
    AssociationFields.extend(shape),
  ]);
}

// ---------------------------------------------------------------- operations on an existing run

export const ModelSource = z.object({
  run_id: z.string().regex(/^[a-f0-9]{32}$/, "an MLflow run id is 32 hex characters"),
});

export const Operation = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("create"),
    model: z.string().min(1).describe("the model id to train (see the catalog), e.g. rf"),
    params: z.record(z.string(), z.unknown()).default({}).describe("the model's hyperparameters: name → value"),
  }),
  z.object({
    op: z.literal("tune"),
    search: z.enum(["random", "grid", "optuna"]).default("random").describe("random search, grid search, or Optuna (TPE)"),
    n_iter: z.number().int().min(1).max(1000).default(10).describe("candidates a random or Optuna search tries"),
    time_budget_minutes: z
      .number()
      .gt(0)
      .max(24 * 60)
      .optional()
      .describe("stop searching after this long"),
    optimize: z.string().optional().describe("metric to optimize; the sort metric of the source run by default"),
    custom_grid: z
      .record(z.string(), z.array(z.union([z.number(), z.string(), z.boolean(), z.null()])).min(1))
      .optional()
      .describe("search space: parameter → values to try"),
  }),
  z.object({
    op: z.literal("ensemble"),
    method: z.enum(["Bagging", "Boosting"]).default("Bagging").describe("Bagging (bootstrap copies) or Boosting (AdaBoost)"),
    n_estimators: z.number().int().min(2).max(500).default(10).describe("copies of the model in the ensemble"),
  }),
  z.object({
    op: z.literal("blend"),
    with: z.array(ModelSource).min(1).max(10).describe("the other runs whose models join the source's"),
    method: z
      .enum(["auto", "soft", "hard"])
      .default("auto")
      .describe(
        "classification: soft averages probabilities, hard takes the majority vote, auto picks soft when every model has probabilities",
      ),
  }),
  z.object({
    op: z.literal("stack"),
    with: z.array(ModelSource).min(1).max(10).describe("the other runs whose models join the source's"),
    meta_model: z.string().optional().describe("model id of the final estimator; logistic/linear regression by default"),
    restack: z.boolean().default(false).describe("the final estimator also sees the original features"),
  }),
  z.object({
    op: z.literal("calibrate"),
    method: z.enum(["sigmoid", "isotonic"]).default("sigmoid").describe("sigmoid (Platt) or isotonic regression"),
  }),
  z.object({
    op: z.literal("optimize_threshold"),
    optimize: z.string().default("F1").describe("the metric the probability threshold maximizes"),
  }),
  z.object({ op: z.literal("finalize") }),
]);
export type Operation = z.infer<typeof Operation>;
