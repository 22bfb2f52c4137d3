import { describe, expect, it } from "vitest";
import { type AnswerCheck, checkScopedRead, type MlflowReadScope, type ScopedRead } from "./mlflow.scope.ts";

/**
 * The member's read rules as a table, over a scope that owns experiment 1 (run r1, logged model m1)
 * and the registered model "mine"; experiment 2 (run r2, logged model m2) and "theirs" are another
 * project's. The same rules run against a real MLflow in test/mlflow-scope.integration.test.ts.
 */
const scope: MlflowReadScope = {
  experimentIds: async () => new Set(["1"]),
  ownsModel: async () => (name) => name === "mine",
  lookup: async (path, init) => {
    const run = init?.query?.run_id;
    if (path === "runs/get") return run === "r1" || run === "r2" ? { run: { info: { experiment_id: run === "r1" ? "1" : "2" } } } : null;
    if (path === "logged-models/m1") return { model: { info: { experiment_id: "1" } } };
    if (path === "logged-models/m2") return { model: { info: { experiment_id: "2" } } };
    return null;
  },
};

function read(method: string, pathAndQuery: string, body?: unknown): ScopedRead {
  const [path, query] = pathAndQuery.split("?") as [string, string | undefined];
  return { method, segments: path.split("/"), query: new URLSearchParams(query ?? ""), body };
}

const gql = (query: string, variables?: unknown) => read("POST", "graphql", { query, variables });
const GET_RUN =
  'query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") { mlflowGetRun(input: $data) { run { info { runUuid } } } }';

const ALLOWED: Array<[string, ScopedRead]> = [
  ["the page", read("GET", "")],
  ["a script", read("GET", "static-files/static/js/main.js")],
  ["own experiment", read("GET", "ajax-api/2.0/mlflow/experiments/get?experiment_id=1")],
  ["own runs search", read("POST", "ajax-api/2.0/mlflow/runs/search", { experiment_ids: ["1"] })],
  ["own runs search (v3 path)", read("POST", "api/3.0/mlflow/runs/search", { experiment_ids: ["1"] })],
  ["own run", read("GET", "ajax-api/2.0/mlflow/runs/get?run_uuid=r1")],
  ["own metric interval", read("GET", "ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=r1&metric_key=a")],
  ["own artifact", read("GET", "get-artifact?path=x&run_id=r1")],
  ["own artifact in the store", read("GET", "ajax-api/2.0/mlflow-artifacts/artifacts/1/r1/artifacts/x")],
  ["own store listing", read("GET", "ajax-api/2.0/mlflow-artifacts/artifacts?path=1/r1/artifacts")],
  ["own logged model", read("GET", "ajax-api/2.0/mlflow/logged-models/m1")],
  ["own logged model's files", read("GET", "ajax-api/2.0/mlflow/logged-models/m1/artifacts/files?artifact_file_path=x")],
  ["own registered model", read("GET", "ajax-api/2.0/mlflow/registered-models/get?name=mine")],
  ["own trace search", read("POST", "ajax-api/3.0/mlflow/traces/search", { locations: [{ mlflow_experiment: { experiment_id: "1" } }] })],
  ["GraphQL GetRun", gql(GET_RUN, { data: { runId: "r1" } })],
  [
    "GraphQL SearchRuns",
    gql("query SearchRuns($data: MlflowSearchRunsInput!) { mlflowSearchRuns(input: $data) { runs { info { runUuid } } } }", {
      data: { experimentIds: ["1"] },
    }),
  ],
];

const REFUSED: Array<[string, ScopedRead, string]> = [
  ["another project's experiment", read("GET", "ajax-api/2.0/mlflow/experiments/get?experiment_id=2"), "not_in"],
  ["a search naming one foreign experiment", read("POST", "ajax-api/2.0/mlflow/runs/search", { experiment_ids: ["1", "2"] }), "not_in"],
  ["a search naming none", read("POST", "ajax-api/2.0/mlflow/runs/search", {}), "not_in"],
  [
    "a foreign id in the query of a POST",
    read("POST", "ajax-api/2.0/mlflow/runs/search?experiment_ids=2", { experiment_ids: ["1"] }),
    "not_in",
  ],
  ["another project's run", read("GET", "ajax-api/2.0/mlflow/runs/get?run_id=r2"), "not_in"],
  ["a missing run", read("GET", "ajax-api/2.0/mlflow/runs/get?run_id=nope"), "not_in"],
  ["own and foreign runs", read("GET", "ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=r1&run_id=r2"), "not_in"],
  ["a foreign artifact", read("GET", "get-artifact?path=x&run_uuid=r2"), "not_in"],
  ["a foreign store path", read("GET", "ajax-api/2.0/mlflow-artifacts/artifacts/2/r2/artifacts/x"), "not_in"],
  ["the store's top level", read("GET", "ajax-api/2.0/mlflow-artifacts/artifacts"), "not_in"],
  ["two store paths", read("GET", "ajax-api/2.0/mlflow-artifacts/artifacts?path=1/r1&path=2/r2"), "not_in"],
  ["a foreign logged model", read("GET", "ajax-api/2.0/mlflow/logged-models/m2"), "not_in"],
  ["a foreign registered model", read("GET", "ajax-api/2.0/mlflow/model-versions/get?name=theirs&version=1"), "not_in"],
  [
    "a trace location that is no experiment",
    read("POST", "ajax-api/3.0/mlflow/traces/search", { locations: [{ uc_schema: {} }] }),
    "not_in",
  ],
  ["GraphQL on a foreign run", gql(GET_RUN, { data: { runId: "r2" } }), "not_in"],
  ["GraphQL with a missing input", gql(GET_RUN, {}), "not_in"],
  ["GraphQL with a literal id", gql('query { mlflowGetRun(input: {runId: "r2"}) { run { info { runUuid } } } }'), "not_open"],
  [
    "GraphQL with a string variable",
    gql("query Q($r: String) { mlflowGetRun(input: {runId: $r}) { run { info { runUuid } } } }", { r: "r2" }),
    "not_open",
  ],
  ["GraphQL with an undeclared variable", gql("query { test }", { r: "r2" }), "not_open"],
  ["GraphQL model version search", gql("query { mlflowSearchModelVersions(input: {}) { modelVersions { name } } }"), "not_open"],
  ["GraphQL by GET", read("GET", "graphql?query=x"), "not_open"],
  ["a trace artifact", read("GET", "ajax-api/2.0/mlflow/get-trace-artifact?request_id=t"), "not_open"],
  ["MLflow's account", read("GET", "ajax-api/2.0/mlflow/users/current"), "not_open"],
  ["the assistant's settings", read("GET", "ajax-api/3.0/mlflow/assistant/config"), "not_open"],
  ["an unknown page", read("GET", "something-else"), "not_open"],
];

describe("a project member's reads through /mlflow", () => {
  it.each(ALLOWED)("lets through %s", async (_what, req) => {
    await expect(checkScopedRead(req, scope)).resolves.not.toThrow();
  });

  it.each(REFUSED)("refuses %s", async (_what, req, code) => {
    await expect(checkScopedRead(req, scope)).rejects.toMatchObject({
      status: 403,
      code: code === "not_in" ? "mlflow_not_in_your_projects" : "mlflow_not_open",
    });
  });

  it("filters searches' answers to the member's experiments and models", async () => {
    const experiments = (await checkScopedRead(read("POST", "ajax-api/2.0/mlflow/experiments/search", {}), scope)) as AnswerCheck;
    expect(await experiments({ experiments: [{ experiment_id: "1" }, { experiment_id: "2" }], next_page_token: "t" })).toEqual({
      experiments: [{ experiment_id: "1" }],
      next_page_token: "t",
    });
    const versions = (await checkScopedRead(read("GET", "ajax-api/2.0/mlflow/model-versions/search"), scope)) as AnswerCheck;
    expect(await versions({ model_versions: [{ name: "mine" }, { name: "theirs" }] })).toEqual({ model_versions: [{ name: "mine" }] });
    const byName = (await checkScopedRead(
      read("GET", "ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=x"),
      scope,
    )) as AnswerCheck;
    await expect(byName({ experiment: { experiment_id: "2" } })).rejects.toMatchObject({ status: 403 });
  });
});
