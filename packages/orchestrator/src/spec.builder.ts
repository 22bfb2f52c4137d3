import { PROTOCOL_VERSION, type PredictSpec, type TrainRequest, type TrainSpec } from "@caretflow/contracts";

/**
 * Threads per training job. PyCaret and LightGBM default to every core and
 * busy-wait when oversubscribed; leaving one core free keeps the HTTP server
 * and the MLflow server responsive while a job runs (1 thread on 2 cores).
 */
export function chooseEngineThreads(cpus: number, concurrentJobs: number): number {
  return Math.max(1, Math.floor((cpus - 1) / Math.max(1, concurrentJobs)));
}

export function defaultExperimentName(dataset: string): string {
  return `caretflow-${dataset}`;
}

export interface DatasetVersionForSpec {
  dataset: string;
  version: number;
  path: string;
  contentHash: string;
  rowCount: number;
}

/** The engine's TrainSpec for a validated request. */
export function buildTrainSpec(opts: {
  jobId: string;
  request: TrainRequest;
  dataset: DatasetVersionForSpec;
  trackingUri: string;
  nJobs: number;
}): TrainSpec {
  const { request: r, dataset: d } = opts;
  return {
    v: PROTOCOL_VERSION,
    kind: "train",
    job_id: opts.jobId,
    tracking_uri: opts.trackingUri,
    experiment_name: r.experiment ?? defaultExperimentName(r.dataset),
    dataset: { name: d.dataset, version: d.version, path: d.path, content_hash: d.contentHash, rows: d.rowCount },
    task: r.task,
    target: r.target,
    ignore_columns: r.ignoreColumns,
    train_size: r.trainSize,
    folds: r.folds,
    seed: r.seed,
    include: r.include,
    exclude: r.exclude,
    ...(r.sort === undefined ? {} : { sort: r.sort }),
    n_jobs: opts.nJobs,
    tags: { "caretflow.job_id": opts.jobId, "caretflow.dataset": `${d.dataset}@v${d.version}` },
  };
}

export function buildPredictSpec(opts: {
  jobId: string;
  trackingUri: string;
  modelUri: string;
  modelSha256: string | null;
  inputPath: string;
  outputPath: string;
}): PredictSpec {
  return {
    v: PROTOCOL_VERSION,
    kind: "predict",
    job_id: opts.jobId,
    tracking_uri: opts.trackingUri,
    model_uri: opts.modelUri,
    ...(opts.modelSha256 ? { model_sha256: opts.modelSha256 } : {}),
    input_path: opts.inputPath,
    output_path: opts.outputPath,
  };
}
