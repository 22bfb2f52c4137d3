import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Job, PredictionLogDriftRequest } from "@caretflow/contracts";
import { dataMigrations } from "@caretflow/data";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrateToLatest, openSqlite } from "../db/database.ts";
import { serverMigrations } from "../db/server.migrations.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { DeploymentRepository } from "../deployments/deployment.repository.ts";
import type { TrackingPort } from "../ports.ts";
import { DeploymentDrift } from "./deployment-drift.service.ts";
import { PredictionLogStats } from "./prediction-log.stats.ts";

/**
 * The drift schedule: a deployment with `driftEvery` that logged nothing is told about once (not every
 * minute), gets its check once it serves, and is not checked again before its period has passed.
 */
let dir = "";
let db: Kysely<ServerTables>;
let stats: PredictionLogStats;
let drift: DeploymentDrift;
let now = Date.parse("2026-12-04T10:30:00.000Z");
const logged: { level: string; msg: string }[] = [];
const started: PredictionLogDriftRequest[] = [];

const tracking = {
  resolveModelRef: async () => ({ runId: "run-1" }),
  getRun: async () => ({ dataset: "juice@v1", parentRunId: null, params: {}, tags: { "caretflow.target": "Purchase" } }),
} as unknown as TrackingPort;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-drift-schedule-"));
  db = openSqlite<ServerTables>(join(dir, "caretflow.db"));
  await migrateToLatest(db as Kysely<unknown>, serverMigrations, dataMigrations);
  const deployments = new DeploymentRepository(db, () => new Date(now));
  await deployments.create({
    name: "juice-live",
    project: "p1",
    model: "juice",
    target: { version: 1 },
    policy: { kind: "single" },
    driftEvery: "1h",
    by: "ann",
  });
  stats = new PredictionLogStats({ root: join(dir, "prediction-log"), tmpDir: dir });
  drift = new DeploymentDrift({
    db,
    deployments,
    stats,
    tracking: () => tracking,
    logRoot: join(dir, "prediction-log"),
    log: (level, msg) => logged.push({ level, msg }),
    now: () => new Date(now),
    jobs: {
      start: async (_kind, input) => {
        started.push(input);
        return { id: `job-${started.length}`, status: "queued" } as Job;
      },
      get: async (id) => ({ id, status: "queued" }) as Job,
    },
  });
});

afterAll(async () => {
  await stats?.close();
  await db?.destroy();
  await rm(dir, { recursive: true, force: true });
});

it("says once that an idle deployment has nothing to check, then checks it once it serves, once per period", async () => {
  for (let minute = 0; minute < 5; minute++) {
    await drift.runDue();
    now += 60_000;
  }
  expect(started).toHaveLength(0);
  expect(logged).toEqual([{ level: "info", msg: expect.stringContaining("logged no predictions") }]);
  expect(logged[0]?.msg).toContain("checked again once it serves");

  // A prediction logged this hour: the next look starts a check over the last hour.
  const day = join(dir, "prediction-log", "juice-live", "2026-12-04");
  await mkdir(day, { recursive: true });
  await writeFile(join(day, "part-10-0.jsonl"), `${JSON.stringify({ at: new Date(now).toISOString(), version: 1 })}\n`);
  await drift.runDue();
  expect(started).toHaveLength(1);
  expect(started[0]?.window).toEqual({ from: new Date(now - 3_600_000).toISOString(), to: new Date(now).toISOString() });
  expect(started[0]?.reference).toEqual({ dataset: "juice", version: 1 });
  // The training target goes along, for prediction drift.
  expect(started[0]?.target).toBe("Purchase");

  // Within the hour nothing more starts; after it, the next one does.
  now += 30 * 60_000;
  await drift.runDue();
  expect(started).toHaveLength(1);
  now += 31 * 60_000;
  await drift.runDue();
  expect(started).toHaveLength(2);
  expect(logged).toHaveLength(1);

  // Idle again: told once more (the deployment served in between), not every minute.
  now += 3 * 3_600_000;
  await drift.runDue();
  now += 3_600_000;
  await drift.runDue();
  expect(started).toHaveLength(2);
  expect(logged).toHaveLength(2);
});
