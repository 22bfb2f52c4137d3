import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_HEADER } from "@caretflow/contracts";
import { dataMigrations } from "@caretflow/data";
import type { MlflowClient } from "@caretflow/tracking";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest, openSqlite } from "../src/db/database.ts";
import { serverMigrations } from "../src/db/server.migrations.ts";
import type { ServerTables } from "../src/db/server.tables.ts";
import { mlflowWriteTouches } from "../src/mlflow/mlflow.policy.ts";
import { ModelDigestRepository } from "../src/models/model-digest.repository.ts";
import { withModelListCache } from "../src/models/model-list.cache.ts";
import { trackingPort } from "../src/tracking.port.ts";
import { appFixture } from "./app.fixture.ts";
import { lockedMlflow } from "./mlflow.fixture.ts";

/**
 * The registered-model list served from caretflow's cache, against one real MLflow: caretflow's own
 * registry writes show in the next list, a change made straight in MLflow within the refresh window.
 */
const REFRESH_MS = 3000;
const locked = lockedMlflow("model-list-cache");
let mlflow: MlflowClient;
let f: Awaited<ReturnType<typeof appFixture>>;
let db: Kysely<ServerTables>;
let dbDir = "";
let cookie = "";
let adminCookie = "";
let expId = "";
let listReads = 0;
let pageReads = 0;

async function send(method: string, path: string, body?: unknown) {
  const res = await f.app.request(path, {
    method,
    headers: { cookie, [PROJECT_HEADER]: "alpha", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
  return { status: res.status, json: (await res.json()) as any };
}

async function listed(): Promise<Map<string, { description: string | null; aliases: Record<string, number> }>> {
  const res = await send("GET", "/api/models");
  expect(res.status).toBe(200);
  return new Map(res.json.models.map((m: { name: string }) => [m.name, m]));
}

/** The model's page, as GET /api/models/{name} answers it. */
async function page(name: string): Promise<{ description: string | null; aliases: Record<string, number> }> {
  const res = await send("GET", `/api/models/${name}`);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json;
}

async function finishedRun(name: string): Promise<string> {
  const tags = { "caretflow.task": "classification", "caretflow.dataset": "churn_data@v1" };
  const runId = (await mlflow.createRun({ experimentId: expId, runName: name, tags })).info.run_id;
  await locked.putArtifact(expId, runId, "model/MLmodel", "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n");
  await mlflow.updateRun(runId, { status: "FINISHED", endTime: Date.now() });
  return runId;
}

beforeAll(async () => {
  mlflow = await locked.start();
  dbDir = await mkdtemp(join(tmpdir(), "caretflow-model-list-"));
  db = openSqlite<ServerTables>(join(dbDir, "caretflow.db"));
  await migrateToLatest(db as Kysely<unknown>, serverMigrations, dataMigrations);
  const port = trackingPort(mlflow, locked.sup.url!, new ModelDigestRepository(db));
  const counted = {
    ...port,
    listModels: () => {
      listReads += 1;
      return port.listModels();
    },
    getModel: (name: string) => {
      pageReads += 1;
      return port.getModel(name);
    },
  };
  const { tracking, invalidate, modelPage } = withModelListCache(counted, { refreshMs: REFRESH_MS });
  // As start.ts wires it: a registry write a site admin makes through /mlflow drops the list.
  const onMlflowWrite = (segments: readonly string[]) => mlflowWriteTouches(segments).models && invalidate();
  f = await appFixture({ ...locked.appOptions(), tracking, modelPage, onMlflowWrite }, { db });
  const admin = (await f.auth.userByName("admin"))!;
  adminCookie = `caretflow_session=${(await f.auth.createSession(admin.id)).cookie}`;
  await f.auth.createUser({ username: "alice" });
  const alice = (await f.auth.userByName("alice"))!;
  await f.projects.create(alice, "alpha", null);
  cookie = `caretflow_session=${(await f.auth.createSession(alice.id)).cookie}`;
  await f.projects.claim("dataset", "churn_data", "alpha");
  expId = await mlflow.createExperiment("churn-exp");
}, 240_000);

afterAll(async () => {
  await locked.stop();
  await f?.close();
  await db?.destroy();
  if (dbDir) await rm(dbDir, { recursive: true, force: true });
}, 60_000);

describe("registered-model list cache", () => {
  it("answers repeated lists from one MLflow read", async () => {
    const before = listReads;
    await Promise.all(Array.from({ length: 20 }, () => listed()));
    await listed();
    expect(listReads - before).toBe(1);
  });

  it("shows caretflow's own registry writes in the very next list", async () => {
    expect((await listed()).has("churn")).toBe(false);
    const reg = await send("POST", "/api/models", { runId: await finishedRun("lr-1"), name: "churn" });
    expect(reg.status, JSON.stringify(reg.json)).toBe(201);
    expect((await listed()).get("churn")).toMatchObject({ description: null, aliases: {} });

    // Repeated reads of the model's page share one MLflow read too.
    const before = pageReads;
    await Promise.all(Array.from({ length: 20 }, () => page("churn")));
    expect(pageReads - before).toBe(1);

    expect((await send("PUT", "/api/models/churn", { description: "from caretflow" })).status).toBe(200);
    expect((await listed()).get("churn")?.description).toBe("from caretflow");
    expect((await page("churn")).description).toBe("from caretflow");

    expect((await send("POST", "/api/models/churn/aliases", { alias: "champion", version: 1 })).status).toBe(200);
    expect((await listed()).get("churn")?.aliases).toEqual({ champion: 1 });
    expect((await page("churn")).aliases).toEqual({ champion: 1 });

    expect((await send("DELETE", "/api/models/churn/aliases/champion")).status).toBe(200);
    expect((await listed()).get("churn")?.aliases).toEqual({});
    expect((await page("churn")).aliases).toEqual({});
  });

  it("shows a site admin's registry change made through /mlflow in the very next list", async () => {
    expect((await listed()).get("churn")?.aliases).toEqual({});
    const res = await f.app.request("/mlflow/ajax-api/2.0/mlflow/registered-models/alias", {
      method: "POST",
      headers: { cookie: adminCookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "churn", alias: "proxied", version: "1" }),
    });
    expect(res.status, await res.text()).toBe(200);
    expect((await listed()).get("churn")?.aliases).toEqual({ proxied: 1 });
    expect((await page("churn")).aliases).toEqual({ proxied: 1 });
    const removed = await f.app.request("/mlflow/ajax-api/2.0/mlflow/registered-models/alias", {
      method: "DELETE",
      headers: { cookie: adminCookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "churn", alias: "proxied" }),
    });
    expect(removed.status, await removed.text()).toBe(200);
    expect((await listed()).get("churn")?.aliases).toEqual({});
  });

  it("shows a change made straight in MLflow within the refresh window", async () => {
    expect((await listed()).get("churn")?.aliases).toEqual({});
    expect((await page("churn")).aliases).toEqual({});
    const changed = Date.now();
    await locked.post("registered-models/alias", { name: "churn", alias: "direct", version: "1" });
    // Served from the cache until the window ends...
    expect((await listed()).get("churn")?.aliases).toEqual({});
    expect((await page("churn")).aliases).toEqual({});
    let seen: Record<string, number> = {};
    while (Date.now() - changed < REFRESH_MS + 2000) {
      seen = (await listed()).get("churn")?.aliases ?? {};
      if (seen.direct) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // ...and read again from MLflow once it has.
    expect(seen).toEqual({ direct: 1 });
    expect(Date.now() - changed).toBeLessThanOrEqual(REFRESH_MS + 1000);
    await expect.poll(async () => (await page("churn")).aliases, { timeout: REFRESH_MS + 2000, interval: 100 }).toEqual({ direct: 1 });
  });
});
