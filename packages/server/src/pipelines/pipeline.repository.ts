import type {
  ErrorInfo,
  PipelineRun,
  PipelineRunStatus,
  PipelineRunSummary,
  PipelineRunTrigger,
  PipelineStepRun,
  StepRunStatus,
} from "@caretflow/contracts";
import type { Kysely, Selectable } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";

type RunRow = Selectable<ServerTables["pipeline_runs"]>;
type StepRow = Selectable<ServerTables["pipeline_steps"]>;

const parse = <T>(json: string | null, fallback: T): T => (json === null ? fallback : (JSON.parse(json) as T));

/** Pipelines, their revisions, runs and steps in the metadata database. */
export class PipelineRepository {
  readonly #db: Kysely<ServerTables>;

  constructor(db: Kysely<ServerTables>) {
    this.#db = db;
  }

  get db(): Kysely<ServerTables> {
    return this.#db;
  }

  async pipeline(project: string, name: string) {
    return await this.#db.selectFrom("pipelines").selectAll().where("project", "=", project).where("name", "=", name).executeTakeFirst();
  }

  async pipelines(project?: string) {
    let q = this.#db.selectFrom("pipelines").selectAll().orderBy("name");
    if (project !== undefined) q = q.where("project", "=", project);
    return await q.execute();
  }

  /** The pipelines (of a project, or all) with their current revision's YAML, by name: one query. */
  async current(project?: string) {
    let q = this.#db
      .selectFrom("pipelines as p")
      .innerJoin("pipeline_revisions as r", (j) =>
        j.onRef("r.project", "=", "p.project").onRef("r.name", "=", "p.name").onRef("r.revision", "=", "p.revision"),
      )
      .selectAll("p")
      .select("r.yaml")
      .orderBy("p.name");
    if (project !== undefined) q = q.where("p.project", "=", project);
    return await q.execute();
  }

  /** A revision that must exist (the current one, or a run's). */
  async revision(project: string, name: string, revision: number) {
    const row = await this.findRevision(project, name, revision);
    if (!row) throw new Error(`pipeline ${project}/${name} has no revision ${revision}`);
    return row;
  }

  async findRevision(project: string, name: string, revision: number) {
    return await this.#db
      .selectFrom("pipeline_revisions")
      .selectAll()
      .where("project", "=", project)
      .where("name", "=", name)
      .where("revision", "=", revision)
      .executeTakeFirst();
  }

  /** Stores a new revision and makes it current, in one transaction. */
  async putRevision(r: {
    project: string;
    name: string;
    revision: number;
    yaml: string;
    files: Record<string, string>;
    by: string | null;
    at: string;
  }) {
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto("pipeline_revisions")
        .values({
          project: r.project,
          name: r.name,
          revision: r.revision,
          yaml: r.yaml,
          files_json: JSON.stringify(r.files),
          created_by: r.by,
          created_at: r.at,
        })
        .execute();
      if (r.revision === 1) {
        await trx
          .insertInto("pipelines")
          .values({ project: r.project, name: r.name, revision: 1, updated_by: r.by, created_at: r.at, updated_at: r.at })
          .execute();
      } else {
        await trx
          .updateTable("pipelines")
          .set({ revision: r.revision, updated_by: r.by, updated_at: r.at })
          .where("project", "=", r.project)
          .where("name", "=", r.name)
          .execute();
      }
    });
  }

  /** The newest revision number ever stored (kept when a pipeline is deleted, so a re-created one goes on counting). */
  async lastRevision(project: string, name: string): Promise<number> {
    const row = await this.#db
      .selectFrom("pipeline_revisions")
      .select((eb) => eb.fn.max("revision").as("max"))
      .where("project", "=", project)
      .where("name", "=", name)
      .executeTakeFirst();
    return Number(row?.max ?? 0);
  }

  async deletePipeline(project: string, name: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom("pipelines").where("project", "=", project).where("name", "=", name).execute();
      await trx.deleteFrom("pipeline_schedules").where("project", "=", project).where("pipeline", "=", name).execute();
    });
  }

  async insertRun(run: PipelineRun, after: string[], states: Record<string, Record<string, unknown> | null> = {}): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto("pipeline_runs")
        .values({
          id: run.id,
          project: run.project,
          pipeline: run.pipeline,
          revision: run.revision,
          status: run.status,
          params_json: JSON.stringify(run.params),
          trigger_kind: run.trigger.kind,
          trigger_json: JSON.stringify(run.trigger),
          force: run.force ? 1 : 0,
          resumed_from: run.resumedFrom,
          after_json: JSON.stringify(after),
          created_by: run.createdBy,
          created_at: run.createdAt,
          started_at: run.startedAt,
          finished_at: run.finishedAt,
          error_json: run.error ? JSON.stringify(run.error) : null,
        })
        .execute();
      for (const [position, step] of run.steps.entries()) {
        await trx
          .insertInto("pipeline_steps")
          .values(stepRow(run.id, position, step, states[step.id] ?? null))
          .execute();
      }
    });
  }

  async saveStep(runId: string, position: number, step: PipelineStepRun, state: Record<string, unknown> | null): Promise<void> {
    const { run_id: _r, step_id: _s, position: _p, ...values } = stepRow(runId, position, step, state);
    await this.#db.updateTable("pipeline_steps").set(values).where("run_id", "=", runId).where("step_id", "=", step.id).execute();
  }

  async updateRun(
    id: string,
    patch: { status?: PipelineRunStatus; startedAt?: string; finishedAt?: string; error?: ErrorInfo | null },
  ): Promise<void> {
    await this.#db
      .updateTable("pipeline_runs")
      .set({
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.startedAt ? { started_at: patch.startedAt } : {}),
        ...(patch.finishedAt ? { finished_at: patch.finishedAt } : {}),
        ...(patch.error !== undefined ? { error_json: patch.error ? JSON.stringify(patch.error) : null } : {}),
      })
      .where("id", "=", id)
      .execute();
  }

  async runRow(id: string) {
    return await this.#db.selectFrom("pipeline_runs").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async run(id: string): Promise<PipelineRun | null> {
    const row = await this.runRow(id);
    if (!row) return null;
    const steps = await this.#db.selectFrom("pipeline_steps").selectAll().where("run_id", "=", id).orderBy("position").execute();
    return { ...runOf(row), steps: steps.map(stepOf) };
  }

  /** Saved handler states of a run's steps. */
  async states(runId: string): Promise<Record<string, Record<string, unknown> | null>> {
    const rows = await this.#db.selectFrom("pipeline_steps").select(["step_id", "state_json"]).where("run_id", "=", runId).execute();
    return Object.fromEntries(rows.map((r) => [r.step_id, parse(r.state_json, null)]));
  }

  async runs(q: {
    project: string;
    pipeline?: string;
    status?: PipelineRunStatus;
    trigger?: string;
    limit: number;
  }): Promise<PipelineRunSummary[]> {
    let query = this.#db.selectFrom("pipeline_runs").selectAll().where("project", "=", q.project);
    if (q.pipeline) query = query.where("pipeline", "=", q.pipeline);
    if (q.status) query = query.where("status", "=", q.status);
    if (q.trigger) query = query.where("trigger_kind", "=", q.trigger);
    return await this.#summaries(await query.orderBy("created_at", "desc").orderBy("id", "desc").limit(q.limit).execute());
  }

  /** Each pipeline's newest run in the project (pipelines without runs are absent): two queries for all. */
  async lastRuns(project: string): Promise<Map<string, PipelineRunSummary>> {
    const newest = this.#db
      .selectFrom("pipeline_runs")
      .select(["pipeline", (eb) => eb.fn.max("created_at").as("created_at")])
      .where("project", "=", project)
      .groupBy("pipeline")
      .as("newest");
    const rows = await this.#db
      .selectFrom("pipeline_runs as r")
      .innerJoin(newest, (j) => j.onRef("newest.pipeline", "=", "r.pipeline").onRef("newest.created_at", "=", "r.created_at"))
      .selectAll("r")
      .where("r.project", "=", project)
      .orderBy("r.id", "desc")
      .execute();
    const out = new Map<string, PipelineRunSummary>();
    for (const run of await this.#summaries(rows)) if (!out.has(run.pipeline)) out.set(run.pipeline, run);
    return out;
  }

  /** Runs with their steps counted by status. */
  async #summaries(rows: RunRow[]): Promise<PipelineRunSummary[]> {
    if (rows.length === 0) return [];
    const counts = await this.#db
      .selectFrom("pipeline_steps")
      .select(["run_id", "status", (eb) => eb.fn.countAll<number>().as("n")])
      .where(
        "run_id",
        "in",
        rows.map((r) => r.id),
      )
      .groupBy(["run_id", "status"])
      .execute();
    return rows.map((r) => {
      const stepCounts: Partial<Record<StepRunStatus, number>> = {};
      for (const c of counts) if (c.run_id === r.id) stepCounts[c.status as StepRunStatus] = Number(c.n);
      return { ...runOf(r), stepCounts };
    });
  }

  /** Runs that have not ended (queued or running), oldest first. */
  async unfinished(project?: string, pipeline?: string) {
    let q = this.#db.selectFrom("pipeline_runs").selectAll().where("status", "in", ["queued", "running"]);
    if (project !== undefined) q = q.where("project", "=", project);
    if (pipeline !== undefined) q = q.where("pipeline", "=", pipeline);
    return await q.orderBy("created_at").execute();
  }

  /** The newest succeeded step of a run of the pipeline with this cache key. */
  async cached(
    project: string,
    pipeline: string,
    stepId: string,
    cacheKey: string,
  ): Promise<{ runId: string; outputs: Record<string, unknown> } | null> {
    const row = await this.#db
      .selectFrom("pipeline_steps as s")
      .innerJoin("pipeline_runs as r", "r.id", "s.run_id")
      .select(["s.run_id", "s.reused_from", "s.outputs_json"])
      .where("s.cache_key", "=", cacheKey)
      .where("s.status", "=", "succeeded")
      .where("s.step_id", "=", stepId)
      .where("r.project", "=", project)
      .where("r.pipeline", "=", pipeline)
      .orderBy("s.finished_at", "desc")
      .executeTakeFirst();
    return row ? { runId: row.reused_from ?? row.run_id, outputs: parse(row.outputs_json, {}) } : null;
  }

  /** The text of a code file stored with the run's revision, or null. */
  async runFile(runId: string, path: string): Promise<string | null> {
    const row = await this.runRow(runId);
    if (!row) return null;
    const rev = await this.revision(row.project, row.pipeline, row.revision);
    return (JSON.parse(rev.files_json) as Record<string, string>)[path] ?? null;
  }

  async lastDue(project: string, pipeline: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom("pipeline_schedules")
      .select("last_due")
      .where("project", "=", project)
      .where("pipeline", "=", pipeline)
      .executeTakeFirst();
    return row?.last_due ?? null;
  }

  /**
   * Records `due` as the pipeline's last handled due time unless it or a later one is recorded already:
   * one statement (an upsert whose update only moves forward), so of several servers racing for the same
   * due time exactly one gets true. ISO times of one format compare as text.
   */
  async claimDue(project: string, pipeline: string, due: string): Promise<boolean> {
    const row = await this.#db
      .insertInto("pipeline_schedules")
      .values({ project, pipeline, last_due: due })
      .onConflict((oc) => oc.columns(["project", "pipeline"]).doUpdateSet({ last_due: due }).where("pipeline_schedules.last_due", "<", due))
      .returning("last_due")
      .executeTakeFirst();
    return row !== undefined;
  }
}

function stepRow(
  runId: string,
  position: number,
  s: PipelineStepRun,
  state: Record<string, unknown> | null,
): ServerTables["pipeline_steps"] {
  return {
    run_id: runId,
    step_id: s.id,
    position,
    type: s.type,
    status: s.status,
    inputs_json: s.inputs ? JSON.stringify(s.inputs) : null,
    outputs_json: JSON.stringify(s.outputs),
    attempts_json: JSON.stringify(s.attempts),
    error_json: s.error ? JSON.stringify(s.error) : null,
    cache_key: s.cacheKey,
    reused_from: s.reusedFrom,
    job_id: s.jobId,
    state_json: state ? JSON.stringify(state) : null,
    started_at: s.startedAt,
    finished_at: s.finishedAt,
  };
}

function stepOf(r: StepRow): PipelineStepRun {
  return {
    id: r.step_id,
    type: r.type,
    status: r.status as StepRunStatus,
    inputs: parse(r.inputs_json, null),
    outputs: parse(r.outputs_json, {}),
    attempts: parse(r.attempts_json, []),
    error: parse(r.error_json, null),
    cacheKey: r.cache_key,
    reusedFrom: r.reused_from,
    jobId: r.job_id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

function runOf(r: RunRow): Omit<PipelineRun, "steps"> {
  return {
    id: r.id,
    project: r.project,
    pipeline: r.pipeline,
    revision: r.revision,
    status: r.status as PipelineRunStatus,
    params: parse(r.params_json, {}),
    trigger: parse<PipelineRunTrigger>(r.trigger_json, { kind: "manual", detail: null }),
    force: r.force === 1,
    resumedFrom: r.resumed_from,
    createdBy: r.created_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: parse(r.error_json, null),
  };
}
