import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  type BatchPredictRequest,
  type EngineEvent,
  type ErrorInfo,
  type Job,
  type JobEvent,
  type JobSpec,
  notFound,
  type TrainRequest,
  userError,
} from "@caretflow/contracts";
import {
  applyEngineEvent,
  buildPredictSpec,
  buildTrainSpec,
  EMPTY_PROGRESS,
  type ExecutionOutcome,
  isTerminal,
  type JobProgressView,
  type LocalExecutor,
  nextStatus,
  validateTrainRequest,
} from "@caretflow/orchestrator";
import type { DatasetsPort, Logger, TrackingPort } from "../ports.ts";
import type { JobEventHub, JobEventListener } from "./job.hub.ts";
import type { JobEventBody, JobRepository, JobUpdate } from "./job.repository.ts";

export interface JobServiceOptions {
  repo: JobRepository;
  hub: JobEventHub;
  executor: LocalExecutor;
  datasets: DatasetsPort;
  tracking: TrackingPort;
  /** Folder for job logs (<home>/jobs). */
  jobsDir: string;
  /** Folder for engine outputs waiting to be imported (<home>/tmp). */
  tmpDir: string;
  /** Estimator threads per training job. */
  nJobs: number;
  log: Logger;
  now?: () => Date;
}

/**
 * Creates jobs, hands them to the executor and records every step as a job
 * event. Each job's appends are chained so events commit in the order the
 * engine emitted them.
 */
export class JobService {
  readonly #o: JobServiceOptions;
  readonly #chains = new Map<string, Promise<unknown>>();
  readonly #views = new Map<string, JobProgressView>();
  readonly #inflight = new Set<Promise<void>>();

  constructor(opts: JobServiceOptions) {
    this.#o = opts;
  }

  /**
   * Marks jobs a previous process left queued or running as failed (they cannot be
   * reattached), and ends the MLflow runs they had opened as KILLED.
   */
  async failAbandoned(mlflowReady: Promise<void> = Promise.resolve()): Promise<number> {
    const ids = await this.#o.repo.idsWithStatus(["queued", "running"]);
    for (const id of ids) {
      const error: ErrorInfo = {
        name: "ServerRestarted",
        message: "caretflow stopped while this job was queued or running, so it did not finish",
        hint: "Start the job again.",
        transient: true,
      };
      await this.#appendNow(
        id,
        { type: "status", status: "failed" },
        { status: "failed", error_json: JSON.stringify(error), finished_at: this.#iso() },
      );
    }
    // The engine died with that process: end the MLflow runs it had opened, once MLflow answers.
    const runIds: Array<[string, string]> = [];
    for (const id of ids) {
      for (const e of await this.#o.repo.eventsAfter(id, 0))
        if (e.type === "engine" && e.event.type === "run") runIds.push([id, e.event.run_id]);
    }
    if (runIds.length > 0) {
      const ended = mlflowReady.then(async () => {
        for (const [id, runId] of runIds) {
          await this.#o.tracking
            .killRunIfRunning(runId)
            .catch((err: Error) => this.#o.log("warn", `job ${id}: could not end MLflow run ${runId}: ${err.message}`));
        }
      });
      this.#inflight.add(ended.catch(() => {}));
    }
    return ids.length;
  }

  async startTrain(request: TrainRequest): Promise<Job> {
    const { datasets, tracking } = this.#o;
    const version = await datasets.getVersion(request.dataset, request.version);
    const facts = await datasets.columnFacts(request.dataset, version.version, request.target);
    const valid = validateTrainRequest(
      { ...request, version: version.version },
      {
        dataset: request.dataset,
        version: version.version,
        rowCount: version.rowCount,
        columns: version.columns.map((c) => c.name),
        target: facts,
      },
    );
    const id = newJobId();
    const spec = buildTrainSpec({
      jobId: id,
      request: valid,
      dataset: {
        dataset: version.dataset,
        version: version.version,
        path: version.path,
        contentHash: version.contentHash,
        rowCount: version.rowCount,
      },
      trackingUri: tracking.trackingUri(),
      nJobs: this.#o.nJobs,
    });
    return await this.#create(id, "train", valid, spec, async () => ({}));
  }

  async startPredict(request: BatchPredictRequest): Promise<Job> {
    const { datasets, tracking } = this.#o;
    const version = await datasets.getVersion(request.dataset, request.version);
    const model = await tracking.resolveModelRef(request.model);
    const id = newJobId();
    const outputPath = join(this.#o.tmpDir, `predict-${id}.parquet`);
    const output = request.output ?? `${request.dataset}-predictions`;
    const normalized: BatchPredictRequest = { ...request, version: version.version, output };
    const spec = buildPredictSpec({
      jobId: id,
      trackingUri: tracking.trackingUri(),
      modelUri: model.uri,
      modelSha256: model.sha256,
      inputPath: version.path,
      outputPath,
    });
    // A prediction is done only when its output is a dataset version.
    const finish = async (outcome: ExecutionOutcome): Promise<JobUpdate> => {
      try {
        if (outcome.status !== "succeeded") return {};
        const imported = await datasets.importFile({
          path: outputPath,
          name: output,
          format: "parquet",
          filename: `${output}.parquet`,
          source: {
            kind: "prediction",
            parent: { dataset: request.dataset, version: version.version },
            model: `${model.name}/${model.version}`,
            jobId: id,
          },
        });
        return { output_dataset_json: JSON.stringify({ name: output, version: imported.version.version }) };
      } finally {
        await rm(outputPath, { force: true });
      }
    };
    return await this.#create(id, "predict", normalized, spec, finish);
  }

  async get(id: string): Promise<Job> {
    return (await this.#require(id)).job;
  }

  async list(limit = 200): Promise<Job[]> {
    return await this.#o.repo.list(limit);
  }

  async logPath(id: string): Promise<string> {
    return (await this.#require(id)).logPath;
  }

  /** Stored events after `after`, in order. */
  async events(id: string, after: number): Promise<JobEvent[]> {
    await this.#require(id);
    return await this.#o.repo.eventsAfter(id, after);
  }

  subscribe(id: string, listener: JobEventListener): () => void {
    return this.#o.hub.subscribe(id, listener);
  }

  /** Cancel: a queued job ends at once; a running one is signalled and ends when the engine has stopped. */
  async cancel(id: string): Promise<Job> {
    const { job } = await this.#require(id);
    if (isTerminal(job.status)) {
      throw userError("job_finished", `Job ${id} has already ${job.status}`, "Only queued or running jobs can be cancelled.", 409);
    }
    // A queued job settles at once, so the caller sees `cancelled`; a running one
    // is still `running` until the engine confirms (its MLflow run ends as KILLED).
    if (this.#o.executor.cancel(id) === "queued") await this.#chains.get(id);
    return (await this.#require(id)).job;
  }

  /** Waits for every job's bookkeeping to finish (after the executor has been closed). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }

  async #create(
    id: string,
    kind: "train" | "predict",
    request: TrainRequest | BatchPredictRequest,
    spec: JobSpec,
    finish: (o: ExecutionOutcome) => Promise<JobUpdate>,
  ): Promise<Job> {
    const logPath = join(this.#o.jobsDir, `${id}.log`);
    await mkdir(this.#o.jobsDir, { recursive: true });
    await this.#o.repo.insert({ id, kind, request, logPath, createdAt: this.#iso() });
    await this.#appendNow(id, { type: "status", status: "queued" });
    this.#views.set(id, EMPTY_PROGRESS);
    const outcome = this.#o.executor.submit({
      id,
      spec,
      logPath,
      onStart: async () => {
        await this.#enqueue(id, { type: "status", status: "running" }, { status: "running", started_at: this.#iso() });
      },
      onEvent: (e) => this.#onEngineEvent(id, e),
    });
    const settled = outcome
      .then(async (o) => {
        let extra: JobUpdate = {};
        let final = o;
        try {
          extra = await finish(o);
        } catch (err) {
          final = { status: "failed", error: toErrorInfo(err) };
        }
        await this.#settle(id, final, extra);
      })
      .catch((err) => this.#o.log("error", `job ${id}: could not record its end: ${(err as Error).stack ?? err}`))
      .finally(() => {
        this.#inflight.delete(settled);
        this.#views.delete(id);
      });
    this.#inflight.add(settled);
    this.#chains.set(id, settled);
    return (await this.#require(id)).job;
  }

  #onEngineEvent(id: string, e: EngineEvent): void {
    const view = applyEngineEvent(this.#views.get(id) ?? EMPTY_PROGRESS, e);
    this.#views.set(id, view);
    const update: JobUpdate = {
      stage: view.stage,
      progress_json: view.progress ? JSON.stringify(view.progress) : null,
      leaderboard_json: JSON.stringify(view.leaderboard),
      result_json: view.result ? JSON.stringify(view.result) : null,
      error_json: view.error ? JSON.stringify(view.error) : null,
    };
    void this.#enqueue(id, { type: "engine", event: e }, update).catch((err) =>
      this.#o.log("error", `job ${id}: could not store engine event ${e.seq}: ${(err as Error).message}`),
    );
  }

  async #settle(id: string, o: ExecutionOutcome, extra: JobUpdate): Promise<void> {
    const current = (await this.#require(id)).job.status;
    const status = o.neverStarted
      ? nextStatus(current, { type: "cancel" })
      : (nextStatus(current, { type: "finish", status: o.status }) ?? nextStatus(current, { type: "abandon" }));
    if (status === null) {
      this.#o.log("warn", `job ${id}: already ${current}, ignoring its ${o.status} outcome`);
      return;
    }
    const view = this.#views.get(id) ?? EMPTY_PROGRESS;
    const error = o.status === "failed" ? (o.error ?? view.error) : o.neverStarted ? (o.error ?? null) : null;
    await this.#enqueue(
      id,
      { type: "status", status },
      {
        ...extra,
        status,
        finished_at: this.#iso(),
        ...(o.result ? { result_json: JSON.stringify(o.result) } : {}),
        ...(o.result?.kind === "train" ? { leaderboard_json: JSON.stringify(o.result.leaderboard) } : {}),
        error_json: error ? JSON.stringify(error) : null,
      },
    );
  }

  /** Appends after every earlier append of this job. */
  #enqueue(id: string, body: JobEventBody, update: JobUpdate = {}): Promise<void> {
    const prev = this.#appendChain.get(id) ?? Promise.resolve();
    const next = prev.then(() => this.#appendNow(id, body, update));
    const tail = next.catch(() => {});
    this.#appendChain.set(id, tail);
    void tail.then(() => {
      if (this.#appendChain.get(id) === tail) this.#appendChain.delete(id);
    });
    return next;
  }

  readonly #appendChain = new Map<string, Promise<void>>();

  async #appendNow(id: string, body: JobEventBody, update: JobUpdate = {}): Promise<void> {
    const e = await this.#o.repo.append(id, body, this.#iso(), update);
    this.#o.hub.publish(id, e);
  }

  async #require(id: string) {
    const found = await this.#o.repo.get(id);
    if (!found) throw notFound("job", id, "List jobs with GET /api/jobs.");
    return found;
  }

  #iso(): string {
    return (this.#o.now?.() ?? new Date()).toISOString();
  }
}

function newJobId(): string {
  return `job_${randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

function toErrorInfo(err: unknown): ErrorInfo {
  const e = err as { code?: string; name?: string; message?: string; hint?: string; kind?: string };
  return {
    name: e.code ?? e.name ?? "Error",
    message: e.message ?? String(err),
    ...(e.hint ? { hint: e.hint } : {}),
    transient: e.kind === "operational",
  };
}
