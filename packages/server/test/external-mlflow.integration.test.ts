import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { childEnv, type Health, type RunDetail, type RunSummary } from "@caretflow/contracts";
import { basicAuthorization, freePort, MlflowClient, MlflowSupervisor } from "@caretflow/tracking";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXTERNAL_MLFLOW_FILE, workerMlflowEnv } from "../src/mlflow.backend.ts";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { checkExternalMlflow, externalMlflowConfig } from "../src/tracking.external.ts";
import { client } from "./http.client.ts";

/**
 * caretflow on an existing MLflow server: a real `mlflow server` started by the test (behind a basic-auth
 * check, served under its own static prefix /tracking), given to startCaretflow by URL with credentials
 * in the environment. caretflow starts no MLflow of its own, reports the server's health, lists its runs
 * and proxies its UI; a wrong password and an unreachable URL are refused at start.
 */
const repo = resolve(fileURLToPath(import.meta.url), "../../../..");
let mlflowHome: string;
let sup: MlflowSupervisor;
let url: string;
let password: string;
const homes: string[] = [];

async function newHome(label: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), `caretflow-extml-${label}-`));
  homes.push(home);
  return home;
}

/** Runs `fn` with these variables set, restoring the environment afterwards. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function mlflowPost(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/api/2.0/mlflow/${path}`, {
    method: "POST",
    headers: { authorization: basicAuthorization(sup.credentials), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  mlflowHome = await mkdtemp(join(tmpdir(), "caretflow-extml-server-"));
  sup = new MlflowSupervisor({
    mlflowBin: join(repo, "engine/.venv/bin/mlflow"),
    home: mlflowHome,
    staticPrefix: "/tracking",
    log: () => {},
  });
  url = (await sup.start()).url;
  password = sup.credentials.password;
}, 180_000);

afterAll(async () => {
  await sup?.stop();
  for (const h of [mlflowHome, ...homes]) if (h) await rm(h, { recursive: true, force: true });
}, 60_000);

describe("startCaretflow with an existing MLflow server", () => {
  it("refuses a wrong password before it creates anything, naming the URL and never the password", async () => {
    const home = await newHome("wrong");
    const lines: string[] = [];
    const wrong = "not-the-password-0123456789";
    const err = await startCaretflow({
      home,
      port: 0,
      mlflowUrl: url,
      mlflowUsername: "caretflow",
      mlflowPassword: wrong,
      log: (l) => lines.push(l),
    }).catch((e: Error & { code?: string; hint?: string }) => e);
    expect(err).toMatchObject({ code: "mlflow_credentials_refused" });
    expect((err as Error).message).toBe(`the MLflow server at ${url} refused caretflow's credentials (HTTP 401)`);
    expect((err as { hint?: string }).hint).toContain("CARETFLOW_MLFLOW_PASSWORD");
    expect(JSON.stringify({ err, lines })).not.toContain(wrong);
    // Refused before the metadata database: a first start's admin password is not lost.
    expect(existsSync(join(home, "caretflow.db"))).toBe(false);
  });

  it("refuses an unreachable URL, and a URL that carries credentials or is not http(s)", async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}/mlflow`;
    const t0 = Date.now();
    const err = await startCaretflow({ home: await newHome("down"), port: 0, mlflowUrl: nowhere, log: () => {} }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "mlflow_unavailable" });
    expect((err as Error).message).toMatch(new RegExp(`^the MLflow server at ${nowhere} did not answer \\(.*ECONNREFUSED`));
    expect(Date.now() - t0).toBeLessThan(20_000);

    const withPassword = url.replace("http://", "http://caretflow:hunter2secret@");
    const embedded = await startCaretflow({ home: await newHome("embedded"), port: 0, mlflowUrl: withPassword }).catch((e: Error) => e);
    expect(embedded).toMatchObject({ code: "invalid_mlflow_settings", hint: expect.stringContaining("CARETFLOW_MLFLOW_USERNAME") });
    expect(JSON.stringify(embedded) + (embedded as Error).message).not.toContain("hunter2secret");
    const ftp = await startCaretflow({ home: await newHome("ftp"), port: 0, mlflowUrl: "ftp://u:hunter2secret@host/x" }).catch(
      (e: Error) => e,
    );
    expect(ftp).toMatchObject({ code: "invalid_mlflow_settings" });
    expect((ftp as Error).message).not.toContain("hunter2secret");
  });

  describe("started on it, credentials from the environment", () => {
    let home: string;
    let cf: StartedCaretflow;
    let api: ReturnType<typeof client>;
    const lines: string[] = [];

    beforeAll(async () => {
      home = await newHome("up");
      cf = await withEnv(
        { CARETFLOW_MLFLOW_URL: `${url}/`, CARETFLOW_MLFLOW_USERNAME: "caretflow", CARETFLOW_MLFLOW_PASSWORD: password },
        () => startCaretflow({ home, port: 0, demo: false, log: (l) => lines.push(l) }),
      );
      const res = await fetch(`${cf.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: cf.adminPassword }),
      });
      api = client(cf.url, { cookie: res.headers.get("set-cookie")!.split(";")[0]! });
    }, 180_000);

    afterAll(async () => {
      await cf?.close();
    }, 60_000);

    it("starts no MLflow of its own and says MLflow is ready", async () => {
      expect(existsSync(join(home, "mlflow", "port"))).toBe(false);
      expect(existsSync(join(home, "mlflow", "mlflow.pid"))).toBe(false);
      expect(existsSync(join(home, "mlflow", "secret"))).toBe(false);
      expect(lines).toContain(`using the MLflow server at ${url}`);
      expect(lines.join("\n")).not.toContain(password);
      const health = (await api.get<Health>("/api/health")).body;
      expect(health.mlflow).toEqual({ ready: true, restarts: 0 });
    });

    it("lists a run logged on the server through its tracking API", async () => {
      const exp = await mlflowPost("experiments/create", { name: `external-${Date.now()}` });
      const run = await mlflowPost("runs/create", {
        experiment_id: exp.experiment_id,
        start_time: Date.now(),
        tags: [
          { key: "caretflow.role", value: "parent" },
          { key: "caretflow.task", value: "classification" },
          { key: "mlflow.runName", value: "logged-elsewhere" },
        ],
      });
      const runId = (run.run as { info: { run_id: string } }).info.run_id;
      await mlflowPost("runs/log-metric", { run_id: runId, key: "Accuracy", value: 0.875, timestamp: Date.now(), step: 0 });
      // The runs list reads caretflow's index, which picks up runs logged straight into MLflow within seconds.
      await expect
        .poll(
          async () => {
            const listed = await api.get<{ runs: RunSummary[] }>("/api/runs");
            expect(listed.status).toBe(200);
            return listed.body.runs.map((r) => r.runId);
          },
          { timeout: 30_000, interval: 500 },
        )
        .toContain(runId);
      const detail = await api.get<{ runId: string; metrics: Record<string, number> }>(`/api/runs/${runId}`);
      expect(detail.status, JSON.stringify(detail.body)).toBe(200);
      expect(detail.body.metrics).toMatchObject({ Accuracy: 0.875 });
    });

    it("lets the engine's MLflow client log a run and an artifact there with the credentials caretflow gives it", async () => {
      const external = externalMlflowConfig({ url, username: "caretflow", password }, {});
      // What the engine's jobs do: preflight, then MLflow's client with the credential from the environment.
      const script = [
        "import sys",
        "from caretflow_engine.tracking import preflight, make_client",
        "preflight(sys.argv[1])",
        "c = make_client(sys.argv[1])",
        "exp = c.create_experiment('engine-logged')",
        "run = c.create_run(exp, tags={'caretflow.role': 'parent', 'mlflow.runName': 'engine-run'})",
        "c.log_metric(run.info.run_id, 'R2', 0.5)",
        "c.log_text(run.info.run_id, 'hello', 'notes/readme.txt')",
        "c.set_terminated(run.info.run_id)",
        "print('run_id=' + run.info.run_id)",
      ].join("\n");
      const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) => {
        const child = spawn(join(repo, "engine/.venv/bin/python"), ["-c", script, url], {
          cwd: join(repo, "engine"),
          env: childEnv(process.env, external!.engineEnv),
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => ok({ code, stdout, stderr }));
      });
      expect(out.code, out.stderr).toBe(0);
      const runId = /^run_id=(\w+)$/m.exec(out.stdout)?.[1] ?? "";
      const detail = await api.get<RunDetail>(`/api/runs/${runId}`);
      expect(detail.status, JSON.stringify(detail.body)).toBe(200);
      expect(detail.body).toMatchObject({ name: "engine-run", status: "FINISHED", metrics: { R2: 0.5 } });
      expect(detail.body.artifacts.map((a) => a.path)).toContain("notes/readme.txt");
      const artifact = await api.raw(`/api/runs/${runId}/artifacts/notes/readme.txt`);
      expect([artifact.status, await artifact.text()]).toEqual([200, "hello"]);
    });

    it("proxies /mlflow/ to the server's own prefix, with the credential added upstream", async () => {
      const page = await api.raw("/mlflow/", { headers: { accept: "text/html" } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain("<title>MLflow</title>");
      // The UI names its files relative to the page, so they resolve under caretflow's /mlflow/.
      const script = /src="(static-files\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect((await api.raw(`/mlflow/${script}`)).status).toBe(200);
      const search = await api.raw("/mlflow/ajax-api/2.0/mlflow/experiments/search?max_results=100");
      expect(search.status).toBe(200);
      expect(((await search.json()) as { experiments: { name: string }[] }).experiments.map((e) => e.name)).toContain("Default");
    });

    it("`caretflow worker` on this home needs the server's MLflow settings", async () => {
      expect(existsSync(join(home, "mlflow", EXTERNAL_MLFLOW_FILE))).toBe(true);
      await expect(workerMlflowEnv(join(home, "mlflow"), null)).rejects.toMatchObject({
        code: "invalid_mlflow_settings",
        message: `the caretflow server on this home uses the MLflow server at ${url}, and this worker was not told how to reach it`,
      });
      const external = externalMlflowConfig(
        {},
        { CARETFLOW_MLFLOW_URL: url, CARETFLOW_MLFLOW_USERNAME: "caretflow", CARETFLOW_MLFLOW_PASSWORD: password },
      );
      expect(await workerMlflowEnv(join(home, "mlflow"), external)).toEqual({
        MLFLOW_TRACKING_USERNAME: "caretflow",
        MLFLOW_TRACKING_PASSWORD: password,
      });
    });
  });
});

describe("an MLflow server behind a bearer-token check", () => {
  const token = "tok-0123456789abcdef";
  let proxy: Server;
  let proxyUrl: string;

  beforeAll(async () => {
    // A token-checking front for the real server, as an auth proxy in front of MLflow would be.
    proxy = createServer(async (req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401).end("no");
        return;
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const upstream = await fetch(new URL(req.url ?? "/", new URL(url).origin), {
        method: req.method ?? "GET",
        headers: { authorization: basicAuthorization(sup.credentials), ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body } : {}),
      });
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/plain" }).end(await upstream.text());
    });
    await new Promise<void>((ok) => proxy.listen(0, "127.0.0.1", ok));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/tracking`;
  });

  afterAll(async () => {
    await new Promise((ok) => proxy?.close(ok));
  });

  it("sends the token from CARETFLOW_MLFLOW_TOKEN_FILE, to the check, the client and the engine's environment", async () => {
    const dir = await newHome("token");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "token"), `${token}\n`, { mode: 0o600 });
    const m = externalMlflowConfig({}, { CARETFLOW_MLFLOW_URL: proxyUrl, CARETFLOW_MLFLOW_TOKEN_FILE: join(dir, "token") });
    expect(m).toEqual({ url: proxyUrl, authorization: `Bearer ${token}`, engineEnv: { MLFLOW_TRACKING_TOKEN: token } });
    await checkExternalMlflow(m!);
    const experiments = await new MlflowClient({ baseUrl: proxyUrl, authorization: m!.authorization! }).allExperiments();
    expect(experiments.map((e) => e.name)).toContain("Default");
    const wrong = externalMlflowConfig({ url: proxyUrl, token: "other" }, {});
    await expect(checkExternalMlflow(wrong!)).rejects.toMatchObject({ code: "mlflow_credentials_refused" });
  });
});
