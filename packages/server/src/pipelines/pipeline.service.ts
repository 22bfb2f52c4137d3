import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CaretflowError,
  notFound,
  type Pipeline,
  type PipelineApplyRequest,
  type PipelineApplyResult,
  type PipelineRevision,
  type PipelineRun,
  type PipelineRunRequest,
  type PipelineRunSummary,
  type PipelineRunsQuery,
  type PipelineRunTrigger,
  type PipelineSpec,
  pendingStep,
  userError,
  validatePipeline,
} from "@caretflow/contracts";
import {
  failureInfo,
  isServerStopping,
  nextDue,
  runParams,
  runPipeline,
  SERVER_STOPPING,
  StepFailure,
  type StepHandlers,
} from "@caretflow/orchestrator";
import { isUniqueViolation } from "../db/database.ts";
import type { Logger } from "../ports.ts";
import type { PipelineRepository } from "./pipeline.repository.ts";

type PipelineRow = NonNullable<Awaited<ReturnType<PipelineRepository["pipeline"]>>>;

export interface PipelineServiceOptions {
  repo: PipelineRepository;
  handlers: StepHandlers;
  /** <home>/pipelines: each run's step logs and attempts' work folders. */
  dir: string;
  log: Logger;
  /** Steps of one run at the same time. */
  maxParallel?: number;
  now?: () => Date;
}

/** Called when a run ends (pipeline_finished triggers). */
export type RunFinishedListener = (run: PipelineRun) => void;

/** The reason runs are stopped with when the server stops: nothing is recorded, the next server continues them. */

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Pipelines: stored revisions of YAML files, and their runs. A run is queued, then runs (runtime in the
 * orchestrator, steps through the registered handlers), recording every step change in the database so
 * the UI and CLI follow it live; a server that stops leaves its runs as they are and the next one
 * continues them, following the jobs their steps started.
 */
export class PipelineService {
  readonly #o: PipelineServiceOptions;
  readonly #repo: PipelineRepository;
  /** Runs executing in this process: their cancel switch and their end. */
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  readonly #finished = new Set<RunFinishedListener>();
  readonly #changed = new Set<() => void>();
  #closing = false;

  constructor(opts: PipelineServiceOptions) {
    this.#o = opts;
    this.#repo = opts.repo;
  }

  /** The database access the scheduler shares. */
  get repository(): PipelineRepository {
    return this.#repo;
  }

  #iso(): string {
    return (this.#o.now?.() ?? new Date()).toISOString();
  }

  // ------------------------------------------------------------ pipelines

  async apply(project: string, req: PipelineApplyRequest, by: string | null): Promise<PipelineApplyResult> {
    const v = validatePipeline(req.yaml);
    if (!v.ok) {
      const first = v.errors[0]!;
      throw userError(
        "invalid_pipeline",
        `the pipeline file has ${v.errors.length} error${v.errors.length === 1 ? "" : "s"}; the first: ${first.line ? `line ${first.line}: ` : ""}${first.message}`,
        "check it with `caretflow pipelines validate FILE`, which lists every error with its line",
        400,
        { errors: v.errors },
      );
    }
    const current = await this.#repo.pipeline(project, v.spec.name);
    const rev = current ? await this.#repo.revision(project, v.spec.name, current.revision) : null;
    // A file the request does not send is kept from the current revision: the web builder edits the YAML
    // alone, and saving from it must not drop the code its custom steps run.
    const kept = rev ? (JSON.parse(rev.files_json) as Record<string, string>) : {};
    const files = customFiles(v.spec, req.files ?? {}, kept);
    if (rev && rev.yaml === req.yaml && rev.files_json === JSON.stringify(files))
      return { pipeline: await this.get(project, v.spec.name), change: "unchanged" };
    const revision = (await this.#repo.lastRevision(project, v.spec.name)) + 1;
    try {
      await this.#repo.putRevision({ project, name: v.spec.name, revision, yaml: req.yaml, files, by, at: this.#iso() });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Another apply of the same pipeline took this revision number first; nothing of this one was stored.
      throw userError(
        "pipeline_changed",
        `pipeline ${v.spec.name} got revision ${revision} from another apply at the same time`,
        "look at the pipeline (caretflow pipelines list) and apply your file again if it is still needed",
        409,
      );
    }
    this.#notifyChanged();
    return { pipeline: await this.get(project, v.spec.name), change: current ? "updated" : "created" };
  }

  async list(project: string): Promise<Pipeline[]> {
    const [rows, lastRuns] = await Promise.all([this.#repo.current(project), this.#repo.lastRuns(project)]);
    return rows.map((row) => this.#view(row, row.yaml, lastRuns.get(row.name) ?? null));
  }

  async get(project: string, name: string): Promise<Pipeline> {
    const row = await this.#repo.pipeline(project, name);
    if (!row)
      throw notFound(
        "pipeline",
        name,
        "list the project's pipelines with `caretflow pipelines list`; store one with `caretflow pipelines apply FILE`",
      );
    const rev = await this.#repo.revision(project, name, row.revision);
    const [lastRun] = await this.#repo.runs({ project, pipeline: name, limit: 1 });
    return this.#view(row, rev.yaml, lastRun ?? null);
  }

  #view(row: PipelineRow, yaml: string, lastRun: PipelineRunSummary | null): Pipeline {
    const { project, name } = row;
    const spec = specOf(yaml);
    const schedule = spec?.schedule;
    return {
      name,
      project,
      description: spec?.description ?? null,
      revision: row.revision,
      yaml,
      steps: spec?.steps.length ?? 0,
      schedule: schedule
        ? {
            cron: schedule.cron,
            timezone: schedule.timezone ?? "UTC",
            next: nextDue(schedule.cron, schedule.timezone ?? "UTC", this.#o.now?.() ?? new Date())?.toISOString() ?? null,
          }
        : null,
      updatedBy: row.updated_by,
      updatedAt: row.updated_at,
      lastRun,
    };
  }

  async revision(project: string, name: string, revision: number): Promise<PipelineRevision> {
    const row = await this.#repo.findRevision(project, name, revision);
    if (!row)
      throw notFound("pipeline revision", `${name}/${revision}`, "a run's pipeline and revision are in `caretflow pipelines show RUN_ID`");
    return { name, revision, yaml: row.yaml, createdBy: row.created_by, createdAt: row.created_at };
  }

  /** The spec of every stored pipeline (for schedules and triggers). */
  async specs(): Promise<Array<{ project: string; name: string; spec: PipelineSpec; since: string }>> {
    const out: Array<{ project: string; name: string; spec: PipelineSpec; since: string }> = [];
    for (const row of await this.#repo.current()) {
      const spec = specOf(row.yaml);
      if (spec) out.push({ project: row.project, name: row.name, spec, since: row.updated_at });
    }
    return out;
  }

  async delete(project: string, name: string): Promise<Pipeline> {
    const p = await this.get(project, name);
    if ((await this.#repo.unfinished(project, name)).length > 0) {
      throw userError(
        "pipeline_busy",
        `pipeline ${name} has a run under way`,
        "cancel it first (caretflow pipelines cancel RUN_ID), then delete",
        409,
      );
    }
    await this.#repo.deletePipeline(project, name);
    this.#notifyChanged();
    return p;
  }

  // ------------------------------------------------------------ runs

  async startRun(
    project: string,
    name: string,
    req: PipelineRunRequest,
    by: string | null,
    trigger: PipelineRunTrigger = { kind: "manual", detail: null },
    opts: { after?: string[] } = {},
  ): Promise<PipelineRun> {
    const row = await this.#repo.pipeline(project, name);
    if (!row) throw notFound("pipeline", name, "store it first with `caretflow pipelines apply FILE`");
    const spec = specOf((await this.#repo.revision(project, name, row.revision)).yaml)!;
    const params = asUserError(() => runParams(spec, req.params ?? {}));
    const run: PipelineRun = {
      id: randomUUID(),
      project,
      pipeline: name,
      revision: row.revision,
      status: "queued",
      params,
      trigger,
      force: req.force ?? false,
      resumedFrom: null,
      // A run nobody started (a schedule, a trigger) acts as the person who applied the pipeline's revision:
      // its steps get that person's rights, never more.
      createdBy: by ?? (trigger.kind === "manual" ? null : row.updated_by),
      createdAt: this.#iso(),
      startedAt: null,
      finishedAt: null,
      error: null,
      steps: spec.steps.map(pendingStep),
    };
    await this.#repo.insertRun(run, opts.after ?? []);
    void this.#startQueued();
    return run;
  }

  /** A new run of a failed or cancelled run's revision and params that reuses its succeeded steps. */
  async resume(id: string, project: string, by: string | null): Promise<PipelineRun> {
    const old = await this.run(id, project);
    if (old.status !== "failed" && old.status !== "cancelled") {
      throw userError(
        "run_not_resumable",
        `run ${id} ${old.status === "succeeded" ? "succeeded" : "has not ended"}; only a failed or cancelled run can be resumed`,
        old.status === "succeeded" ? "start a new run instead" : "wait for it to end, or cancel it",
        409,
      );
    }
    const run: PipelineRun = {
      ...old,
      id: randomUUID(),
      status: "queued",
      trigger: { kind: "resume", detail: `resumes run ${id}` },
      force: false,
      resumedFrom: id,
      createdBy: by,
      createdAt: this.#iso(),
      startedAt: null,
      finishedAt: null,
      error: null,
      steps: old.steps.map((s) => (s.status === "succeeded" ? { ...s, attempts: [], reusedFrom: s.reusedFrom ?? id } : pendingStep(s))),
    };
    await this.#repo.insertRun(run, []);
    void this.#startQueued();
    return run;
  }

  async run(id: string, project: string): Promise<PipelineRun> {
    const run = await this.#repo.run(id);
    if (!run || run.project !== project) throw notFound("pipeline run", id, "list runs with `caretflow pipelines runs NAME`");
    return run;
  }

  async runs(project: string, q: PipelineRunsQuery): Promise<PipelineRunSummary[]> {
    return await this.#repo.runs({ project, ...q });
  }

  /** Ids of the pipeline's runs that have not ended. */
  async activeRuns(project: string, pipeline: string): Promise<string[]> {
    return (await this.#repo.unfinished(project, pipeline)).map((r) => r.id);
  }

  async cancel(id: string, project: string, reason = "cancelled on request"): Promise<PipelineRun> {
    const run = await this.run(id, project);
    if (TERMINAL.has(run.status)) return run;
    const active = this.#active.get(id);
    if (active) {
      active.controller.abort(new StepFailure("run_cancelled", `the run was ${reason}`));
      await active.done;
    } else {
      // Queued here (or running in a server that stopped): nothing executes it now.
      const at = this.#iso();
      for (const [i, s] of run.steps.entries()) {
        if (s.status === "pending" || s.status === "running") {
          await this.#repo.saveStep(
            id,
            i,
            {
              ...s,
              status: "cancelled",
              finishedAt: at,
              error: { name: "run_cancelled", message: `the run was ${reason}`, transient: false },
            },
            null,
          );
        }
      }
      await this.#repo.updateRun(id, {
        status: "cancelled",
        finishedAt: at,
        error: { name: "run_cancelled", message: `the run was ${reason}`, transient: false },
      });
      await this.#ended(id);
    }
    return await this.run(id, project);
  }

  async logs(id: string, project: string, step?: string): Promise<string> {
    const run = await this.run(id, project);
    const read = (s: string) => readFile(this.#logPath(id, s), "utf8").catch(() => "");
    if (step !== undefined) {
      if (!run.steps.some((s) => s.id === step)) {
        throw notFound("step", step, `run ${id}'s steps are: ${run.steps.map((s) => s.id).join(", ")}`);
      }
      return await read(step);
    }
    const parts = await Promise.all(run.steps.map(async (s) => `== ${s.id} (${s.type}): ${s.status}\n${await read(s.id)}`));
    return parts.join("\n");
  }

  /** Called after a pipeline is applied (created or changed) or deleted. */
  onPipelinesChanged(listener: () => void): () => void {
    this.#changed.add(listener);
    return () => this.#changed.delete(listener);
  }

  #notifyChanged(): void {
    for (const l of this.#changed) l();
  }

  onRunFinished(listener: RunFinishedListener): () => void {
    this.#finished.add(listener);
    return () => this.#finished.delete(listener);
  }

  /** After a start: runs a stopped server left running continue where they were; queued ones start. */
  async recover(): Promise<number> {
    const running = (await this.#repo.unfinished()).filter((r) => r.status === "running");
    for (const r of running) this.#execute(r.id);
    void this.#startQueued();
    return running.length;
  }

  /** Stops executing runs without recording anything more; they stay running for the next server to continue. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const a of this.#active.values()) a.controller.abort(new StepFailure(SERVER_STOPPING, "the server is stopping"));
    await Promise.all([...this.#active.values()].map((a) => a.done));
  }

  // ------------------------------------------------------------ execution

  #logPath(runId: string, stepId: string): string {
    return join(this.#o.dir, runId, `${stepId}.log`);
  }

  /** Starts each queued run whose `after` runs have all ended. */
  async #startQueued(): Promise<void> {
    if (this.#closing) return;
    for (const row of await this.#repo.unfinished()) {
      if (row.status !== "queued" || this.#active.has(row.id)) continue;
      const after = JSON.parse(row.after_json) as string[];
      const waiting = await Promise.all(after.map(async (a) => (await this.#repo.runRow(a))?.status));
      if (waiting.some((s) => s !== undefined && !TERMINAL.has(s))) continue;
      this.#execute(row.id);
    }
  }

  #execute(id: string): void {
    if (this.#active.has(id) || this.#closing) return;
    const controller = new AbortController();
    const done = this.#runToEnd(id, controller.signal)
      .catch((err: unknown) => this.#o.log("error", `pipeline run ${id} stopped unexpectedly: ${(err as Error).stack ?? err}`))
      .finally(() => {
        this.#active.delete(id);
        void this.#startQueued();
      });
    this.#active.set(id, { controller, done });
  }

  async #runToEnd(id: string, signal: AbortSignal): Promise<void> {
    const run = (await this.#repo.run(id))!;
    const rev = await this.#repo.revision(run.project, run.pipeline, run.revision);
    const spec = specOf(rev.yaml)!;
    const startedAt = run.startedAt ?? this.#iso();
    await this.#repo.updateRun(id, { status: "running", startedAt });
    mkdirSync(join(this.#o.dir, id), { recursive: true });
    const positions = new Map(run.steps.map((s, i) => [s.id, i]));
    const stopping = () => this.#closing && isServerStopping(signal.reason);
    this.#o.log("info", `pipeline ${run.pipeline}: run ${id} ${run.startedAt ? "continues" : "started"}`);
    let result: Awaited<ReturnType<typeof runPipeline>>;
    try {
      result = await runPipeline(
        {
          run: { id, project: run.project, pipeline: run.pipeline, startedAt, createdBy: run.createdBy },
          spec,
          params: run.params,
          force: run.force,
          steps: run.steps.filter((s) => s.status !== "pending"),
          states: await this.#repo.states(id),
        },
        {
          handlers: this.#o.handlers,
          signal,
          workRoot: join(this.#o.dir, ".work"),
          ...(this.#o.maxParallel ? { maxParallel: this.#o.maxParallel } : {}),
          store: {
            saveStep: async (step, state) => {
              if (stopping()) return;
              await this.#repo.saveStep(id, positions.get(step.id)!, step, state);
            },
            findCached: (stepId, key) => this.#repo.cached(run.project, run.pipeline, stepId, key),
            log: (stepId, line) => {
              if (stopping()) return;
              appendFileSync(this.#logPath(id, stepId), `${this.#iso()} ${line}\n`);
            },
            logPath: (stepId) => this.#logPath(id, stepId),
          },
        },
      );
    } catch (err) {
      // The run could not start at all (e.g. its params no longer fit): it fails with the reason.
      if (stopping()) return;
      const error = failureInfo(err);
      await this.#repo.updateRun(id, { status: "failed", finishedAt: this.#iso(), error });
      await this.#ended(id);
      return;
    }
    if (stopping()) return;
    await this.#repo.updateRun(id, { status: result.status, finishedAt: this.#iso(), error: result.error });
    this.#o.log("info", `pipeline ${run.pipeline}: run ${id} ${result.status}`);
    await this.#ended(id);
  }

  async #ended(id: string): Promise<void> {
    const run = await this.#repo.run(id);
    if (!run) return;
    for (const l of this.#finished) {
      try {
        l(run);
      } catch (err) {
        this.#o.log("warn", `a listener of finished pipeline runs failed: ${(err as Error).message}`);
      }
    }
  }
}

function specOf(yaml: string): PipelineSpec | null {
  const v = validatePipeline(yaml);
  return v.ok ? v.spec : null;
}

/** The code files the spec's custom steps name, from those sent; a missing one is refused. */
/** The code files the spec's custom steps name: as sent, else as the current revision has them. */
function customFiles(spec: PipelineSpec, sent: Record<string, string>, kept: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of spec.steps) {
    if (s.type !== "custom") continue;
    const file = (s.with as { file?: string }).file;
    if (file === undefined) continue;
    const text = sent[file] ?? kept[file];
    if (text === undefined) {
      throw userError(
        "missing_file",
        `step '${s.id}' runs ${file}, which was not sent with the pipeline (nor stored with its current revision)`,
        "`caretflow pipelines apply FILE` sends the files custom steps name, relative to the pipeline file; check the path",
      );
    }
    out[file] = text;
  }
  return out;
}

function asUserError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StepFailure) throw userError(err.code, err.message, err.hint);
    if (err instanceof CaretflowError) throw err;
    throw err;
  }
}
