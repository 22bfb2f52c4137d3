import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RunsQuery } from "@caretflow/contracts";
import { dataMigrations } from "@caretflow/data";
import { basicAuthorization, MlflowClient, MlflowSupervisor } from "@caretflow/tracking";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrateToLatest, openSqlite } from "../db/database.ts";
import { serverMigrations } from "../db/server.migrations.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { RunsIndexRepository } from "./runs.index.ts";
import { RunsIndexSync } from "./runs.sync.ts";

const repoRoot = resolve(import.meta.dirname, "../../../..");
let home: string;
let sup: MlflowSupervisor;
let client: MlflowClient;
let mlflowUrl: string;
let db: Kysely<ServerTables>;
let repo: RunsIndexRepository;
let sync: RunsIndexSync;
const logged: string[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-runs-sync-"));
  sup = new MlflowSupervisor({ mlflowBin: join(repoRoot, "engine/.venv/bin/mlflow"), home: join(home, "mlflow"), log: () => {} });
  mlflowUrl = (await sup.start()).url;
  client = new MlflowClient({ baseUrl: mlflowUrl, authorization: basicAuthorization(sup.credentials) });
  db = openSqlite<ServerTables>(join(home, "caretflow.db"));
  await migrateToLatest(db as Kysely<unknown>, serverMigrations, dataMigrations);
  repo = new RunsIndexRepository(db);
  // A long interval: the test drives the ticks itself.
  sync = new RunsIndexSync({ client, repo, log: (_, m) => logged.push(m), intervalMs: 3_600_000 });
}, 180_000);

afterAll(async () => {
  await sync?.close();
  await db?.destroy();
  await sup?.stop();
  await rm(home, { recursive: true, force: true });
}, 60_000);

const listed = async () => (await repo.page("default", RunsQuery.parse({ sort: "start_time", order: "asc" }))).runs;

it("indexes parent runs, picks up new and finishing runs on a tick, and forgets deleted ones on a refresh", async () => {
  const exp = await client.createExperiment(`sync-${Date.now()}`);
  const t = Date.now() - 10_000;
  const parent = await client.createRun({
    experimentId: exp,
    startTime: t,
    runName: "first",
    tags: { "caretflow.role": "parent", "caretflow.dataset": "juice@v1" },
  });
  await client.logBatch(parent.info.run_id, { metrics: [{ key: "AUC", value: 0.8 }], params: { model: "lr" } });
  await client.updateRun(parent.info.run_id, { status: "FINISHED", endTime: t + 1000 });
  await client.createRun({
    experimentId: exp,
    startTime: t,
    tags: { "caretflow.role": "child", "mlflow.parentRunId": parent.info.run_id },
  });
  sync.start();
  await sync.refresh();
  expect((await listed()).map((r) => [r.name, r.status, r.metrics, r.dataset])).toEqual([["first", "FINISHED", { AUC: 0.8 }, "juice@v1"]]);

  const second = await client.createRun({
    experimentId: exp,
    startTime: t + 5000,
    runName: "second",
    tags: { "caretflow.role": "parent" },
  });
  await sync.tick();
  expect((await listed()).map((r) => [r.name, r.status])).toEqual([
    ["first", "FINISHED"],
    ["second", "RUNNING"],
  ]);
  await client.logBatch(second.info.run_id, { metrics: [{ key: "AUC", value: 0.9 }] });
  await client.updateRun(second.info.run_id, { status: "FINISHED", endTime: Date.now() });
  await sync.tick();
  const page = await repo.page("default", RunsQuery.parse({ filter: "metrics.AUC > 0.85" }));
  expect(page.runs.map((r) => [r.name, r.status])).toEqual([["second", "FINISHED"]]);

  const deleted = await fetch(`${mlflowUrl}/api/2.0/mlflow/runs/delete`, {
    method: "POST",
    headers: { authorization: basicAuthorization(sup.credentials), "content-type": "application/json" },
    body: JSON.stringify({ run_id: parent.info.run_id }),
  });
  expect(deleted.status).toBe(200);
  // A tick asks only for new and unfinished runs; the full comparison of a refresh sees the deletion.
  await sync.tick();
  expect((await listed()).map((r) => r.name)).toEqual(["first", "second"]);
  await sync.refresh();
  expect((await listed()).map((r) => r.name)).toEqual(["second"]);
  expect(logged.some((m) => m.includes("1 forgotten"))).toBe(true);
}, 120_000);
