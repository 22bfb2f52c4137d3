export {
  applyEngineEvent,
  EMPTY_PROGRESS,
  isTerminal,
  type JobCommand,
  type JobProgressView,
  nextStatus,
} from "./job.state.ts";
export { type EngineRunner, type ExecutionOutcome, type ExecutorJob, LocalExecutor } from "./local.executor.ts";
export { canonicalMetric, NOT_INSTALLED_MODELS, PYCARET_CATALOG, type TaskCatalog } from "./pycaret.catalog.ts";
export {
  buildPredictSpec,
  buildTrainSpec,
  chooseEngineThreads,
  type DatasetVersionForSpec,
  defaultExperimentName,
} from "./spec.builder.ts";
export { type TrainDatasetFacts, validateTrainRequest } from "./train.validation.ts";
