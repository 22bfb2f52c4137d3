import { request } from "node:http";
import type { AddressInfo } from "node:net";
import type { MlflowClient } from "@caretflow/tracking";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MLFLOW_POST_READS } from "../src/mlflow/mlflow.policy.ts";
import { MLFLOW_UI_CSP } from "../src/mlflow/mlflow.proxy.ts";
import { appFixture } from "./app.fixture.ts";
import { lockedMlflow } from "./mlflow.fixture.ts";
import { TRAVERSAL_PATHS } from "./mlflow.payloads.ts";

const locked = lockedMlflow("mlflow-proxy");
const { sup } = locked;
/** The test's own look at MLflow, with caretflow's credential (what the server's tracking uses). */
let mlflow: MlflowClient;
let f: Awaited<ReturnType<typeof appFixture>>;
let base: string;
let token: string;
let stopServer: () => Promise<void>;
/** Whether the signed-in user may change MLflow (a site admin) or only read it. */
let asAdmin = false;

/**
 * A request sent exactly as written (fetch would normalise '..' in the path before sending it), with the
 * user's API token unless `headers` sets authorization to "" (signed out).
 */
function raw(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const u = new URL(base);
  const all: Record<string, string> = {
    authorization: `Bearer ${token}`,
    ...(body === undefined ? {} : { "content-type": "application/json" }),
    ...headers,
  };
  if (all.authorization === "") delete all.authorization;
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers: all,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}
const post = (path: string, body: unknown) => raw("POST", path, JSON.stringify(body));

let expId: string;
let runId: string;

/** Writes a plain signed-in user sends through /mlflow; each must be refused with 403 and change nothing. */
const REFUSED_WRITES: ReadonlyArray<{ what: string; send: () => ReturnType<typeof raw>; unchanged: () => Promise<void> }> = [
  {
    what: "experiments/create with a file:///etc artifact_location",
    send: () => post("/mlflow/ajax-api/2.0/mlflow/experiments/create", { name: "etc", artifact_location: "file:///etc" }),
    unchanged: async () => expect(await mlflow.getExperimentByName("etc")).toBeNull(),
  },
  {
    what: "runs/set-tag",
    send: () => post("/mlflow/ajax-api/2.0/mlflow/runs/set-tag", { run_id: runId, key: "caretflow.role", value: "forged" }),
    unchanged: async () => expect((await mlflow.getRun(runId)).data.tags.find((t) => t.key === "caretflow.role")?.value).toBe("parent"),
  },
  {
    what: "runs/delete",
    send: () => post("/mlflow/ajax-api/2.0/mlflow/runs/delete", { run_id: runId }),
    unchanged: async () => expect((await mlflow.getRun(runId)).info.lifecycle_stage).toBe("active"),
  },
  {
    what: "model-versions/create with an arbitrary source",
    send: () => post("/mlflow/ajax-api/2.0/mlflow/model-versions/create", { name: "proxy-model", source: "file:///etc", run_id: runId }),
    unchanged: async () => expect(await versionsOf("proxy-model")).toBe(1),
  },
  {
    what: "artifact upload (mlflow-artifacts PUT)",
    send: () =>
      raw("PUT", `/mlflow/ajax-api/2.0/mlflow-artifacts/artifacts/${expId}/${runId}/artifacts/evil.html`, "<script>alert(1)</script>"),
    unchanged: async () => expect((await mlflow.listArtifacts(runId)).map((a) => a.path)).toEqual(["notes.txt"]),
  },
  {
    what: "artifact upload (upload-artifact POST)",
    send: () => raw("POST", `/mlflow/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${runId}&path=evil.html`, "<script>alert(1)</script>"),
    unchanged: async () => expect((await mlflow.listArtifacts(runId)).map((a) => a.path)).toEqual(["notes.txt"]),
  },
];

async function versionsOf(name: string): Promise<number> {
  const r = await raw("GET", `/mlflow/ajax-api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent(`name='${name}'`)}`);
  return ((JSON.parse(r.text) as { model_versions?: unknown[] }).model_versions ?? []).length;
}

describe("the /mlflow proxy in front of a real, locked MLflow", () => {
  beforeAll(async () => {
    const started = locked.start();
    f = await appFixture({ ...locked.appOptions(), mlflowCanWrite: () => asAdmin });
    const admin = (await f.auth.userByName("admin"))!;
    token = (await f.auth.createToken(admin.id, "proxy test")).token;
    const server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stopServer = () => new Promise<void>((ok) => server.close(() => ok()));
    mlflow = await started;
    expId = await mlflow.createExperiment("proxy");
    runId = (await mlflow.createRun({ experimentId: expId, runName: "parent", tags: { "caretflow.role": "parent" } })).info.run_id;
    await mlflow.logBatch(runId, { metrics: [{ key: "Accuracy", value: 0.9, step: 0 }] });
    // One artifact, written as caretflow's engine writes them: straight to MLflow with the credential.
    await locked.putArtifact(expId, runId, "notes.txt", "hello");
    await locked.post("registered-models/create", { name: "proxy-model" });
    await locked.post("model-versions/create", {
      name: "proxy-model",
      source: `mlflow-artifacts:/${expId}/${runId}/artifacts/model`,
      run_id: runId,
    });
  }, 240_000);

  afterAll(async () => {
    await stopServer?.();
    await locked.stop();
    await f?.close();
  }, 60_000);

  it("serves MLflow's page with a CSP, nosniff, no framing and no referrer; never MLflow's credential", async () => {
    const page = await raw("GET", "/mlflow/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.headers["content-security-policy"]).toBe(MLFLOW_UI_CSP);
    expect(MLFLOW_UI_CSP).toContain("frame-ancestors 'none'");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(page.headers["www-authenticate"]).toBeUndefined();
    expect(JSON.stringify(page.headers) + page.text).not.toContain(sup.credentials.password);
    // The UI's script loads through the proxy, with the same headers.
    const script = /src="(static-files\/[^"]+\.js)"/.exec(page.text)?.[1];
    const js = await raw("GET", `/mlflow/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers["x-content-type-options"]).toBe("nosniff");
    // An artifact opened directly runs nothing in caretflow's origin.
    const art = await raw("GET", `/mlflow/get-artifact?path=notes.txt&run_uuid=${runId}`);
    expect(art.status).toBe(200);
    expect(art.text).toBe("hello");
    expect(art.headers["content-security-policy"]).toContain("sandbox");
  });

  it("lets a signed-in user read: GET and the UI's POST searches", async () => {
    expect(MLFLOW_POST_READS).toContain("runs/search");
    const runs = await post("/mlflow/ajax-api/2.0/mlflow/runs/search", { experiment_ids: [expId] });
    expect(runs.status).toBe(200);
    expect(runs.text).toContain(runId);
    expect((await post("/mlflow/ajax-api/2.0/mlflow/experiments/search", { max_results: 10 })).text).toContain('"proxy"');
    expect((await post("/mlflow/ajax-api/2.0/mlflow/logged-models/search", { experiment_ids: [expId] })).status).toBe(200);
    expect((await raw("GET", `/mlflow/ajax-api/2.0/mlflow/runs/get?run_id=${runId}`)).status).toBe(200);
    expect((await raw("GET", "/mlflow/ajax-api/2.0/mlflow/registered-models/search")).text).toContain("proxy-model");
    expect(await versionsOf("proxy-model")).toBe(1);
    const history = await raw("GET", `/mlflow/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=${runId}&metric_key=Accuracy`);
    expect(history.status).toBe(200);
    expect(history.text).toContain("0.9");
    const gql = await post("/mlflow/graphql", { query: `query { mlflowGetRun(input: {runId: "${runId}"}) { run { info { runId } } } }` });
    expect(gql.status).toBe(200);
    expect(gql.text).toContain(runId);
  });

  it(`refuses ${REFUSED_WRITES.length} kinds of write from a plain signed-in user with 403, and MLflow is unchanged`, async () => {
    asAdmin = false;
    for (const w of REFUSED_WRITES) {
      const res = await w.send();
      expect(res.status, w.what).toBe(403);
      expect(JSON.parse(res.text).error, w.what).toMatchObject({ code: "mlflow_read_only" });
      await w.unchanged();
    }
  });

  it("lets a site admin write, but not to a foreign location (400) nor upload artifacts (403)", async () => {
    asAdmin = true;
    try {
      const etc = await post("/mlflow/ajax-api/2.0/mlflow/experiments/create", { name: "etc", artifact_location: "file:///etc" });
      expect(etc.status).toBe(400);
      expect(JSON.parse(etc.text).error).toMatchObject({ code: "mlflow_foreign_location" });
      expect(await mlflow.getExperimentByName("etc")).toBeNull();
      const inQuery = await post("/mlflow/ajax-api/2.0/mlflow/experiments/create?artifact_location=file%3A%2F%2F%2Fetc", { name: "etc" });
      expect(inQuery.status).toBe(400);
      expect(await mlflow.getExperimentByName("etc")).toBeNull();
      const mv = await post("/mlflow/ajax-api/2.0/mlflow/model-versions/create", { name: "proxy-model", source: "/etc", run_id: runId });
      expect(mv.status).toBe(400);
      const climb = await post("/mlflow/ajax-api/2.0/mlflow/model-versions/create", {
        name: "proxy-model",
        source: `mlflow-artifacts:/${expId}/../../../../etc`,
        run_id: runId,
      });
      expect(climb.status).toBe(400);
      expect(await versionsOf("proxy-model")).toBe(1);
      for (const w of REFUSED_WRITES.filter((x) => x.what.startsWith("artifact upload"))) {
        expect((await w.send()).status, w.what).toBe(403);
        await w.unchanged();
      }
      // A write inside the rules reaches MLflow with caretflow's credential.
      const tag = await post("/mlflow/ajax-api/2.0/mlflow/runs/set-tag", { run_id: runId, key: "note", value: "by admin" });
      expect(tag.status).toBe(200);
      expect((await mlflow.getRun(runId)).data.tags.find((t) => t.key === "note")?.value).toBe("by admin");
    } finally {
      asAdmin = false;
    }
  });

  it(`answers each of ${TRAVERSAL_PATHS.length} traversal paths with 400, whichever route they would normalise to`, async () => {
    for (const path of TRAVERSAL_PATHS) {
      const res = await raw("GET", path);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.text).error, path).toMatchObject({ code: "mlflow_bad_path" });
    }
    // Also before sign-in: the path is refused before anything else looks at it.
    expect((await raw("GET", "/mlflow/a/%2e%2e/%2e%2e/api/auth/me", undefined, { authorization: "" })).status).toBe(400);
    // A clean path still works, and signed out it asks for sign-in.
    expect((await raw("GET", "/mlflow/ajax-api/2.0/mlflow/experiments/search?max_results=1")).status).toBe(200);
    expect(
      (await raw("GET", "/mlflow/ajax-api/2.0/mlflow/experiments/search?max_results=1", undefined, { authorization: "" })).status,
    ).toBe(401);
  });
});
