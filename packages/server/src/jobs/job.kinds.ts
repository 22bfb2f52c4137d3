import {
  type BatchPredictRequest,
  type DriftRequest,
  DriftThresholds,
  type Job,
  type JobSpec,
  type OperateRequest,
  type PredictionLogDriftRequest,
  type TrainRequest,
  userError,
} from "@caretflow/contracts";
import {
  buildDriftSpec,
  buildEvaluateSpec,
  buildOperateSpec,
  buildPredictSpec,
  buildTrainSpec,
  type DatasetVersionForSpec,
  defaultExperimentName,
  outputDatasetName,
  type PostStep,
  validateTrainRequest,
} from "@caretflow/orchestrator";
import type { ModelDigestRepository } from "../models/model-digest.repository.ts";
import type { CatalogPort, DatasetsPort, TrackingPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import type { JobRepository } from "./job.repository.ts";

/**
 * The kinds of job, in one registry: each checks its request against the project, the data and the
 * catalog, and answers what the job is made of (the request as stored, the engine spec, the post-steps
 * that run where the job runs). `JobService.start(kind, input, project)` queues any of them; a new kind
 * is a new entry here, with its spec builder in the orchestrator.
 */

/** What a kind may read. */
export interface JobKindContext {
  datasets: DatasetsPort;
  tracking: TrackingPort;
  catalog: CatalogPort;
  projects: ProjectService;
  digests: ModelDigestRepository;
  /** Stored jobs, to find the training job behind a run. */
  jobs: JobRepository;
  quality?: { requireTrainable(dataset: string, version: number): Promise<void> };
  /** Estimator threads per training job, and processes one comparison may spread over. */
  nJobs: number;
  compareWorkers: number;
}

/** A job ready to queue. */
export interface PreparedJob {
  request: Job["request"];
  spec: JobSpec;
  post: PostStep[];
}

export interface JobKind<Input> {
  prepare(ctx: JobKindContext, job: { id: string; project: string; input: Input }): Promise<PreparedJob>;
}

const MODEL_PATH = "model";

export const JOB_KINDS = {
  train: {
    async prepare(ctx, { id, project, input: request }) {
      const { datasets } = ctx;
      await ctx.projects.requireIn("dataset", request.dataset, project);
      const catalog = await ctx.catalog.get();
      const version = await datasets.getVersion(request.dataset, request.version);
      const target = "target" in request && request.task !== "time_series" ? request.target : null;
      const facts = target ? await datasets.columnFacts(request.dataset, version.version, target) : null;
      const valid = validateTrainRequest({ ...request, version: version.version }, catalog, {
        dataset: request.dataset,
        version: version.version,
        rowCount: version.rowCount,
        columns: version.columns.map((c) => ({ name: c.name, kind: c.kind })),
        ...(facts?.exists ? { target: facts } : {}),
      });
      // A failing blocking quality rule refuses the request before anything is queued.
      await ctx.quality?.requireTrainable(request.dataset, version.version);
      // One experiment holds one project's runs: the first job to use a name records its project.
      await ctx.projects.claim("experiment", valid.experiment ?? defaultExperimentName(valid.dataset), project);
      const input = specDataset(version);
      const spec = buildTrainSpec({ ...envelope(ctx, id, input), request: valid });
      return { request: valid, spec, post: modelJobSteps(project, input) };
    },
  } satisfies JobKind<TrainRequest>,

  /** An operation (tune, ensemble, blend...) on the model of a run a caretflow training job made. */
  operate: {
    async prepare(ctx, { id, project, input: { runId, request } }) {
      const source = await modelSource(ctx, runId, project);
      const task = (await ctx.catalog.get()).tasks.find((t) => t.task === source.trained.task);
      if (!task?.operations.includes(request.operation.op)) {
        throw userError(
          "operation_not_supported",
          `The ${source.trained.task} task does not support '${request.operation.op}'`,
          `Supported: ${task?.operations.join(", ") ?? "none"}.`,
          422,
        );
      }
      const modelDigests = await runDigests(ctx, [
        source.modelRun,
        ...("with" in request.operation ? request.operation.with.map((w) => w.run_id) : []),
      ]);
      const spec = buildOperateSpec({ ...envelope(ctx, id, source.input), ...source, request, runId: source.modelRun, modelDigests });
      return { request: { ...request, run: source.modelRun }, spec, post: modelJobSteps(project, source.input) };
    },
  } satisfies JobKind<{ runId: string; request: OperateRequest }>,

  /** Charts, plots, SHAP and the report for a run's model. */
  evaluate: {
    async prepare(ctx, { id, project, input: { runId, after } }) {
      const source = await modelSource(ctx, runId, project);
      const modelDigest = await ctx.digests.lookup({ runId: source.modelRun, artifactPath: MODEL_PATH });
      const spec = buildEvaluateSpec({ ...envelope(ctx, id, source.input), ...source, runId: source.modelRun, modelDigest });
      return { request: { run: source.modelRun, after }, spec, post: [] };
    },
  } satisfies JobKind<{ runId: string; after: string | null }>,

  predict: {
    async prepare(ctx, { id, project, input: request }) {
      const { datasets, tracking, projects } = ctx;
      await projects.requireIn("dataset", request.dataset, project);
      const version = await datasets.getVersion(request.dataset, request.version);
      const model = await tracking.resolveModelRef(request.model);
      await projects.requireIn("model", model.name, project);
      const output = request.output ?? outputDatasetName("predictions", request.dataset);
      const normalized: BatchPredictRequest = { ...request, version: version.version, output };
      const input = specDataset(version);
      const spec = buildPredictSpec({
        jobId: id,
        trackingUri: tracking.trackingUri(),
        modelUri: model.uri,
        modelSha256: model.sha256,
        input,
        ...(request.horizon ? { horizon: request.horizon } : {}),
      });
      // A prediction is done only when its output is a dataset version.
      const post: PostStep[] = [
        { step: "store_outputs", project, input, names: { predictions: output }, model: `${model.name}/${model.version}` },
      ];
      return { request: normalized, spec, post };
    },
  } satisfies JobKind<BatchPredictRequest>,

  /** Per-feature drift of a current dataset version against a reference one; the table is the job's result. */
  drift: {
    async prepare(ctx, { id, project, input: request }) {
      if ("deployment" in request) return await predictionLogDrift(ctx, id, project, request);
      const version = async (side: DriftRequest["reference"]) => {
        await ctx.projects.requireIn("dataset", side.dataset, project);
        return await ctx.datasets.getVersion(side.dataset, side.version);
      };
      const reference = await version(request.reference);
      const current = await version(request.current);
      const thresholds = DriftThresholds.parse(request.thresholds ?? {});
      const normalized: DriftRequest = {
        reference: { dataset: reference.dataset, version: reference.version },
        current: { dataset: current.dataset, version: current.version },
        ...(request.features ? { features: request.features } : {}),
        thresholds,
      };
      const spec = buildDriftSpec({
        jobId: id,
        reference: specDataset(reference),
        current: specDataset(current),
        ...(request.features ? { features: request.features } : {}),
        thresholds,
      });
      return { request: normalized, spec, post: [] };
    },
  } satisfies JobKind<DriftRequest | PredictionLogDriftRequest>,
} as const;

export type JobKindName = keyof typeof JOB_KINDS;
/** What `JobService.start` takes for a kind. */
export type JobKindInput<K extends JobKindName> = Parameters<(typeof JOB_KINDS)[K]["prepare"]>[1]["input"];

function envelope(ctx: JobKindContext, jobId: string, dataset: DatasetVersionForSpec) {
  return { jobId, dataset, trackingUri: ctx.tracking.trackingUri(), nJobs: ctx.nJobs, workers: ctx.compareWorkers };
}

/**
 * The recorded digests of the saved models of these runs (a parent run stands for its best run),
 * for an operation that loads them; runs without a record are left out, and the engine refuses them.
 */
async function runDigests(ctx: JobKindContext, runIds: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const runId of new Set(runIds)) {
    const run = await ctx.tracking.getRun(runId);
    const modelRun = run.tags["caretflow.role"] === "parent" ? run.bestRunId : runId;
    if (!modelRun) continue;
    const digest = await ctx.digests.lookup({ runId: modelRun, artifactPath: MODEL_PATH });
    if (digest) out[modelRun] = digest;
  }
  return out;
}

/** The training request, dataset version and runs behind a run caretflow made (a run of the project's). */
async function modelSource(ctx: JobKindContext, runId: string, project: string) {
  const run = await ctx.tracking.getRun(runId);
  const jobOf = async (tags: Record<string, string>) => (tags["caretflow.job_id"] ? await ctx.jobs.get(tags["caretflow.job_id"]) : null);
  let found = await jobOf(run.tags);
  // An operation run carries its operation job's id; its parent run carries the training job's.
  if (found?.job.kind !== "train" && run.parentRunId) found = await jobOf((await ctx.tracking.getRun(run.parentRunId)).tags);
  const trained = found?.job.kind === "train" ? (found.job.request as TrainRequest) : null;
  if (!trained) {
    throw userError(
      "run_not_from_training",
      `Run ${runId} was not made by a caretflow training job, so its setup cannot be rebuilt`,
      "Pick a run from a caretflow training job (its runs list it under the job's experiment).",
      422,
    );
  }
  const role = run.tags["caretflow.role"];
  const modelRun = role === "parent" ? run.bestRunId : runId;
  const parentRunId = role === "parent" ? runId : run.parentRunId;
  if (!modelRun || !parentRunId) {
    throw userError("run_has_no_model", `Run ${runId} holds no model`, "Pick a model's run (a leaderboard row or the final run).", 422);
  }
  // A run belongs to the project of the dataset it was trained on.
  await ctx.projects.requireIn("dataset", trained.dataset, project);
  const version = await ctx.datasets.getVersion(trained.dataset, trained.version);
  return { trained, source: trained, modelRun, parentRunId, experimentName: run.experimentName, input: specDataset(version) };
}

/** Drift of a deployment's logged rows (the window's log files) against the served version's training data. */
async function predictionLogDrift(
  ctx: JobKindContext,
  id: string,
  project: string,
  request: PredictionLogDriftRequest,
): Promise<PreparedJob> {
  await ctx.projects.requireIn("dataset", request.reference.dataset, project);
  const reference = await ctx.datasets.getVersion(request.reference.dataset, request.reference.version);
  const spec = buildDriftSpec({
    jobId: id,
    reference: specDataset(reference),
    // Only the served (not shadow) answers of the version, in the window.
    current: { predictionLog: request.files, from: request.window.from, to: request.window.to, version: request.version },
    // The training labels stand for the predictions the model would have made on its training data.
    ...(request.target ? { referenceTarget: request.target } : {}),
    thresholds: request.thresholds,
  });
  return { request, spec, post: [] };
}

function modelJobSteps(project: string, input: DatasetVersionForSpec): PostStep[] {
  return [{ step: "record_model" }, { step: "store_outputs", project, input }];
}

function specDataset(v: { dataset: string; version: number; contentHash: string; rowCount: number }): DatasetVersionForSpec {
  return { dataset: v.dataset, version: v.version, contentHash: v.contentHash, rowCount: v.rowCount };
}
