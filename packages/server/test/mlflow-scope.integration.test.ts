import { PROJECT_HEADER } from "@caretflow/contracts";
import { basicAuthorization, type MlflowClient } from "@caretflow/tracking";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { experimentProjects, mlflowLookup } from "../src/mlflow/mlflow.scope.ts";
import { appFixture } from "./app.fixture.ts";
import { lockedMlflow } from "./mlflow.fixture.ts";

/**
 * MLflow's UI through /mlflow for project members, against one real MLflow: a member of project alpha
 * reads alpha's experiments, runs, metrics, artifacts and registered models and nothing of beta's; writes
 * are refused; a site admin sees everything. Experiments caretflow had not recorded get their project
 * from their runs' datasets on first sight.
 */
const locked = lockedMlflow("mlflow-scope");
const { sup } = locked;
let mlflow: MlflowClient;
let f: Awaited<ReturnType<typeof appFixture>>;
const cookies: Record<string, string> = {};
const ids = { alphaExp: "", betaExp: "", legacyExp: "", orphanExp: "", alphaRun: "", betaRun: "" };

async function send(who: string, method: string, path: string, body?: unknown) {
  const res = await f.app.request(path, {
    method,
    headers: { cookie: cookies[who]!, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, text, json };
}
const api = (p: string) => `/mlflow/ajax-api/2.0/mlflow/${p}`;
const errorCode = (r: { json: Record<string, unknown> }) => (r.json.error as { code?: string } | undefined)?.code;

async function runWithArtifact(expId: string, name: string, tags: Record<string, string> = {}): Promise<string> {
  const runId = (await mlflow.createRun({ experimentId: expId, runName: name, tags })).info.run_id;
  await mlflow.logBatch(runId, { metrics: [{ key: "Accuracy", value: 0.5, step: 0 }] });
  await locked.putArtifact(expId, runId, "notes.txt", `${name} notes`);
  return runId;
}

beforeAll(async () => {
  const started = locked.start();
  f = await appFixture(locked.appOptions(), { datasets: true });
  for (const name of ["alpha-owner", "alpha-viewer", "alpha-editor", "beta-owner", "nobody"]) await f.auth.createUser({ username: name });
  await f.projects.create((await f.auth.userByName("alpha-owner"))!, "alpha", null);
  await f.projects.create((await f.auth.userByName("beta-owner"))!, "beta", null);
  await f.projects.setMember("alpha", "alpha-viewer", "viewer");
  await f.projects.setMember("alpha", "alpha-editor", "editor");
  for (const name of ["alpha-viewer", "alpha-editor", "beta-owner", "nobody", "admin"]) {
    const user = (await f.auth.userByName(name))!;
    cookies[name] = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
  }
  mlflow = await started;
  ids.alphaExp = await mlflow.createExperiment("alpha-exp");
  ids.betaExp = await mlflow.createExperiment("beta-exp");
  await f.projects.claim("experiment", "alpha-exp", "alpha");
  await f.projects.claim("experiment", "beta-exp", "beta");
  ids.alphaRun = await runWithArtifact(ids.alphaExp, "alpha-run");
  ids.betaRun = await runWithArtifact(ids.betaExp, "beta-run");
  // Made before experiments were recorded: one with a run of beta's dataset, one with no runs.
  await f.projects.claim("dataset", "beta_data", "beta");
  ids.legacyExp = await mlflow.createExperiment("legacy");
  await runWithArtifact(ids.legacyExp, "legacy-run", { "caretflow.dataset": "beta_data@v1" });
  ids.orphanExp = await mlflow.createExperiment("orphan");
  for (const [model, project, runId, expId] of [
    ["alpha-model", "alpha", ids.alphaRun, ids.alphaExp],
    ["beta-model", "beta", ids.betaRun, ids.betaExp],
  ] as const) {
    await locked.post("registered-models/create", { name: model });
    await locked.post("model-versions/create", {
      name: model,
      source: `mlflow-artifacts:/${expId}/${runId}/artifacts/model`,
      run_id: runId,
    });
    await f.projects.claim("model", model, project);
  }
}, 240_000);

afterAll(async () => {
  await locked.stop();
  await f?.close();
}, 60_000);

const names = (r: { json: Record<string, unknown> }, key: string) =>
  ((r.json[key] as Array<{ name: string }> | undefined) ?? []).map((x) => x.name).sort();

describe("a member of project alpha through /mlflow", () => {
  it("opens MLflow's page and finds only alpha's experiments in the experiment list", async () => {
    expect((await send("alpha-viewer", "GET", "/mlflow/")).status).toBe(200);
    const post = await send("alpha-viewer", "POST", api("experiments/search"), { max_results: 50 });
    expect(post.status).toBe(200);
    expect(names(post, "experiments")).toEqual(["alpha-exp"]);
    const get = await send("alpha-viewer", "GET", api("experiments/search?max_results=50&view_type=ALL"));
    expect(names(get, "experiments")).toEqual(["alpha-exp"]);
  });

  it("reads alpha's experiment, run, metric history and artifact", async () => {
    const { alphaExp, alphaRun } = ids;
    expect((await send("alpha-viewer", "GET", api(`experiments/get?experiment_id=${alphaExp}`))).status).toBe(200);
    expect((await send("alpha-viewer", "GET", api("experiments/get-by-name?experiment_name=alpha-exp"))).status).toBe(200);
    const runs = await send("alpha-viewer", "POST", api("runs/search"), { experiment_ids: [alphaExp] });
    expect(runs.status).toBe(200);
    expect(runs.text).toContain(alphaRun);
    expect((await send("alpha-viewer", "GET", api(`runs/get?run_id=${alphaRun}`))).status).toBe(200);
    const history = await send("alpha-viewer", "GET", api(`metrics/get-history?run_id=${alphaRun}&metric_key=Accuracy`));
    expect(history.text).toContain("0.5");
    const interval = await send("alpha-viewer", "GET", api(`metrics/get-history-bulk-interval?run_ids=${alphaRun}&metric_key=Accuracy`));
    expect(interval.status).toBe(200);
    expect((await send("alpha-viewer", "GET", api(`artifacts/list?run_id=${alphaRun}`))).text).toContain("notes.txt");
    expect((await send("alpha-viewer", "GET", `/mlflow/get-artifact?path=notes.txt&run_uuid=${alphaRun}`)).text).toBe("alpha-run notes");
    const store = await send(
      "alpha-viewer",
      "GET",
      `/mlflow/ajax-api/2.0/mlflow-artifacts/artifacts/${alphaExp}/${alphaRun}/artifacts/notes.txt`,
    );
    expect(store.text).toBe("alpha-run notes");
    const gql = await send("alpha-viewer", "POST", "/mlflow/graphql", {
      query:
        'query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") { mlflowGetRun(input: $data) { run { info { runUuid } } } }',
      operationName: "GetRun",
      variables: { data: { runId: alphaRun } },
    });
    expect(gql.status).toBe(200);
    expect(gql.text).toContain(alphaRun);
  });

  it("gets 403 for beta's experiment, run, metric history and artifacts, however it is named", async () => {
    const { betaExp, betaRun, alphaExp } = ids;
    const refused: Array<[string, string, unknown?]> = [
      ["GET", api(`experiments/get?experiment_id=${betaExp}`)],
      ["GET", api("experiments/get-by-name?experiment_name=beta-exp")],
      ["GET", api("experiments/get-by-name?experiment_name=no-such-experiment")],
      ["GET", api("runs/get?run_id=0123456789abcdef0123456789abcdef")],
      ["POST", api("runs/search"), { experiment_ids: [betaExp] }],
      ["POST", api("runs/search"), { experiment_ids: [alphaExp, betaExp] }],
      ["POST", api("runs/search"), {}],
      ["GET", api(`runs/get?run_id=${betaRun}`)],
      ["GET", api(`runs/get?run_uuid=${betaRun}`)],
      ["GET", api(`metrics/get-history?run_id=${betaRun}&metric_key=Accuracy`)],
      ["GET", api(`metrics/get-history-bulk?run_id=${ids.alphaRun}&run_id=${betaRun}&metric_key=Accuracy`)],
      ["GET", api(`metrics/get-history-bulk-interval?run_ids=${betaRun}&metric_key=Accuracy`)],
      ["GET", api(`artifacts/list?run_id=${betaRun}`)],
      ["GET", `/mlflow/get-artifact?path=notes.txt&run_uuid=${betaRun}`],
      ["GET", `/mlflow/get-artifact?path=notes.txt&run_id=${betaRun}`],
      ["GET", `/mlflow/ajax-api/2.0/mlflow-artifacts/artifacts/${betaExp}/${betaRun}/artifacts/notes.txt`],
      ["GET", `/mlflow/ajax-api/2.0/mlflow-artifacts/artifacts?path=${betaExp}/${betaRun}/artifacts`],
      ["POST", api("logged-models/search"), { experiment_ids: [betaExp] }],
      ["GET", api("registered-models/get?name=beta-model")],
      ["GET", "/mlflow/model-versions/get-artifact?name=beta-model&version=1&path=MLmodel"],
      [
        "POST",
        "/mlflow/graphql",
        {
          query: "query Q($d: MlflowGetRunInput!) { mlflowGetRun(input: $d) { run { info { runUuid } } } }",
          variables: { d: { runId: betaRun } },
        },
      ],
    ];
    for (const [method, path, body] of refused) {
      const res = await send("alpha-viewer", method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(errorCode(res), `${method} ${path}`).toBe("mlflow_not_in_your_projects");
      expect(res.text, `${method} ${path}`).not.toContain("beta-run notes");
    }
  });

  it("refuses GraphQL it cannot check and every endpoint not on the allow-list", async () => {
    const notOpen: Array<[string, string, unknown?]> = [
      // an id as a literal, and a variable declared as a bare string, are not checked
      ["POST", "/mlflow/graphql", { query: `query { mlflowGetRun(input: {runId: "${ids.betaRun}"}) { run { info { runUuid } } } }` }],
      [
        "POST",
        "/mlflow/graphql",
        { query: "query Q($r: String) { mlflowGetRun(input: {runId: $r}) { run { info { runUuid } } } }", variables: { r: ids.betaRun } },
      ],
      ["POST", "/mlflow/graphql", { query: "query { mlflowSearchModelVersions(input: {}) { modelVersions { name } } }" }],
      ["GET", api("gateway/secrets/config").replace("2.0", "3.0")],
      ["GET", "/mlflow/ajax-api/2.0/mlflow/get-trace-artifact?request_id=x"],
      ["GET", "/mlflow/ajax-api/2.0/mlflow-artifacts/artifacts"],
    ];
    for (const [method, path, body] of notOpen) {
      const res = await send("alpha-viewer", method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.text, path).not.toContain(ids.betaRun);
    }
  });

  it("sees only alpha's registered models and their versions", async () => {
    expect(names(await send("alpha-viewer", "GET", api("registered-models/search")), "registered_models")).toEqual(["alpha-model"]);
    expect(names(await send("alpha-viewer", "GET", api("model-versions/search")), "model_versions")).toEqual(["alpha-model"]);
    expect((await send("alpha-viewer", "GET", api("registered-models/get?name=alpha-model"))).status).toBe(200);
  });

  it("cannot write anything, not even to alpha's own run", async () => {
    const writes: Array<[string, unknown]> = [
      ["runs/set-tag", { run_id: ids.alphaRun, key: "note", value: "x" }],
      ["runs/delete", { run_id: ids.alphaRun }],
      ["experiments/create", { name: "sneaky" }],
      ["registered-models/create", { name: "sneaky" }],
    ];
    for (const [path, body] of writes) {
      const res = await send("alpha-viewer", "POST", api(path), body);
      expect(res.status, path).toBe(403);
      expect(errorCode(res), path).toBe("mlflow_read_only");
    }
    expect((await mlflow.getRun(ids.alphaRun)).info.lifecycle_stage).toBe("active");
    expect(await mlflow.getExperimentByName("sneaky")).toBeNull();
  });
});

describe("experiments and projects", () => {
  it("records an unrecorded experiment as its earliest caretflow run's dataset's project, else the default project's", async () => {
    const beta = await send("beta-owner", "POST", api("experiments/search"), { max_results: 50 });
    expect(names(beta, "experiments")).toEqual(["beta-exp", "legacy"]);
    expect(await f.projects.projectOf("experiment", "legacy")).toBe("beta");
    expect((await f.projects.owners("experiment")).get("orphan")).toBe("default");
  });

  it("records every unrecorded experiment at once (as caretflow does once MLflow has started)", async () => {
    await f.projects.claim("dataset", "alpha_old", "alpha");
    const oldExp = await mlflow.createExperiment("alpha-before-projects");
    await runWithArtifact(oldExp, "old-run", { "caretflow.dataset": "alpha_old@v3" });
    const all = await experimentProjects(f.projects, mlflowLookup(sup.url, basicAuthorization(sup.credentials)));
    expect(all.get(oldExp)).toBe("alpha");
    expect(all.get(ids.betaExp)).toBe("beta");
    expect(await f.projects.projectOf("experiment", "alpha-before-projects")).toBe("alpha");
  });

  it("shows a site admin every experiment and every project's runs", async () => {
    const all = await send("admin", "POST", api("experiments/search"), { max_results: 50 });
    expect(names(all, "experiments")).toEqual(expect.arrayContaining(["alpha-exp", "beta-exp", "legacy", "orphan"]));
    expect((await send("admin", "GET", api(`runs/get?run_id=${ids.betaRun}`))).status).toBe(200);
    expect(names(await send("admin", "GET", api("registered-models/search")), "registered_models")).toEqual(["alpha-model", "beta-model"]);
  });

  it("refuses a user in no project", async () => {
    const res = await send("nobody", "POST", api("experiments/search"), {});
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe("mlflow_no_projects");
  });

  it("refuses a training job into another project's experiment with a clear message", async () => {
    const form = new FormData();
    form.set("file", new File(["a,b\n1,2\n3,4\n5,6\n7,8\n"], "alpha_data.csv", { type: "text/csv" }));
    form.set("name", "alpha_data");
    const up = await f.app.request("/api/datasets", {
      method: "POST",
      headers: { cookie: cookies["alpha-editor"]!, [PROJECT_HEADER]: "alpha" },
      body: form,
    });
    expect(up.status).toBe(201);
    const res = await f.app.request("/api/jobs/train", {
      method: "POST",
      headers: { cookie: cookies["alpha-editor"]!, [PROJECT_HEADER]: "alpha", "content-type": "application/json" },
      body: JSON.stringify({ dataset: "alpha_data", task: "regression", target: "b", experiment: "beta-exp" }),
    });
    expect(res.status).toBe(409);
    const error = ((await res.json()) as { error: { code: string; message: string; hint: string } }).error;
    expect(error.code).toBe("experiment_name_taken");
    expect(error.message).toContain("'beta-exp' belongs to another project");
    expect(error.hint).toContain("experiment");
    expect(await f.projects.projectOf("experiment", "beta-exp")).toBe("beta");
  });
});
