import type { Task } from "@caretflow/contracts";

/**
 * What PyCaret 3.3 offers per task, in one place: the model ids `compare_models`
 * accepts in include/exclude, and the metric names it can sort by.
 * Models whose libraries are not in the engine's locked environment (xgboost,
 * catboost) are listed separately so the error can say why they are refused.
 */
export interface TaskCatalog {
  models: Record<string, string>;
  /** Display names as they appear in PyCaret's leaderboard, best-first direction. */
  metrics: Record<string, "higher" | "lower">;
  defaultSort: string;
}

export const NOT_INSTALLED_MODELS: Record<string, string> = {
  xgboost: "Extreme Gradient Boosting",
  catboost: "CatBoost",
};

export const PYCARET_CATALOG: Record<Task, TaskCatalog> = {
  classification: {
    models: {
      lr: "Logistic Regression",
      knn: "K Neighbors Classifier",
      nb: "Naive Bayes",
      dt: "Decision Tree Classifier",
      svm: "SVM - Linear Kernel",
      rbfsvm: "SVM - Radial Kernel",
      gpc: "Gaussian Process Classifier",
      mlp: "MLP Classifier",
      ridge: "Ridge Classifier",
      rf: "Random Forest Classifier",
      qda: "Quadratic Discriminant Analysis",
      ada: "Ada Boost Classifier",
      gbc: "Gradient Boosting Classifier",
      lda: "Linear Discriminant Analysis",
      et: "Extra Trees Classifier",
      lightgbm: "Light Gradient Boosting Machine",
      dummy: "Dummy Classifier",
    },
    metrics: { Accuracy: "higher", AUC: "higher", Recall: "higher", "Prec.": "higher", F1: "higher", Kappa: "higher", MCC: "higher" },
    defaultSort: "Accuracy",
  },
  regression: {
    models: {
      lr: "Linear Regression",
      lasso: "Lasso Regression",
      ridge: "Ridge Regression",
      en: "Elastic Net",
      lar: "Least Angle Regression",
      llar: "Lasso Least Angle Regression",
      omp: "Orthogonal Matching Pursuit",
      br: "Bayesian Ridge",
      ard: "Automatic Relevance Determination",
      par: "Passive Aggressive Regressor",
      ransac: "Random Sample Consensus",
      tr: "TheilSen Regressor",
      huber: "Huber Regressor",
      kr: "Kernel Ridge",
      svm: "Support Vector Regression",
      knn: "K Neighbors Regressor",
      dt: "Decision Tree Regressor",
      rf: "Random Forest Regressor",
      et: "Extra Trees Regressor",
      ada: "AdaBoost Regressor",
      gbr: "Gradient Boosting Regressor",
      mlp: "MLP Regressor",
      lightgbm: "Light Gradient Boosting Machine",
      dummy: "Dummy Regressor",
    },
    metrics: { MAE: "lower", MSE: "lower", RMSE: "lower", R2: "higher", RMSLE: "lower", MAPE: "lower" },
    defaultSort: "R2",
  },
};

/** Canonical PyCaret metric name for a user's spelling ("accuracy", "r2", "prec"), or null. */
export function canonicalMetric(task: Task, name: string): string | null {
  const wanted = name.trim().toLowerCase().replace(/\.$/, "");
  for (const m of Object.keys(PYCARET_CATALOG[task].metrics)) {
    if (m.toLowerCase().replace(/\.$/, "") === wanted) return m;
  }
  // PyCaret also accepts "precision" for "Prec."
  if (task === "classification" && wanted === "precision") return "Prec.";
  return null;
}
