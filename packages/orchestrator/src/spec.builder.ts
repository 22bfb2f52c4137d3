import {
  type DatasetRef,
  type DriftSpec,
  type DriftThresholds,
  type EvaluateSpec,
  type JobSpec,
  type OperateRequest,
  type OperateSpec,
  PROTOCOL_VERSION,
  type PredictSpec,
  type TrainFields,
  type TrainRequest,
  type TrainSpec,
} from "@caretflow/contracts";

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
  contentHash: string;
  rowCount: number;
}

export function datasetRef(d: DatasetVersionForSpec): DatasetRef {
  return { name: d.dataset, version: d.version, content_hash: d.contentHash, rows: d.rowCount };
}

/** The task fields of a request: everything but the request envelope (dataset, version, experiment). */
export function trainFields(request: TrainRequest): TrainFields {
  const { dataset: _d, version: _v, experiment: _e, seed: _s, use_gpu: _g, ...fields } = request;
  return fields as TrainFields;
}

interface SpecEnvelope {
  jobId: string;
  dataset: DatasetVersionForSpec;
  trackingUri: string;
  nJobs: number;
  /** Processes one comparison may spread its models over. */
  workers: number;
}

/** The engine's TrainSpec for a validated request. */
export function buildTrainSpec(opts: SpecEnvelope & { request: TrainRequest }): TrainSpec {
  const { request: r, dataset: d } = opts;
  return {
    ...trainFields(r),
    v: PROTOCOL_VERSION,
    kind: "train",
    job_id: opts.jobId,
    tracking_uri: opts.trackingUri,
    experiment_name: r.experiment ?? defaultExperimentName(r.dataset),
    dataset: datasetRef(d),
    seed: r.seed,
    use_gpu: r.use_gpu,
    n_jobs: opts.nJobs,
    workers: opts.workers,
    tags: { "caretflow.job_id": opts.jobId, "caretflow.dataset": `${d.dataset}@v${d.version}` },
  } as TrainSpec;
}

/** The engine's OperateSpec: the source job's request rebuilds the same setup; the operation runs on the source run's model. */
export function buildOperateSpec(
  opts: SpecEnvelope & {
    source: TrainRequest;
    request: OperateRequest;
    runId: string;
    parentRunId: string;
    experimentName: string;
    /** run id -> the digest caretflow recorded for that run's saved model (never from MLflow tags). */
    modelDigests?: Record<string, string>;
  },
): OperateSpec {
  const { source, dataset: d } = opts;
  return {
    v: PROTOCOL_VERSION,
    kind: "operate",
    job_id: opts.jobId,
    tracking_uri: opts.trackingUri,
    experiment_name: opts.experimentName,
    dataset: datasetRef(d),
    seed: source.seed,
    use_gpu: opts.request.use_gpu,
    n_jobs: opts.nJobs,
    workers: opts.workers,
    tags: { "caretflow.job_id": opts.jobId, "caretflow.dataset": `${d.dataset}@v${d.version}` },
    train: trainFields(source),
    source: { run_id: opts.runId, parent_run_id: opts.parentRunId },
    operation: opts.request.operation,
    model_digests: opts.modelDigests ?? {},
  };
}

/** The engine's EvaluateSpec: the training's task fields rebuild its setup; the run holds the model. */
export function buildEvaluateSpec(
  opts: SpecEnvelope & {
    source: TrainRequest;
    runId: string;
    parentRunId: string;
    experimentName: string;
    /** The digest caretflow recorded for the run's model; null when it has none (loading it is then refused). */
    modelDigest?: string | null;
  },
): EvaluateSpec {
  const { source, dataset: d } = opts;
  return {
    v: PROTOCOL_VERSION,
    kind: "evaluate",
    job_id: opts.jobId,
    tracking_uri: opts.trackingUri,
    experiment_name: opts.experimentName,
    dataset: datasetRef(d),
    seed: source.seed,
    use_gpu: source.use_gpu,
    n_jobs: opts.nJobs,
    workers: 1,
    tags: { "caretflow.job_id": opts.jobId, "caretflow.dataset": `${d.dataset}@v${d.version}` },
    train: trainFields(source),
    run_id: opts.runId,
    parent_run_id: opts.parentRunId,
    ...(opts.modelDigest ? { model_digest: opts.modelDigest } : {}),
  };
}

export function buildPredictSpec(opts: {
  jobId: string;
  trackingUri: string;
  modelUri: string;
  /** The model folder's digest from caretflow's record; null when none is recorded (the engine then refuses). */
  modelSha256: string | null;
  input: DatasetVersionForSpec;
  horizon?: number;
}): PredictSpec {
  return {
    v: PROTOCOL_VERSION,
    kind: "predict",
    job_id: opts.jobId,
    tracking_uri: opts.trackingUri,
    model_uri: opts.modelUri,
    ...(opts.modelSha256 ? { model_sha256: opts.modelSha256 } : {}),
    input: datasetRef(opts.input),
    ...(opts.horizon ? { horizon: opts.horizon } : {}),
  };
}

/** The engine's DriftSpec: a current dataset version against a reference one (the training data). */
export function buildDriftSpec(opts: {
  jobId: string;
  reference: DatasetVersionForSpec;
  /** A dataset version, or prediction-log files named relative to the log's folder. */
  current: DatasetVersionForSpec | { predictionLog: string[]; from?: string; to?: string; version?: number };
  features?: string[];
  /** The reference's target column, compared with the current sample's prediction_label. */
  referenceTarget?: string;
  thresholds: DriftThresholds;
}): DriftSpec {
  return {
    v: PROTOCOL_VERSION,
    kind: "drift",
    job_id: opts.jobId,
    reference: datasetRef(opts.reference),
    current: "predictionLog" in opts.current ? predictionLogRef(opts.current) : datasetRef(opts.current),
    ...(opts.features ? { features: opts.features } : {}),
    ...(opts.referenceTarget ? { reference_target: opts.referenceTarget } : {}),
    prediction_columns: ["prediction_label", "prediction_score"],
    thresholds: opts.thresholds,
    bins: 10,
  };
}

function predictionLogRef(c: { predictionLog: string[]; from?: string; to?: string; version?: number }) {
  return {
    prediction_log: c.predictionLog,
    ...(c.from ? { from: c.from } : {}),
    ...(c.to ? { to: c.to } : {}),
    ...(c.version !== undefined ? { version: c.version } : {}),
  };
}

/** What a pipeline step's `resources` ask of the job it runs as. */
export interface JobLimits {
  /** The most memory the job may use, MB (the worker's own limit still applies when lower). */
  memoryMb?: number | null;
  /** CPU cores: the estimators' threads, shared among a comparison's processes. */
  cores?: number | null;
}

/** The spec with the limits applied: `memory_mb`, and `n_jobs` from `cores` for the kinds that train. */
export function withLimits<S extends JobSpec>(spec: S, limits: JobLimits | undefined): S {
  if (!limits) return spec;
  const out: Record<string, unknown> = { ...spec };
  if (limits.memoryMb) out.memory_mb = limits.memoryMb;
  if (limits.cores && "n_jobs" in spec) {
    const workers = "workers" in spec && typeof spec.workers === "number" ? spec.workers : 1;
    out.n_jobs = Math.max(1, Math.floor(limits.cores / workers));
  }
  return out as S;
}
