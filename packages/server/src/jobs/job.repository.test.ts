import { TrainRequest } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import { type DatabaseTarget, openDatabase } from "../db/database.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { JobRepository } from "./job.repository.ts";

let db: Kysely<ServerTables>;
let target: DatabaseTarget;
let repo: JobRepository;

const job = (id: string, createdAt: string, project = "default") => ({
  id,
  project,
  kind: "train" as const,
  request: TrainRequest.parse({ dataset: "juice", task: "clustering", num_clusters: 3 }),
  logPath: `/tmp/${id}.log`,
  createdAt,
});

forEachDatabase("JobRepository", (dbs) => {
  beforeEach(async () => {
    ({ db, target } = await dbs.fresh<ServerTables>());
    repo = new JobRepository(db);
  });

  it("numbers a job's events from 1 and keeps the row in step with the last one", async () => {
    await repo.insert(job("j1", "2026-12-01T00:00:00.000Z"));
    const first = await repo.append("j1", { type: "status", status: "running" }, "2026-12-01T00:00:01.000Z", {
      status: "running",
      started_at: "2026-12-01T00:00:01.000Z",
    });
    const second = await repo.append("j1", { type: "status", status: "succeeded" }, "2026-12-01T00:00:02.000Z", {
      status: "succeeded",
      finished_at: "2026-12-01T00:00:02.000Z",
    });
    expect([first.seq, second.seq]).toEqual([1, 2]);
    const stored = await repo.get("j1");
    expect(stored?.job).toMatchObject({ id: "j1", status: "succeeded", startedAt: "2026-12-01T00:00:01.000Z", leaderboard: [] });
    expect(stored?.logPath).toBe("/tmp/j1.log");
    expect((await repo.eventsAfter("j1", 0)).map((e) => [e.seq, e.type])).toEqual([
      [1, "status"],
      [2, "status"],
    ]);
    expect((await repo.eventsAfter("j1", 1)).map((e) => e.seq)).toEqual([2]);
    const row = await db.selectFrom("jobs").select("last_seq").where("id", "=", "j1").executeTakeFirstOrThrow();
    expect(row.last_seq).toBe(2);
  });

  it("gives concurrent appends from two connections gapless, distinct numbers", async () => {
    await repo.insert(job("j1", "2026-12-01T00:00:00.000Z"));
    // On PostgreSQL a second pool, as another process would have. Two SQLite connections in one thread
    // cannot stand for two processes: one would wait synchronously for a lock the other never gets to release.
    const other = dbs.kind === "postgres" ? await openDatabase<ServerTables>(target) : db;
    try {
      const second = new JobRepository(other);
      const seqs = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 === 0 ? repo : second).append(
            "j1",
            { type: "status", status: "running" },
            `2026-12-01T00:00:${String(i).padStart(2, "0")}Z`,
          ),
        ),
      );
      expect(seqs.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    } finally {
      if (other !== db) await other.destroy();
    }
    expect((await repo.eventsAfter("j1", 0)).map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it("refuses an event for a job that does not exist, storing nothing", async () => {
    await expect(repo.append("nope", { type: "status", status: "running" }, "2026-12-01T00:00:00Z")).rejects.toThrow(/no job nope/);
    expect(await db.selectFrom("job_events").selectAll().execute()).toEqual([]);
  });

  it("lists a project's newest jobs first and finds jobs by status", async () => {
    await repo.insert(job("a", "2026-12-01T00:00:00.000Z"));
    await repo.insert(job("b", "2026-12-02T00:00:00.000Z"));
    await repo.insert(job("c", "2026-12-03T00:00:00.000Z", "other"));
    await repo.append("a", { type: "status", status: "running" }, "2026-12-04T00:00:00Z", { status: "running" });
    expect((await repo.list(10, "default")).map((j) => j.id)).toEqual(["b", "a"]);
    expect((await repo.list(1, "default")).map((j) => j.id)).toEqual(["b"]);
    expect((await repo.list(10, "other")).map((j) => j.id)).toEqual(["c"]);
    expect((await repo.idsWithStatus(["queued"])).sort()).toEqual(["b", "c"]);
    expect(await repo.idsWithStatus(["running", "succeeded"])).toEqual(["a"]);
    expect(await repo.get("missing")).toBeNull();
  });

  it("counts queued and running jobs by kind and status (the metrics' job gauges)", async () => {
    await repo.insert(job("a", "2026-12-01T00:00:00.000Z"));
    await repo.insert(job("b", "2026-12-02T00:00:00.000Z"));
    await repo.insert({ ...job("c", "2026-12-03T00:00:00.000Z", "other"), kind: "drift" });
    await repo.insert(job("d", "2026-12-03T00:00:00.000Z"));
    await repo.append("a", { type: "status", status: "running" }, "2026-12-04T00:00:00Z", { status: "running" });
    await repo.append("d", { type: "status", status: "succeeded" }, "2026-12-04T00:00:00Z", { status: "succeeded" });
    const counts = (await repo.countActive()).sort((x, y) => `${x.kind}${x.status}`.localeCompare(`${y.kind}${y.status}`));
    expect(counts).toEqual([
      { kind: "drift", status: "queued", count: 1 },
      { kind: "train", status: "queued", count: 1 },
      { kind: "train", status: "running", count: 1 },
    ]);
  });
});
