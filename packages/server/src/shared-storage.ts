import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { JobSpec, StorageConfig } from "@caretflow/contracts";
import type { BlobStore, DatasetStore } from "@caretflow/data";
import { type EngineRunner, specDatasets } from "@caretflow/orchestrator";
import type { Logger } from "./ports.ts";

/** The AWS chain's variables MLflow's boto3 reads (credentials, profile, role), passed on when set. */
const AWS_ENV_NAMES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CA_BUNDLE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
] as const;

/** The artifacts folder of caretflow's MLflow in shared storage: <storage>/mlflow-artifacts. */
export function mlflowArtifactsUrl(storage: StorageConfig): string {
  return `${storage.url}/mlflow-artifacts`;
}

/**
 * How caretflow's own MLflow stores artifacts in shared storage: its --artifacts-destination, and the
 * variables its artifact proxy's boto3 needs (the AWS chain's, the endpoint of an S3-compatible store).
 * Pure, so the environment is a parameter.
 */
export function mlflowStorage(
  storage: StorageConfig,
  env: Readonly<Record<string, string | undefined>>,
): { artifactsDestination: string; env: Record<string, string> } {
  const passed: Record<string, string> = {};
  for (const name of AWS_ENV_NAMES) {
    const value = env[name];
    if (value) passed[name] = value;
  }
  passed.AWS_DEFAULT_REGION ??= storage.region;
  if (storage.endpoint) {
    passed.MLFLOW_S3_ENDPOINT_URL = storage.endpoint;
    // As the Node side does for S3-compatible stores: the bucket in the path, one host.
    passed.MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE = "path";
  }
  return { artifactsDestination: mlflowArtifactsUrl(storage), env: passed };
}

/**
 * A job's preparation with shared storage: the files of every dataset version its spec reads are on this
 * machine before the engine starts (each downloaded and checked when missing; see DatasetStore).
 */
export async function fetchSpecDatasets(store: Pick<DatasetStore, "getVersion">, spec: JobSpec): Promise<void> {
  for (const ref of specDatasets(spec)) await store.getVersion(ref.name, ref.version);
}

/** A job's log in shared storage: job-logs/<job id>.log (job ids are letters, digits, '_' and '-'). */
export function jobLogKey(jobId: string): string {
  return `job-logs/${jobId}.log`;
}

/**
 * A worker's engine with shared storage: each job's log is written under this machine's `dir` (the
 * server's log path names the server's home, which this machine lacks) and uploaded when the engine run
 * ends, so the server can show it (JobService's fetchLog). A failed upload costs the log, never the job.
 */
export function withJobLogsInStorage(engine: EngineRunner, blobs: BlobStore, dir: string, log: Logger): EngineRunner {
  return {
    async run(spec, o) {
      const local = join(dir, `${spec.job_id}.log`);
      try {
        return await engine.run(spec, { ...o, logPath: local });
      } finally {
        if (existsSync(local)) {
          await blobs
            .put(jobLogKey(spec.job_id), local)
            .catch((err: Error) => log("warn", `could not upload the log of job ${spec.job_id} to ${blobs.location}: ${err.message}`));
        }
      }
    },
  };
}

/** The server's side: a finished job's log uploaded by a worker, copied to `localPath` (none uploaded: nothing). */
export async function fetchJobLog(blobs: BlobStore, jobId: string, localPath: string, log: Logger): Promise<void> {
  const tmp = join(dirname(localPath), `.${randomUUID()}.log`);
  try {
    await mkdir(dirname(localPath), { recursive: true });
    await blobs.get(jobLogKey(jobId), tmp);
    await rename(tmp, localPath);
  } catch (err) {
    // A job that ran here, or on a worker with a shared folder, has no uploaded log.
    if ((err as { code?: string }).code !== "blob_not_found")
      log("warn", `could not fetch the log of job ${jobId}: ${(err as Error).message}`);
  } finally {
    await rm(tmp, { force: true });
  }
}
