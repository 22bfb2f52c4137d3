export { EngineHost, type EngineHostOptions, type EngineHostStatus, type HostLogLevel, type RunOptions } from "./engine-host.ts";
export { isWorkerMessage, parseEngineLine, WorkerMessage } from "./engine-line.parse.ts";
export type { JobOutcome, JobStatus } from "./job-gate.ts";
