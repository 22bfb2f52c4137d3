/**
 * MLflow tag keys the engine writes and caretflow reads. The engine logs them
 * (engine/caretflow_engine); keep both sides in step (docs/tracking.md).
 */
export const TAG = {
  role: "caretflow.role", // parent | child | final | operation
  operation: "caretflow.operation", // tune, ensemble, blend... on an operation run
  sourceRunId: "caretflow.source_run_id", // the run whose model an operation started from
  jobId: "caretflow.job_id",
  task: "caretflow.task",
  target: "caretflow.target",
  dataset: "caretflow.dataset", // NAME@vVERSION
  datasetHash: "caretflow.dataset_hash",
  bestRunId: "caretflow.best_run_id",
  bestModel: "caretflow.best_model",
  modelId: "caretflow.model_id", // PyCaret model id, e.g. lr
  modelName: "caretflow.model_name", // PyCaret display name
  modelSha256: "caretflow.model_sha256",
  modelSource: "caretflow.model_source", // exact `source` for CreateModelVersion
  mlflowParentRunId: "mlflow.parentRunId",
  mlflowRunName: "mlflow.runName",
} as const;
