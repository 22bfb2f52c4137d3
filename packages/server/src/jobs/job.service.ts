import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type BatchPredictRequest,
  type EngineEvent,
  type ErrorInfo,
  type Job,
  type JobEvent,
  type JobSpec,
  notFound,
  type OperateRequest,
  type TrainRequest,
  userError,
} from "@caretflow/contracts";
import {
  type AttachedJob,
  applyEngineEvent,
  EMPTY_PROGRESS,
  type ExecutionOutcome,
  type Executor,
  isTerminal,
  type JobLimits,
  type JobProgressView,
  nextStatus,
  type PostStep,
  withLimits,
} from "@caretflow/orchestrator";
import { type AuditLog, SYSTEM_ACTOR } from "../audit/audit.log.ts";
import type { ModelDigestRepository } from "../models/model-digest.repository.ts";
import type { CatalogPort, DatasetsPort, Logger, TrackingPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import type { JobEventHub, JobEventListener } from "./job.hub.ts";
import { JOB_KINDS, type JobKind, type JobKindContext, type JobKindInput, type JobKindName } from "./job.kinds.ts";
import type { JobEventBody, JobRepository, JobUpdate } from "./job.repository.ts";

export interface JobServiceOptions {
  repo: JobRepository;
  hub: JobEventHub;
  /** Where jobs run; its post-step runner (JobPostSteps) stores their outputs. */
  executor: Executor;
  datasets: DatasetsPort;
  tracking: TrackingPort;
  catalog: CatalogPort;
  /** Which project owns each dataset and model: a job belongs to the project of the dataset it reads. */
  projects: ProjectService;
  /** caretflow's record of model folder digests: written when a job logs a model, read before one is loaded. */
  digests: ModelDigestRepository;
  /** Folder for job logs (<home>/jobs). */
  jobsDir: string;
  /** Estimator threads per training job. */
  nJobs: number;
  /** Processes one comparison may spread its models over. Default 1. */
  compareWorkers?: number;
  log: Logger;
  /** Where the server's own changes (job outputs stored as datasets, queued evaluations) are recorded. */
  audit?: AuditLog;
  /** Quality gate: refuses training on a version where a blocking quality rule fails. */
  quality?: { requireTrainable(dataset: string, version: number): Promise<void> };
  /**
   * With shared storage: copies a job's log that a worker on another machine uploaded to `localPath`, when
   * this machine has none (see withJobLogsInStorage); resolves whether or not there was one.
   */
  fetchLog?: (jobId: string, localPath: string) => Promise<void>;
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
   * Jobs a previous process left queued or running. With an executor whose jobs outlive the server
   * (workers on Redis) they are followed again: their progress is rebuilt from the stored events, and
   * events the previous process had already stored are not stored twice. Otherwise they are marked
   * failed (failAbandoned).
   */
  async recoverUnfinished(mlflowReady: Promise<void> = Promise.resolve()): Promise<{ reattached: number; failed: number }> {
    const executor = this.#o.executor;
    if (!executor.reattach) return { reattached: 0, failed: await this.failAbandoned(mlflowReady) };
    const jobs: Array<{ attached: AttachedJob; project: string }> = [];
    for (const id of await this.#o.repo.idsWithStatus(["queued", "running"])) {
      const found = await this.#o.repo.get(id);
      if (!found) continue;
      // The latest attempt's engine events: its progress, and the ones not to store again.
      const events = await this.#o.repo.eventsAfter(id, 0);
      const stored = events
        .slice(events.findLastIndex((e) => e.type === "attempt") + 1)
        .flatMap((e) => (e.type === "engine" ? [e.event] : []));
      let lastSeq = stored.reduce((m, e) => Math.max(m, e.seq), -1);
      this.#views.set(id, stored.reduce(applyEngineEvent, EMPTY_PROGRESS));
      jobs.push({
        project: found.job.project,
        attached: {
          id,
          started: found.job.status === "running",
          onStart: () => this.#markRunning(id),
          onEvent: (e) => {
            if (e.seq > lastSeq) this.#onEngineEvent(id, e);
          },
          onRetry: (attempt) => {
            lastSeq = -1;
            return this.#retried(id, attempt);
          },
        },
      });
    }
    const outcomes = executor.reattach(jobs.map((j) => j.attached));
    for (const [i, j] of jobs.entries()) this.#follow(j.attached.id, j.project, outcomes[i]!);
    return { reattached: jobs.length, failed: 0 };
  }

  /**
   * Marks jobs a previous process left queued or running as failed (an executor that cannot
   * reattach them), and ends the MLflow runs they had opened as KILLED.
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

  /**
   * Creates a job of a kind of the registry (`JOB_KINDS`, job.kinds.ts): the kind checks the request and
   * builds the job's spec and post-steps; the job is then queued on the executor.
   */
  async start<K extends JobKindName>(kind: K, input: JobKindInput<K>, project: string, limits?: JobLimits): Promise<Job> {
    const id = newJobId();
    const prepared = await (JOB_KINDS[kind] as JobKind<JobKindInput<K>>).prepare(this.#kindContext, { id, project, input });
    return await this.#create(id, project, kind, prepared.request, withLimits(prepared.spec, limits), prepared.post);
  }

  /** A training job; `limits` (a pipeline step's resources) cap its memory and threads. */
  startTrain(request: TrainRequest, project: string, limits?: JobLimits): Promise<Job> {
    return this.start("train", request, project, limits);
  }

  /** An operation (tune, ensemble, blend...) on the model of a run a caretflow training job made. */
  startOperate(runId: string, request: OperateRequest, project: string, limits?: JobLimits): Promise<Job> {
    return this.start("operate", { runId, request }, project, limits);
  }

  /**
   * Charts, plots, SHAP and the report for a run's model. Queued after every successful training
   * or operation job (so the model is ready before its evaluation), and on request for any run.
   */
  startEvaluate(runId: string, project: string, after: string | null = null): Promise<Job> {
    return this.start("evaluate", { runId, after }, project);
  }

  /**
   * After a training or operation job succeeded: queue its model's evaluation. The queueing (MLflow
   * lookups of the run) does not hold up the job's end; `drain` still waits for it.
   */
  #queueEvaluation(id: string, project: string, outcome: ExecutionOutcome): void {
    const r = outcome.result;
    if (outcome.status !== "succeeded" || (r?.kind !== "train" && r?.kind !== "operate")) return;
    const queued: Promise<void> = this.startEvaluate(r.best_run_id, project, id).then(
      async (job) => {
        await this.#o.audit?.record({
          actor: SYSTEM_ACTOR,
          action: "job.create",
          target: { kind: "job", id: job.id },
          project,
          after: { kind: job.kind, request: job.request },
        });
      },
      (err: Error) => this.#o.log("warn", `job ${id}: could not queue the evaluation of run ${r.best_run_id}: ${err.message}`),
    );
    this.#inflight.add(queued);
    void queued.finally(() => this.#inflight.delete(queued));
  }

  startPredict(request: BatchPredictRequest, project: string, limits?: JobLimits): Promise<Job> {
    return this.start("predict", request, project, limits);
  }

  /** What the job kinds read: the service's neighbours and settings. */
  get #kindContext(): JobKindContext {
    const o = this.#o;
    return {
      datasets: o.datasets,
      tracking: o.tracking,
      catalog: o.catalog,
      projects: o.projects,
      digests: o.digests,
      jobs: o.repo,
      nJobs: o.nJobs,
      compareWorkers: o.compareWorkers ?? 1,
      ...(o.quality ? { quality: o.quality } : {}),
    };
  }

  /** A job; with `project`, only one of that project's (another project's job answers as missing). */
  async get(id: string, project?: string): Promise<Job> {
    return (await this.#require(id, project)).job;
  }

  async list(project: string, limit = 200): Promise<Job[]> {
    return await this.#o.repo.list(limit, project);
  }

  async logPath(id: string, project?: string): Promise<string> {
    const { job, logPath } = await this.#require(id, project);
    // A finished job's log is final: one a worker elsewhere wrote is fetched once, then read here.
    if (this.#o.fetchLog && isTerminal(job.status) && !existsSync(logPath)) await this.#o.fetchLog(id, logPath);
    return logPath;
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
  async cancel(id: string, project?: string): Promise<Job> {
    const { job } = await this.#require(id, project);
    if (isTerminal(job.status)) {
      throw userError("job_finished", `Job ${id} has already ${job.status}`, "Only queued or running jobs can be cancelled.", 409);
    }
    // A queued job settles at once, so the caller sees `cancelled`; a running one
    // is still `running` until the engine confirms (its MLflow run ends as KILLED).
    if ((await this.#o.executor.cancel(id)) === "queued") await this.#chains.get(id);
    return (await this.#require(id)).job;
  }

  /** What the metrics' job gauges read: queued and running jobs by kind (every worker's), and this executor's counts. */
  get counts(): { byKind(): Promise<Array<{ kind: string; status: string; count: number }>>; executor(): ReturnType<Executor["counts"]> } {
    return { byKind: () => this.#o.repo.countActive(), executor: () => this.#o.executor.counts() };
  }

  /** Waits for every job's bookkeeping to finish (after the executor has been closed). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }

  async #create(id: string, project: string, kind: Job["kind"], request: Job["request"], spec: JobSpec, post: PostStep[]): Promise<Job> {
    const logPath = join(this.#o.jobsDir, `${id}.log`);
    await mkdir(this.#o.jobsDir, { recursive: true });
    await this.#o.repo.insert({ id, project, kind, request, logPath, createdAt: this.#iso() });
    await this.#appendNow(id, { type: "status", status: "queued" });
    this.#views.set(id, EMPTY_PROGRESS);
    const outcome = this.#o.executor.submit({
      id,
      spec,
      logPath,
      post,
      onStart: () => this.#markRunning(id),
      onEvent: (e) => this.#onEngineEvent(id, e),
      onRetry: (attempt) => this.#retried(id, attempt),
    });
    this.#follow(id, project, outcome);
    return (await this.#require(id)).job;
  }

  /**
   * Another worker starts the job over: the MLflow runs the lost attempt left open are ended as KILLED,
   * the attempt is recorded, and the job's progress starts again.
   */
  async #retried(id: string, attempt: number): Promise<void> {
    await this.#endOpenRuns(id);
    this.#views.set(id, EMPTY_PROGRESS);
    await this.#enqueue(
      id,
      {
        type: "attempt",
        attempt,
        reason: "worker_lost",
        message: "the worker running this job stopped; another worker took the job and runs it again from the start",
      },
      { stage: null, progress_json: null, leaderboard_json: "[]" },
    );
  }

  #markRunning(id: string): Promise<void> {
    return this.#enqueue(id, { type: "status", status: "running" }, { status: "running", started_at: this.#iso() });
  }

  /** Records the job's end once the executor reports it, then queues what follows (an evaluation). */
  #follow(id: string, project: string, outcome: Promise<ExecutionOutcome>): void {
    const settled = outcome
      .then(async (o) => {
        // Still running on a worker this server no longer follows: its record stays as it is.
        if (o.detached) return;
        const first = o.outputs?.[0];
        const extra: JobUpdate = o.outputs
          ? {
              output_datasets_json: JSON.stringify(o.outputs),
              ...(first ? { output_dataset_json: JSON.stringify({ name: first.name, version: first.version }) } : {}),
            }
          : {};
        await this.#settle(id, o, extra);
        this.#queueEvaluation(id, project, o);
      })
      .catch((err) => this.#o.log("error", `job ${id}: could not record its end: ${(err as Error).stack ?? err}`))
      .finally(() => {
        this.#inflight.delete(settled);
        this.#views.delete(id);
      });
    this.#inflight.add(settled);
    this.#chains.set(id, settled);
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
    if (o.status !== "succeeded") await this.#endOpenRuns(id);
    await this.#enqueue(
      id,
      { type: "status", status },
      {
        ...extra,
        status,
        finished_at: this.#iso(),
        ...(o.result ? { result_json: JSON.stringify(o.result) } : {}),
        ...(o.result?.kind === "train" || o.result?.kind === "operate" ? { leaderboard_json: JSON.stringify(o.result.leaderboard) } : {}),
        error_json: error ? JSON.stringify(error) : null,
      },
    );
  }

  /**
   * A job that ended badly may have left MLflow runs open: the engine ends its runs itself when it
   * can, but not when its process was killed (out of memory, SIGKILL). End any still RUNNING.
   */
  async #endOpenRuns(id: string): Promise<void> {
    await this.#appendChain.get(id); // the job's run events are stored before they are read
    const runIds = (await this.#o.repo.eventsAfter(id, 0)).flatMap((e) =>
      e.type === "engine" && e.event.type === "run" ? [e.event.run_id] : [],
    );
    for (const runId of runIds) {
      const ended = await this.#o.tracking.killRunIfRunning(runId).catch((err: Error) => {
        this.#o.log("warn", `job ${id}: could not end MLflow run ${runId}: ${err.message}`);
        return false;
      });
      if (ended) this.#o.log("info", `job ${id}: ended MLflow run ${runId}, left running by the job's process`);
    }
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

  async #require(id: string, project?: string) {
    const found = await this.#o.repo.get(id);
    if (!found || (project !== undefined && found.job.project !== project)) throw notFound("job", id, "List jobs with GET /api/jobs.");
    return found;
  }

  #iso(): string {
    return (this.#o.now?.() ?? new Date()).toISOString();
  }
}

/** The artifact path every caretflow job logs its model under (runs:/RUN_ID/model). */

function newJobId(): string {
  return `job_${randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

/** A training or operation job's post-steps: record its model's digest, then store its outputs. */
