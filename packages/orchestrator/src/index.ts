export {
  type AttachedJob,
  bugInfo,
  closedOutcome,
  type EngineRunner,
  type ExecutionOutcome,
  type Executor,
  type ExecutorJob,
  errorInfo,
  type PostStep,
  type PostStepRunner,
  type PrepareJob,
  preparedRun,
  runPostSteps,
  type StoredOutput,
} from "./executor.ts";
export { outputDatasetName } from "./job.outputs.ts";
export {
  applyEngineEvent,
  EMPTY_PROGRESS,
  isTerminal,
  type JobCommand,
  type JobProgressView,
  nextStatus,
} from "./job.state.ts";
export { LocalExecutor } from "./local.executor.ts";
export {
  cacheKey,
  failureInfo,
  type PipelineRunInput,
  type PipelineRunResult,
  type PipelineRunStore,
  type PipelineRuntimeDeps,
  resolveReferences,
  runParams,
  runPipeline,
} from "./pipeline.runtime.ts";
export {
  dueBetween,
  latestDueBetween,
  MAX_TIMER_MS,
  nextDue,
  type PipelineEvent,
  PipelineScheduler,
  type PipelineSchedulerOptions,
  type ScheduledPipeline,
  type ScheduleLog,
  type ScheduleRunner,
  type ScheduleStore,
  type TriggerablePipeline,
  type TriggeredRun,
  triggeredBy,
} from "./pipeline.schedule.ts";
export {
  isServerStopping,
  SERVER_STOPPING,
  StepFailure,
  type StepHandler,
  type StepHandlers,
  type StepRunContext,
} from "./pipeline.steps.ts";
export { RedisExecutor, type RedisExecutorOptions, RedisWorker, type RedisWorkerOptions } from "./redis.executor.ts";
export {
  buildDriftSpec,
  buildEvaluateSpec,
  buildOperateSpec,
  buildPredictSpec,
  buildTrainSpec,
  chooseEngineThreads,
  type DatasetVersionForSpec,
  datasetRef,
  defaultExperimentName,
  type JobLimits,
  trainFields,
  withLimits,
} from "./spec.builder.ts";
export { specDatasets } from "./spec.datasets.ts";
export { fieldApplies, fieldValue, type TrainDatasetFacts, validateTrainRequest } from "./train.validation.ts";
