import type { LeaderboardRow, Task } from "@caretflow/contracts";

/** A PyCaret 3 estimator a person can include or exclude; `turbo: false` ones are skipped by default (slow). */
export interface ModelChoice {
  id: string;
  name: string;
  turbo: boolean;
}

// PyCaret 3.3's built-in estimators that the engine's locked environment can run (no xgboost/catboost there).
const classification: ModelChoice[] = [
  { id: "lr", name: "Logistic Regression", turbo: true },
  { id: "knn", name: "K Neighbors Classifier", turbo: true },
  { id: "nb", name: "Naive Bayes", turbo: true },
  { id: "dt", name: "Decision Tree Classifier", turbo: true },
  { id: "svm", name: "SVM - Linear Kernel", turbo: true },
  { id: "rbfsvm", name: "SVM - Radial Kernel", turbo: false },
  { id: "gpc", name: "Gaussian Process Classifier", turbo: false },
  { id: "mlp", name: "MLP Classifier", turbo: false },
  { id: "ridge", name: "Ridge Classifier", turbo: true },
  { id: "rf", name: "Random Forest Classifier", turbo: true },
  { id: "qda", name: "Quadratic Discriminant Analysis", turbo: true },
  { id: "ada", name: "Ada Boost Classifier", turbo: true },
  { id: "gbc", name: "Gradient Boosting Classifier", turbo: true },
  { id: "lda", name: "Linear Discriminant Analysis", turbo: true },
  { id: "et", name: "Extra Trees Classifier", turbo: true },
  { id: "lightgbm", name: "Light Gradient Boosting Machine", turbo: true },
  { id: "dummy", name: "Dummy Classifier", turbo: true },
];

const regression: ModelChoice[] = [
  { id: "lr", name: "Linear Regression", turbo: true },
  { id: "lasso", name: "Lasso Regression", turbo: true },
  { id: "ridge", name: "Ridge Regression", turbo: true },
  { id: "en", name: "Elastic Net", turbo: true },
  { id: "lar", name: "Least Angle Regression", turbo: true },
  { id: "llar", name: "Lasso Least Angle Regression", turbo: true },
  { id: "omp", name: "Orthogonal Matching Pursuit", turbo: true },
  { id: "br", name: "Bayesian Ridge", turbo: true },
  { id: "ard", name: "Automatic Relevance Determination", turbo: false },
  { id: "par", name: "Passive Aggressive Regressor", turbo: true },
  { id: "ransac", name: "Random Sample Consensus", turbo: false },
  { id: "tr", name: "TheilSen Regressor", turbo: false },
  { id: "huber", name: "Huber Regressor", turbo: true },
  { id: "kr", name: "Kernel Ridge", turbo: false },
  { id: "svm", name: "Support Vector Regression", turbo: false },
  { id: "knn", name: "K Neighbors Regressor", turbo: true },
  { id: "dt", name: "Decision Tree Regressor", turbo: true },
  { id: "rf", name: "Random Forest Regressor", turbo: true },
  { id: "et", name: "Extra Trees Regressor", turbo: true },
  { id: "ada", name: "AdaBoost Regressor", turbo: true },
  { id: "gbr", name: "Gradient Boosting Regressor", turbo: true },
  { id: "mlp", name: "MLP Regressor", turbo: false },
  { id: "lightgbm", name: "Light Gradient Boosting Machine", turbo: true },
  { id: "dummy", name: "Dummy Regressor", turbo: true },
];

export function modelChoices(task: Task): ModelChoice[] {
  switch (task) {
    case "classification":
      return classification;
    case "regression":
      return regression;
    default: {
      const never: never = task;
      throw new Error(`unknown task ${String(never)}`);
    }
  }
}

/** The metrics PyCaret's compare_models reports, in its column order. */
export function taskMetrics(task: Task): string[] {
  switch (task) {
    case "classification":
      return ["Accuracy", "AUC", "Recall", "Prec.", "F1", "Kappa", "MCC"];
    case "regression":
      return ["MAE", "MSE", "RMSE", "R2", "RMSLE", "MAPE"];
    default: {
      const never: never = task;
      throw new Error(`unknown task ${String(never)}`);
    }
  }
}

/** PyCaret's default sort metric per task. */
export function defaultSortMetric(task: Task): string {
  return task === "classification" ? "Accuracy" : "R2";
}

// "TT_Sec" is how training time is named in MLflow, which does not allow parentheses in metric keys.
const lowerIsBetterMetrics = new Set(["MAE", "MSE", "RMSE", "RMSLE", "MAPE", "TT (Sec)", "TT_Sec", "TT"]);

/** Errors and training time are better small; scores (Accuracy, AUC, R2...) are better large. */
export function lowerIsBetter(metric: string): boolean {
  return lowerIsBetterMetrics.has(metric);
}

/** A PyCaret model id as its display name (lr -> Logistic Regression); unknown ids come back unchanged. */
export function modelDisplayName(id: string | null, task: Task | null): string | null {
  if (!id || !task) return id;
  return modelChoices(task).find((m) => m.id === id)?.name ?? id;
}

/** Guesses the task from whichever metric names a set of rows or a run carries. */
export function taskFromMetrics(metricNames: readonly string[]): Task | null {
  if (metricNames.some((m) => m === "Accuracy" || m === "AUC" || m === "F1")) return "classification";
  if (metricNames.some((m) => m === "R2" || m === "RMSE" || m === "MAE")) return "regression";
  return null;
}

/**
 * The best leaderboard row: the engine's rank 1 once the comparison is sorted,
 * otherwise the best value of `metric` seen so far (rows arrive one by one while training runs).
 */
export function bestRow(rows: readonly LeaderboardRow[], metric: string): LeaderboardRow | null {
  const ranked = rows.find((r) => r.rank === 1);
  if (ranked) return ranked;
  let best: LeaderboardRow | null = null;
  let bestValue = 0;
  const lower = lowerIsBetter(metric);
  for (const r of rows) {
    const v = r.metrics[metric];
    if (v === null || v === undefined || Number.isNaN(v)) continue;
    if (best === null || (lower ? v < bestValue : v > bestValue)) {
      best = r;
      bestValue = v;
    }
  }
  return best;
}
