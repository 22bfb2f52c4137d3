import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { DatasetDetail, Job, PreviewPage } from "@caretflow/contracts";
import { MLFLOW_USERNAME } from "@caretflow/tracking";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MotoServer, startMoto } from "../../connectors/test/moto.fixture.ts";
import { type RedisServer, startRedis } from "../../orchestrator/test/redis.fixture.ts";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { type StartedWorker, startWorker } from "../src/worker.ts";
import { signIn, type TestClient, waitReady } from "./http.client.ts";

/**
 * `caretflow up --storage s3://... --redis` and a `caretflow worker --storage` with a home of its own (no
 * shared folder): moto's real S3 server, real Redis, real MLflow (artifacts proxied to S3), real engine on the
 * worker. The worker shares only the metadata database (here the server's SQLite file), Redis, MLflow's URL
 * with its credentials, and the bucket.
 */
const BUCKET = "caretflow-shared";
const STORAGE = `s3://${BUCKET}/team-a`;
const repo = join(import.meta.dirname, "..", "..", "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let moto: MotoServer;
let redis: RedisServer;
let s3: S3Client;
let serverHome: string;
let workerHome: string;
let cf: StartedCaretflow;
let worker: StartedWorker | null = null;
let api: TestClient;
const serverLines: string[] = [];
const workerLines: string[] = [];

async function keys(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    found.push(...(out.Contents ?? []).map((o) => o.Key!));
    token = out.NextContinuationToken;
  } while (token);
  return found.sort();
}

async function waitJob(id: string, timeoutMs = 240_000): Promise<Job> {
  const t0 = Date.now();
  for (;;) {
    const j = (await api.get<Job>(`/api/jobs/${id}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(j.status)) return j;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} still ${j.status}\n${workerLines.join("\n")}`);
    await sleep(300);
  }
}

async function files(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

beforeAll(async () => {
  [moto, redis] = await Promise.all([startMoto(), startRedis()]);
  await moto.createBucket(BUCKET);
  // The AWS chain's variables, as an operator sets them for the server and the worker (and MLflow gets them).
  process.env.AWS_ACCESS_KEY_ID = "caretflow-test";
  process.env.AWS_SECRET_ACCESS_KEY = "caretflow-test-secret";
  process.env.AWS_REGION = "us-east-1";
  process.env.CARETFLOW_S3_ENDPOINT_URL = moto.endpoint;
  s3 = new S3Client({
    region: "us-east-1",
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "a", secretAccessKey: "a" },
  });
  serverHome = await mkdtemp(join(tmpdir(), "caretflow-storage-server-"));
  workerHome = await mkdtemp(join(tmpdir(), "caretflow-storage-worker-"));
  cf = await startCaretflow({ home: serverHome, port: 0, redisUrl: redis.url, storage: STORAGE, log: (l) => serverLines.push(l) });
  api = await signIn(cf.url, cf.adminPassword ?? "");
  await waitReady(api, "mlflow");
}, 300_000);

afterAll(async () => {
  await worker?.close();
  await cf?.close();
  await Promise.all([redis?.close(), moto?.close()]);
  s3?.destroy();
  for (const d of [serverHome, workerHome]) if (d) await rm(d, { recursive: true, force: true });
}, 120_000);

describe("shared storage (S3) for a server and a worker on another home", () => {
  it("logs the storage in use, never a credential", () => {
    const log = serverLines.join("\n");
    expect(log).toContain(`shared storage: ${STORAGE} (endpoint ${moto.endpoint})`);
    expect(log).not.toContain("caretflow-test-secret");
  });

  it("refuses a worker with --storage that has neither the server's MLflow secret nor an external MLflow, saying what to do", async () => {
    const bare = await mkdtemp(join(tmpdir(), "caretflow-storage-bare-"));
    try {
      await expect(
        startWorker({ home: bare, redisUrl: redis.url, storage: STORAGE, database: join(serverHome, "caretflow.db"), log: () => {} }),
      ).rejects.toThrow(
        /no MLflow secret at .*For workers on other machines, run the server with an external MLflow \(caretflow up --mlflow-url\)/,
      );
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it("uploads a dataset, trains and predicts on the worker: datasets and model artifacts in the bucket, outputs readable by the server", async () => {
    const form = new FormData();
    form.append("file", new Blob([await readFile(join(repo, "demo-data", "iris.csv"))]), "iris.csv");
    expect((await api.raw("/api/datasets", { method: "POST", body: form })).status).toBe(201);
    const iris = (await api.get<DatasetDetail>("/api/datasets/iris")).body;
    expect(await keys("team-a/datasets/iris/")).toEqual([`team-a/datasets/iris/${iris.versions[0]!.contentHash}.parquet`]);

    // The worker: its own home, the server's metadata database, MLflow by URL with the server's credential.
    const port = (await readFile(join(serverHome, "mlflow", "port"), "utf8")).trim();
    const secret = (await readFile(join(serverHome, "mlflow", "secret"), "utf8")).trim();
    worker = await startWorker({
      home: workerHome,
      redisUrl: redis.url,
      storage: STORAGE,
      database: join(serverHome, "caretflow.db"),
      mlflowUrl: `http://127.0.0.1:${port}/mlflow`,
      mlflowUsername: MLFLOW_USERNAME,
      mlflowPassword: secret,
      log: (l) => workerLines.push(l),
    });
    expect(workerLines.join("\n")).toContain(`shared storage: ${STORAGE}`);

    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "iris",
      task: "classification",
      target: "species",
      include: ["lr", "dt"],
      folds: 3,
    });
    expect(started.status).toBe(202);
    const trained = await waitJob(started.body.id);
    expect(trained.status, JSON.stringify(trained.error)).toBe("succeeded");
    if (trained.result?.kind !== "train") throw new Error("no train result");
    expect(trained.leaderboard.map((r) => r.model_id).sort()).toEqual(["dt", "lr"]);
    // The worker fetched the version into its own home; the server's home holds no artifact.
    expect(existsSync(join(workerHome, "datasets", "iris", "v1.parquet"))).toBe(true);
    const artifacts = await keys("team-a/mlflow-artifacts/");
    expect(artifacts.filter((k) => k.endsWith("/MLmodel")).length).toBeGreaterThanOrEqual(1);
    expect(artifacts.some((k) => k.endsWith("model.pkl"))).toBe(true);
    expect(await files(join(serverHome, "mlflow", "artifacts"))).toEqual([]);

    // The job's log was written in the worker's home and uploaded; the server fetches it once the job is over.
    const serverLog = join(serverHome, "jobs", `${trained.id}.log`);
    expect(existsSync(serverLog)).toBe(false);
    expect(existsSync(join(workerHome, "logs", "jobs", `${trained.id}.log`))).toBe(true);
    expect(await keys(`team-a/job-logs/${trained.id}.log`)).toHaveLength(1);
    const logText = await (await api.raw(`/api/jobs/${trained.id}/log`)).text();
    expect(logText.length).toBeGreaterThan(0);
    expect(logText).toBe(await readFile(join(workerHome, "logs", "jobs", `${trained.id}.log`), "utf8"));

    // A batch prediction on the worker loads the model through MLflow's artifact proxy (from the bucket).
    const reg = await api.post<{ version: number }>("/api/models", { runId: trained.result.best_run_id, name: "iris-model" });
    expect(reg.status).toBe(201);
    const predicting = await api.post<Job>("/api/jobs/predict", { model: `iris-model/${reg.body.version}`, dataset: "iris" });
    expect(predicting.status, JSON.stringify(predicting.body)).toBe(202);
    const predicted = await waitJob(predicting.body.id);
    expect(predicted.status, JSON.stringify(predicted.error)).toBe("succeeded");
    const output = predicted.outputDataset!;
    const detail = (await api.get<DatasetDetail>(`/api/datasets/${output.name}`)).body;
    const version = detail.versions.find((v) => v.version === output.version)!;
    expect(await keys(`team-a/datasets/${output.name}/`)).toEqual([`team-a/datasets/${output.name}/${version.contentHash}.parquet`]);
    // Made on the worker: the server has no local file until it reads the version, then downloads and checks it.
    const serverFile = join(serverHome, "datasets", output.name, `v${output.version}.parquet`);
    expect(existsSync(serverFile)).toBe(false);
    const page = (await api.get<PreviewPage>(`/api/datasets/${output.name}/versions/${output.version}/preview?limit=150`)).body;
    expect(page.total).toBe(150);
    const label = page.columns.findIndex((c) => c.name === "prediction_label");
    const species = page.columns.findIndex((c) => c.name === "species");
    const correct = page.rows.filter((r) => r[label] === r[species]).length;
    expect(correct / 150).toBeGreaterThanOrEqual(0.9);
    expect(existsSync(serverFile)).toBe(true);
    expect(workerLines.join("\n")).not.toContain("caretflow-test-secret");
  }, 300_000);
});
