export { checkAlias, checkArtifactPath, checkModelName, checkRunId, checkVersion } from "./ids.validate.ts";
export { collectPages, filterQuote, MlflowClient, type MlflowClientOptions, type Page, type SearchRunsQuery } from "./mlflow.client.ts";
export { mlflowHttpError, mlflowUnavailable } from "./mlflow.errors.ts";
export { basicAuthorization, MLFLOW_SECRET_FILE, MLFLOW_USERNAME, type MlflowCredentials, mlflowCredentials } from "./mlflow.secret.ts";
export { type LogLevel, type MlflowStatus, MlflowSupervisor, type MlflowSupervisorOptions } from "./mlflow.supervisor.ts";
export type {
  MlflowExperiment,
  MlflowFileInfo,
  MlflowLoggedModel,
  MlflowModelVersion,
  MlflowRegisteredModel,
  MlflowRun,
  MlflowRunStatus,
} from "./mlflow.types.ts";
export { MANIFEST_HEADER, manifestDigest, modelFolderDigest } from "./model-digest.ts";
export { freePort, keptFreePort, signalGroup, terminateGroup } from "./process-group.ts";
export {
  artifactPathOf,
  deleteAlias,
  getModel,
  listModels,
  type ModelSource,
  modelSourceOf,
  parseModelRef,
  type ResolvedModel,
  registerModel,
  resolveModelRef,
  setAlias,
  setVersionTag,
  updateModel,
  updateModelVersion,
} from "./registry.service.ts";
export { getRunDetail, listArtifactsRecursive, listTrainingRuns, toRunSummary } from "./runs.service.ts";
export { TAG } from "./tags.ts";
