import { type PipelineRun, type PipelineStepRun, pendingStep } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { PipelineRepository } from "./pipeline.repository.ts";

let db: Kysely<ServerTables>;
let repo: PipelineRepository;

const step = (id: string, over: Partial<PipelineStepRun> = {}): PipelineStepRun => ({ ...pendingStep({ id, type: "custom" }), ...over });

const run = (id: string, createdAt: string, over: Partial<PipelineRun> = {}): PipelineRun => ({
  id,
  project: "default",
  pipeline: "nightly",
  revision: 1,
  status: "queued",
  params: { n: 3 },
  trigger: { kind: "manual", detail: null },
  force: false,
  resumedFrom: null,
  createdBy: "alice",
  createdAt,
  startedAt: null,
  finishedAt: null,
  error: null,
  steps: [step("load"), step("score")],
  ...over,
});

const revision = (n: number, at: string) => ({
  project: "default",
  name: "nightly",
  revision: n,
  yaml: `name: nightly # r${n}`,
  files: { "steps/score.py": `print(${n})` },
  by: "alice",
  at,
});

forEachDatabase("PipelineRepository", (dbs) => {
  beforeEach(async () => {
    ({ db } = await dbs.fresh<ServerTables>());
    repo = new PipelineRepository(db);
  });

  it("stores revisions, keeps counting after a delete, and drops the schedule with the pipeline", async () => {
    expect(await repo.lastRevision("default", "nightly")).toBe(0);
    await repo.putRevision(revision(1, "2026-12-01T00:00:00Z"));
    await repo.putRevision(revision(2, "2026-12-02T00:00:00Z"));
    expect(await repo.pipeline("default", "nightly")).toMatchObject({ revision: 2, created_at: "2026-12-01T00:00:00Z" });
    expect((await repo.revision("default", "nightly", 1)).yaml).toBe("name: nightly # r1");
    expect(await repo.lastRevision("default", "nightly")).toBe(2);
    expect(await repo.claimDue("default", "nightly", "2026-12-02T01:00:00.000Z")).toBe(true);
    expect(await repo.claimDue("default", "nightly", "2026-12-03T01:00:00.000Z")).toBe(true);
    // The same or an earlier due time is another server's claim already: refused, and the record stays.
    expect(await repo.claimDue("default", "nightly", "2026-12-03T01:00:00.000Z")).toBe(false);
    expect(await repo.claimDue("default", "nightly", "2026-12-02T01:00:00.000Z")).toBe(false);
    expect(await repo.lastDue("default", "nightly")).toBe("2026-12-03T01:00:00.000Z");
    // Racing claims for one due time: exactly one wins.
    const race = await Promise.all(Array.from({ length: 5 }, () => repo.claimDue("default", "nightly", "2026-12-04T01:00:00.000Z")));
    expect(race.filter(Boolean)).toHaveLength(1);
    await repo.deletePipeline("default", "nightly");
    expect(await repo.pipelines("default")).toEqual([]);
    expect(await repo.lastDue("default", "nightly")).toBeNull();
    expect(await repo.lastRevision("default", "nightly")).toBe(2);
    // A revision number stored twice is refused by the primary key, not overwritten.
    await expect(repo.putRevision(revision(2, "2026-12-04T00:00:00Z"))).rejects.toThrow();
  });

  it("round-trips runs and steps, lists them newest first with step counts, and finds unfinished ones", async () => {
    await repo.putRevision(revision(1, "2026-12-01T00:00:00Z"));
    await repo.insertRun(run("r1", "2026-12-01T01:00:00Z", { force: true }), ["upstream"], { load: { cursor: 7 } });
    await repo.insertRun(run("r2", "2026-12-01T02:00:00Z", { trigger: { kind: "schedule", detail: "cron" } }), []);
    await repo.updateRun("r1", { status: "running", startedAt: "2026-12-01T01:00:01Z" });
    await repo.saveStep("r1", 0, step("load", { status: "succeeded", outputs: { rows: 3 }, finishedAt: "2026-12-01T01:00:05Z" }), {
      cursor: 8,
    });
    const r1 = await repo.run("r1");
    expect(r1).toMatchObject({ id: "r1", status: "running", force: true, params: { n: 3 }, startedAt: "2026-12-01T01:00:01Z" });
    expect(r1?.steps.map((s) => [s.id, s.status, s.outputs])).toEqual([
      ["load", "succeeded", { rows: 3 }],
      ["score", "pending", {}],
    ]);
    expect(await repo.states("r1")).toEqual({ load: { cursor: 8 }, score: null });
    expect(JSON.parse((await repo.runRow("r1"))!.after_json)).toEqual(["upstream"]);

    const listed = await repo.runs({ project: "default", limit: 10 });
    expect(listed.map((r) => r.id)).toEqual(["r2", "r1"]);
    expect(listed[1]!.stepCounts).toEqual({ succeeded: 1, pending: 1 });
    expect(typeof listed[1]!.stepCounts.pending).toBe("number");
    expect((await repo.runs({ project: "default", trigger: "schedule", limit: 10 })).map((r) => r.id)).toEqual(["r2"]);
    expect((await repo.runs({ project: "default", status: "running", limit: 10 })).map((r) => r.id)).toEqual(["r1"]);
    expect((await repo.unfinished("default")).map((r) => r.id)).toEqual(["r1", "r2"]);
    await repo.updateRun("r2", { status: "failed", finishedAt: "2026-12-01T02:00:09Z", error: { name: "x", message: "boom" } as never });
    expect((await repo.unfinished()).map((r) => r.id)).toEqual(["r1"]);
    expect((await repo.run("r2"))?.error).toMatchObject({ message: "boom" });
    expect(await repo.runFile("r1", "steps/score.py")).toBe("print(1)");
    expect(await repo.run("missing")).toBeNull();

    // Each pipeline's newest run and current YAML, for the list, in a fixed number of queries.
    await repo.putRevision({ ...revision(1, "2026-12-01T00:00:00Z"), name: "hourly", yaml: "name: hourly" });
    await repo.putRevision({ ...revision(1, "2026-12-01T00:00:00Z"), name: "idle", yaml: "name: idle" });
    await repo.insertRun(run("r3", "2026-12-01T00:30:00Z", { pipeline: "hourly" }), []);
    await repo.saveStep("r3", 0, step("load", { status: "failed" }), null);
    const last = await repo.lastRuns("default");
    expect([...last.keys()].sort()).toEqual(["hourly", "nightly"]);
    expect(last.get("nightly")?.id).toBe("r2");
    expect(last.get("hourly")).toMatchObject({ id: "r3", stepCounts: { failed: 1, pending: 1 } });
    expect((await repo.current("default")).map((p) => [p.name, p.yaml])).toEqual([
      ["hourly", "name: hourly"],
      ["idle", "name: idle"],
      ["nightly", "name: nightly # r1"],
    ]);
    expect(await repo.lastRuns("elsewhere")).toEqual(new Map());
  });

  it("finds the newest succeeded step with a cache key, following reuse to the run that computed it", async () => {
    await repo.putRevision(revision(1, "2026-12-01T00:00:00Z"));
    const done = (at: string, over: Partial<PipelineStepRun> = {}) =>
      step("score", { status: "succeeded", cacheKey: "k1", outputs: { at }, finishedAt: at, ...over });
    await repo.insertRun(run("a", "2026-12-01T01:00:00Z", { steps: [done("2026-12-01T01:00:05Z")] }), []);
    await repo.insertRun(run("b", "2026-12-01T02:00:00Z", { steps: [done("2026-12-01T02:00:05Z", { reusedFrom: "a" })] }), []);
    await repo.insertRun(run("c", "2026-12-01T03:00:00Z", { steps: [done("2026-12-01T03:00:05Z", { status: "failed" })] }), []);
    expect(await repo.cached("default", "nightly", "score", "k1")).toEqual({ runId: "a", outputs: { at: "2026-12-01T02:00:05Z" } });
    expect(await repo.cached("default", "nightly", "score", "k2")).toBeNull();
    expect(await repo.cached("other", "nightly", "score", "k1")).toBeNull();
  });
});
