import {
  AliasName,
  type AuditActor,
  CaretflowError,
  catalogTask,
  DEFAULT_PROJECT,
  findMetric,
  RegisteredModelName,
  type RunDetail,
  type TaskCatalog,
} from "@caretflow/contracts";
import { StepFailure, type StepHandler, type StepRunContext } from "@caretflow/orchestrator";
import { type AuditLog, actorOf, SYSTEM_ACTOR } from "../../audit/audit.log.ts";
import type { AuthService } from "../../auth/auth.service.ts";
import type { ModelLifecycle } from "../../models/model.lifecycle.ts";
import type { CatalogPort, TrackingPort } from "../../ports.ts";
import { type ProjectService, roleAtLeast } from "../../projects/project.service.ts";

/**
 * The registry steps of a pipeline: `register`, `set_alias` and `evaluate_champion`. They do what
 * POST /api/models and POST /api/models/{name}/aliases do, with the pipeline run's project in place of
 * the request's and its creator (`run.createdBy`, a username) in place of the signed-in user:
 * - the run must belong to the project (its training dataset's) and the model must be the project's
 *   (a new model name is claimed for it);
 * - pointing an alias needs the owner role on the project, as the alias route does, for a run a person
 *   started; a run nobody started (schedule, trigger: `createdBy` null) acts as the server;
 * - each change is one audit entry (model.register, model.alias.set) whose actor is the run's creator,
 *   or the system actor for a run nobody started.
 * None is cacheable: they change the registry or read what changes in it.
 *
 * Deps (start.ts has each): `tracking` (trackingPort over the MLflow client), `projects` (ProjectService),
 * `audit` (AuditLog), `users` (AuthService, to find the run's creator), `catalog` (CatalogService: the
 * task's default metric and each metric's direction).
 * @example handlers.register = registerStep(deps); handlers.set_alias = setAliasStep(deps);
 */
export interface ModelStepDeps {
  tracking: Pick<TrackingPort, "getRun" | "getModel" | "registerModel" | "setAlias">;
  projects: Pick<ProjectService, "projectOfRun" | "claim" | "owners" | "roleOf">;
  audit: Pick<AuditLog, "record">;
  users: Pick<AuthService, "userByName">;
  catalog: CatalogPort;
  /** Records moves of the staging and production aliases as stage transitions. */
  lifecycle?: Pick<ModelLifecycle, "recordAliasMove">;
}

/** `register` with {run_id, model} -> {model, version}: the run's model as a new version of the registered model. */
export function registerStep(deps: ModelStepDeps): StepHandler {
  return {
    cacheable: false,
    run: (ctx) =>
      failingAsStep(async () => {
        const runId = text(ctx.inputs.run_id, "run_id");
        const name = modelName(ctx.inputs.model);
        const project = ctx.run.project;
        await runOfProject(deps, runId, project, "Register a model from one of this project's runs.");
        await deps.projects.claim("model", name, project);
        ctx.signal.throwIfAborted();
        const version = await deps.tracking.registerModel({ runId, name });
        await deps.audit.record({
          actor: await actorOfRun(deps, ctx.run),
          action: "model.register",
          target: { kind: "model", id: `${version.name}/${version.version}` },
          project,
          after: { runId, ...pipelineRunOf(ctx) },
        });
        ctx.log(`registered the model of run ${runId} as ${version.name} version ${version.version}`);
        return { model: version.name, version: version.version };
      }),
  };
}

/** `set_alias` with {model, version, alias} -> {}: points the alias at the version (moving it if it pointed elsewhere). */
export function setAliasStep(deps: ModelStepDeps): StepHandler {
  return {
    cacheable: false,
    run: (ctx) =>
      failingAsStep(async () => {
        const name = modelName(ctx.inputs.model);
        const alias = aliasName(ctx.inputs.alias);
        const version = ctx.inputs.version;
        if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
          throw new StepFailure("bad_input", `version must be a version number (1 or more), not ${JSON.stringify(version)}`, {
            hint: "pass a version number, e.g. the output version of a register step",
          });
        }
        const project = ctx.run.project;
        await requireModelOf(deps, name, project);
        await requireOwner(deps, ctx.run, alias);
        const actor = await actorOfRun(deps, ctx.run);
        const before = (await deps.tracking.getModel(name)).aliases[alias] ?? null;
        ctx.signal.throwIfAborted();
        await deps.tracking.setAlias(name, alias, version);
        await deps.lifecycle?.recordAliasMove(name, alias, version, before, actor.name, "pipeline");
        await deps.audit.record({
          actor,
          action: "model.alias.set",
          target: { kind: "model", id: `${name}@${alias}` },
          project,
          before: before === null ? null : { version: before },
          after: { version, ...pipelineRunOf(ctx) },
        });
        ctx.log(
          before === null
            ? `${name}@${alias} now points at version ${version}`
            : `${name}@${alias} moved from version ${before} to version ${version}`,
        );
        return {};
      }),
  };
}

/**
 * `evaluate_champion` with {run_id, model, alias, metric?} -> {better, metric, champion_metric}: the
 * challenger run's metric against that of the run behind model@alias. The metric left out is the one the
 * run's training ranked its models by (its `sort`), else the task's default in the catalog; its direction
 * is the catalog's. Without a champion (no such model or alias yet) the challenger is better.
 */
export function evaluateChampionStep(deps: ModelStepDeps): StepHandler {
  return {
    cacheable: false,
    run: (ctx) =>
      failingAsStep(async () => {
        const runId = text(ctx.inputs.run_id, "run_id");
        const name = modelName(ctx.inputs.model);
        const alias = aliasName(ctx.inputs.alias ?? "champion");
        const project = ctx.run.project;
        const challenger = await runOfProject(deps, runId, project, "Compare one of this project's runs with the champion.");
        const parent = challenger.parentRunId ? await runOrNull(deps, challenger.parentRunId) : null;
        const taskId = challenger.task ?? parent?.task ?? null;
        const task = taskId ? catalogTask(await deps.catalog.get(), taskId) : undefined;
        const wanted = text(ctx.inputs.metric ?? rankingMetric(challenger, parent, task), "metric");
        const metric = metricOf(challenger, wanted, task, `run ${runId}`);
        const lower = lowerIsBetter(task, metric.key);
        ctx.log(`run ${runId}: ${metric.key} = ${metric.value} (${lower ? "lower" : "higher"} is better)`);

        const champion = await championOf(deps, name, alias, project);
        if (champion === null) {
          ctx.log(`${name}@${alias} does not exist yet: no champion to beat, so run ${runId} is better`);
          return { better: true, metric: metric.value, champion_metric: null };
        }
        const championRun = await deps.tracking.getRun(champion.runId);
        const held = metricOf(
          championRun,
          metric.key,
          task,
          `the champion ${name}@${alias} (version ${champion.version}, run ${champion.runId})`,
        );
        const better = lower ? metric.value < held.value : metric.value > held.value;
        ctx.log(
          `champion ${name}@${alias} (version ${champion.version}, run ${champion.runId}): ${held.key} = ${held.value}; ` +
            `run ${runId} is ${better ? "better" : "not better"}`,
        );
        return { better, metric: metric.value, champion_metric: held.value };
      }),
  };
}

// ---------------------------------------------------------------- metrics (pure)

/** MLflow's spelling of a metric name, as the engine logs it: "TT (Sec)" -> "TT_Sec" (engine/caretflow_engine/tracking.py). */
export function metricKey(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_\-./ ]/g, "").trim();
  return cleaned.replace(/\s+/g, "_") || "metric";
}

/** Error and time metrics, for metrics the catalog does not list (e.g. custom ones): smaller is better. */
const LOWER_IS_BETTER = /^(holdout_)?(MAE|MSE|RMSE|RMSLE|MAPE|SMAPE|MASE|RMSSE|MedAE|Log_?Loss|TT_Sec|fit_seconds|wall_seconds)$/i;

/** Whether smaller values of the metric are better: the catalog's `greaterIsBetter`, else its name (an error or time). */
export function lowerIsBetter(task: TaskCatalog | undefined, key: string): boolean {
  const bare = key.replace(/^holdout_/, "");
  const known = task?.metrics.find((m) => metricKey(m.name) === bare || metricKey(m.id) === bare);
  return known ? !known.greaterIsBetter : LOWER_IS_BETTER.test(key);
}

/**
 * The run's metric named `wanted` (spelt as in the catalog, by its id, or as MLflow keeps it, in any case),
 * or a failure naming the metrics the run has.
 */
export function metricOf(
  run: Pick<RunDetail, "metrics">,
  wanted: string,
  task: TaskCatalog | undefined,
  what: string,
): { key: string; value: number } {
  const known = task ? findMetric(task, wanted) : undefined;
  const norm = (s: string) => metricKey(s).toLowerCase().replace(/\.$/, "");
  const candidates = [wanted, metricKey(wanted), ...(known ? [metricKey(known.name)] : [])];
  const keys = Object.keys(run.metrics);
  const key = candidates.find((k) => run.metrics[k] !== undefined) ?? keys.find((k) => candidates.some((c) => norm(c) === norm(k)));
  const value = key === undefined ? undefined : run.metrics[key];
  if (key !== undefined && value !== undefined) return { key, value };
  const has = keys.filter((k) => !k.startsWith("cv_fold_") && !k.endsWith("_std")).sort();
  throw new StepFailure(
    "metric_not_found",
    `${what} has no metric '${wanted}'; it has ${has.length ? has.join(", ") : "no metrics at all"}`,
    {
      hint: has.length
        ? `set the step's metric to one of them (with: { metric: ${has[0]} })`
        : "compare a run that logged its metrics: the best_run_id of a train step",
    },
  );
}

/** The metric a run's training ranked its models by (its or its parent's `sort`), else the task's default. */
function rankingMetric(run: RunDetail, parent: RunDetail | null, task: TaskCatalog | undefined): string {
  const sort = run.params.sort ?? parent?.params.sort ?? task?.defaultSort ?? task?.metrics[0]?.name;
  if (sort) return sort;
  throw new StepFailure(
    "metric_unknown",
    `run ${run.runId} names no metric to compare (task ${run.task ?? "unknown"} has no default metric)`,
    { hint: "set the step's metric, e.g. with: { metric: Accuracy }" },
  );
}

// ---------------------------------------------------------------- checks

/** The run, once it is known to be the project's (as the register route checks); 404-like otherwise. */
async function runOfProject(deps: ModelStepDeps, runId: string, project: string, hint: string): Promise<RunDetail> {
  const run = await deps.tracking.getRun(runId);
  if ((await deps.projects.projectOfRun(run)) !== project) {
    throw new StepFailure("run_not_found", `run '${runId}' does not exist in project ${project}`, { hint });
  }
  return run;
}

/** Whether the model's name is the project's (recorded, or unrecorded and the project is the default one). */
async function modelIsOf(deps: ModelStepDeps, name: string, project: string): Promise<{ ok: boolean; recorded: boolean }> {
  const owner = (await deps.projects.owners("model")).get(name);
  return { ok: (owner ?? DEFAULT_PROJECT) === project, recorded: owner !== undefined };
}

async function requireModelOf(deps: ModelStepDeps, name: string, project: string): Promise<void> {
  if (!(await modelIsOf(deps, name, project)).ok) throw modelNotFound(name, project);
}

/**
 * The version model@alias points at and its run; null when the model or the alias does not exist yet.
 * A model another project owns is refused as the routes do (as if it did not exist, but failing).
 */
async function championOf(
  deps: ModelStepDeps,
  name: string,
  alias: string,
  project: string,
): Promise<{ version: number; runId: string } | null> {
  const owned = await modelIsOf(deps, name, project);
  if (!owned.ok && owned.recorded) throw modelNotFound(name, project);
  let model: Awaited<ReturnType<ModelStepDeps["tracking"]["getModel"]>>;
  try {
    model = await deps.tracking.getModel(name);
  } catch (err) {
    if (err instanceof CaretflowError && err.status === 404) return null;
    throw err;
  }
  // An unrecorded model that exists is the default project's (made before projects existed).
  if (!owned.ok) throw modelNotFound(name, project);
  const version = model.aliases[alias];
  if (version === undefined) return null;
  const runId = model.versions.find((v) => v.version === version)?.runId ?? null;
  if (!runId) {
    throw new StepFailure("champion_without_run", `${name}@${alias} (version ${version}) has no run to read its metrics from`, {
      hint: `point ${alias} at a version registered from a run, or compare with another alias`,
    });
  }
  return { version, runId };
}

function modelNotFound(name: string, project: string): StepFailure {
  return new StepFailure("model_not_found", `model '${name} in project ${project}' does not exist`, {
    hint: "List this project's models with GET /api/models (caretflow models list); model names are unique across projects.",
  });
}

/** Who the audit log names: the run's creator, or the server for a run nobody started. */
async function actorOfRun(deps: ModelStepDeps, run: StepRunContext["run"]): Promise<AuditActor> {
  if (!run.createdBy) return SYSTEM_ACTOR;
  const user = await deps.users.userByName(run.createdBy);
  return user ? actorOf(user) : { id: null, name: run.createdBy };
}

/** Pointing an alias is a promotion: the owner's call, as on POST /api/models/{name}/aliases. */
async function requireOwner(deps: ModelStepDeps, run: StepRunContext["run"], alias: string): Promise<void> {
  if (!run.createdBy) return;
  const user = await deps.users.userByName(run.createdBy);
  if (user?.role === "admin") return;
  const role = user ? await deps.projects.roleOf(user.id, run.project) : null;
  if (role !== null && roleAtLeast(role, "owner")) return;
  throw new StepFailure(
    "forbidden",
    `Setting the alias '${alias}' needs the owner role on project '${run.project}'; ${run.createdBy}, who started this run, ${role ? `has the ${role} role` : "is not a member"}`,
    { hint: "Ask an owner to run the pipeline, or to set the alias (caretflow models alias)." },
  );
}

/** A run that may have been deleted (a parent run, read only for its training's settings). */
async function runOrNull(deps: ModelStepDeps, runId: string): Promise<RunDetail | null> {
  try {
    return await deps.tracking.getRun(runId);
  } catch (err) {
    if (err instanceof CaretflowError && err.status === 404) return null;
    throw err;
  }
}

const pipelineRunOf = (ctx: StepRunContext) => ({ pipeline: ctx.run.pipeline, pipelineRun: ctx.run.id, step: ctx.step.id });

// ---------------------------------------------------------------- inputs and errors

function text(v: unknown, what: string): string {
  if (typeof v === "string" && v.length > 0) return v;
  throw new StepFailure("bad_input", `${what} must be a non-empty text, not ${JSON.stringify(v)}`);
}

function modelName(v: unknown): string {
  const r = RegisteredModelName.safeParse(v);
  if (r.success) return r.data;
  throw new StepFailure("bad_input", `model: '${String(v).slice(0, 120)}' is not a model name: ${r.error.issues[0]?.message}`);
}

function aliasName(v: unknown): string {
  const r = AliasName.safeParse(v);
  if (r.success) return r.data;
  throw new StepFailure("bad_input", `alias: '${String(v).slice(0, 120)}' is not an alias: ${r.error.issues[0]?.message}`);
}

/**
 * A caretflow error as a step failure with its code, message and hint: transient when something outside
 * failed for a while (MLflow unreachable or failing, the catalog not published yet), not for the input's
 * mistakes nor for a credential MLflow refuses (a restart mends that, not a retry).
 */
export function asStepFailure(err: unknown): unknown {
  if (!(err instanceof CaretflowError)) return err;
  const transient = err.kind === "operational" && err.status >= 500 && err.code !== "mlflow_unauthenticated";
  return new StepFailure(err.code, err.message, { ...(err.hint ? { hint: err.hint } : {}), transient });
}

async function failingAsStep<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asStepFailure(err);
  }
}
