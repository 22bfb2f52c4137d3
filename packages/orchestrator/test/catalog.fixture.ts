import type { Catalog, CatalogField, TaskCatalog } from "@caretflow/contracts";

/** A small catalog in the engine's shape, for unit tests of code that reads catalogs. */
export function field(name: string, over: Partial<CatalogField> = {}): CatalogField {
  return {
    name,
    scope: "spec",
    label: name,
    type: "string",
    required: false,
    help: `help for ${name}`,
    group: "Data",
    advanced: false,
    ...over,
  };
}

const supervised = (task: "classification" | "regression"): TaskCatalog => ({
  task,
  family: "supervised",
  label: task,
  description: `${task} task`,
  operations: ["compare", "create", "tune"],
  fields: [
    field("target", { type: "column", required: true }),
    field("ignore_columns", { type: "columns", default: [] }),
    field("text_columns", { type: "columns", default: [], columnKinds: ["string"] }),
    field("operation", { type: "enum", values: ["compare", "create"], default: "compare" }),
    field("model", { type: "models", when: { operation: "create" } }),
    field("include", { type: "models", default: [], when: { operation: "compare" } }),
    field("sort", { type: "metric" }),
    field("dask_scheduler", { advanced: true, when: { operation: "compare" }, flag: "dask" }),
    field("normalize", { scope: "setup", type: "boolean", default: false }),
    field("normalize_method", { scope: "setup", type: "enum", values: ["zscore", "minmax"], default: "zscore", when: { normalize: true } }),
    field("pca_components", { scope: "setup", type: "number", min: 0, default: null }),
  ],
  models: [
    { id: "lr", name: "Logistic Regression", reference: "sklearn.LogisticRegression", installed: true, gpu: true, turbo: true },
    { id: "dt", name: "Decision Tree", reference: "sklearn.DecisionTree", installed: true, gpu: false, turbo: true },
    { id: "xgboost", name: "Extreme Gradient Boosting", reference: "xgboost.XGBClassifier", installed: false, gpu: true, turbo: false },
  ],
  metrics:
    task === "classification"
      ? [
          { id: "acc", name: "Accuracy", greaterIsBetter: true, multiclass: true },
          { id: "precision", name: "Prec.", greaterIsBetter: true, multiclass: true },
        ]
      : [
          { id: "r2", name: "R2", greaterIsBetter: true, multiclass: true },
          { id: "rmse", name: "RMSE", greaterIsBetter: false, multiclass: true },
        ],
  defaultSort: task === "classification" ? "Accuracy" : "R2",
  plots: [{ id: "auc", name: "AUC", chart: true }],
  predictionColumns: [{ name: "prediction_label", help: "the prediction" }],
});

const clustering: TaskCatalog = {
  task: "clustering",
  family: "unsupervised",
  label: "Clustering",
  description: "group rows",
  operations: ["compare", "create"],
  fields: [field("ignore_columns", { type: "columns", default: [] }), field("num_clusters", { type: "integer", min: 2 })],
  models: [{ id: "kmeans", name: "K-Means", reference: "sklearn.KMeans", installed: true, gpu: true, turbo: true }],
  metrics: [{ id: "silhouette", name: "Silhouette", greaterIsBetter: true, multiclass: true }],
  defaultSort: "Silhouette",
  plots: [],
  predictionColumns: [{ name: "Cluster", help: "cluster label" }],
};

const topics: TaskCatalog = {
  task: "topics",
  family: "text",
  label: "Topics",
  description: "find topics",
  operations: [],
  fields: [field("text_column", { type: "column", required: true, columnKinds: ["string"] })],
  models: [],
  metrics: [],
  defaultSort: null,
  plots: [],
  predictionColumns: [],
};

const timeSeries: TaskCatalog = {
  task: "time_series",
  family: "forecasting",
  label: "Time-series forecasting",
  description: "forecast a series",
  operations: ["compare", "create"],
  fields: [
    field("date_column", { type: "column", required: true, columnKinds: ["date", "timestamp", "string", "integer"] }),
    field("time_column", { type: "column" }),
    field("target", { type: "column", required: true, columnKinds: ["integer", "float"] }),
    field("exogenous", { type: "columns", default: [], columnKinds: ["integer", "float"] }),
    field("horizon", { type: "integer", min: 1, max: 10000, default: 12 }),
    field("folds", { type: "integer", min: 1, max: 20, default: 3 }),
    field("include", { type: "models", default: [], when: { operation: "compare" } }),
    field("sort", { type: "metric" }),
  ],
  models: [
    { id: "arima", name: "ARIMA", reference: "sktime.ARIMA", installed: true, gpu: false, turbo: true },
    { id: "auto_arima", name: "Auto ARIMA", reference: "sktime.AutoARIMA", installed: true, gpu: false, turbo: false },
  ],
  metrics: [{ id: "mase", name: "MASE", greaterIsBetter: false, multiclass: true }],
  defaultSort: "MASE",
  plots: [{ id: "forecast", name: "Forecast", chart: true }],
  predictionColumns: [{ name: "period", help: "the period" }],
};

export const CATALOG: Catalog = {
  version: 1,
  versions: { pycaret: "3.3.2" },
  gpu: { available: false, detail: "no NVIDIA driver" },
  tasks: [supervised("classification"), supervised("regression"), clustering, topics, timeSeries],
};
