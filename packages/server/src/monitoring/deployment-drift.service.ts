import { randomUUID } from "node:crypto";
import { basename, dirname, relative } from "node:path";
import {
  CaretflowError,
  type DeploymentDriftRun,
  DriftResult,
  DriftThresholds,
  durationSeconds,
  isTerminalStatus,
  type Job,
  type PredictionLogDriftRequest,
  userError,
} from "@caretflow/contracts";
import type { Kysely, Selectable } from "kysely";
import type { AlertMetricSource } from "../alerts/alert.service.ts";
import type { ServerTables } from "../db/server.tables.ts";
import type { DeploymentRepository, StoredDeployment } from "../deployments/deployment.repository.ts";
import type { Logger, TrackingPort } from "../ports.ts";
import type { PredictionLogStats } from "./prediction-log.stats.ts";

type RunRow = Selectable<ServerTables["deployment_drift_runs"]>;

/** What drift checks need of jobs: starting a drift job, reading one. */
export interface DriftJobs {
  start(kind: "drift", input: PredictionLogDriftRequest, project: string): Promise<Job>;
  get(id: string): Promise<Job>;
}

const DAY_MS = 86_400_000;
/** The run tag training writes with the target column's name. */
const TARGET_TAG = "caretflow.target";
const HOUR_MS = 3_600_000;
const PART = /^part-(\d{2})-/;

/**
 * Drift checks of deployments: a drift job comparing the rows the served version answered in a window
 * (its prediction-log files) with the version's training dataset version (the dataset its MLflow run
 * records), on demand or every `driftEvery`. Each check is a row whose figures are copied from its job
 * once the job ends, so the history reads as a series over time.
 * @example const drift = new DeploymentDrift({ db, jobs, tracking, deployments, stats, logRoot, log }); drift.start();
 */
export class DeploymentDrift {
  readonly #db: Kysely<ServerTables>;
  readonly #jobs: DriftJobs;
  readonly #tracking: () => TrackingPort;
  readonly #deployments: DeploymentRepository;
  readonly #stats: PredictionLogStats;
  readonly #logRoot: string;
  readonly #log: Logger;
  /** Deployments whose scheduled check found nothing logged; told once until one of their checks starts. */
  readonly #idle = new Set<string>();
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> | null = null;

  constructor(deps: {
    db: Kysely<ServerTables>;
    jobs: DriftJobs;
    tracking: () => TrackingPort;
    deployments: DeploymentRepository;
    stats: PredictionLogStats;
    /** <home>/prediction-log: the files a job reads are named relative to it. */
    logRoot: string;
    log: Logger;
    now?: () => Date;
  }) {
    this.#db = deps.db;
    this.#jobs = deps.jobs;
    this.#tracking = deps.tracking;
    this.#deployments = deps.deployments;
    this.#stats = deps.stats;
    this.#logRoot = deps.logRoot;
    this.#log = deps.log;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Starts a drift check of the deployment's log over [from, to) (default: the last 24 hours). */
  async check(
    d: StoredDeployment,
    opts: { from?: Date; to?: Date; thresholds?: Partial<DriftThresholds>; trigger: "manual" | "schedule" },
  ): Promise<DeploymentDriftRun> {
    const to = opts.to ?? this.#now();
    const from = opts.from ?? new Date(to.getTime() - DAY_MS);
    if (from >= to) throw userError("bad_window", "`from` must be before `to`", "Give a window that ends after it starts.", 400);
    const version = await this.#servedVersion(d);
    const { target, ...reference } = await this.#trainingData(d.model, version);
    const files = (await this.#stats.files(d.name, from, to)).filter((f) => overlaps(f, from, to)).map((f) => relative(this.#logRoot, f));
    if (files.length === 0) {
      throw userError(
        "no_predictions_logged",
        `Deployment '${d.name}' logged no predictions between ${from.toISOString()} and ${to.toISOString()}`,
        "Send predictions through the deployment first, or pick a window in which it served.",
        409,
      );
    }
    const window = { from: from.toISOString(), to: to.toISOString() };
    const request: PredictionLogDriftRequest = {
      deployment: d.name,
      model: d.model,
      version,
      window,
      reference,
      target,
      files,
      thresholds: DriftThresholds.parse(opts.thresholds ?? {}),
    };
    const job = await this.#jobs.start("drift", request, d.project);
    const id = randomUUID();
    await this.#db
      .insertInto("deployment_drift_runs")
      .values({
        id,
        project: d.project,
        deployment: d.name,
        trigger: opts.trigger,
        at: this.#now().toISOString(),
        window_from: window.from,
        window_to: window.to,
        model: d.model,
        version,
        reference_dataset: reference.dataset,
        reference_version: reference.version,
        job_id: job.id,
        status: job.status,
        error: null,
        max_psi: null,
        result_json: null,
      })
      .execute();
    return toRun(await this.#refresh(await this.#row(id)));
  }

  /** The deployment's checks, newest first; those whose jobs ended since take their figures now. */
  async history(deployment: string, limit: number): Promise<DeploymentDriftRun[]> {
    const rows = await this.#db
      .selectFrom("deployment_drift_runs")
      .selectAll()
      .where("deployment", "=", deployment)
      .orderBy("at", "desc")
      .limit(limit)
      .execute();
    const out: DeploymentDriftRun[] = [];
    for (const r of rows) out.push(toRun(await this.#refresh(r)));
    return out;
  }

  /**
   * The alert metrics of the newest finished check whose window ended in the rule's window:
   * `drift_max_psi` (the largest feature PSI) and `prediction_psi` (the PSI of the answers' labels
   * against the training labels; no data when the check compared none).
   */
  alertSources(): AlertMetricSource[] {
    const newest = async (q: { deployment: string; project: string; from: Date; to: Date }) => {
      await this.history(q.deployment, 5);
      return await this.#db
        .selectFrom("deployment_drift_runs")
        .select(["max_psi", "result_json"])
        .where("deployment", "=", q.deployment)
        .where("project", "=", q.project)
        .where("status", "=", "succeeded")
        .where("window_to", ">=", q.from.toISOString())
        .where("window_to", "<=", q.to.toISOString())
        .orderBy("window_to", "desc")
        .executeTakeFirst();
    };
    return [
      {
        info: { name: "drift_max_psi", description: "largest feature PSI of the newest finished drift check", unit: "psi" },
        value: async (q) => (await newest(q))?.max_psi ?? null,
      },
      {
        info: {
          name: "prediction_psi",
          description: "PSI of the answers' labels against the training labels, at the newest finished drift check",
          unit: "psi",
        },
        value: async (q) => {
          const json = (await newest(q))?.result_json;
          const result = json ? DriftResult.parse(JSON.parse(json)) : null;
          return result?.features.find((f) => f.role === "prediction" && f.column === "prediction_label")?.psi ?? null;
        },
      },
    ];
  }

  /** Checks every `intervalMs` (default one minute) which deployments' drift schedules are due, and starts their checks. */
  start(intervalMs = 60_000): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.runDue(), intervalMs);
    this.#timer.unref();
  }

  /** Starts the checks that are due: a deployment with `driftEvery` whose newest scheduled check is older than that. */
  runDue(): Promise<void> {
    this.#checking ??= (async () => {
      for (const d of await this.#deployments.list()) {
        if (!d.driftEvery || d.status !== "active") continue;
        const every = durationSeconds(d.driftEvery) * 1000;
        const last = await this.#db
          .selectFrom("deployment_drift_runs")
          .select("at")
          .where("deployment", "=", d.name)
          .where("trigger", "=", "schedule")
          .orderBy("at", "desc")
          .executeTakeFirst();
        const now = this.#now();
        if (last && now.getTime() - new Date(last.at).getTime() < every) continue;
        // The window is the schedule's period, up to now: consecutive checks cover the log once.
        const from = new Date(now.getTime() - every);
        await this.check(d, { from, to: now, trigger: "schedule" }).then(
          () => this.#idle.delete(d.name),
          (err: Error) => {
            // A deployment that served nothing is looked at again every minute: say so once, not each time.
            const idle = err instanceof CaretflowError && err.code === "no_predictions_logged";
            if (idle && this.#idle.has(d.name)) return;
            if (idle) this.#idle.add(d.name);
            this.#log(
              idle ? "info" : "warn",
              `scheduled drift check of ${d.name}: ${err.message}${idle ? " (checked again once it serves)" : ""}`,
            );
          },
        );
      }
    })()
      .catch((err: Error) => this.#log("warn", `drift schedule: ${err.message}`))
      .finally(() => {
        this.#checking = null;
      });
    return this.#checking;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#checking;
  }

  // ------------------------------------------------------------ internals

  async #row(id: string): Promise<RunRow> {
    return await this.#db.selectFrom("deployment_drift_runs").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  }

  /** A row whose job was still going: its job's state now, and its figures once the job succeeded. */
  async #refresh(r: RunRow): Promise<RunRow> {
    if (isTerminalStatus(r.status as Job["status"])) return r;
    const job = await this.#jobs.get(r.job_id).catch(() => null);
    if (!job || job.status === r.status) return r;
    const parsed = job.status === "succeeded" ? DriftResult.safeParse(job.result) : null;
    const result = parsed?.success ? parsed.data : null;
    const psis = (result?.features ?? []).filter((f) => f.role === "feature" && f.psi !== null).map((f) => f.psi as number);
    const change = {
      status: job.status,
      error: job.error ? `${job.error.message}${job.error.hint ? ` ${job.error.hint}` : ""}` : null,
      max_psi: psis.length ? Math.max(...psis) : null,
      result_json: result ? JSON.stringify(result) : null,
    };
    await this.#db.updateTable("deployment_drift_runs").set(change).where("id", "=", r.id).execute();
    return { ...r, ...change };
  }

  /** The version the deployment's target points at now. */
  async #servedVersion(d: StoredDeployment): Promise<number> {
    if ("version" in d.target) return d.target.version;
    const version = (await this.#tracking().getModel(d.model)).aliases[d.target.alias];
    if (!version) {
      throw userError(
        "alias_unset",
        `Model '${d.model}' has no alias '${d.target.alias}', so deployment '${d.name}' serves no version to check`,
        "Point the alias at a version (caretflow models promote), then check again.",
        409,
      );
    }
    return version;
  }

  /** The dataset version the model version was trained on and its target column, as its MLflow run (or that run's parent) records them. */
  async #trainingData(model: string, version: number): Promise<{ dataset: string; version: number; target: string | null }> {
    const tracking = this.#tracking();
    const resolved = await tracking.resolveModelRef(`${model}/${version}`);
    let run = resolved.runId ? await tracking.getRun(resolved.runId) : null;
    if (run && !run.dataset && run.parentRunId) run = await tracking.getRun(run.parentRunId);
    const m = /^(.+)@v(\d+)$/.exec(run?.dataset ?? "");
    if (!m) {
      throw userError(
        "no_training_data",
        `Version ${version} of model '${model}' records no caretflow dataset version it was trained on, so there is nothing to compare its inputs with`,
        "Serve a version trained by a caretflow training job, or compare datasets with POST /api/drift.",
        422,
      );
    }
    return { dataset: m[1]!, version: Number(m[2]), target: run?.tags[TARGET_TAG] ?? run?.params.target ?? null };
  }
}

/** Whether an hourly log file (`<day>/part-<HH>-<writer>.jsonl`) may hold rows of [from, to). */
function overlaps(file: string, from: Date, to: Date): boolean {
  const hour = PART.exec(basename(file))?.[1];
  if (!hour) return true;
  const start = Date.parse(`${basename(dirname(file))}T${hour}:00:00Z`);
  return start < to.getTime() && start + HOUR_MS > from.getTime();
}

function toRun(r: RunRow): DeploymentDriftRun {
  const result = r.result_json ? DriftResult.parse(JSON.parse(r.result_json)) : null;
  return {
    id: r.id,
    deployment: r.deployment,
    trigger: r.trigger as DeploymentDriftRun["trigger"],
    at: r.at,
    window: { from: r.window_from, to: r.window_to },
    model: r.model,
    version: Number(r.version),
    reference: { dataset: r.reference_dataset, version: Number(r.reference_version) },
    jobId: r.job_id,
    status: r.status as DeploymentDriftRun["status"],
    error: r.error,
    currentRows: result?.current_rows ?? null,
    referenceRows: result?.reference_rows ?? null,
    maxPsi: r.max_psi === null ? null : Number(r.max_psi),
    drifted: result?.drifted ?? [],
    predictionDrift: result?.prediction_drift ?? null,
    thresholds: result?.thresholds ?? null,
    features: result?.features ?? [],
  };
}
