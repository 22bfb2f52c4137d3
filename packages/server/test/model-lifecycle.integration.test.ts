import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_HEADER } from "@caretflow/contracts";
import { dataMigrations } from "@caretflow/data";
import type { MlflowClient } from "@caretflow/tracking";
import { serve } from "@hono/node-server";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest, openSqlite } from "../src/db/database.ts";
import { serverMigrations } from "../src/db/server.migrations.ts";
import type { ServerTables } from "../src/db/server.tables.ts";
import { ModelDigestRepository } from "../src/models/model-digest.repository.ts";
import { trackingPort } from "../src/tracking.port.ts";
import { appFixture } from "./app.fixture.ts";
import { runCliAt } from "./cli.fixture.ts";
import { lockedMlflow } from "./mlflow.fixture.ts";

/**
 * Promotion, approval and rollback of a registered model through the HTTP app, against one real
 * MLflow with three registered versions of `churn` in project alpha: alice and olga own the project,
 * bob edits, vic views.
 */
const locked = lockedMlflow("model-lifecycle");
let mlflow: MlflowClient;
let f: Awaited<ReturnType<typeof appFixture>>;
let db: Kysely<ServerTables>;
let dbDir = "";
const cookies: Record<string, string> = {};
const tokens: Record<string, string> = {};
let server: ReturnType<typeof serve>;
let url = "";
const runIds: string[] = [];

async function send(who: string, method: string, path: string, body?: unknown) {
  const res = await f.app.request(path, {
    method,
    headers: {
      cookie: cookies[who]!,
      [PROJECT_HEADER]: "alpha",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
  return { status: res.status, json: (await res.json()) as any };
}

const production = async () => (await send("vic", "GET", "/api/models/churn")).json.aliases.production;

beforeAll(async () => {
  mlflow = await locked.start();
  dbDir = await mkdtemp(join(tmpdir(), "caretflow-lifecycle-"));
  db = openSqlite<ServerTables>(join(dbDir, "caretflow.db"));
  await migrateToLatest(db as Kysely<unknown>, serverMigrations, dataMigrations);
  const tracking = trackingPort(mlflow, locked.sup.url!, new ModelDigestRepository(db));
  f = await appFixture({ ...locked.appOptions(), tracking }, { db });
  for (const name of ["alice", "olga", "bob", "vic"]) await f.auth.createUser({ username: name });
  await f.projects.create((await f.auth.userByName("alice"))!, "alpha", null);
  await f.projects.setMember("alpha", "olga", "owner");
  await f.projects.setMember("alpha", "bob", "editor");
  await f.projects.setMember("alpha", "vic", "viewer");
  for (const name of ["alice", "olga", "bob", "vic"]) {
    const user = (await f.auth.userByName(name))!;
    cookies[name] = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
    tokens[name] = (await f.auth.createToken(user.id, "cli")).token;
  }
  await f.projects.claim("dataset", "churn_data", "alpha");
  const expId = await mlflow.createExperiment("churn-exp");
  for (let i = 1; i <= 3; i++) {
    const tags = { "caretflow.task": "classification", "caretflow.dataset": "churn_data@v1" };
    const runId = (await mlflow.createRun({ experimentId: expId, runName: `lr-${i}`, tags })).info.run_id;
    await mlflow.logBatch(runId, { metrics: [{ key: "Accuracy", value: 0.7 + i / 100, step: 0 }], params: { fold: String(i) } });
    await locked.putArtifact(expId, runId, "model/MLmodel", "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n");
    await mlflow.updateRun(runId, { status: "FINISHED", endTime: Date.now() });
    runIds.push(runId);
    for (const name of ["churn", "churn-cli"]) {
      const reg = await send("alice", "POST", "/api/models", { runId, name });
      expect(reg.status, JSON.stringify(reg.json)).toBe(201);
    }
  }
  server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  if (server) await new Promise<void>((ok) => server.close(() => ok()));
  await locked.stop();
  await f?.close();
  await db?.destroy();
  if (dbDir) await rm(dbDir, { recursive: true, force: true });
}, 60_000);

describe("promotion with approval, rollback and history", () => {
  it("lets an owner promote directly while no approval is needed, and an editor only request", async () => {
    const direct = await send("alice", "POST", "/api/models/churn/promotions", { version: 1, to: "production", reason: "first model" });
    expect(direct.status).toBe(200);
    expect(direct.json.request).toBeNull();
    expect(direct.json.transition).toMatchObject({ stage: "production", version: 1, replaced: null, actor: "alice", kind: "promotion" });
    expect(await production()).toBe(1);
    const staged = await send("bob", "POST", "/api/models/churn/promotions", { version: 2, to: "staging" });
    expect(staged.status).toBe(201);
    expect(staged.json.request).toMatchObject({ status: "pending", to: "staging", version: 2, requestedBy: "bob" });
    expect((await send("vic", "POST", "/api/models/churn/promotions", { version: 2, to: "staging" })).status).toBe(403);
    expect((await send("alice", "POST", "/api/models/churn/promotions", { version: 9, to: "staging" })).status).toBe(404);
    const rejected = await send("alice", "POST", `/api/models/churn/promotions/${staged.json.request.id}/reject`, { reason: "not yet" });
    expect(rejected.status).toBe(200);
    expect(rejected.json).toMatchObject({ status: "rejected", decidedBy: "alice", decisionReason: "not yet" });
    const again = await send("olga", "POST", `/api/models/churn/promotions/${staged.json.request.id}/approve`, {});
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("promotion_already_decided");
  });

  it("needs a second owner's approval for production once the owner turns it on", async () => {
    expect((await send("bob", "PUT", "/api/models/churn/settings", { productionNeedsApproval: true })).status).toBe(403);
    const set = await send("alice", "PUT", "/api/models/churn/settings", { productionNeedsApproval: true });
    expect(set.json).toEqual({ productionNeedsApproval: true });
    expect((await send("vic", "GET", "/api/models/churn/settings")).json).toEqual({ productionNeedsApproval: true });

    const byBob = await send("bob", "POST", "/api/models/churn/promotions", { version: 2, to: "production", reason: "higher accuracy" });
    expect(byBob.status).toBe(201);
    const id = byBob.json.request.id as string;
    for (const who of ["vic", "bob"]) {
      const refused = await send(who, "POST", `/api/models/churn/promotions/${id}/approve`, {});
      expect(refused.status, who).toBe(403);
    }
    const approved = await send("olga", "POST", `/api/models/churn/promotions/${id}/approve`, {});
    expect(approved.status).toBe(200);
    expect(approved.json.request).toMatchObject({ status: "approved", decidedBy: "olga" });
    expect(approved.json.transition).toMatchObject({ version: 2, replaced: 1, actor: "olga", reason: "higher accuracy", requestId: id });
    expect(await production()).toBe(2);

    const byAlice = await send("alice", "POST", "/api/models/churn/promotions", { version: 3, to: "production", reason: "retrained" });
    expect(byAlice.status).toBe(201);
    const self = await send("alice", "POST", `/api/models/churn/promotions/${byAlice.json.request.id}/approve`, {});
    expect(self.status).toBe(403);
    expect(self.json.error.code).toBe("self_approval");
    expect(await production()).toBe(2);
    expect((await send("olga", "POST", `/api/models/churn/promotions/${byAlice.json.request.id}/approve`, {})).status).toBe(200);
    expect(await production()).toBe(3);
    const list = await send("vic", "GET", "/api/models/churn/promotions");
    expect(list.json.promotions.map((p: { status: string }) => p.status)).toEqual(["approved", "approved", "rejected"]);
  });

  it("rolls production back to the version it replaced, step by step, and says when there is none", async () => {
    expect((await send("bob", "POST", "/api/models/churn/rollback", { reason: "x" })).status).toBe(403);
    expect((await send("alice", "POST", "/api/models/churn/rollback", { reason: "" })).status).toBe(400);
    const back = await send("alice", "POST", "/api/models/churn/rollback", { reason: "error rate up" });
    expect(back.status).toBe(200);
    expect(back.json).toMatchObject({
      stage: "production",
      version: 2,
      replaced: 3,
      kind: "rollback",
      actor: "alice",
      reason: "error rate up",
    });
    expect(await production()).toBe(2);
    expect((await send("olga", "POST", "/api/models/churn/rollback", { reason: "still bad" })).json.version).toBe(1);
    expect(await production()).toBe(1);
    const none = await send("olga", "POST", "/api/models/churn/rollback", { reason: "again" });
    expect(none.status).toBe(409);
    expect(none.json.error.code).toBe("nothing_to_roll_back_to");
  });

  it("records alias moves of stages made elsewhere, archives a version, and lists the history with who, when, why", async () => {
    expect((await send("alice", "POST", "/api/models/churn/aliases", { alias: "staging", version: 3 })).status).toBe(200);
    expect((await send("alice", "POST", "/api/models/churn/aliases", { alias: "champion", version: 3 })).status).toBe(200);
    const archived = await send("alice", "POST", "/api/models/churn/promotions", { version: 3, to: "archived", reason: "superseded" });
    expect(archived.status).toBe(200);
    const model = (await send("vic", "GET", "/api/models/churn")).json;
    expect(model.aliases).toEqual({ production: 1, champion: 3 });
    const tags = (await mlflow.getModelVersion("churn", 3)).tags ?? [];
    expect(tags).toContainEqual({ key: "caretflow.stage", value: "archived" });

    const history = (await send("vic", "GET", "/api/models/churn/history")).json.transitions;
    expect(
      history.map((t: { stage: string; version: number; replaced: number | null; kind: string; actor: string }) => [
        t.stage,
        t.version,
        t.replaced,
        t.kind,
        t.actor,
      ]),
    ).toEqual([
      ["archived", 3, null, "promotion", "alice"],
      ["staging", 3, null, "alias", "alice"],
      ["production", 1, 2, "rollback", "olga"],
      ["production", 2, 3, "rollback", "alice"],
      ["production", 3, 2, "promotion", "olga"],
      ["production", 2, 1, "promotion", "olga"],
      ["production", 1, null, "promotion", "alice"],
    ]);
    expect(history[2].reason).toBe("still bad");
    expect(Date.parse(history[0].at)).toBeGreaterThan(Date.now() - 600_000);

    const audit = await f.audit.list({ action: "model.promotion.approve", limit: 10 });
    expect(audit.entries.map((e) => e.actor.name)).toEqual(["olga", "olga"]);
    expect((await f.audit.list({ action: "model.rollback", limit: 10 })).entries).toHaveLength(2);
  });
});

describe("registering with a stage alias", () => {
  it("records the move like any other, with the version it replaced", async () => {
    for (const runId of runIds.slice(0, 2)) {
      const reg = await send("alice", "POST", "/api/models", { runId, name: "churn-reg", alias: "staging" });
      expect(reg.status, JSON.stringify(reg.json)).toBe(201);
    }
    expect((await send("alice", "POST", "/api/models", { runId: runIds[2], name: "churn-reg", alias: "champion" })).status).toBe(201);
    const history = (await send("vic", "GET", "/api/models/churn-reg/history")).json.transitions;
    expect(
      history.map((t: { stage: string; version: number; replaced: number | null; kind: string }) => [
        t.stage,
        t.version,
        t.replaced,
        t.kind,
      ]),
    ).toEqual([
      ["staging", 2, 1, "alias"],
      ["staging", 1, null, "alias"],
    ]);
  });
});

describe("GET /api/models/{name}/compare", () => {
  it("puts versions side by side with their runs' metrics, params and training dataset version", async () => {
    const r = await send("vic", "GET", "/api/models/churn/compare?versions=2,1");
    expect(r.status).toBe(200);
    expect(
      r.json.versions.map((v: { version: number; dataset: string; metrics: Record<string, number> }) => [
        v.version,
        v.dataset,
        v.metrics.Accuracy,
      ]),
    ).toEqual([
      [2, "churn_data@v1", 0.7 + 2 / 100],
      [1, "churn_data@v1", 0.7 + 1 / 100],
    ]);
    expect(r.json.versions[0].params).toEqual({ fold: "2" });
    expect((await send("vic", "GET", "/api/models/churn/compare?versions=1,9")).status).toBe(404);
    expect((await send("vic", "GET", "/api/models/churn/compare?versions=1")).status).toBe(400);
  });
});

describe("caretflow models promote, approve, reject, rollback, history", () => {
  const cli = (who: string, argv: string[]) =>
    runCliAt(argv, { CARETFLOW_URL: url, CARETFLOW_TOKEN: tokens[who]!, CARETFLOW_PROJECT: "alpha" });

  it("promotes, asks for approval, approves, rolls back and shows the history", async () => {
    const first = await cli("alice", ["models", "promote", "churn-cli", "1", "--to", "production", "--reason", "baseline"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("churn-cli production: version 1 by alice, promotion: baseline");
    expect((await cli("alice", ["models", "promote", "churn-cli", "1", "--to", "live"])).stderr).toMatch(/--to: /);

    const asked = await cli("bob", ["models", "promote", "churn-cli", "3", "--to", "staging", "--json"]);
    expect(asked.code, asked.stderr).toBe(0);
    const rejectId = JSON.parse(asked.stdout).request.id as string;
    const rejected = await cli("olga", ["models", "reject", "churn-cli", rejectId, "--reason", "not tested"]);
    expect(rejected.stdout).toContain(`rejected request ${rejectId} (churn-cli version 3 -> staging)`);

    const requested = await cli("bob", ["models", "promote", "churn-cli", "2", "--to", "production", "--reason", "better"]);
    expect(requested.code, requested.stderr).toBe(0);
    const id = /request ([0-9a-f-]{36})/.exec(requested.stdout)![1]!;
    expect(requested.stdout).toContain(`caretflow models approve churn-cli ${id}`);
    const refused = await cli("bob", ["models", "approve", "churn-cli", id]);
    expect(refused.code).not.toBe(0);
    const approved = await cli("alice", ["models", "approve", "churn-cli", id, "--json"]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(JSON.parse(approved.stdout).transition).toMatchObject({ version: 2, replaced: 1, actor: "alice" });

    const listed = await cli("vic", ["models", "promotions", "churn-cli"]);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+2\\s+production\\s+approved\\s+bob\\s+alice\\s+better`));

    const back = await cli("olga", ["models", "rollback", "churn-cli", "--reason", "latency"]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain("rolled back: churn-cli production: version 1 (replaced 2) by olga, rollback: latency");

    const history = await cli("vic", ["models", "history", "churn-cli", "--json"]);
    expect(JSON.parse(history.stdout).transitions.map((t: { version: number; kind: string }) => [t.version, t.kind])).toEqual([
      [1, "rollback"],
      [2, "promotion"],
      [1, "promotion"],
    ]);
    const table = await cli("vic", ["models", "history", "churn-cli"]);
    expect(table.stdout).toMatch(/production\s+1\s+2\s+olga\s+rollback\s+latency/);
  });
});

describe("descriptions and tags of a model and its versions", () => {
  it("lets an editor describe and tag a model and a version in MLflow's registry, audited; refuses reserved tags", async () => {
    expect((await send("vic", "PUT", "/api/models/churn-reg", { description: "x" })).status).toBe(403);
    const model = await send("bob", "PUT", "/api/models/churn-reg", {
      description: "churn of prepaid users",
      tags: { team: "risk", owner: "bob" },
    });
    expect(model.status, JSON.stringify(model.json)).toBe(200);
    expect(model.json).toMatchObject({ description: "churn of prepaid users", tags: { team: "risk", owner: "bob" } });
    expect((await send("bob", "PUT", "/api/models/churn-reg", { tags: { owner: null } })).json.tags).toEqual({ team: "risk" });

    const version = await send("bob", "PUT", "/api/models/churn-reg/versions/2", { description: "tuned", tags: { ticket: "ML-1" } });
    expect(version.status, JSON.stringify(version.json)).toBe(200);
    expect(version.json).toMatchObject({ version: 2, description: "tuned", tags: { ticket: "ML-1" } });
    const reserved = await send("bob", "PUT", "/api/models/churn-reg/versions/2", { tags: { "caretflow.stage": "production" } });
    expect(reserved.status).toBe(400);
    expect(reserved.json.error).toMatchObject({ code: "reserved_tag" });
    expect(reserved.json.error.message).toContain("'caretflow.stage'");
    expect((await send("bob", "PUT", "/api/models/churn-reg", { tags: { "bad key!": "x" } })).status).toBe(400);
    expect((await send("bob", "PUT", "/api/models/churn-reg/versions/9", { description: "x" })).status).toBe(404);
    expect((await send("bob", "PUT", "/api/models/churn-reg/versions/zero", { description: "x" })).status).toBe(400);

    const stored = (await send("vic", "GET", "/api/models/churn-reg")).json;
    expect(stored.tags).toEqual({ team: "risk" });
    expect(stored.versions.find((v: { version: number }) => v.version === 2)).toMatchObject({
      description: "tuned",
      tags: { ticket: "ML-1" },
    });
    // The stage caretflow keeps on the version is still there, out of the user's tags.
    expect((await mlflow.getModelVersion("churn-reg", 2)).tags).toContainEqual({ key: "caretflow.stage", value: "staging" });

    const audit = (await f.audit.list({ action: "model.update", limit: 10 })).entries;
    expect(audit.map((e) => [e.actor.name, e.target.id, e.before, e.after])).toEqual([
      ["bob", "churn-reg", { tags: { owner: "bob" } }, { tags: { owner: null } }],
      [
        "bob",
        "churn-reg",
        { description: null, tags: { team: null, owner: null } },
        { description: "churn of prepaid users", tags: { team: "risk", owner: "bob" } },
      ],
    ]);
    expect((await f.audit.list({ action: "model.version.update", limit: 10 })).entries.map((e) => e.target.id)).toEqual(["churn-reg/2"]);
  });
});

describe("removing a stage alias", () => {
  it("records the removal of staging or production in the history; other aliases stay out of it", async () => {
    expect((await send("alice", "DELETE", "/api/models/churn-reg/aliases/staging")).status).toBe(200);
    expect((await send("alice", "DELETE", "/api/models/churn-reg/aliases/champion")).status).toBe(200);
    const history = (await send("vic", "GET", "/api/models/churn-reg/history")).json.transitions;
    expect(
      history.map((t: { stage: string; version: number; replaced: number | null; kind: string; actor: string }) => [
        t.stage,
        t.version,
        t.replaced,
        t.kind,
        t.actor,
      ]),
    ).toEqual([
      ["staging", 2, null, "alias_removed", "alice"],
      ["staging", 2, 1, "alias", "alice"],
      ["staging", 1, null, "alias", "alice"],
    ]);
    expect((await f.audit.list({ action: "model.alias.delete", limit: 10 })).entries.map((e) => e.target.id)).toEqual([
      "churn-reg@champion",
      "churn-reg@staging",
    ]);
  });
});

describe("caretflow models describe, tag, compare, settings", () => {
  const cli = (who: string, argv: string[]) =>
    runCliAt(argv, { CARETFLOW_URL: url, CARETFLOW_TOKEN: tokens[who]!, CARETFLOW_PROJECT: "alpha" });

  it("describes and tags a model and a version, and refuses a reserved tag", async () => {
    const described = await cli("bob", ["models", "describe", "churn-cli", "--version", "1", "--text", "baseline lr"]);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toContain("churn-cli version 1\n  description: baseline lr");
    const tagged = await cli("bob", ["models", "tag", "churn-cli", "team=risk", "owner=ana", "--json"]);
    expect(tagged.code, tagged.stderr).toBe(0);
    expect(JSON.parse(tagged.stdout).tags).toEqual({ team: "risk", owner: "ana" });
    const removed = await cli("bob", ["models", "tag", "churn-cli", "--remove", "owner"]);
    expect(removed.stdout).toContain("tags: team=risk");
    const reserved = await cli("bob", ["models", "tag", "churn-cli", "--version", "1", "caretflow.stage=production"]);
    expect(reserved.code).not.toBe(0);
    expect(reserved.stderr).toMatch(/'caretflow\.stage' is set by caretflow or MLflow/);
    expect((await cli("bob", ["models", "tag", "churn-cli", "nokey"])).stderr).toContain("'nokey' is not a tag");
    const model = (await send("vic", "GET", "/api/models/churn-cli")).json;
    expect(model.tags).toEqual({ team: "risk" });
    expect(model.versions.find((v: { version: number }) => v.version === 1).description).toBe("baseline lr");
  });

  it("compares versions in a table, parameters that differ marked", async () => {
    const table = await cli("vic", ["models", "compare", "churn-cli", "1", "2"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/FIELD\s+VERSION 1\s+VERSION 2/);
    expect(table.stdout).toMatch(/dataset\s+churn_data@v1\s+churn_data@v1/);
    expect(table.stdout).toMatch(/Accuracy\s+0\.71\s+0\.72/);
    expect(table.stdout).toMatch(/\* param fold\s+1\s+2/);
    const json = JSON.parse((await cli("vic", ["models", "compare", "churn-cli", "2", "1", "--json"])).stdout);
    expect(json.versions.map((v: { version: number; task: string }) => [v.version, v.task])).toEqual([
      [2, "classification"],
      [1, "classification"],
    ]);
    expect((await cli("vic", ["models", "compare", "churn-cli", "1", "7"])).code).not.toBe(0);
  });

  it("shows and changes the lifecycle settings (owners change them)", async () => {
    expect((await cli("vic", ["models", "settings", "churn-cli"])).stdout).toContain("churn-cli: a move to production needs no approval");
    expect((await cli("bob", ["models", "settings", "churn-cli", "--require-approval", "true"])).code).not.toBe(0);
    expect((await cli("alice", ["models", "settings", "churn-cli", "--require-approval", "maybe"])).stderr).toContain("true or false");
    const on = await cli("alice", ["models", "settings", "churn-cli", "--require-approval", "true", "--json"]);
    expect(on.code, on.stderr).toBe(0);
    expect(JSON.parse(on.stdout)).toEqual({ productionNeedsApproval: true });
    expect((await send("vic", "GET", "/api/models/churn-cli/settings")).json).toEqual({ productionNeedsApproval: true });
  });

  it("shows a removed stage alias in the history", async () => {
    expect((await send("alice", "DELETE", "/api/models/churn-cli/aliases/production")).status).toBe(200);
    const table = await cli("vic", ["models", "history", "churn-cli"]);
    expect(table.stdout).toMatch(/production\s+1\s+-\s+alice\s+alias_removed/);
  });
});
