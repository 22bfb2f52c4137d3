import { type ErrorInfo, Job, JobEvent, type JobStatus, type LeaderboardRow } from "@caretflow/contracts";
import type { Kysely, Updateable } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";

type JobRow = ServerTables["jobs"];
export type JobUpdate = Updateable<ServerTables["jobs"]>;
export type JobEventBody =
  | { type: "status"; status: JobStatus }
  | { type: "engine"; event: Extract<JobEvent, { type: "engine" }>["event"] }
  | Omit<Extract<JobEvent, { type: "attempt" }>, "seq" | "ts">;

/** Jobs and their event log in the metadata database. */
export class JobRepository {
  readonly #db: Kysely<ServerTables>;

  constructor(db: Kysely<ServerTables>) {
    this.#db = db;
  }

  async insert(job: {
    id: string;
    project: string;
    kind: Job["kind"];
    request: unknown;
    logPath: string;
    createdAt: string;
  }): Promise<void> {
    await this.#db
      .insertInto("jobs")
      .values({
        id: job.id,
        project: job.project,
        kind: job.kind,
        status: "queued",
        request_json: JSON.stringify(job.request),
        stage: null,
        progress_json: null,
        leaderboard_json: "[]",
        result_json: null,
        error_json: null,
        output_dataset_json: null,
        output_datasets_json: null,
        log_path: job.logPath,
        last_seq: 0,
        created_at: job.createdAt,
        started_at: null,
        finished_at: null,
      })
      .execute();
  }

  /**
   * Appends one event with the next sequence number and applies `update` to the
   * job row in the same transaction, so the seq has no gaps and the row always
   * matches the last event.
   */
  async append(jobId: string, body: JobEventBody, ts: string, update: JobUpdate = {}): Promise<JobEvent> {
    return await this.#db.transaction().execute(async (trx) => {
      // Incrementing first takes the row's write lock (PostgreSQL) or the file's (SQLite) before the
      // number is read, so two writers, in this process or another, never take the same seq.
      const row = await trx
        .updateTable("jobs")
        .set((eb) => ({ ...update, last_seq: eb("last_seq", "+", 1) }))
        .where("id", "=", jobId)
        .returning("last_seq")
        .executeTakeFirst();
      if (!row) throw new Error(`no job ${jobId} to append an event to`);
      const seq = row.last_seq;
      await trx
        .insertInto("job_events")
        .values({ job_id: jobId, seq, ts, type: body.type, body_json: JSON.stringify(body) })
        .execute();
      return JobEvent.parse({ seq, ts, ...body });
    });
  }

  async get(id: string): Promise<{ job: Job; logPath: string } | null> {
    const row = await this.#db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? { job: toJob(row), logPath: row.log_path } : null;
  }

  /** A project's newest jobs. */
  async list(limit: number, project: string): Promise<Job[]> {
    const rows = await this.#db
      .selectFrom("jobs")
      .selectAll()
      .where("project", "=", project)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  async eventsAfter(jobId: string, after: number): Promise<JobEvent[]> {
    const rows = await this.#db
      .selectFrom("job_events")
      .select(["seq", "ts", "body_json"])
      .where("job_id", "=", jobId)
      .where("seq", ">", after)
      .orderBy("seq")
      .execute();
    return rows.map((r) => JobEvent.parse({ seq: r.seq, ts: r.ts, ...JSON.parse(r.body_json) }));
  }

  /** Queued and running jobs by kind and status (the metrics' job gauges). */
  async countActive(): Promise<Array<{ kind: string; status: string; count: number }>> {
    const rows = await this.#db
      .selectFrom("jobs")
      .select(["kind", "status", (eb) => eb.fn.countAll().as("count")])
      .where("status", "in", ["queued", "running"])
      .groupBy(["kind", "status"])
      .execute();
    return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.count) }));
  }

  async idsWithStatus(statuses: JobStatus[]): Promise<string[]> {
    const rows = await this.#db.selectFrom("jobs").select("id").where("status", "in", statuses).execute();
    return rows.map((r) => r.id);
  }
}

function parseOr<T>(text: string | null, fallback: T): T {
  return text === null ? fallback : (JSON.parse(text) as T);
}

function toJob(row: JobRow): Job {
  return Job.parse({
    id: row.id,
    project: row.project,
    kind: row.kind,
    status: row.status,
    request: JSON.parse(row.request_json),
    stage: row.stage,
    progress: parseOr(row.progress_json, null),
    leaderboard: parseOr<LeaderboardRow[]>(row.leaderboard_json, []),
    result: parseOr(row.result_json, null),
    error: parseOr<ErrorInfo | null>(row.error_json, null),
    outputDataset: parseOr(row.output_dataset_json, null),
    outputDatasets: parseOr(row.output_datasets_json, []),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  });
}
