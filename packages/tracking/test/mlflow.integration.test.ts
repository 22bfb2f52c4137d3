import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CaretflowError } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deleteAlias,
  getModel,
  getRunDetail,
  listModels,
  listTrainingRuns,
  MlflowClient,
  MlflowSupervisor,
  registerModel,
  resolveModelRef,
  setAlias,
  updateModel,
  updateModelVersion,
} from "../src/index.ts";
import { basicAuthorization, MLFLOW_SECRET_FILE } from "../src/mlflow.secret.ts";
import { groupAlive, groupCommandLines } from "../src/process-group.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
const mlflowBin = join(repo, "engine/.venv/bin/mlflow");
const python = join(repo, "engine/.venv/bin/python");
const run = promisify(execFile);

async function py(script: string, ...args: string[]): Promise<Record<string, unknown>> {
  // MLflow's Python client sends the credential from these variables, as caretflow's engine does.
  const env = { ...process.env, MLFLOW_TRACKING_USERNAME: sup.credentials.username, MLFLOW_TRACKING_PASSWORD: sup.credentials.password };
  const { stdout } = await run(python, [join(here, "fixtures", script), ...args], { timeout: 120_000, env });
  const last = stdout.trim().split("\n").at(-1) ?? "{}";
  return JSON.parse(last) as Record<string, unknown>;
}

/** GET with an explicit Host header (fetch does not let a caller set it) and caretflow's credential. */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(url, { headers: { host, authorization: basicAuthorization(sup.credentials) } }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on("error", fail);
    req.end();
  });
}

async function expectError(p: Promise<unknown>, want: Partial<Pick<CaretflowError, "code" | "status" | "kind">>): Promise<CaretflowError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CaretflowError);
  expect(err).toMatchObject(want);
  return err as CaretflowError;
}

const home = mkdtempSync(join(tmpdir(), "caretflow-mlflow-"));
const logs: string[] = [];
const sup = new MlflowSupervisor({ mlflowBin, home, staticPrefix: "/mlflow", log: (level, msg) => logs.push(`${level}: ${msg}`) });
let c: MlflowClient;
let url: string;
const timings: Record<string, number> = {};
/** What fixtures/log_model.py logs as a run artifact. */
const SCORES_CSV = "fold,accuracy\n0,0.8\n";

describe("tracking against a real MLflow server", () => {
  beforeAll(async () => {
    const t0 = Date.now();
    ({ url } = await sup.start());
    timings.firstStartMs = Date.now() - t0;
    c = new MlflowClient({ baseUrl: url, credentials: sup.credentials });
  }, 240_000);

  afterAll(async () => {
    await sup.stop();
    console.log(`MLflow start times: ${JSON.stringify(timings)}`);
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it("refuses every request without caretflow's credential but its health check; the secret stays in its mode-600 file", async () => {
    const auth = { authorization: basicAuthorization(sup.credentials) };
    const wrong = { authorization: basicAuthorization({ username: "caretflow", password: "x".repeat(43) }) };
    const search = `${url}/api/2.0/mlflow/experiments/search?max_results=10`;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    for (const headers of [{}, wrong, { authorization: `Bearer ${sup.credentials.password}` }]) {
      expect((await fetch(search, { headers })).status).toBe(401);
      expect((await fetch(`${url}/`, { headers })).status).toBe(401);
      expect((await fetch(`${url}/static-files/favicon.ico`, { headers })).status).toBe(401);
    }
    const create = (headers: Record<string, string>) =>
      fetch(`${url}/api/2.0/mlflow/experiments/create`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ name: "written-without-credential" }),
      });
    expect((await create({})).status).toBe(401);
    expect(await c.getExperimentByName("written-without-credential")).toBeNull();
    expect((await fetch(search, { headers: auth })).status).toBe(200);
    const made = await create(auth);
    expect(made.status).toBe(200);
    expect(await c.getExperimentByName("written-without-credential")).not.toBeNull();

    const secretFile = join(home, MLFLOW_SECRET_FILE);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(secretFile, "utf8").trim()).toBe(sup.credentials.password);
    expect(sup.credentials.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const pgid = Number(readFileSync(join(home, "mlflow.pid"), "utf8"));
    const commandLines = groupCommandLines(pgid);
    expect(commandLines.some((l) => l.includes("caretflow"))).toBe(true); // --app-name caretflow
    expect(commandLines.some((l) => l.includes(sup.credentials.password))).toBe(false);
    expect(readFileSync(join(home, "mlflow.log"), "utf8")).not.toContain(sup.credentials.password);
  });

  it("serves health, API and UI under the static prefix on loopback only", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mlflow$/);
    expect(sup.status()).toMatchObject({ ready: true, restarts: 0, url });
    const origin = new URL(url).origin;
    const auth = { authorization: basicAuthorization(sup.credentials) };
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/`, { headers: auth })).headers.get("content-type")).toMatch(/text\/html/);
    expect((await fetch(`${url}/ajax-api/2.0/mlflow/experiments/search?max_results=1`, { headers: auth })).status).toBe(200);
    // Outside the prefix nothing is served, so a proxy must keep the prefix in the path.
    expect((await fetch(`${origin}/api/2.0/mlflow/experiments/search?max_results=1`, { headers: auth })).status).toBe(404);
    // MLflow's Host check: a proxy must send Host 127.0.0.1:PORT (or localhost), not the public name.
    const port = new URL(url).port;
    const api = `${url}/api/2.0/mlflow/experiments/search?max_results=1`;
    expect(await getWithHost(api, `127.0.0.1:${port}`)).toBe(200);
    expect(await getWithHost(api, "caretflow.example.org")).toBe(403);
    // And its CORS check refuses state changes from a foreign Origin.
    const res = await fetch(`${url}/api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://caretflow.example.org", ...auth },
      body: JSON.stringify({ name: "cross-origin" }),
    });
    expect(res.status).toBe(403);
    expect(readFileSync(join(home, "mlflow.log"), "utf8")).toContain("starting mlflow server");
  });

  let expId: string;
  let parentA: string;
  let parentB: string;
  let childA1: string;
  let childA2: string;

  it("lists caretflow parent runs newest first and details one with children, metrics and dataset inputs", async () => {
    expId = await c.createExperiment("caretflow-juice");
    expect((await c.getExperimentByName("caretflow-juice"))?.experiment_id).toBe(expId);
    expect(await c.getExperimentByName("no-such-experiment")).toBeNull();
    const parentTags = {
      "caretflow.role": "parent",
      "caretflow.task": "classification",
      "caretflow.target": "Purchase",
      "caretflow.dataset": "juice@v1",
      "caretflow.job_id": "job-a",
    };
    parentA = (await c.createRun({ experimentId: expId, runName: "train juice", tags: parentTags, startTime: Date.now() - 10_000 })).info
      .run_id;
    parentB = (
      await c.createRun({ experimentId: expId, runName: "train juice again", tags: { ...parentTags, "caretflow.job_id": "job-b" } })
    ).info.run_id;
    const other = await c.createExperiment("not-caretflow");
    await c.createRun({ experimentId: other, runName: "someone else's" });
    const child = (name: string, id: string) =>
      c.createRun({
        experimentId: expId,
        runName: name,
        tags: { "caretflow.role": "child", "mlflow.parentRunId": parentA, "caretflow.model_id": id, "caretflow.model_name": name },
      });
    childA1 = (await child("Logistic Regression", "lr")).info.run_id;
    childA2 = (await child("Decision Tree Classifier", "dt")).info.run_id;
    await c.logBatch(childA1, {
      params: { C: "1.0" },
      metrics: [0.8, 0.82, 0.79].map((value, step) => ({ key: "Accuracy", value, step })),
    });
    await c.logBatch(parentA, {
      metrics: [{ key: "best_Accuracy", value: 0.82 }],
      tags: { "caretflow.best_run_id": childA1, "caretflow.best_model": "Logistic Regression" },
    });
    for (const id of [childA1, childA2, parentA]) await c.updateRun(id, { status: "FINISHED" });

    const runs = await listTrainingRuns(c);
    expect(runs.map((r) => r.runId)).toEqual([parentB, parentA]);
    expect(runs[1]).toMatchObject({
      experimentName: "caretflow-juice",
      name: "train juice",
      status: "FINISHED",
      task: "classification",
      dataset: "juice@v1",
      jobId: "job-a",
      bestModel: "Logistic Regression",
      bestRunId: childA1,
      metrics: { best_Accuracy: 0.82 },
    });

    const detail = await getRunDetail(c, parentA);
    expect(detail.children.map((ch) => ch.runId)).toEqual([childA1, childA2]);
    expect(detail.tags["caretflow.job_id"]).toBe("job-a");
    expect(detail.parentRunId).toBeNull();
    const childDetail = await getRunDetail(c, childA1);
    expect(childDetail.parentRunId).toBe(parentA);
    expect(childDetail.params).toEqual({ C: "1.0" });
    expect(childDetail.metricHistory?.Accuracy).toEqual([
      { step: 0, value: 0.8 },
      { step: 1, value: 0.82 },
      { step: 2, value: 0.79 },
    ]);
  });

  it("reports a missing run as not found, naming it", async () => {
    const missing = "f".repeat(32);
    const e = await expectError(getRunDetail(c, missing), { code: "run_not_found", status: 404 });
    expect(e.message).toContain(missing);
    await expectError(getRunDetail(c, "../../x"), { code: "invalid_run_id", status: 400 });
  });

  it("registers a logged model, sets an alias and resolves it to a loadable models:/ URI", async () => {
    const logged = await py("log_model.py", url, childA1, "source-tag");
    await expectError(registerModel(c, { runId: parentB, name: "juice-model" }), { code: "run_not_finished", status: 409 });

    const v1 = await registerModel(c, { runId: childA1, name: "juice-model", alias: "champion", description: "first" });
    expect(v1).toMatchObject({
      name: "juice-model",
      version: 1,
      runId: childA1,
      source: `models:/${logged.model_id}`,
      aliases: ["champion"],
      description: "first",
      modelName: "Logistic Regression",
    });
    const ref = await resolveModelRef(c, "juice-model@champion");
    // An MLflow 3 logged model's source (models:/m-...) lies outside the run's artifacts: no folder to key a digest on.
    expect(ref).toEqual({ name: "juice-model", version: 1, uri: "models:/juice-model/1", runId: childA1, artifactPath: null, task: null });
    expect(await resolveModelRef(c, "juice-model/1")).toEqual(ref);

    // The registered version really loads (a runs:/RUN/model source would register but not load in MLflow 3).
    const scored = await py("load_model.py", url, "models:/juice-model@champion");
    expect(scored.predictions).toEqual([0, 1]);
    // Run artifacts are listed recursively and streamed through the client.
    expect((await getRunDetail(c, childA1)).artifacts).toEqual([
      { path: "plots", isDir: true, size: null },
      { path: "plots/folds", isDir: true, size: null },
      { path: "plots/folds/scores.csv", isDir: false, size: Buffer.byteLength(SCORES_CSV) },
    ]);
    expect(await (await c.getArtifact(childA1, "plots/folds/scores.csv")).text()).toBe(SCORES_CSV);
    await expectError(c.getArtifact(childA1, "plots/nope.png"), { status: 404 });
    await expectError(c.getArtifact(childA1, "../mlflow.db"), { code: "invalid_artifact_path" });
  }, 240_000);

  it("registers a run without the source tag from its MLflow 3 logged model output; moves and deletes aliases", async () => {
    const logged = await py("log_model.py", url, childA2, "no-tag");
    const v2 = await registerModel(c, { runId: childA2, name: "juice-model" });
    expect(v2).toMatchObject({ version: 2, source: `models:/${logged.model_id}`, aliases: [] });
    expect((await resolveModelRef(c, "juice-model/2")).artifactPath).toBeNull();

    let m = await setAlias(c, "juice-model", "champion", 2);
    expect(m.aliases).toEqual({ champion: 2 });
    m = await setAlias(c, "juice-model", "challenger", 1);
    expect(m.aliases).toEqual({ champion: 2, challenger: 1 });
    expect(m.versions.map((v) => [v.version, v.aliases])).toEqual([
      [2, ["champion"]],
      [1, ["challenger"]],
    ]);
    expect(m.versions[1]?.metrics).toMatchObject({ Accuracy: 0.79 });
    m = await deleteAlias(c, "juice-model", "challenger");
    expect(m.aliases).toEqual({ champion: 2 });
    await expectError(deleteAlias(c, "juice-model", "challenger"), { status: 404 });
    await expectError(setAlias(c, "juice-model", "x", 9), { code: "model_version_not_found", status: 404 });
    await expectError(resolveModelRef(c, "juice-model@nope"), { status: 404 });
    await expectError(resolveModelRef(c, "nope@champion"), { status: 404 });
    await expectError(resolveModelRef(c, "juice-model"), { code: "invalid_model_ref" });

    const all = await listModels(c);
    expect(all.map((x) => [x.name, x.versions.map((v) => v.version), x.aliases])).toEqual([["juice-model", [2, 1], { champion: 2 }]]);
    expect((await getModel(c, "juice-model")).versions[0]?.modelName).toBe("Decision Tree Classifier");
    await expectError(getModel(c, "nope"), { code: "model_not_found", status: 404 });
  }, 240_000);

  it("edits a model's and a version's description and tags in MLflow's registry; refuses reserved keys", async () => {
    let m = await updateModel(c, "juice-model", { description: "orange juice quality", tags: { team: "fruit", owner: "ana" } });
    expect(m).toMatchObject({ description: "orange juice quality", tags: { team: "fruit", owner: "ana" } });
    m = await updateModel(c, "juice-model", { tags: { owner: null, absent: null } });
    expect(m.tags).toEqual({ team: "fruit" });
    expect((await c.getRegisteredModel("juice-model")).tags).toEqual([{ key: "team", value: "fruit" }]);

    const v = await updateModelVersion(c, "juice-model", 2, { description: "tuned", tags: { ticket: "ML-7" } });
    expect(v).toMatchObject({ version: 2, description: "tuned", tags: { ticket: "ML-7" }, aliases: ["champion"] });
    // caretflow's own version tags stay in MLflow and out of the user's tags.
    const raw = (await c.getModelVersion("juice-model", 2)).tags.map((t) => t.key);
    expect(raw).toContain("ticket");
    const cleared = await updateModelVersion(c, "juice-model", 2, { description: "", tags: { ticket: null } });
    expect(cleared).toMatchObject({ description: null, tags: {} });
    expect((await getModel(c, "juice-model")).versions[0]).toMatchObject({ version: 2, description: null, tags: {} });

    const refused = await expectError(
      updateModelVersion(c, "juice-model", 2, { description: "x", tags: { "caretflow.stage": "production" } }),
      {
        code: "reserved_tag",
        status: 400,
      },
    );
    expect(refused.message).toContain("'caretflow.stage'");
    expect((await getModel(c, "juice-model")).versions[0]?.description).toBeNull();
    await expectError(updateModel(c, "juice-model", { tags: { "MLflow.x": "y" } }), { code: "reserved_tag" });
    await expectError(updateModelVersion(c, "juice-model", 9, { description: "x" }), { status: 404 });
    await expectError(updateModel(c, "nope", { description: "x" }), { code: "model_not_found", status: 404 });
  }, 120_000);

  it("registers a model saved in the run's own artifacts (mlflow-artifacts: source), and it loads", async () => {
    const runId = (
      await c.createRun({ experimentId: expId, runName: "final", tags: { "caretflow.role": "final", "mlflow.parentRunId": parentA } })
    ).info.run_id;
    const logged = await py("log_model.py", url, runId, "run-artifacts");
    await c.updateRun(runId, { status: "FINISHED" });
    expect(String(logged.source)).toMatch(/^mlflow-artifacts:\/.*\/artifacts\/model$/);
    const v = await registerModel(c, { runId, name: "juice-artifacts", alias: "champion" });
    expect(v).toMatchObject({ version: 1, source: logged.source, aliases: ["champion"] });
    expect(await resolveModelRef(c, "juice-artifacts@champion")).toMatchObject({ runId, artifactPath: "model" });
    const scored = await py("load_model.py", url, "models:/juice-artifacts@champion");
    expect(scored.predictions).toEqual([0, 1]);
  }, 240_000);

  it("restarts MLflow on the same port after kill -9, keeping the data", async () => {
    const pid = Number(readFileSync(join(home, "mlflow.pid"), "utf8"));
    process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 120_000;
    while (sup.status().restarts < 1 || !sup.status().ready) {
      if (Date.now() > deadline) throw new Error(`MLflow did not come back: ${JSON.stringify(sup.status())}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(sup.status()).toMatchObject({ ready: true, restarts: 1, url });
    expect(logs.some((l) => /^warn: MLflow exited \(signal SIGKILL\); restarting$/.test(l))).toBe(true);
    expect(groupAlive(pid)).toBe(false); // the old uvicorn worker did not survive its parent
    expect((await c.getRun(parentA)).info.status).toBe("FINISHED");
  }, 180_000);

  it("stops without leaving a process, then MLflow is unavailable with a hint; a second start keeps the data", async () => {
    const pgid = Number(readFileSync(join(home, "mlflow.pid"), "utf8"));
    await sup.stop();
    expect(groupAlive(pgid)).toBe(false);
    expect(sup.status().ready).toBe(false);
    const e = await expectError(c.getRun(parentA), { code: "mlflow_unavailable", kind: "operational", status: 503 });
    expect(e.hint).toBeTruthy();

    const again = new MlflowSupervisor({ mlflowBin, home, staticPrefix: "/mlflow", log: () => {} });
    const t0 = Date.now();
    const { url: url2 } = await again.start();
    timings.secondStartMs = Date.now() - t0;
    try {
      // The same home keeps the same secret.
      expect(again.credentials).toEqual(sup.credentials);
      const c2 = new MlflowClient({ baseUrl: url2, credentials: again.credentials });
      expect((await resolveModelRef(c2, "juice-model@champion")).version).toBe(2);
    } finally {
      const pg2 = Number(readFileSync(join(home, "mlflow.pid"), "utf8"));
      await again.stop();
      expect(groupAlive(pg2)).toBe(false);
    }
  }, 240_000);
});
