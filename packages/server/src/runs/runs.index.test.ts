import { type RunSummary, RunsQuery } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { type IndexedRun, parseRunFilter, RunsIndexRepository } from "./runs.index.ts";

let db: Kysely<ServerTables>;
let repo: RunsIndexRepository;

function run(n: number, o: Partial<RunSummary> & { params?: Record<string, string>; tags?: Record<string, string> } = {}): IndexedRun {
  const { params = {}, tags = {}, ...summary } = o;
  return {
    summary: {
      runId: n.toString(16).padStart(32, "0"),
      experimentId: "1",
      experimentName: "juice",
      name: `run-${n}`,
      status: "FINISHED",
      startTime: new Date(Date.UTC(2026, 11, 1, 0, n)).toISOString(),
      endTime: null,
      task: "classification",
      dataset: "juice@v1",
      target: "Purchase",
      jobId: null,
      bestModel: null,
      bestRunId: null,
      metrics: {},
      ...summary,
    },
    params,
    tags,
  };
}

const page = (project: string, q: Partial<Record<keyof RunsQuery, string>> = {}) => repo.page(project, RunsQuery.parse(q));
const names = (p: { runs: RunSummary[] }) => p.runs.map((r) => r.name);

forEachDatabase("RunsIndexRepository", (dbs) => {
  beforeEach(async () => {
    ({ db } = await dbs.fresh<ServerTables>());
    repo = new RunsIndexRepository(db);
    await repo.upsert(
      [
        run(1, { metrics: { AUC: 0.7 }, params: { model: "lr" } }),
        run(2, { metrics: { AUC: 0.9 }, params: { model: "dt" }, status: "FAILED" }),
        run(3, { metrics: { AUC: 0.85, F1: 0.5 }, params: { model: "lr" }, tags: { team: "red" } }),
        run(4, { task: "regression", dataset: "houses@v2" }),
        run(5, { dataset: "secret@v1", metrics: { AUC: 0.99 } }),
      ],
      "2026-12-03T00:00:00.000Z",
    );
    await db.insertInto("projects").values({ name: "other", description: null, created_at: "2026-12-01T00:00:00.000Z" }).execute();
    await db
      .insertInto("project_objects")
      .values({ kind: "dataset", name: "secret", project: "other", created_at: "2026-12-01T00:00:00.000Z" })
      .execute();
  });

  it("lists the project's runs newest first with the total, a page at a time", async () => {
    expect(names(await page("default"))).toEqual(["run-4", "run-3", "run-2", "run-1"]);
    const second = await page("default", { limit: "2", offset: "2" });
    expect([names(second), second.total]).toEqual([["run-2", "run-1"], 4]);
    expect(names(await page("other"))).toEqual(["run-5"]);
    expect((await page("default")).runs[1]).toMatchObject({ runId: run(3).summary.runId, metrics: { AUC: 0.85, F1: 0.5 } });
  });

  it("sorts on a metric or param, runs without it last whichever the order", async () => {
    expect(names(await page("default", { sort: "metrics.AUC" }))).toEqual(["run-2", "run-3", "run-1", "run-4"]);
    expect(names(await page("default", { sort: "metrics.AUC", order: "asc" }))).toEqual(["run-1", "run-3", "run-2", "run-4"]);
    expect(names(await page("default", { sort: "params.model", order: "asc" })).slice(0, 1)).toEqual(["run-2"]);
    expect(names(await page("default", { sort: "start_time", order: "asc" }))).toEqual(["run-1", "run-2", "run-3", "run-4"]);
  });

  it("filters on metrics, params, tags, status, task, dataset and text", async () => {
    const f = async (q: Partial<Record<keyof RunsQuery, string>>) => names(await page("default", q)).sort();
    expect(await f({ filter: "metrics.AUC > 0.8" })).toEqual(["run-2", "run-3"]);
    expect(await f({ filter: "metrics.AUC>=0.85 and params.model = 'lr'" })).toEqual(["run-3"]);
    expect(await f({ filter: "params.model != lr" })).toEqual(["run-2"]);
    expect(await f({ filter: "tags.team = red" })).toEqual(["run-3"]);
    expect(await f({ filter: "status = failed" })).toEqual(["run-2"]);
    expect(await f({ status: "FINISHED", task: "classification" })).toEqual(["run-1", "run-3"]);
    expect(await f({ dataset: "houses" })).toEqual(["run-4"]);
    expect(await f({ dataset: "juice@v1", q: "RUN-1" })).toEqual(["run-1"]);
    expect(await f({ q: "100%" })).toEqual([]);
    expect((await page("default", { filter: "metrics.AUC > 0.8", limit: "1" })).total).toBe(2);
  });

  it("sorts and filters on keys with spaces and dots, written between backticks or bare", async () => {
    await repo.upsert(
      [
        run(7, { metrics: { "Prec. ": 0.6, "F1 score": 0.4 }, params: { "n estimators": "10" } }),
        run(8, { metrics: { "Prec. ": 0.8, "F1 score": 0.9 }, params: { "n estimators": "20" } }),
      ],
      "t",
    );
    const f = async (filter: string) => names(await page("default", { filter })).sort();
    expect(await f("metrics.`Prec. ` > 0.7")).toEqual(["run-8"]);
    expect(await f("metrics.`Prec. ` >= 0.6 and metrics.`F1 score` < 0.5")).toEqual(["run-7"]);
    expect(await f("params.\"n estimators\" = '20'")).toEqual(["run-8"]);
    expect(await f("metrics.F1 score > 0.5")).toEqual(["run-8"]);
    expect(names(await page("default", { sort: "metrics.`Prec. `" })).slice(0, 2)).toEqual(["run-8", "run-7"]);
    expect(names(await page("default", { sort: "metrics.Prec. ", order: "asc" })).slice(0, 2)).toEqual(["run-7", "run-8"]);
  });

  it("sorts and compares numeric params as numbers, the values that are not numbers after them as text", async () => {
    await repo.upsert(
      [
        run(7, { params: { depth: "9" } }),
        run(8, { params: { depth: "10" } }),
        run(9, { params: { depth: "1e-1" } }),
        run(10, { params: { depth: "None" } }),
      ],
      "t",
    );
    const sorted = async (order: string) => names(await page("default", { sort: "params.depth", order }));
    expect((await sorted("asc")).slice(0, 4)).toEqual(["run-9", "run-7", "run-8", "run-10"]);
    expect((await sorted("desc")).slice(0, 4)).toEqual(["run-8", "run-7", "run-9", "run-10"]);
    const f = async (filter: string) => names(await page("default", { filter })).sort();
    expect(await f("params.depth > 9")).toEqual(["run-8"]);
    expect(await f("params.depth <= 9.0")).toEqual(["run-7", "run-9"]);
    expect(await f("params.depth = None")).toEqual(["run-10"]);
    expect(await f("params.depth = 9")).toEqual(["run-7"]);
  });

  it("carries the asked params of the page's runs and the param keys of every run matching", async () => {
    const none = await page("default", { filter: "metrics.AUC > 0" });
    expect(none.runs[0]).not.toHaveProperty("params");
    expect(none.paramKeys).toEqual(["model"]);
    const asked = await page("default", { params: "model,absent", sort: "params.model", order: "asc" });
    expect(asked.runs.map((r) => r.params)).toEqual([{ model: "dt" }, { model: "lr" }, { model: "lr" }, {}]);
    expect((await page("other", { params: "*" })).paramKeys).toEqual([]);
    await expect(page("default", { params: Array.from({ length: 101 }, (_, i) => `p${i}`).join(",") })).rejects.toThrow(
      /Asked for 101 params/,
    );
  });

  it("rewrites only changed runs and forgets runs no longer in MLflow", async () => {
    expect(await repo.upsert([run(1, { metrics: { AUC: 0.7 }, params: { model: "lr" } })], "t")).toBe(0);
    expect(
      await repo.upsert([run(1), run(1, { metrics: { AUC: 0.75 }, params: { model: "lr" } }), run(6, { status: "RUNNING" })], "t"),
    ).toBe(2);
    expect(names(await page("default", { filter: "metrics.AUC < 0.8" }))).toEqual(["run-1"]);
    expect(await repo.openRunIds()).toEqual([run(6).summary.runId]);
    expect(await repo.latestStart()).toBe(run(6).summary.startTime);
    expect(await repo.retainOnly(new Set([run(1).summary.runId, run(6).summary.runId]))).toBe(4);
    expect(names(await page("default"))).toEqual(["run-6", "run-1"]);
    const left = await db.selectFrom("runs_index_values").select("run_id").distinct().execute();
    expect(left.map((r) => r.run_id)).toEqual([run(1).summary.runId]);
  });
});

it("reads filter clauses and refuses what it cannot read with a hint", () => {
  expect(parseRunFilter("metrics.AUC > 0.8 AND params.`n estimators` = 10")).toEqual([
    { kind: "metric", key: "AUC", op: ">", value: 0.8 },
    { kind: "param", key: "n estimators", op: "=", value: "10" },
  ]);
  expect(parseRunFilter(" ")).toEqual([]);
  expect(parseRunFilter("params.max_depth <= 5")).toEqual([{ kind: "param-number", key: "max_depth", op: "<=", value: 5 }]);
  expect(parseRunFilter("metrics.`Prec. ` >= 0.5 and params.note = 'salt and pepper' and tags.who = don't")).toEqual([
    { kind: "metric", key: "Prec. ", op: ">=", value: 0.5 },
    { kind: "param", key: "note", op: "=", value: "salt and pepper" },
    { kind: "tag", key: "who", op: "=", value: "don't" },
  ]);
  for (const bad of [
    "metrics.AUC > high",
    "params.model > lr",
    "tags.team > 3",
    "AUC > 0.8",
    "status > FINISHED",
    "metrics > 1",
    "metrics.`AUC > 1",
    "params.a = 'b",
  ]) {
    expect(() => parseRunFilter(bad), bad).toThrow(/Cannot read the filter clause/);
  }
});
