export {
  DeploymentPool,
  type DeploymentPoolOptions,
  type LoadedVersion,
  type ModelFeature,
  type VersionHealth,
  type VersionStatus,
} from "./deployment.pool.ts";
export { engineFingerprint } from "./engine.fingerprint.ts";
export { EngineHost, type EngineHostOptions, type EngineHostStatus, type HostLogLevel, type RunOptions } from "./engine-host.ts";
export { isWorkerMessage, parseEngineLine, WorkerMessage } from "./engine-line.parse.ts";
export type { JobOutcome, JobStatus } from "./job-gate.ts";
export { type ScoringModel, ScoringPool, type ScoringPoolOptions } from "./scoring.pool.ts";
export { errorCode, type ServePrediction, scoringError } from "./serve.protocol.ts";
