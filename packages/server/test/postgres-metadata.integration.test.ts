import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatasetDetail, Job, PipelineRun, ProjectInfo } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../../connectors/test/postgres.fixture.ts";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { client } from "./http.client.ts";

/**
 * caretflow with its metadata in a real PostgreSQL server (`database`): an upload, a project, a job and
 * a pipeline run of a custom Python step go through the API; a second start on the same database (with
 * a new home) finds them all, without applying the migrations again and without a new admin.
 */
const repo = join(import.meta.dirname, "..", "..", "..");
const PASSWORD = "pg-Secret-4242";
let pg: PostgresServer;
let url: string;
const homes: string[] = [];
let cf: StartedCaretflow | null = null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(lines: string[]): Promise<StartedCaretflow> {
  const home = await mkdtemp(join(tmpdir(), "caretflow-pgmeta-"));
  homes.push(home);
  cf = await startCaretflow({ home, port: 0, demo: false, waitForMlflow: false, database: url, log: (l) => lines.push(l) });
  expect(existsSync(join(home, "caretflow.db"))).toBe(false);
  return cf;
}

async function signIn(started: StartedCaretflow, password: string) {
  const res = await fetch(`${started.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password }),
  });
  expect(res.status).toBe(200);
  return client(started.url, { cookie: res.headers.get("set-cookie")!.split(";")[0]! });
}

beforeAll(async () => {
  pg = await startPostgres();
  await pg.sql(`CREATE ROLE caretflow LOGIN PASSWORD '${PASSWORD}'`);
  await pg.sql("CREATE DATABASE caretflow OWNER caretflow");
  url = `postgres://caretflow:${PASSWORD}@${pg.host}:${pg.port}/caretflow`;
}, 120_000);

afterAll(async () => {
  await cf?.close();
  await pg?.close();
  for (const h of homes) await rm(h, { recursive: true, force: true });
});

describe("caretflow with its metadata on PostgreSQL", () => {
  let adminPassword = "";
  let runId = "";
  let jobId = "";

  it("stores an upload, a project, a job and a pipeline run there", async () => {
    const lines: string[] = [];
    const first = await start(lines);
    expect(first.adminPassword).not.toBeNull();
    adminPassword = first.adminPassword!;
    const joined = lines.join("\n");
    expect(joined).toContain(`metadata in PostgreSQL at postgres://caretflow:***@${pg.host}:${pg.port}/caretflow`);
    expect(joined).toMatch(/metadata database ready \(\d+ migrations applied\)/);
    expect(joined).not.toContain(PASSWORD);
    const api = await signIn(first, adminPassword);

    const form = new FormData();
    form.append("file", new Blob([await readFile(join(repo, "demo-data", "iris.csv"))]), "iris.csv");
    expect((await api.raw("/api/datasets", { method: "POST", body: form })).status).toBe(201);
    const listed = await api.get<{ datasets: DatasetDetail[] }>("/api/datasets");
    expect(listed.body.datasets.map((d) => d.name)).toEqual(["iris"]);
    expect((await api.post<ProjectInfo>("/api/projects", { name: "churn", description: "on postgres" })).status).toBe(201);

    // A job record and its events: queued while MLflow starts, then cancelled (no training needed).
    const job = await api.post<Job>("/api/jobs/train", { dataset: "iris", task: "clustering", include: ["kmeans"] });
    expect(job.status).toBe(202);
    jobId = job.body.id;
    expect((await api.post(`/api/jobs/${jobId}/cancel`)).status).toBeLessThan(300);
    for (let i = 0; i < 120 && (await api.get<Job>(`/api/jobs/${jobId}`)).body.status !== "cancelled"; i++) await sleep(250);
    expect((await api.get<Job>(`/api/jobs/${jobId}`)).body.status).toBe("cancelled");

    const yaml = `version: 1
name: scored
steps:
  - id: count
    type: transform
    with: { sql: "SELECT count(*) AS n FROM iris", output: iris_count }
  - id: score
    type: custom
    needs: [count]
    with: { language: python, file: scripts/score.py, args: ["hello"] }
`;
    const script = 'import json, os, sys\nwith open(os.environ["CARETFLOW_OUTPUT"], "w") as f:\n    json.dump({"said": sys.argv[1]}, f)\n';
    const applied = await api.raw("/api/pipelines", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ yaml, files: { "scripts/score.py": script } }),
    });
    expect(applied.status).toBeLessThan(300);
    const started = await api.post<PipelineRun>("/api/pipelines/scored/runs", {});
    expect(started.status).toBe(202);
    runId = started.body.id;
    let run = started.body;
    for (let i = 0; i < 240 && !["succeeded", "failed", "cancelled"].includes(run.status); i++) {
      await sleep(500);
      run = (await api.get<PipelineRun>(`/api/pipeline-runs/${runId}`)).body;
    }
    expect(run.error).toBeNull();
    expect(run.status).toBe("succeeded");
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([
      ["count", "succeeded"],
      ["score", "succeeded"],
    ]);
    expect(run.steps[1]!.outputs).toMatchObject({ output: { said: "hello" } });
    await first.close();
    cf = null;
  });

  it("finds everything again from a second start on the same database, which applies no migration", async () => {
    const lines: string[] = [];
    const second = await start(lines);
    expect(second.adminPassword).toBeNull();
    expect(lines.join("\n")).not.toMatch(/migrations applied/);
    const api = await signIn(second, adminPassword);
    expect((await api.get<{ datasets: DatasetDetail[] }>("/api/datasets")).body.datasets.map((d) => d.name).sort()).toEqual([
      "iris",
      "iris_count",
    ]);
    expect((await api.get<{ projects: ProjectInfo[] }>("/api/projects")).body.projects.map((p) => p.name)).toEqual(["churn", "default"]);
    const job = (await api.get<Job>(`/api/jobs/${jobId}`)).body;
    expect(job).toMatchObject({ id: jobId, status: "cancelled" });
    const run = (await api.get<PipelineRun>(`/api/pipeline-runs/${runId}`)).body;
    expect(run).toMatchObject({ id: runId, pipeline: "scored", status: "succeeded" });
    await second.close();
    cf = null;
  });
});
