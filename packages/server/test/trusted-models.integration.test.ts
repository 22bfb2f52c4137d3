import { existsSync } from "node:fs";
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Health, Job } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqlite } from "../src/db/database.ts";
import type { ServerTables } from "../src/db/server.tables.ts";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { client } from "./http.client.ts";

/**
 * Trusted models end to end: real MLflow, real engine. A model's files are changed in MLflow's
 * artifact store after the job that made it logged them; caretflow refuses to load them, online and
 * in batch, naming the model. The digest comes from caretflow's database, never MLflow.
 */
let home: string;
let cf: StartedCaretflow;
let api: ReturnType<typeof client>;
let password: string;
const lines: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}
async function waitJob(id: string, timeoutMs = 600_000): Promise<Job> {
  return await until(
    `job ${id}`,
    async () => {
      const j = (await api.get<Job>(`/api/jobs/${id}`)).body;
      return ["succeeded", "failed", "cancelled"].includes(j.status) ? j : null;
    },
    timeoutMs,
  );
}

async function start(): Promise<void> {
  cf = await startCaretflow({ home, port: 0, demo: true, log: (l) => lines.push(l) });
  password = cf.adminPassword ?? password;
  const res = await fetch(`${cf.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password }),
  });
  api = client(cf.url, { cookie: res.headers.get("set-cookie")!.split(";")[0]! });
  await until("engine ready", async () => (await api.get<Health>("/api/health")).body.engine.ready, 180_000);
}

/** Trains one fast model on iris and waits for it and for its evaluation (which loads the model). */
async function train(): Promise<{ runId: string; digest: string }> {
  const started = await api.post<Job>("/api/jobs/train", {
    dataset: "iris",
    task: "classification",
    target: "species",
    include: ["lr"],
    folds: 2,
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const job = await waitJob(started.body.id);
  expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
  if (job.result?.kind !== "train") throw new Error("not a training result");
  const evaluation = await until("the evaluation job", async () => {
    const jobs = (await api.get<{ jobs: Job[] }>("/api/jobs")).body.jobs;
    return jobs.find((j) => j.kind === "evaluate" && (j.request as { after?: string }).after === job.id);
  });
  const evaluated = await waitJob(evaluation.id);
  expect(evaluated.status, JSON.stringify(evaluated.error)).toBe("succeeded");
  return { runId: job.result.best_run_id, digest: job.result.model_sha256 };
}

async function register(runId: string, name: string): Promise<string> {
  const reg = await api.post<{ version: number }>("/api/models", { runId, name });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  return `${name}/${reg.body.version}`;
}

/** The model folder of a run in MLflow's artifact store (<home>/mlflow/artifacts/<exp>/<run>/artifacts/model). */
async function storedModelDir(runId: string): Promise<string> {
  const root = join(home, "mlflow", "artifacts");
  const hit = (await readdir(root, { recursive: true })).find((p) => p.endsWith(join(runId, "artifacts", "model", "MLmodel")));
  if (!hit) throw new Error(`no stored model folder for run ${runId}`);
  return join(root, hit, "..");
}

const ROWS = [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }];

async function predictOnline(model: string) {
  return await api.post<{ predictions?: unknown[]; error?: { code: string; message: string; hint?: string } }>("/api/predict", {
    model,
    rows: ROWS,
  });
}

async function predictBatch(model: string): Promise<Job> {
  const started = await api.post<Job>("/api/jobs/predict", { model, dataset: "iris" });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return await waitJob(started.body.id);
}

function withDb<T>(fn: (db: Kysely<ServerTables>) => Promise<T>): Promise<T> {
  const db = openSqlite<ServerTables>(join(home, "caretflow.db"));
  return fn(db).finally(() => db.destroy());
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-trust-"));
  await start();
}, 300_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
}, 120_000);

let untouched: { runId: string; digest: string; ref: string };
let tampered: { runId: string; digest: string; ref: string; dir: string; mlmodel: string };
let marker: string;

describe("trusted models", () => {
  it("records the digest a job reports in caretflow's database; an untouched model predicts online and in batch", async () => {
    const a = await train();
    untouched = { ...a, ref: await register(a.runId, "trusted-a") };
    const row = await withDb((db) => db.selectFrom("model_digests").selectAll().where("run_id", "=", a.runId).executeTakeFirst());
    expect(row).toMatchObject({ artifact_path: "model", digest: a.digest, origin: "job" });
    const online = await predictOnline(untouched.ref);
    expect(online.status, JSON.stringify(online.body)).toBe(200);
    expect(online.body.predictions).toHaveLength(1);
    const batch = await predictBatch(untouched.ref);
    expect(batch.status, JSON.stringify(batch.error)).toBe("succeeded");
  }, 900_000);

  it("refuses a model whose MLmodel was changed to load another pickle, before unpickling anything", async () => {
    const b = await train();
    const dir = await storedModelDir(b.runId);
    tampered = { ...b, ref: await register(b.runId, "trusted-b"), dir, mlmodel: await readFile(join(dir, "MLmodel"), "utf8") };
    // A pickle that, once loaded, opens (creates) a marker file: protocol 0, builtins.open(marker, "w").
    marker = join(home, "unpickled-marker");
    await writeFile(join(dir, "evil.pkl"), `cbuiltins\nopen\n(V${marker}\nVw\ntR.`, "latin1");
    expect(tampered.mlmodel).toContain("pickled_model: model.pkl");
    await writeFile(join(dir, "MLmodel"), tampered.mlmodel.replaceAll("model.pkl", "evil.pkl"));

    const online = await predictOnline(tampered.ref);
    expect(online.status).toBe(400);
    expect(online.body.error?.code).toBe("model_digest_mismatch");
    expect(online.body.error?.message).toContain("model trusted-b version 1");
    expect(online.body.error?.message).toContain("changed after caretflow recorded them");
    expect(online.body.error?.hint).toContain("train it again");
    const batch = await predictBatch(tampered.ref);
    expect(batch.status).toBe("failed");
    expect(batch.error).toMatchObject({ name: "ModelDigestMismatch", message: expect.stringContaining("model trusted-b version 1") });
    expect(existsSync(marker)).toBe(false);
  }, 900_000);

  it("refuses a model whose pickle was changed, online, in batch and for operations and evaluations on its run", async () => {
    await writeFile(join(tampered.dir, "MLmodel"), tampered.mlmodel);
    await rm(join(tampered.dir, "evil.pkl"));
    // Bytes after a pickle's STOP are ignored when loading: this pickle still loads, but is not the one recorded.
    await appendFile(join(tampered.dir, "model.pkl"), "trailing");

    const online = await predictOnline(tampered.ref);
    expect(online.status).toBe(400);
    expect(online.body.error?.code).toBe("model_digest_mismatch");
    const batch = await predictBatch(tampered.ref);
    expect(batch.error?.name).toBe("ModelDigestMismatch");

    const evaluated = await api.post<Job>(`/api/runs/${tampered.runId}/evaluate`);
    expect(evaluated.status, JSON.stringify(evaluated.body)).toBe(202);
    expect((await waitJob(evaluated.body.id)).error?.name).toBe("ModelDigestMismatch");
    const tuned = await api.post<Job>(`/api/runs/${tampered.runId}/operations`, { operation: { op: "tune", n_iter: 2 } });
    expect(tuned.status, JSON.stringify(tuned.body)).toBe(202);
    const tuneJob = await waitJob(tuned.body.id);
    expect(tuneJob.error?.name).toBe("ModelDigestMismatch");
    expect(tuneJob.error?.message).toContain(tampered.runId);
    expect(existsSync(marker)).toBe(false);
  }, 900_000);

  it("refuses a model caretflow has no record of; at first start after the upgrade it records existing models once", async () => {
    // As after an upgrade: the untouched model has no record yet.
    await withDb((db) => db.deleteFrom("model_digests").where("run_id", "=", untouched.runId).execute());
    const v2 = await register(untouched.runId, "trusted-a"); // a new version: no warm scoring process yet
    const refused = await predictOnline(v2);
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe("model_unverified");
    expect(refused.body.error?.message).toContain("model trusted-a version 2");
    expect(refused.body.error?.hint).toContain("docs/operations.md");

    await cf.close();
    await withDb((db) => db.insertInto("server_meta").values({ key: "model_digests_backfill", value: "pending" }).execute());
    await start();
    const row = await until("the recorded digest", () =>
      withDb((db) => db.selectFrom("model_digests").selectAll().where("run_id", "=", untouched.runId).executeTakeFirst()),
    );
    // caretflow's own computation over MLflow's files gives the engine's digest.
    expect(row).toMatchObject({ artifact_path: "model", digest: untouched.digest, origin: "first_use" });
    expect((await predictOnline(v2)).status).toBe(200);
    // A recorded digest is never replaced: the changed model stays refused.
    expect((await predictOnline(tampered.ref)).body.error?.code).toBe("model_digest_mismatch");
    const meta = await withDb((db) =>
      db.selectFrom("server_meta").select("value").where("key", "=", "model_digests_backfill").executeTakeFirst(),
    );
    expect(meta?.value).toBe("done");
  }, 900_000);
});
