import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type AuditEntry,
  type EngineEvent,
  type JobSpec,
  type ModelVersion,
  type RegisteredModel,
  type RegisterModelRequest,
  type RunDetail,
  TrainRequest,
  type TrainResult,
} from "@caretflow/contracts";
import type { EngineRunner } from "@caretflow/orchestrator";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import type { TrackingPort } from "../ports.ts";

const demo = (file: string) => join(import.meta.dirname, "..", "..", "..", "..", "demo-data", file);

/** An engine whose jobs wait until released (or cancelled); a released clustering job leaves labels in its outbox. */
class GatedEngine implements EngineRunner {
  outbox = "";
  labelsFrom = "";
  readonly started: string[] = [];
  readonly #gates = new Map<string, () => void>();
  release(id: string) {
    this.#gates.get(id)?.();
  }
  async run(spec: JobSpec, opts: { onEvent: (e: EngineEvent) => void; signal?: AbortSignal }) {
    this.started.push(spec.job_id);
    const go = await new Promise<boolean>((resolve) => {
      this.#gates.set(spec.job_id, () => resolve(true));
      opts.signal?.addEventListener("abort", () => resolve(false));
    });
    if (!go) return { status: "cancelled" as const };
    const { copyFile, mkdir } = await import("node:fs/promises");
    await mkdir(join(this.outbox, spec.job_id), { recursive: true });
    await copyFile(this.labelsFrom, join(this.outbox, spec.job_id, "labels.parquet"));
    const result: TrainResult = {
      kind: "train",
      experiment_id: "1",
      parent_run_id: "p".repeat(32),
      best_run_id: "b".repeat(32),
      best_model_id: "kmeans",
      best_model_name: "K-Means",
      model_uri: `runs:/${"b".repeat(32)}/model`,
      model_sha256: "0".repeat(64),
      sort_metric: "Silhouette",
      task: "clustering",
      outputs: [{ role: "labels", file: "labels.parquet", rows: 1070, columns: ["Cluster"] }],
      timings: {},
      leaderboard: [],
    };
    return { status: "succeeded" as const, result };
  }
}

/** A model registry in memory: enough of MLflow's for the register and alias routes. */
function memoryRegistry(): TrackingPort {
  const models = new Map<string, RegisteredModel>();
  const now = new Date().toISOString();
  const get = (name: string) => {
    const m = models.get(name);
    if (!m) throw new Error(`no model ${name}`);
    return m;
  };
  const registry: Partial<TrackingPort> = {
    trackingUri: () => "http://127.0.0.1:5000/mlflow",
    async registerModel(req: RegisterModelRequest): Promise<ModelVersion> {
      const m = models.get(req.name) ?? {
        name: req.name,
        description: null,
        createdAt: now,
        updatedAt: now,
        aliases: {},
        tags: {},
        versions: [],
      };
      models.set(req.name, m);
      const v: ModelVersion = {
        name: req.name,
        version: m.versions.length + 1,
        runId: req.runId,
        source: "runs:/x/model",
        status: "READY",
        aliases: [],
        createdAt: now,
        description: req.description ?? null,
        modelName: null,
        tags: {},
      };
      m.versions.push(v);
      return v;
    },
    getModel: async (name) => get(name),
    // runs made outside a caretflow dataset belong to the default project
    getRun: async (runId) => ({ runId, dataset: null }) as unknown as RunDetail,
    async setAlias(name, alias, version) {
      get(name).aliases[alias] = version;
      return get(name);
    },
    async deleteAlias(name, alias) {
      delete get(name).aliases[alias];
      return get(name);
    },
  };
  return new Proxy(registry as TrackingPort, {
    get: (t, k) =>
      Reflect.get(t, k) ??
      (() => {
        throw new Error(`${String(k)} is not part of this test`);
      }),
  });
}

const engine = new GatedEngine();
let f: Awaited<ReturnType<typeof appFixture>>;
let cookie: string;
beforeAll(async () => {
  f = await appFixture({ tracking: memoryRegistry() }, { datasets: true, engine, trackingUri: "http://127.0.0.1:5000/mlflow" });
  engine.outbox = join(f.dir, "datasets", ".outbox");
  await f.store!.importFile({ path: demo("iris.csv"), name: "iris" });
  engine.labelsFrom = join(f.dir, "datasets", "iris", "v1.parquet");
  cookie = await f.login();
});
afterAll(() => f.close());

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
async function until(fn: () => Promise<boolean>) {
  for (let i = 0; i < 250 && !(await fn()); i++) await tick();
}
const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  f.app.request(path, {
    method,
    headers: { cookie, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
async function entries(query = ""): Promise<AuditEntry[]> {
  const res = await call("GET", `/api/audit?limit=1000${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { entries: AuditEntry[] }).entries;
}
const last = async (action: string) => (await entries(`&action=${action}`))[0];

describe("every change writes its audit entry", () => {
  it("sign-in, failed sign-in, tokens and sign-out", async () => {
    const failed = await f.app.request("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "not-the-password" }),
    });
    expect(failed.status).toBe(401);
    expect(await last("auth.login_failed")).toMatchObject({
      actor: { id: null, name: "anonymous" },
      target: { kind: "user", id: "admin" },
    });
    expect(await last("auth.login")).toMatchObject({ actor: { name: "admin" }, target: { kind: "user", id: "admin" }, project: "default" });

    const created = await call("POST", "/api/auth/tokens", { name: "ci" });
    expect(created.status).toBe(201);
    const token = (await created.json()) as { id: string; token: string };
    expect(await last("token.create")).toMatchObject({ target: { kind: "token", id: token.id }, after: { name: "ci" } });
    expect((await call("DELETE", `/api/auth/tokens/${token.id}`)).status).toBe(200);
    expect(await last("token.revoke")).toMatchObject({ target: { kind: "token", id: token.id }, before: { name: "ci" } });
    // A refused change writes nothing.
    expect((await call("DELETE", "/api/auth/tokens/nope")).status).toBe(404);
    expect(await entries("&action=token.revoke")).toHaveLength(1);

    const other = await f.login();
    expect((await f.app.request("/api/auth/logout", { method: "POST", headers: { cookie: other } })).status).toBe(200);
    expect(await last("auth.logout")).toMatchObject({ actor: { name: "admin" } });
    // The secrets of these requests are nowhere in the log.
    const all = JSON.stringify(await entries());
    expect(all).not.toContain(f.adminPassword);
    expect(all).not.toContain("not-the-password");
    expect(all).not.toContain(token.token);
    expect(all).not.toContain(cookie.split("=")[1]);
  });

  it("dataset import (only when it makes a new version)", async () => {
    const upload = async () => {
      const form = new FormData();
      form.append("file", new Blob([await readFile(demo("juice.csv"))]), "juice.csv");
      return await f.app.request("/api/datasets", { method: "POST", headers: { cookie }, body: form });
    };
    expect((await upload()).status).toBe(201);
    expect((await upload()).status).toBe(200);
    const imports = await entries("&action=dataset.import");
    expect(imports).toHaveLength(1);
    expect(imports[0]).toMatchObject({
      actor: { name: "admin" },
      target: { kind: "dataset", id: "juice/1" },
      after: { dataset: "juice", version: 1, rows: 1070, filename: "juice.csv" },
    });
  });

  it("job create and cancel; the server's own output datasets as system", async () => {
    const request = TrainRequest.parse({ dataset: "juice", task: "clustering", num_clusters: 3 });
    const first = await call("POST", "/api/jobs/train", request);
    expect(first.status).toBe(202);
    const job = (await first.json()) as { id: string };
    expect(await last("job.create")).toMatchObject({
      target: { kind: "job", id: job.id },
      after: { kind: "train", request: { dataset: "juice", task: "clustering" } },
    });
    await until(async () => engine.started.includes(job.id));
    expect((await call("POST", `/api/jobs/${job.id}/cancel`)).status).toBe(200);
    expect(await last("job.cancel")).toMatchObject({ target: { kind: "job", id: job.id }, before: { status: "running" } });
    await until(async () => (await f.jobs.get(job.id)).status === "cancelled");
    // Cancelling a finished job is refused and not recorded.
    expect((await call("POST", `/api/jobs/${job.id}/cancel`)).status).toBe(409);
    expect(await entries("&action=job.cancel")).toHaveLength(1);

    const second = (await (await call("POST", "/api/jobs/train", request)).json()) as { id: string };
    await until(async () => engine.started.includes(second.id));
    engine.release(second.id);
    await until(async () => (await f.jobs.get(second.id)).status === "succeeded");
    await until(async () => (await entries("&actor=system")).length > 0);
    expect(await entries("&actor=system")).toMatchObject([
      {
        action: "dataset.import",
        actor: { id: null, name: "system" },
        target: { id: "juice/2" },
        after: { jobId: second.id, role: "labels" },
      },
    ]);
  });

  it("model registration and alias set and delete", async () => {
    const reg = await call("POST", "/api/models", { runId: "a".repeat(32), name: "churn", description: "first" });
    expect(reg.status).toBe(201);
    expect(await last("model.register")).toMatchObject({ target: { kind: "model", id: "churn/1" }, after: { runId: "a".repeat(32) } });
    expect((await call("POST", "/api/models/churn/aliases", { alias: "champion", version: 1 })).status).toBe(200);
    expect(await last("model.alias.set")).toMatchObject({ target: { id: "churn@champion" }, before: null, after: { version: 1 } });
    expect((await call("DELETE", "/api/models/churn/aliases/champion")).status).toBe(200);
    expect(await last("model.alias.delete")).toMatchObject({ target: { id: "churn@champion" }, before: { version: 1 } });
  });
});

describe("audit routes", () => {
  it("verify says the chain is intact, then names an edited row", async () => {
    const ok = (await (await call("GET", "/api/audit/verify")).json()) as { ok: boolean; rows: number };
    expect(ok.ok).toBe(true);
    expect(ok.rows).toBeGreaterThan(10);
    const victim = (await entries("&action=token.create"))[0]!.seq;
    await sql`update audit_log set after_json = '{"name":"someone else"}' where seq = ${victim}`.execute(f.db);
    const bad = (await (await call("GET", "/api/audit/verify")).json()) as { ok: boolean; seq: number; reason: string };
    expect(bad).toMatchObject({ ok: false, seq: victim, reason: "edited" });
  });

  it("exports NDJSON and CSV with formula cells neutralised", async () => {
    // A username typed at sign-in is stored as the target: a spreadsheet must not run it.
    for (const username of ['=HYPERLINK("http://evil","x")', "@SUM(1)", "-2+3", "plain"]) {
      await f.app.request("/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: "wrong" }),
      });
    }
    const nd = await call("GET", "/api/audit/export?action=auth.login_failed");
    expect(nd.headers.get("content-type")).toMatch(/ndjson/);
    const lines = (await nd.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(lines.map((l) => l.target.id)).toEqual(["admin", '=HYPERLINK("http://evil","x")', "@SUM(1)", "-2+3", "plain"]);
    expect(lines[0]!.seq).toBeLessThan(lines[1]!.seq);
    const csv = await call("GET", "/api/audit/export?format=csv&action=auth.login_failed");
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    expect(csv.headers.get("content-disposition")).toMatch(/attachment; filename="caretflow-audit-.*\.csv"/);
    const rows = (await csv.text()).split("\r\n");
    expect(rows[0]).toBe("seq,at,actor_id,actor,action,target_kind,target_id,project,address,before,after,prev_hash,hash");
    expect(rows).toHaveLength(7);
    const targetCells = rows.slice(1, 6).map((r) => r.split(",auth.login_failed,user,")[1]!.split(",default,")[0]);
    expect(targetCells).toEqual(["admin", `"'=HYPERLINK(""http://evil"",""x"")"`, "'@SUM(1)", "'-2+3", "plain"]);
  });

  it("refuses bad filters with a 400, and anyone but a site admin with a 403 (the route table's permission)", async () => {
    expect((await call("GET", "/api/audit?limit=0")).status).toBe(400);
    expect((await call("GET", "/api/audit?since=yesterday")).status).toBe(400);
    expect((await call("GET", "/api/audit/export?format=xlsx")).status).toBe(400);
    const user = await f.auth.createUser({ username: "not-an-admin" });
    const cookie = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
    for (const path of ["/api/audit", "/api/audit/verify", "/api/audit/export"]) {
      const res = await f.app.request(path, { headers: { cookie } });
      expect(res.status, path).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    }
  });
});
