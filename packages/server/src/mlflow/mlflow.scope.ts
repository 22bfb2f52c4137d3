import { CaretflowError, DEFAULT_PROJECT } from "@caretflow/contracts";
import type { ProjectService } from "../projects/project.service.ts";

/**
 * What a project member who is not a site admin may read through /mlflow: the experiments of their
 * projects (with those experiments' runs, metrics, artifacts, logged models and traces) and their
 * projects' registered models. Default deny: a request that matches no rule here is refused.
 */

/** A read of MLflow's REST API with caretflow's credential (`api/2.0/mlflow/<path>`); null when MLflow answers 4xx. */
export type MlflowLookup = (path: string, init?: { query?: Record<string, string>; body?: unknown }) => Promise<unknown | null>;

/** The user's side of the check: which experiment ids and registered model names are theirs. */
export interface MlflowReadScope {
  /** Ids of the MLflow experiments of the user's projects. */
  experimentIds(): Promise<ReadonlySet<string>>;
  /** Whether a registered model belongs to one of the user's projects. */
  ownsModel(): Promise<(name: string) => boolean>;
  /** Looks up a run's or a logged model's experiment in MLflow. */
  lookup: MlflowLookup;
}

/** A read under /mlflow, its path split into checked segments and its JSON body (if any) parsed. */
export interface ScopedRead {
  method: string;
  segments: readonly string[];
  query: URLSearchParams;
  body: unknown;
}

/** Applied to MLflow's JSON answer before it goes back: returns the answer to send (possibly filtered), or throws. */
export type AnswerCheck = (answer: unknown) => Promise<unknown>;

const API = /^(?:ajax-)?api\/[23]\.0\/mlflow\/(.+)$/;
const ARTIFACTS = /^(?:ajax-)?api\/[23]\.0\/mlflow-artifacts\/artifacts(?:\/(.*))?$/;
const LOGGED_MODEL = /^logged-models\/([^/]+)(?:\/artifacts\/(?:files|directories))?$/;

/** The 403 for something of another project, or missing (the two answer alike). */
export function notYours(what: string): CaretflowError {
  return new CaretflowError({
    code: "mlflow_not_in_your_projects",
    kind: "user",
    status: 403,
    message: `${what} belongs to a project you are not a member of (or does not exist)`,
    hint: "Through /mlflow you see the experiments and registered models of your projects; ask an owner of the project to add you.",
  });
}

function notOpen(path: string): CaretflowError {
  return new CaretflowError({
    code: "mlflow_not_open",
    kind: "user",
    status: 403,
    message: `MLflow's '${path.slice(0, 120)}' is not open to project members through caretflow (it cannot be limited to your projects)`,
    hint: "Open runs, metrics, artifacts and models from your projects' experiments; site admins see all of MLflow.",
  });
}

/** Every value of these fields, from the query string and the JSON body (MLflow reads one of them; both are checked). */
function values(req: ScopedRead, ...keys: string[]): string[] {
  const out: string[] = [];
  for (const key of keys) {
    out.push(...req.query.getAll(key));
    const v = isObject(req.body) ? req.body[key] : undefined;
    for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) out.push(String(item));
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Walks a JSON answer by keys; undefined when a step is missing. */
function at(v: unknown, ...keys: string[]): unknown {
  let cur = v;
  for (const k of keys) cur = isObject(cur) ? cur[k] : undefined;
  return cur;
}

async function requireExperiments(scope: MlflowReadScope, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) throw notYours("A search over every experiment");
  const mine = await scope.experimentIds();
  for (const id of ids) if (!mine.has(id)) throw notYours(`Experiment ${id.slice(0, 40)}`);
}

async function requireRuns(scope: MlflowReadScope, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) throw notYours("A request naming no run");
  for (const id of new Set(ids)) {
    const exp = at(await scope.lookup("runs/get", { query: { run_id: id } }), "run", "info", "experiment_id");
    if (typeof exp !== "string" || !(await scope.experimentIds()).has(exp)) throw notYours(`Run ${id.slice(0, 40)}`);
  }
}

async function requireModels(scope: MlflowReadScope, names: readonly string[]): Promise<void> {
  if (names.length === 0) throw notYours("A request naming no registered model");
  const owns = await scope.ownsModel();
  for (const name of names) if (!owns(name)) throw notYours(`Registered model '${name.slice(0, 80)}'`);
}

async function requireLoggedModel(scope: MlflowReadScope, id: string): Promise<void> {
  const exp = at(await scope.lookup(`logged-models/${encodeURIComponent(id)}`), "model", "info", "experiment_id");
  if (typeof exp !== "string" || !(await scope.experimentIds()).has(exp)) throw notYours(`Logged model ${id.slice(0, 40)}`);
}

/** Keeps the items of a list in the answer that pass `keep`. */
function filterList(key: string, keep: (item: Record<string, unknown>) => Promise<boolean>): AnswerCheck {
  return async (answer) => {
    if (!isObject(answer) || !Array.isArray(answer[key])) return answer;
    const kept: unknown[] = [];
    for (const item of answer[key]) if (isObject(item) && (await keep(item))) kept.push(item);
    return { ...answer, [key]: kept };
  };
}

/** Experiment ids named by a v3 trace search: its `locations` (each must name an experiment) and `experiment_ids`. */
function traceLocations(req: ScopedRead): string[] {
  const ids = values(req, "experiment_ids");
  const locations = isObject(req.body) ? req.body.locations : undefined;
  if (locations === undefined) return ids;
  if (!Array.isArray(locations)) return [];
  for (const loc of locations) {
    const id = at(loc, "mlflow_experiment", "experiment_id");
    if (typeof id !== "string") throw notYours("A trace location that is not an experiment");
    ids.push(id);
  }
  return ids;
}

type Rule = (req: ScopedRead, scope: MlflowReadScope) => Promise<AnswerCheck | null>;

/** A rule that checks the request and then lets MLflow's answer through as it is. */
function checkOnly(check: (req: ScopedRead, scope: MlflowReadScope) => Promise<void>): Rule {
  return async (req, scope) => {
    await check(req, scope);
    return null;
  };
}

const experimentsRule: Rule = checkOnly((req, s) => requireExperiments(s, values(req, "experiment_ids")));
const experimentRule: Rule = checkOnly((req, s) => requireExperiments(s, values(req, "experiment_id")));
const runRule: Rule = checkOnly((req, s) => requireRuns(s, values(req, "run_id", "run_uuid")));
const modelRule: Rule = checkOnly((req, s) => requireModels(s, values(req, "name")));

/** MLflow API endpoints (relative to `api|ajax-api/<2.0|3.0>/mlflow/`) a project member may read, each with its check. */
const API_RULES: Record<string, Rule> = {
  "experiments/search": async (_req, s) => filterList("experiments", async (e) => (await s.experimentIds()).has(String(e.experiment_id))),
  "experiments/get": experimentRule,
  "experiments/get-by-name": async (_req, s) => async (answer) => {
    const id = at(answer, "experiment", "experiment_id");
    if (typeof id !== "string" || !(await s.experimentIds()).has(id)) throw notYours("This experiment");
    return answer;
  },
  "experiments/search-datasets": experimentsRule,
  "runs/search": experimentsRule,
  "runs/get": runRule,
  "metrics/get-history": runRule,
  "metrics/get-history-bulk": checkOnly((req, s) => requireRuns(s, values(req, "run_id"))),
  "metrics/get-history-bulk-interval": checkOnly((req, s) => requireRuns(s, values(req, "run_ids"))),
  "artifacts/list": runRule,
  "logged-models/search": experimentsRule,
  "registered-models/search": async (_req, s) => filterList("registered_models", async (m) => (await s.ownsModel())(String(m.name))),
  "registered-models/get": modelRule,
  "registered-models/get-latest-versions": modelRule,
  "model-versions/search": async (_req, s) => filterList("model_versions", async (m) => (await s.ownsModel())(String(m.name))),
  "model-versions/get": modelRule,
  "model-versions/get-download-uri": modelRule,
  traces: experimentsRule,
  "traces/search": checkOnly((req, s) => requireExperiments(s, traceLocations(req))),
};

/** GraphQL input types the UI uses, and the id fields each carries. */
const GRAPHQL_INPUTS: Record<string, { runs?: string[]; experiments?: string[] }> = {
  MlflowGetRunInput: { runs: ["runId", "runUuid"] },
  MlflowListArtifactsInput: { runs: ["runId", "runUuid"] },
  MlflowGetMetricHistoryBulkIntervalInput: { runs: ["runIds"] },
  MlflowGetExperimentInput: { experiments: ["experimentId"] },
  MlflowSearchRunsInput: { experiments: ["experimentIds"] },
  MlflowSearchDatasetsInput: { experiments: ["experimentIds"] },
};
/** The UI's one string literal in its queries: a directive naming the page component. */
const COMPONENT_DIRECTIVE = /@component\(\s*name:\s*"[A-Za-z0-9_.-]*"\s*\)/g;

/**
 * A GraphQL query passes when every id in it comes from a variable declared with one of the UI's input
 * types (so the variable's fields are that type's fields) and names the user's runs or experiments.
 * String literals (other than the UI's component directive) are refused: they could carry an id unchecked.
 */
const graphqlRule: Rule = async (req, s) => {
  const query = isObject(req.body) ? req.body.query : undefined;
  if (typeof query !== "string") throw notOpen("graphql (a request without one query)");
  if (query.replace(COMPONENT_DIRECTIVE, "").includes('"')) throw notOpen("graphql with literal values (pass ids as variables)");
  // Searches every registered model: the REST search (filtered to the user's models) is open instead.
  if (/mlflowSearchModelVersions/i.test(query)) throw notOpen("graphql mlflowSearchModelVersions");
  const variables = isObject(req.body) ? (req.body.variables ?? {}) : {};
  if (!isObject(variables)) throw notOpen("graphql (variables are not an object)");
  const declared = new Map<string, string>();
  for (const m of query.matchAll(/\$(\w+)\s*:\s*([\w[\]!\s]+?)\s*(?=[,)=])/g)) declared.set(m[1] ?? "", (m[2] ?? "").replace(/[\s!]/g, ""));
  for (const [name, type] of declared) {
    const fields = GRAPHQL_INPUTS[type];
    if (!fields) throw notOpen(`graphql with a variable of type ${type.slice(0, 60)}`);
    // A missing input names no run or experiment, and is refused like an empty one.
    const value = variables[name] ?? {};
    if (!isObject(value)) throw notOpen("graphql (an input variable is not an object)");
    const read: ScopedRead = { ...req, query: new URLSearchParams(), body: value };
    if (fields.runs) await requireRuns(s, values(read, ...fields.runs));
    if (fields.experiments) await requireExperiments(s, values(read, ...fields.experiments));
  }
  for (const name of Object.keys(variables))
    if (!declared.has(name)) throw notOpen(`graphql with an undeclared variable '${name.slice(0, 40)}'`);
  return null;
};

/**
 * Checks a read through /mlflow for a project member: returns null when it may go to MLflow as it is,
 * an AnswerCheck when MLflow's answer must be filtered or checked first; throws a 403 when it names
 * something outside the user's projects or is not on the allow-list.
 */
export async function checkScopedRead(req: ScopedRead, scope: MlflowReadScope): Promise<AnswerCheck | null> {
  const path = req.segments.join("/");
  const method = req.method.toUpperCase();
  // MLflow's page, its scripts and styles, and its status.
  if (path === "" || path.startsWith("static-files/") || path === "favicon.ico" || path === "health" || path === "version") {
    return null;
  }
  if (path === "get-artifact") return await runRule(req, scope);
  if (path === "model-versions/get-artifact") return await modelRule(req, scope);
  if (path === "graphql" && method === "POST") return await graphqlRule(req, scope);
  const artifacts = ARTIFACTS.exec(path);
  if (artifacts) {
    // The artifact store's layout is <experiment id>/<run id>/artifacts/...: the experiment must be the user's.
    const under = artifacts[1] || req.query.get("path") || "";
    const expId = under.split("/")[0] ?? "";
    if (expId === "" || req.query.getAll("path").length > 1) throw notYours("The artifact store's top level");
    await requireExperiments(scope, [expId]);
    return null;
  }
  const api = API.exec(path)?.[1];
  if (api !== undefined) {
    const rule = API_RULES[api];
    if (rule) return await rule(req, scope);
    const logged = LOGGED_MODEL.exec(api);
    if (logged?.[1] && logged[1] !== "search") {
      await requireLoggedModel(scope, logged[1]);
      return null;
    }
    // MLflow's UI asks for these settings on every page; they hold no project's data.
    if (method === "GET" && (api === "ui-telemetry" || api === "server-info")) return null;
  }
  throw notOpen(path);
}

/**
 * Reads MLflow's REST API at `upstream` (its base URL with the static prefix) with caretflow's credential.
 * A 4xx answer (no such run) is null; MLflow being down (or `upstream` null) is a 502.
 */
export function mlflowLookup(upstream: string | null, authorization?: string): MlflowLookup {
  return async (path, init = {}) => {
    if (upstream === null) throw unavailable("MLflow is not running");
    const url = new URL(`${upstream.replace(/\/+$/, "")}/api/2.0/mlflow/${path}`);
    for (const [k, v] of Object.entries(init.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...(authorization ? { authorization } : {}) };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, {
        method: init.body === undefined ? "GET" : "POST",
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    } catch (err) {
      throw unavailable((err as Error).message, err);
    }
    if (res.status >= 400 && res.status < 500) return null;
    if (!res.ok) throw unavailable(`HTTP ${res.status}`);
    return (await res.json()) as unknown;
  };
}

function unavailable(why: string, cause?: unknown): CaretflowError {
  return new CaretflowError({
    code: "mlflow_unavailable",
    kind: "operational",
    status: 502,
    message: `MLflow did not answer caretflow's check of this request: ${why}`,
    hint: "caretflow restarts MLflow automatically; try again in a few seconds.",
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The scope of a project member through /mlflow: the projects they belong to (only `tokenProject` when
 * an API token is scoped to one). A user in no project is refused: there is nothing of theirs to show.
 */
export async function memberScope(
  projects: ProjectService,
  user: { id: string; username: string },
  tokenProject: string | null,
  lookup: MlflowLookup,
): Promise<MlflowReadScope> {
  const mine = new Set((await projects.memberOf(user.id)).filter((p) => tokenProject === null || p === tokenProject));
  if (mine.size === 0) {
    throw new CaretflowError({
      code: "mlflow_no_projects",
      kind: "user",
      status: 403,
      message: "MLflow's UI shows the experiments of your projects, and you are not a member of any project",
      hint: `Ask a project's owner to add you (caretflow projects add-member PROJECT ${user.username} --role viewer).`,
    });
  }
  return projectScope(projects, mine, lookup);
}

/**
 * The scope of a user who is a member of `mine` (project names): their experiments are those recorded
 * as their projects' (`project_objects` kind experiment, by name), their registered models those
 * recorded as kind model. An experiment caretflow has not recorded yet is recorded on first sight as
 * the project of its earliest run made from a caretflow dataset, else the default project's.
 * Each answer is computed once per request.
 */
export function projectScope(projects: ProjectService, mine: ReadonlySet<string>, lookup: MlflowLookup): MlflowReadScope {
  let experiments: Promise<ReadonlySet<string>> | undefined;
  let models: Promise<(name: string) => boolean> | undefined;
  return {
    lookup,
    experimentIds: () => {
      experiments ??= experimentIdsOf(projects, mine, lookup);
      return experiments;
    },
    ownsModel: () => {
      models ??= projects.owners("model").then((owners) => (name: string) => mine.has(owners.get(name) ?? DEFAULT_PROJECT));
      return models;
    },
  };
}

async function experimentIdsOf(projects: ProjectService, mine: ReadonlySet<string>, lookup: MlflowLookup): Promise<ReadonlySet<string>> {
  const ids = new Set<string>();
  for (const [id, project] of await experimentProjects(projects, lookup)) if (mine.has(project)) ids.add(id);
  return ids;
}

/**
 * Every MLflow experiment (deleted ones too) with its project, recording those caretflow had not
 * recorded yet (see recordExperiment): experiment id -> project.
 */
export async function experimentProjects(projects: ProjectService, lookup: MlflowLookup): Promise<Map<string, string>> {
  const owners = await projects.owners("experiment");
  const out = new Map<string, string>();
  let pageToken: string | undefined;
  do {
    const page = await lookup("experiments/search", {
      query: { max_results: "1000", view_type: "ALL", ...(pageToken ? { page_token: pageToken } : {}) },
    });
    const list = at(page, "experiments");
    for (const e of Array.isArray(list) ? list : []) {
      const id = at(e, "experiment_id");
      const name = at(e, "name");
      if (typeof id !== "string" || typeof name !== "string") continue;
      out.set(id, owners.get(name) ?? (await recordExperiment(projects, lookup, id, name)));
    }
    const next = at(page, "next_page_token");
    pageToken = typeof next === "string" && next !== "" ? next : undefined;
  } while (pageToken);
  return out;
}

/** Records an experiment caretflow had not recorded (one made before experiments had projects) and returns its project. */
async function recordExperiment(projects: ProjectService, lookup: MlflowLookup, id: string, name: string): Promise<string> {
  const runs = at(
    await lookup("runs/search", {
      body: { experiment_ids: [id], max_results: 1000, order_by: ["attributes.start_time ASC"], run_view_type: "ALL" },
    }),
    "runs",
  );
  let project = DEFAULT_PROJECT;
  for (const run of Array.isArray(runs) ? runs : []) {
    const tags = at(run, "data", "tags");
    const dataset = Array.isArray(tags) ? tags.find((t) => at(t, "key") === "caretflow.dataset") : undefined;
    const value = at(dataset, "value");
    if (typeof value === "string" && value !== "") {
      project = await projects.projectOfRun({ dataset: value });
      break;
    }
  }
  try {
    await projects.claim("experiment", name, project);
    return project;
  } catch {
    // Recorded meanwhile (a job claimed it): that record stands.
    return await projects.projectOf("experiment", name);
  }
}
