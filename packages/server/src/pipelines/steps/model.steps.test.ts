import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Catalog, catalogTask } from "@caretflow/contracts";
import { dataMigrations } from "@caretflow/data";
import type { StepRunContext } from "@caretflow/orchestrator";
import { MlflowClient } from "@caretflow/tracking";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockedMlflow } from "../../../test/mlflow.fixture.ts";
import { AuditLog } from "../../audit/audit.log.ts";
import { AuthService } from "../../auth/auth.service.ts";
import { migrateToLatest, openSqlite } from "../../db/database.ts";
import { serverMigrations } from "../../db/server.migrations.ts";
import type { ServerTables } from "../../db/server.tables.ts";
import { ModelLifecycle } from "../../models/model.lifecycle.ts";
import { ModelDigestRepository } from "../../models/model-digest.repository.ts";
import { ModelLifecycleRepository } from "../../models/model-lifecycle.repository.ts";
import { ProjectService } from "../../projects/project.service.ts";
import { trackingPort } from "../../tracking.port.ts";
import { evaluateChampionStep, lowerIsBetter, type ModelStepDeps, metricOf, registerStep, setAliasStep } from "./model.steps.ts";
import { stepContext, stepFailure } from "./step.test-support.ts";

/**
 * The registry steps against one real MLflow (runs logged through its REST API, with a model folder
 * artifact, as the engine leaves them) and a real server database: register -> set_alias ->
 * evaluate_champion, and what they refuse.
 */
const repo = resolve(fileURLToPath(import.meta.url), "../../../../../..");
// The engine's catalog as it publishes it (the web app's fixture is a copy of its output).
const CATALOG = Catalog.parse(JSON.parse(readFileSync(join(repo, "packages/web/src/lib/fixtures/catalog.json"), "utf8")));

const locked = lockedMlflow("model-steps");
let mlflow: MlflowClient;
let dir: string;
let db: Kysely<ServerTables>;
let deps: ModelStepDeps;
let audit: AuditLog;
let expId = "";

/** A finished run of `dataset` with metrics, params and a model folder (model/MLmodel). */
async function loggedRun(
  dataset: string,
  metrics: Record<string, number>,
  opts: { task?: string; params?: Record<string, string>; parent?: string } = {},
): Promise<string> {
  const tags: Record<string, string> = { "caretflow.task": opts.task ?? "classification", "caretflow.dataset": `${dataset}@v1` };
  if (opts.parent) tags["mlflow.parentRunId"] = opts.parent;
  const runId = (await mlflow.createRun({ experimentId: expId, runName: "lr", tags })).info.run_id;
  await mlflow.logBatch(runId, {
    metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step: 0 })),
    params: opts.params ?? {},
  });
  await locked.putArtifact(expId, runId, "model/MLmodel", "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n");
  await mlflow.updateRun(runId, { status: "FINISHED", endTime: Date.now() });
  return runId;
}

function context(type: StepRunContext["step"]["type"], inputs: Record<string, unknown>, createdBy: string | null = "alice") {
  const ctx = stepContext({ type, inputs, workDir: dir, run: { createdBy } });
  return { ctx, lines: ctx.lines };
}

const runs = { first: "", better: "", worse: "", beta: "", priceChampion: "", priceBetter: "", tuned: "" };

beforeAll(async () => {
  const started = locked.start();
  dir = await mkdtemp(join(tmpdir(), "caretflow-model-steps-"));
  db = openSqlite<ServerTables>(join(dir, "caretflow.db"));
  await migrateToLatest(db as Kysely<unknown>, serverMigrations, dataMigrations);
  const auth = new AuthService({ db });
  const projects = new ProjectService({ db });
  audit = new AuditLog({ db });
  for (const name of ["alice", "bob", "carol"]) await auth.createUser({ username: name });
  await projects.create((await auth.userByName("alice"))!, "alpha", null);
  await projects.create((await auth.userByName("carol"))!, "beta", null);
  await projects.setMember("alpha", "bob", "editor");
  await projects.claim("dataset", "churn_data", "alpha");
  await projects.claim("dataset", "houses", "alpha");
  await projects.claim("dataset", "beta_data", "beta");
  await projects.claim("model", "beta-model", "beta");
  mlflow = await started;
  const tracking = trackingPort(mlflow, locked.sup.url!, new ModelDigestRepository(db));
  deps = {
    tracking,
    projects,
    audit,
    users: auth,
    catalog: { get: async () => CATALOG },
    lifecycle: new ModelLifecycle({ repo: new ModelLifecycleRepository(db), tracking, audit }),
  };
  expId = await mlflow.createExperiment("alpha-exp");
  runs.first = await loggedRun("churn_data", { Accuracy: 0.8, AUC: 0.85, cv_fold_Accuracy: 0.7, Accuracy_std: 0.01 });
  runs.better = await loggedRun("churn_data", { Accuracy: 0.86, AUC: 0.8 });
  runs.worse = await loggedRun("churn_data", { Accuracy: 0.7, AUC: 0.7 });
  runs.beta = await loggedRun("beta_data", { Accuracy: 0.99 });
  runs.priceChampion = await loggedRun("houses", { MAE: 10, R2: 0.7 }, { task: "regression" });
  runs.priceBetter = await loggedRun("houses", { MAE: 8, R2: 0.6 }, { task: "regression" });
  // A training ranked by AUC: its best run carries no sort of its own, its parent does.
  const parent = await loggedRun("churn_data", { AUC: 0.9 }, { params: { sort: "AUC" } });
  runs.tuned = await loggedRun("churn_data", { Accuracy: 0.75, AUC: 0.9 }, { parent });
}, 240_000);

afterAll(async () => {
  await locked.stop();
  await db?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("register -> set_alias -> evaluate_champion", () => {
  it("finds no champion before the model exists: the challenger is better, and the log says why", async () => {
    const { ctx, lines } = context("evaluate_champion", { run_id: runs.first, model: "churn", alias: "champion" });
    expect(await evaluateChampionStep(deps).run(ctx)).toEqual({ better: true, metric: 0.8, champion_metric: null });
    expect(lines.join("\n")).toContain("churn@champion does not exist yet");
    expect(lines.join("\n")).toContain("Accuracy = 0.8 (higher is better)");
  });

  it("registers the run's model as version 1, claims the name for the project and records who did it", async () => {
    const { ctx, lines } = context("register", { run_id: runs.first, model: "churn" });
    expect(await registerStep(deps).run(ctx)).toEqual({ model: "churn", version: 1 });
    expect(lines).toEqual([`registered the model of run ${runs.first} as churn version 1`]);
    expect(await deps.projects.owners("model")).toEqual(
      new Map([
        ["beta-model", "beta"],
        ["churn", "alpha"],
      ]),
    );
    const model = await deps.tracking.getModel("churn");
    expect(model.versions.map((v) => [v.version, v.runId])).toEqual([[1, runs.first]]);
    const [entry] = (await audit.list({ action: "model.register", limit: 10 })).entries;
    expect(entry).toMatchObject({
      actor: { name: "alice" },
      target: { kind: "model", id: "churn/1" },
      project: "alpha",
      after: { runId: runs.first, pipeline: "nightly", pipelineRun: "run-1", step: "register" },
    });
    expect(entry?.actor.id).toBe((await deps.users.userByName("alice"))?.id);
  });

  it("points champion at version 1 and records the move", async () => {
    const { ctx, lines } = context("set_alias", { model: "churn", version: 1, alias: "champion" });
    expect(await setAliasStep(deps).run(ctx)).toEqual({});
    expect(lines).toEqual(["churn@champion now points at version 1"]);
    expect((await deps.tracking.getModel("churn")).aliases).toEqual({ champion: 1 });
    const [entry] = (await audit.list({ action: "model.alias.set", limit: 10 })).entries;
    expect(entry).toMatchObject({ actor: { name: "alice" }, target: { id: "churn@champion" }, before: null, after: { version: 1 } });
  });

  it("finds a challenger better on the task's default metric (Accuracy)", async () => {
    const { ctx, lines } = context("evaluate_champion", { run_id: runs.better, model: "churn", alias: "champion" });
    expect(await evaluateChampionStep(deps).run(ctx)).toEqual({ better: true, metric: 0.86, champion_metric: 0.8 });
    expect(lines.at(-1)).toBe(`champion churn@champion (version 1, run ${runs.first}): Accuracy = 0.8; run ${runs.better} is better`);
  });

  it("finds the same challenger not better on the metric named (spelt as a person types it)", async () => {
    const { ctx } = context("evaluate_champion", { run_id: runs.better, model: "churn", alias: "champion", metric: "auc" });
    expect(await evaluateChampionStep(deps).run(ctx)).toEqual({ better: false, metric: 0.8, champion_metric: 0.85 });
  });

  it("finds a worse challenger not better, and an equal one not better either", async () => {
    const worse = context("evaluate_champion", { run_id: runs.worse, model: "churn", alias: "champion" });
    expect(await evaluateChampionStep(deps).run(worse.ctx)).toEqual({ better: false, metric: 0.7, champion_metric: 0.8 });
    const same = context("evaluate_champion", { run_id: runs.first, model: "churn", alias: "champion" });
    expect((await evaluateChampionStep(deps).run(same.ctx)).better).toBe(false);
  });

  it("compares on the metric the run's training ranked by (its parent's sort) when none is named", async () => {
    const { ctx } = context("evaluate_champion", { run_id: runs.tuned, model: "churn", alias: "champion" });
    expect(await evaluateChampionStep(deps).run(ctx)).toEqual({ better: true, metric: 0.9, champion_metric: 0.85 });
  });

  it("treats an alias the model does not have yet as no champion", async () => {
    const { ctx, lines } = context("evaluate_champion", { run_id: runs.worse, model: "churn", alias: "staging" });
    expect(await evaluateChampionStep(deps).run(ctx)).toEqual({ better: true, metric: 0.7, champion_metric: null });
    expect(lines.at(-1)).toContain("churn@staging does not exist yet");
  });

  it("moves the alias to a later version, keeping what it pointed at in the audit entry", async () => {
    const reg = context("register", { run_id: runs.better, model: "churn" });
    expect(await registerStep(deps).run(reg.ctx)).toEqual({ model: "churn", version: 2 });
    const { ctx, lines } = context("set_alias", { model: "churn", version: 2, alias: "champion" });
    await setAliasStep(deps).run(ctx);
    expect(lines).toEqual(["churn@champion moved from version 1 to version 2"]);
    const [entry] = (await audit.list({ action: "model.alias.set", limit: 1 })).entries;
    expect(entry).toMatchObject({ before: { version: 1 }, after: { version: 2 } });
  });

  it("records moves of production as stage transitions of the pipeline, and leaves other aliases out", async () => {
    await setAliasStep(deps).run(context("set_alias", { model: "churn", version: 1, alias: "production" }).ctx);
    await setAliasStep(deps).run(context("set_alias", { model: "churn", version: 2, alias: "production" }).ctx);
    const history = await new ModelLifecycleRepository(db).history("churn");
    expect(history.map((t) => [t.stage, t.version, t.replaced, t.kind, t.actor])).toEqual([
      ["production", 2, 1, "pipeline", "alice"],
      ["production", 1, null, "pipeline", "alice"],
    ]);
    expect((await mlflow.getModelVersion("churn", 2)).tags).toContainEqual({ key: "caretflow.stage", value: "production" });
    await mlflow.deleteRegisteredModelAlias("churn", "production"); // later tests expect champion alone
  });

  it("reads lower as better for an error metric (MAE) from the catalog", async () => {
    await registerStep(deps).run(context("register", { run_id: runs.priceChampion, model: "price" }).ctx);
    await setAliasStep(deps).run(context("set_alias", { model: "price", version: 1, alias: "champion" }).ctx);
    const { ctx, lines } = context("evaluate_champion", { run_id: runs.priceBetter, model: "price", metric: "MAE" });
    expect(await evaluateChampionStep(deps).run({ ...ctx, inputs: { ...ctx.inputs, alias: "champion" } })).toEqual({
      better: true,
      metric: 8,
      champion_metric: 10,
    });
    expect(lines[0]).toContain("MAE = 8 (lower is better)");
    const r2 = context("evaluate_champion", { run_id: runs.priceBetter, model: "price", alias: "champion" });
    expect(await evaluateChampionStep(deps).run(r2.ctx)).toEqual({ better: false, metric: 0.6, champion_metric: 0.7 });
  });
});

describe("what the registry steps refuse", () => {
  it("a metric the run lacks, naming the metrics it has", async () => {
    const { ctx } = context("evaluate_champion", { run_id: runs.first, model: "churn", alias: "champion", metric: "F1" });
    const f = await stepFailure(evaluateChampionStep(deps).run(ctx));
    expect(f.code).toBe("metric_not_found");
    expect(f.message).toBe(`run ${runs.first} has no metric 'F1'; it has AUC, Accuracy`);
    expect(f.transient).toBe(false);
  });

  it("a run of another project, as if it did not exist", async () => {
    for (const [step, inputs] of [
      [registerStep(deps), { run_id: runs.beta, model: "churn" }],
      [evaluateChampionStep(deps), { run_id: runs.beta, model: "churn", alias: "champion" }],
    ] as const) {
      const f = await stepFailure(step.run(context("register", inputs).ctx));
      expect(f.code).toBe("run_not_found");
      expect(f.message).toBe(`run '${runs.beta}' does not exist in project alpha`);
    }
    expect((await deps.tracking.getModel("churn")).versions).toHaveLength(2);
  });

  it("a model of another project: no version registered into it, no alias set, no champion read", async () => {
    const reg = await stepFailure(registerStep(deps).run(context("register", { run_id: runs.first, model: "beta-model" }).ctx));
    expect(reg.code).toBe("model_name_taken");
    const alias = await stepFailure(setAliasStep(deps).run(context("set_alias", { model: "beta-model", version: 1, alias: "x" }).ctx));
    expect(alias.code).toBe("model_not_found");
    const ev = context("evaluate_champion", { run_id: runs.first, model: "beta-model", alias: "champion" });
    expect((await stepFailure(evaluateChampionStep(deps).run(ev.ctx))).code).toBe("model_not_found");
  });

  it("an alias set by a run an editor started (the owner's call), but not one nobody started", async () => {
    const f = await stepFailure(setAliasStep(deps).run(context("set_alias", { model: "churn", version: 1, alias: "champion" }, "bob").ctx));
    expect(f.code).toBe("forbidden");
    expect(f.message).toContain("bob, who started this run, has the editor role");
    expect((await deps.tracking.getModel("churn")).aliases).toEqual({ champion: 2 });
    await setAliasStep(deps).run(context("set_alias", { model: "churn", version: 1, alias: "previous" }, null).ctx);
    const [entry] = (await audit.list({ action: "model.alias.set", limit: 1 })).entries;
    expect(entry).toMatchObject({ actor: { id: null, name: "system" }, target: { id: "churn@previous" } });
  });

  it("a version that does not exist, as MLflow's 404 (not worth retrying)", async () => {
    const f = await stepFailure(setAliasStep(deps).run(context("set_alias", { model: "churn", version: 9, alias: "champion" }).ctx));
    expect(f.message).toContain("does not exist");
    expect(f.transient).toBe(false);
  });

  it("MLflow out of reach, as a transient failure worth retrying", async () => {
    const down = new MlflowClient({ baseUrl: "http://127.0.0.1:9", timeoutMs: 2000 });
    const offline = { ...deps, tracking: trackingPort(down, "http://127.0.0.1:9", new ModelDigestRepository(db)) };
    const f = await stepFailure(registerStep(offline).run(context("register", { run_id: runs.first, model: "churn" }).ctx));
    expect(f.code).toBe("mlflow_unavailable");
    expect(f.transient).toBe(true);
  });
});

describe("metric names and directions (pure)", () => {
  const classification = catalogTask(CATALOG, "classification");
  it.each([
    ["regression", "MAE", true],
    ["regression", "RMSLE", true],
    ["regression", "R2", false],
    ["regression", "holdout_R2", false],
    ["classification", "Prec.", false],
    ["classification", "AUC", false],
    ["unknown", "MAPE", true],
    ["unknown", "holdout_RMSE", true],
    ["unknown", "TT_Sec", true],
    ["unknown", "my_score", false],
  ])("%s: %s lower is better: %s", (task, key, lower) => {
    expect(lowerIsBetter(catalogTask(CATALOG, task), key)).toBe(lower);
  });

  it.each([
    ["prec", "Prec."],
    ["Prec.", "Prec."],
    ["precision", "Prec."],
    ["TT (Sec)", "TT_Sec"],
    ["accuracy", "Accuracy"],
  ])("finds %s as the run's %s", (wanted, key) => {
    expect(metricOf({ metrics: { "Prec.": 0.5, TT_Sec: 1, Accuracy: 0.9 } }, wanted, classification, "run r").key).toBe(key);
  });
});
