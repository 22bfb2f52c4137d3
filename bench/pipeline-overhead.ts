/**
 * Pipeline scheduling overhead: a pipeline of N no-op steps, each needing the one before, whose steps
 * submit a no-op job (an engine that answers at once) and wait for it. Measured in one run:
 *   1. the same no-op jobs run directly, one after another (the baseline),
 *   2. the pipeline with its jobs on the in-process executor (LocalExecutor),
 *   3. the pipeline with its jobs on the Redis executor and one worker (real redis-server).
 * The pipeline runs with the server's store: every step change saved in a migrated SQLite database and
 * every log line appended to the step's file, as in caretflow. Prints the time per step and the ratios.
 *
 *   npx tsx bench/pipeline-overhead.ts                # 50 steps, 3 repeats
 *   npx tsx bench/pipeline-overhead.ts --steps 100 --repeat 5
 */
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type PipelineRun, pendingStep, validatePipeline } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { dataMigrations } from "../packages/data/src/migrations.ts";
import { testSpec } from "../packages/orchestrator/src/executor.contract.ts";
import {
  type Executor,
  LocalExecutor,
  RedisExecutor,
  RedisWorker,
  runPipeline,
  StepFailure,
  type StepHandler,
} from "../packages/orchestrator/src/index.ts";
import { startRedis } from "../packages/orchestrator/test/redis.fixture.ts";
import { migrateToLatest, openSqlite } from "../packages/server/src/db/database.ts";
import { serverMigrations } from "../packages/server/src/db/server.migrations.ts";
import type { ServerTables } from "../packages/server/src/db/server.tables.ts";
import { PipelineRepository } from "../packages/server/src/pipelines/pipeline.repository.ts";
import { noopEngine } from "./noop-engine.ts";

const { values } = parseArgs({ options: { steps: { type: "string", default: "50" }, repeat: { type: "string", default: "3" } } });
const steps = Number(values.steps);
const repeat = Number(values.repeat);

const engine = noopEngine;

const yaml = [
  "version: 1",
  "name: noop",
  "steps:",
  ...Array.from({ length: steps }, (_, i) =>
    [
      `  - id: s${i}`,
      "    type: custom",
      ...(i > 0 ? [`    needs: [s${i - 1}]`] : []),
      '    with: { language: python, code: "pass" }',
    ].join("\n"),
  ),
].join("\n");
const parsed = validatePipeline(yaml);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const spec = parsed.spec;

async function submitNoop(executor: Executor): Promise<void> {
  const id = `j${randomUUID().slice(0, 8)}`;
  const out = await executor.submit({ id, spec: testSpec(id), logPath: "/dev/null", onStart: () => {}, onEvent: () => {} });
  if (out.status !== "succeeded") throw new StepFailure("noop_failed", `job ${id}: ${out.status}`);
}

async function direct(): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await engine.run(testSpec(`d${i}`), { onEvent: () => {}, logPath: "/dev/null" });
  return performance.now() - t0;
}

async function pipeline(executor: Executor, repo: PipelineRepository, dir: string): Promise<number> {
  const handler: StepHandler = {
    run: async () => {
      await submitNoop(executor);
      return { output: null };
    },
  };
  const id = randomUUID();
  const run: PipelineRun = {
    id,
    project: "default",
    pipeline: "noop",
    revision: 1,
    status: "running",
    params: {},
    trigger: { kind: "manual", detail: null },
    force: false,
    resumedFrom: null,
    createdBy: null,
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: null,
    error: null,
    steps: spec.steps.map(pendingStep),
  };
  const positions = new Map(spec.steps.map((s, i) => [s.id, i]));
  mkdirSync(join(dir, id), { recursive: true });
  const t0 = performance.now();
  await repo.insertRun(run, []);
  const result = await runPipeline(
    { run: { id, project: "default", pipeline: "noop", startedAt: run.startedAt!, createdBy: null }, spec, params: {}, force: false },
    {
      handlers: { custom: handler },
      signal: new AbortController().signal,
      workRoot: join(dir, ".work"),
      store: {
        saveStep: (step, state) => repo.saveStep(id, positions.get(step.id)!, step, state),
        findCached: async () => null,
        log: (stepId, line) => appendFileSync(join(dir, id, `${stepId}.log`), `${new Date().toISOString()} ${line}\n`),
        logPath: (stepId) => join(dir, id, `${stepId}.log`),
      },
    },
  );
  await repo.updateRun(id, { status: result.status, finishedAt: new Date().toISOString() });
  const ms = performance.now() - t0;
  if (result.status !== "succeeded") throw new Error(`the pipeline ${result.status}: ${JSON.stringify(result.error)}`);
  return ms;
}

const dir = await mkdtemp(join(tmpdir(), "cf-bench-pipeline-"));
const db = openSqlite<ServerTables>(join(dir, "caretflow.db"));
await migrateToLatest(db as Kysely<unknown>, serverMigrations, dataMigrations);
const repo = new PipelineRepository(db);
await repo.putRevision({ project: "default", name: "noop", revision: 1, yaml, files: {}, by: null, at: new Date().toISOString() });
const redis = await startRedis();
const times = { direct: [] as number[], local: [] as number[], redis: [] as number[] };
try {
  for (let r = 0; r < repeat; r++) {
    times.direct.push(await direct());
    const local = new LocalExecutor({ engine, concurrency: 1 });
    times.local.push(await pipeline(local, repo, dir));
    await local.close();
    const queue = `bench-${randomUUID().slice(0, 8)}`;
    const worker = await RedisWorker.start({ url: redis.url, queue, engine, concurrency: 1 });
    const remote = await RedisExecutor.open({ url: redis.url, queue });
    times.redis.push(await pipeline(remote, repo, dir));
    await remote.close();
    await worker.close();
    const per = (ms: number) => `${(ms / steps).toFixed(2)} ms/step`;
    console.log(
      `[${r + 1}] direct ${per(times.direct.at(-1)!)}, in-process ${per(times.local.at(-1)!)}, Redis ${per(times.redis.at(-1)!)}`,
    );
  }
} finally {
  await redis.close();
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [d, l, q] = [median(times.direct), median(times.local), median(times.redis)];
console.log(`\nmedians over ${repeat} run(s) of a ${steps}-step pipeline of no-op steps, each after the one before:`);
console.log(`  no-op jobs run directly            ${((d / steps) * 1000).toFixed(0)} µs per step`);
console.log(`  pipeline, in-process executor      ${(l / steps).toFixed(2)} ms per step (${(l / d).toFixed(0)}x direct)`);
console.log(
  `  pipeline, Redis executor, 1 worker ${(q / steps).toFixed(2)} ms per step (${(q / d).toFixed(0)}x direct, ${(q / l).toFixed(1)}x in-process)`,
);
