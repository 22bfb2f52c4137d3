import type { IncomingMessage, ServerResponse } from "node:http";
import type { Job, JobEvent } from "@caretflow/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { CATALOG } from "../../orchestrator/test/catalog.fixture.ts";
import type { CliContext } from "./context.ts";
import { sendJson, startHttp } from "./http-fixture.test-support.ts";
import { runCli } from "./program.ts";

/** A context writing into strings, with Ctrl-C under the test's control. */
function testContext(
  env: Record<string, string>,
  loadServer: CliContext["loadServer"] = () => Promise.reject(new Error("not in this test")),
) {
  const out = { stdout: "", stderr: "" };
  const handlers: ((s: "SIGINT" | "SIGTERM") => void)[] = [];
  const ctx: CliContext = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env,
    cwd: process.cwd(),
    userHome: "/nonexistent-home",
    fetch,
    onInterrupt(h) {
      handlers.push(h);
      return () => handlers.splice(handlers.indexOf(h), 1);
    },
    now: () => 0,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    loadServer,
  };
  return {
    ctx,
    out,
    interrupt: () => {
      for (const h of [...handlers]) h("SIGINT");
    },
  };
}

const ts = "2024-01-01T00:00:00.000Z";
const row = (id: string, acc: number, rank: number) => ({
  rank,
  model_id: id,
  model_name: id.toUpperCase(),
  metrics: { Accuracy: acc, AUC: 0.9 },
  fit_seconds: 0.5,
});
function job(status: Job["status"]): Job {
  const done = status === "succeeded";
  return {
    id: "j1",
    project: "default",
    kind: "train",
    status,
    request: {
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      ignore_columns: [],
      text_columns: [],
      train_size: 0.7,
      folds: 5,
      seed: 123,
      use_gpu: "off",
      operation: "compare",
      include: [],
      exclude: [],
      custom_metrics: [],
      custom_models: [],
      setup: {},
    },
    stage: null,
    progress: null,
    leaderboard: [row("lr", 0.82, 1), row("dt", 0.77, 2)],
    result: done
      ? {
          kind: "train",
          experiment_id: "1",
          parent_run_id: "a".repeat(32),
          best_run_id: "b".repeat(32),
          best_model_id: "lr",
          best_model_name: "Logistic Regression",
          model_uri: `runs:/${"b".repeat(32)}/model`,
          model_sha256: "0".repeat(64),
          sort_metric: "Accuracy",
          task: "classification",
          outputs: [],
          timings: { compare: 1.5 },
          leaderboard: [row("lr", 0.82, 1), row("dt", 0.77, 2)],
        }
      : null,
    error:
      status === "failed" ? { name: "ValueError", message: "target has one class", hint: "pick another target", transient: false } : null,
    outputDataset: null,
    outputDatasets: [],
    createdAt: ts,
    startedAt: ts,
    finishedAt: ts,
  };
}

/** A fake of just the job routes, answering as the contract says, so exit codes and output shapes can be checked. */
async function jobServer(final: Job["status"], opts: { hang?: boolean } = {}) {
  const calls: string[] = [];
  let current: Job["status"] = "running";
  const s = await startHttp((req: IncomingMessage, res: ServerResponse) => {
    calls.push(`${req.method} ${req.url}`);
    if (req.method === "GET" && req.url?.startsWith("/api/catalog")) return sendJson(res, 200, CATALOG);
    if (req.method === "POST" && req.url === "/api/jobs/train") return sendJson(res, 202, job("queued"));
    if (req.method === "POST" && req.url === "/api/jobs/j1/cancel") {
      current = "cancelled";
      return sendJson(res, 200, job("cancelled"));
    }
    if (req.url === "/api/jobs/j1") return sendJson(res, 200, job(current));
    if (req.url === "/api/jobs/j1/events") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const events: JobEvent[] = [
        { seq: 1, ts, type: "status", status: "running" },
        { seq: 2, ts, type: "engine", event: { v: 1, seq: 0, ts, job_id: "j1", type: "stage", stage: "compare", message: "comparing" } },
        { seq: 3, ts, type: "engine", event: { v: 1, seq: 1, ts, job_id: "j1", type: "leaderboard_row", row: row("lr", 0.82, 1) } },
      ];
      if (!opts.hang) {
        current = final;
        events.push({ seq: 4, ts, type: "status", status: final });
      }
      res.write(events.map((e) => `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`).join(""));
      if (!opts.hang) res.end();
      return;
    }
    sendJson(res, 404, { error: { code: "not_found", kind: "user", message: `no route ${req.url}` } });
  });
  stop = s.close;
  return { url: s.url, calls };
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

const trainArgs = ["train", "--dataset", "juice", "--task", "classification", "--target", "Purchase", "--include", "lr,dt"];

describe("runCli", () => {
  it("prints help on stdout and exits 0", async () => {
    const t = testContext({});
    expect(await runCli(["datasets", "import", "--help"], t.ctx)).toBe(0);
    expect(t.out.stdout).toContain("Usage: caretflow datasets import");
    expect(t.out.stdout).toContain("--json");
  });

  it("takes train's task flags from the catalog and rejects bad ones before starting a job, naming the flag", async () => {
    const srv = await jobServer("succeeded");
    const env = { CARETFLOW_URL: srv.url, CARETFLOW_TOKEN: "t" };
    const t = testContext(env);
    expect(await runCli([...trainArgs, "--num-clusters", "x"], t.ctx)).toBe(1);
    expect(t.out.stderr).toContain("--num-clusters must be a whole number");
    const t2 = testContext(env);
    expect(await runCli(["train", "--dataset", "juice", "--task", "clustering", "--target", "y"], t2.ctx)).toBe(1);
    expect(t2.out.stderr).toMatch(
      /^error: --target does not apply to --task clustering\nhint: --target is for: classification, regression/,
    );
    const t3 = testContext(env);
    expect(await runCli(["train", "--dataset", "juice", "--task", "ranking"], t3.ctx)).toBe(1);
    expect(t3.out.stderr).toContain("argument 'ranking' is invalid. Allowed choices are classification, regression, clustering, topics");
    expect(srv.calls.filter((c) => c.startsWith("POST"))).toEqual([]);
  });

  it("train --help lists every task's flags, with their help and tasks, from the catalog", async () => {
    const srv = await jobServer("succeeded");
    const t = testContext({ CARETFLOW_URL: srv.url, CARETFLOW_TOKEN: "t" });
    expect(await runCli(["train", "--help"], t.ctx)).toBe(0);
    expect(t.out.stdout).toMatch(/--num-clusters <n>\s+help for num_clusters \[clustering\]/);
    expect(t.out.stdout).toMatch(/--text-column <column>\s+help for text_column \[topics\]/);
    expect(t.out.stdout).toMatch(/topics\s+find topics\n\s+needs --text-column <column>/);
    const offline = testContext({});
    expect(await runCli(["train", "--help"], offline.ctx)).toBe(0);
    expect(offline.out.stdout).toContain("Task options (target, date, text, clusters, horizon...) come from the engine's catalog");
  });

  it("sends setup options given with --set, typed as JSON", async () => {
    let body: unknown = null;
    const s = await startHttp((req, res) => {
      if (req.url?.startsWith("/api/catalog")) return sendJson(res, 200, CATALOG);
      let text = "";
      req.on("data", (d) => (text += d));
      req.on("end", () => {
        body = JSON.parse(text);
        sendJson(res, 202, { ...job("queued"), status: "queued" });
      });
    });
    stop = s.close;
    const t = testContext({ CARETFLOW_URL: s.url, CARETFLOW_TOKEN: "t" });
    await runCli([...trainArgs, "--set", "normalize=true", "--set", "normalize_method=minmax", "--detach"], t.ctx);
    expect(body).toMatchObject({
      task: "classification",
      target: "Purchase",
      include: ["lr", "dt"],
      setup: { normalize: true, normalize_method: "minmax" },
    });
  });

  it("sends --dask as the comparison's Dask scheduler, and refuses an address that is not tcp:// or tls://HOST:PORT", async () => {
    let body: unknown = null;
    const s = await startHttp((req, res) => {
      if (req.url?.startsWith("/api/catalog")) return sendJson(res, 200, CATALOG);
      let text = "";
      req.on("data", (d) => (text += d));
      req.on("end", () => {
        body = JSON.parse(text);
        sendJson(res, 202, { ...job("queued"), status: "queued" });
      });
    });
    stop = s.close;
    const env = { CARETFLOW_URL: s.url, CARETFLOW_TOKEN: "t" };
    const bad = testContext(env);
    expect(await runCli([...trainArgs, "--dask", "scheduler:8786", "--detach"], bad.ctx)).toBe(1);
    expect(bad.out.stderr).toContain("--dask: a Dask scheduler address: tcp://HOST:PORT or tls://HOST:PORT");
    expect(body).toBeNull();
    const t = testContext(env);
    expect(await runCli([...trainArgs, "--dask", "tcp://scheduler:8786", "--detach"], t.ctx)).toBe(0);
    expect(body).toMatchObject({ task: "classification", include: ["lr", "dt"], dask_scheduler: "tcp://scheduler:8786" });
  });

  it("forecasts online with --horizon alone, printing every prediction column", async () => {
    let body: unknown = null;
    const s = await startHttp((req, res) => {
      let text = "";
      req.on("data", (d) => (text += d));
      req.on("end", () => {
        body = JSON.parse(text);
        sendJson(res, 200, {
          model: { name: "downloads", version: 1, task: "time_series" },
          columns: ["period", "y_pred", "lower", "upper"],
          predictions: [
            { period: "2021-10-06", y_pred: 8010.4, lower: 6793.9, upper: 9226.9 },
            { period: "2021-10-07", y_pred: 9469.2, lower: null, upper: null },
          ],
          elapsedMs: 12,
        });
      });
    });
    stop = s.close;
    const t = testContext({ CARETFLOW_URL: s.url, CARETFLOW_TOKEN: "t" });
    expect(await runCli(["predict", "--model", "downloads@champion", "--horizon", "2"], t.ctx)).toBe(0);
    expect(body).toEqual({ model: "downloads@champion", rows: [], horizon: 2, explain: false });
    expect(t.out.stdout).toMatch(/PERIOD\s+Y_PRED\s+LOWER\s+UPPER/);
    expect(t.out.stdout).toMatch(/2021-10-07\s+9469.2\s+-\s+-/);
  });

  it("sends the file as the body of PUT /api/datasets/{name}/file, with its name, --encoding and --sheet", async () => {
    let seen: { method?: string; url?: string; type?: string; length?: string; body?: Buffer } = {};
    const s = await startHttp((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        seen = {
          method: req.method,
          url: req.url,
          type: req.headers["content-type"],
          length: req.headers["content-length"],
          body: Buffer.concat(chunks),
        };
        const version = {
          ...{ dataset: "package", version: 1, rowCount: 1, columnCount: 1, columns: [], contentHash: "h", sizeBytes: 1 },
          source: { kind: "upload", encoding: "windows-1252" },
          createdAt: ts,
        };
        sendJson(res, 201, { created: true, version });
      });
    });
    stop = s.close;
    const t = testContext({ CARETFLOW_URL: s.url, CARETFLOW_TOKEN: "t" });
    expect(await runCli(["datasets", "import", "package.json", "--encoding", "latin1", "--sheet", "Sales 2024"], t.ctx)).toBe(0);
    const url = new URL(seen.url!, "http://x");
    expect(seen.method).toBe("PUT");
    // No --name: the name comes from the file's, as the server would derive it.
    expect(url.pathname).toBe("/api/datasets/package/file");
    expect(Object.fromEntries(url.searchParams)).toEqual({ filename: "package.json", encoding: "latin1", sheet: "Sales 2024" });
    expect(seen.type).toBe("application/octet-stream");
    const { readFile } = await import("node:fs/promises");
    const bytes = await readFile("package.json");
    expect(seen.length).toBe(String(bytes.length));
    expect(seen.body!.equals(bytes)).toBe(true);
  });

  it("streams a file of 4 GiB or more with its exact length (Node's file Blobs would report it wrong)", async () => {
    const { mkdtemp, rm, truncate, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "caretflow-cli-big-"));
    let declared = 0;
    let received = 0;
    // The server reads the head of the body, then refuses the upload as too large (as caretflow's own would).
    const s = await startHttp((req, res) => {
      declared = Number(req.headers["content-length"]);
      req.on("data", (d: Buffer) => {
        received += d.length;
        if (received > 8 * 1024 * 1024 && !res.headersSent) {
          sendJson(res, 413, {
            error: { code: "upload_too_large", kind: "user", message: "The file is larger than the upload limit", hint: "h" },
          });
          req.destroy();
        }
      });
    });
    stop = s.close;
    try {
      const big = join(dir, "big.csv");
      await writeFile(big, "");
      await truncate(big, 2 ** 32 + 10); // sparse: no disk used
      const t = testContext({ CARETFLOW_URL: s.url, CARETFLOW_TOKEN: "t" });
      expect(await runCli(["datasets", "import", big], t.ctx)).toBe(1);
      expect(declared).toBe(2 ** 32 + 10);
      expect(received).toBeGreaterThan(8 * 1024 * 1024);
      expect(t.out.stderr).toMatch(/uploading big\.csv \(4\.0 GiB\)\.\.\.\nerror: /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each<[string, string[], RegExp]>([
    ["a missing file", ["datasets", "import", "/no/such/file.csv"], /^error: file '\/no\/such\/file.csv' does not exist\nhint: /],
    ["a bad dataset name", ["datasets", "import", "package.json", "--name", "../x"], /^error: --name: use letters/],
    ["neither --dataset nor --rows", ["predict", "--model", "m@champion"], /^error: give either --dataset .* or --rows/],
    ["both --dataset and --rows", ["predict", "--model", "m@champion", "--dataset", "d", "--rows", "r.json"], /^error: give either/],
    ["a bad model reference", ["predict", "--model", "m:1", "--dataset", "d"], /^error: --model: use NAME@ALIAS or NAME\/VERSION/],
    ["a bad run id", ["models", "register", "--run", "xyz", "--name", "m"], /^error: --run: an MLflow run id is 32 hex characters/],
  ])("rejects %s with a message and a hint, exit 1", async (_name, argv, pattern) => {
    const t = testContext({ CARETFLOW_URL: "http://127.0.0.1:9", CARETFLOW_TOKEN: "t" });
    expect(await runCli(argv, t.ctx)).toBe(1);
    expect(t.out.stderr).toMatch(pattern);
    expect(t.out.stderr).toContain("hint:");
    expect(t.out.stdout).toBe("");
  });

  it("with --json, a usage error is also the one document on stdout", async () => {
    const t = testContext({});
    expect(await runCli(["train", "--dataset", "juice", "--json"], t.ctx)).toBe(1);
    expect(JSON.parse(t.out.stdout)).toEqual({
      error: { code: "usage", kind: "user", message: "required option '--task <task>' not specified", hint: "see --help" },
    });
    expect(t.out.stderr).toContain("error: required option '--task <task>' not specified");
  });

  it("with --json, prints the error as the one document on stdout and the message on stderr", async () => {
    const t = testContext({});
    expect(await runCli(["datasets", "list", "--json"], t.ctx)).toBe(1);
    expect(JSON.parse(t.out.stdout)).toMatchObject({ error: { code: "not_connected", hint: expect.stringContaining("caretflow up") } });
    expect(t.out.stderr).toMatch(/^error: no caretflow server is known/);
  });

  it.each<[Job["status"], number]>([
    ["succeeded", 0],
    ["failed", 1],
    ["cancelled", 2],
  ])("train that ends %s exits %d, with one JSON document holding the run ids and leaderboard", async (status, code) => {
    const srv = await jobServer(status);
    const t = testContext({ CARETFLOW_URL: srv.url, CARETFLOW_TOKEN: "t" });
    expect(await runCli([...trainArgs, "--json"], t.ctx)).toBe(code);
    const doc = JSON.parse(t.out.stdout);
    expect(doc).toMatchObject({ jobId: "j1", status });
    expect(doc.leaderboard.map((r: { model_id: string }) => r.model_id)).toEqual(["lr", "dt"]);
    if (status === "succeeded")
      expect(doc).toMatchObject({ parentRunId: "a".repeat(32), bestRunId: "b".repeat(32), bestModel: "Logistic Regression" });
    if (status === "failed") expect(t.out.stderr).toContain("error: target has one class\nhint: pick another target");
    // the row streamed while the comparison ran
    expect(t.out.stderr).toContain("LR (lr)  Accuracy 0.8200  AUC 0.9000");
  });

  it("train in human mode prints the leaderboard table on stdout", async () => {
    const srv = await jobServer("succeeded");
    const t = testContext({ CARETFLOW_URL: srv.url, CARETFLOW_TOKEN: "t" });
    expect(await runCli(trainArgs, t.ctx)).toBe(0);
    expect(t.out.stdout).toMatch(/best model:\s+Logistic Regression \(lr\)/);
    expect(t.out.stdout).toMatch(/#\s+MODEL\s+ID\s+Accuracy\s+AUC/);
    expect(t.out.stdout).toMatch(/1\s+LR\s+lr\s+0\.8200\s+0\.9000/);
  });

  it("Ctrl-C while following asks the server to cancel the job and exits 130", async () => {
    const srv = await jobServer("succeeded", { hang: true });
    const t = testContext({ CARETFLOW_URL: srv.url, CARETFLOW_TOKEN: "t" });
    const running = runCli(trainArgs, t.ctx);
    // wait until the CLI is reading the stream, then interrupt
    for (let i = 0; i < 100 && !srv.calls.includes("GET /api/jobs/j1/events"); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    t.interrupt();
    expect(await running).toBe(130);
    expect(srv.calls).toContain("POST /api/jobs/j1/cancel");
    expect(t.out.stderr).toContain("cancelling job j1");
  });
});

describe("caretflow runs <operation>", () => {
  const RUN = "c".repeat(32);
  const OTHER = "d".repeat(32);

  function operateJob(status: Job["status"]): Job {
    const base = job(status);
    return {
      ...base,
      kind: "operate",
      request: { operation: { op: "tune", search: "random", n_iter: 5 }, use_gpu: "off", run: RUN },
      result:
        base.result && base.result.kind === "train"
          ? {
              ...base.result,
              kind: "operate",
              op: "tune",
              source_run_id: RUN,
              summary: {
                params: { C: 0.5 },
                facts: { search: "random", candidates_tried: 5, kept: "tuned" },
                notes: ["The time budget (1 min) was spent after 5 of 50 candidates."],
              },
            }
          : null,
    };
  }

  /** A fake of the operations route and the job routes; records the bodies POSTed. */
  async function operateServer(final: Job["status"]) {
    const bodies: unknown[] = [];
    const calls: string[] = [];
    const s = await startHttp((req, res) => {
      calls.push(`${req.method} ${req.url}`);
      if (req.method === "POST" && req.url === `/api/runs/${RUN}/operations`) {
        let text = "";
        req.on("data", (d) => (text += d));
        req.on("end", () => {
          bodies.push(JSON.parse(text));
          sendJson(res, 202, operateJob("queued"));
        });
        return;
      }
      if (req.url === "/api/jobs/j1") return sendJson(res, 200, operateJob(final));
      if (req.url === "/api/jobs/j1/events") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const events: JobEvent[] = [
          { seq: 1, ts, type: "status", status: "running" },
          { seq: 2, ts, type: "status", status: final },
        ];
        res.end(events.map((e) => `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`).join(""));
        return;
      }
      sendJson(res, 404, { error: { code: "not_found", kind: "user", message: `no route ${req.url}` } });
    });
    stop = s.close;
    return { env: { CARETFLOW_URL: s.url, CARETFLOW_TOKEN: "t" }, bodies, calls };
  }

  it.each<[string, string[], unknown]>([
    [
      "tune",
      ["tune", RUN, "--search", "optuna", "--n-iter", "50", "--time-budget-minutes", "1.5", "--grid", "C=0.1,1", "--optimize", "AUC"],
      { op: "tune", search: "optuna", n_iter: 50, time_budget_minutes: 1.5, custom_grid: { C: [0.1, 1] }, optimize: "AUC" },
    ],
    ["ensemble", ["ensemble", RUN, "--method", "Boosting"], { op: "ensemble", method: "Boosting", n_estimators: 10 }],
    [
      "blend",
      ["blend", RUN, "--with", `${OTHER},${"e".repeat(32)}`],
      { op: "blend", method: "auto", with: [{ run_id: OTHER }, { run_id: "e".repeat(32) }] },
    ],
    [
      "stack",
      ["stack", RUN, "--with", OTHER, "--meta-model", "dt", "--restack"],
      { op: "stack", with: [{ run_id: OTHER }], meta_model: "dt", restack: true },
    ],
    ["calibrate", ["calibrate", RUN, "--method", "isotonic"], { op: "calibrate", method: "isotonic" }],
    ["threshold", ["threshold", RUN, "--optimize", "Recall"], { op: "optimize_threshold", optimize: "Recall" }],
    ["finalize", ["finalize", RUN], { op: "finalize" }],
    [
      "create",
      ["create", RUN, "--model", "rf", "--param", "n_estimators=300", "--param", "criterion=gini"],
      { op: "create", model: "rf", params: { n_estimators: 300, criterion: "gini" } },
    ],
  ])("%s posts the operation the contract defines, with its defaults", async (_name, args, operation) => {
    const srv = await operateServer("succeeded");
    const t = testContext(srv.env);
    expect(await runCli(["runs", ...args, "--detach"], t.ctx)).toBe(0);
    expect(srv.bodies).toEqual([{ operation, use_gpu: "off" }]);
  });

  it("follows the job to its end and prints what the operation chose, exit 0", async () => {
    const srv = await operateServer("succeeded");
    const t = testContext(srv.env);
    expect(await runCli(["runs", "tune", RUN, "--use-gpu", "auto"], t.ctx)).toBe(0);
    expect(srv.bodies).toEqual([{ operation: { op: "tune", search: "random", n_iter: 10 }, use_gpu: "auto" }]);
    expect(t.out.stderr).toContain("operation job j1 started");
    expect(t.out.stdout).toContain(`operation: tune of run ${RUN}`);
    expect(t.out.stdout).toContain("chosen: C=0.5");
    expect(t.out.stdout).toMatch(/candidates tried:\s+5/);
    expect(t.out.stdout).toContain("note: The time budget (1 min) was spent after 5 of 50 candidates.");
    expect(t.out.stdout).toContain(`register it: caretflow models register --run ${"b".repeat(32)}`);
  });

  it("--json prints one document with the operation's summary; a failed job exits 1", async () => {
    const srv = await operateServer("failed");
    const t = testContext(srv.env);
    expect(await runCli(["runs", "calibrate", RUN, "--json"], t.ctx)).toBe(1);
    const doc = JSON.parse(t.out.stdout);
    expect(doc).toMatchObject({ jobId: "j1", status: "failed", operation: null, error: { message: "target has one class" } });
    const ok = await operateServer("succeeded");
    const t2 = testContext(ok.env);
    expect(await runCli(["runs", "tune", RUN, "--json"], t2.ctx)).toBe(0);
    expect(JSON.parse(t2.out.stdout).operation).toEqual({
      op: "tune",
      sourceRunId: RUN,
      summary: expect.objectContaining({ params: { C: 0.5 } }),
    });
  });

  it.each<[string, string[], RegExp]>([
    ["a bad run id", ["tune", "xyz"], /^error: RUN_ID: an MLflow run id is 32 hex characters/],
    ["a count out of range", ["tune", RUN, "--n-iter", "0"], /--n-iter must be between 1 and 1000, got 0/],
    ["a value out of the contract's range", ["tune", RUN, "--time-budget-minutes", "0"], /^error: --time-budget-minutes: /],
    [
      "an unknown choice",
      ["ensemble", RUN, "--method", "Stacking"],
      /argument 'Stacking' is invalid. Allowed choices are Bagging, Boosting/,
    ],
    ["a missing required flag", ["blend", RUN], /required option '--with <runIds>' not specified/],
    ["a bad run id in --with", ["stack", RUN, "--with", "nope"], /^error: --with: /],
    ["a malformed --grid", ["tune", RUN, "--grid", "C"], /--grid takes NAME=V1,V2,..., got 'C'/],
  ])("rejects %s before starting a job", async (_name, args, pattern) => {
    const srv = await operateServer("succeeded");
    const t = testContext(srv.env);
    expect(await runCli(["runs", ...args], t.ctx)).toBe(1);
    expect(t.out.stderr).toMatch(pattern);
    expect(srv.calls).toEqual([]);
  });

  it("runs --help lists the operations; each operation's help lists its flags with their help", async () => {
    const t = testContext({});
    expect(await runCli(["runs", "--help"], t.ctx)).toBe(0);
    for (const name of ["tune", "ensemble", "blend", "stack", "calibrate", "threshold", "finalize", "create"])
      expect(t.out.stdout).toContain(name);
    const t2 = testContext({});
    expect(await runCli(["runs", "tune", "--help"], t2.ctx)).toBe(0);
    expect(t2.out.stdout).toMatch(/--time-budget-minutes <x>\s+stop searching after this long/);
    expect(t2.out.stdout).toMatch(/--n-iter <n>\s+candidates a random or Optuna search tries \(default\s+10\)/);
    expect(t2.out.stdout).toMatch(/--grid <name=v1,v2>\s+search space/);
  });
});

describe("caretflow up", () => {
  it("starts with the home and port given, prints the URL and password once, and stops on Ctrl-C with exit 0", async () => {
    const calls: unknown[] = [];
    let closed = 0;
    const t = testContext({ CARETFLOW_HOME: "/from-env" }, async () => async (opts) => {
      calls.push({ ...opts, log: typeof opts.log });
      opts.log?.("mlflow ready");
      return { url: "http://127.0.0.1:9999", adminPassword: "pw-123456789", close: async () => void closed++ };
    });
    const running = runCli(["up", "--port", "0", "--no-demo"], t.ctx);
    for (let i = 0; i < 100 && !t.out.stdout.includes("press Ctrl-C"); i++) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    expect(await running).toBe(0);
    expect(calls).toEqual([{ home: "/from-env", port: 0, demo: false, waitForMlflow: false, log: "function" }]);
    expect(t.out.stdout).toContain("caretflow is running at http://127.0.0.1:9999");
    expect(t.out.stdout.match(/pw-123456789/g)).toHaveLength(1);
    expect(t.out.stderr).toContain("mlflow ready");
    expect(closed).toBe(1);
  });

  it("defaults to port 8420 and the demo data; --json prints one document", async () => {
    const calls: { port?: number; demo?: boolean }[] = [];
    const t = testContext({ CARETFLOW_HOME: "/h" }, async () => async (opts) => {
      calls.push(opts);
      return { url: "http://127.0.0.1:8420", adminPassword: null, close: async () => {} };
    });
    const running = runCli(["up", "--json"], t.ctx);
    for (let i = 0; i < 100 && t.out.stdout === ""; i++) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    expect(await running).toBe(0);
    expect(calls[0]).toMatchObject({ port: 8420, demo: true });
    expect(JSON.parse(t.out.stdout)).toEqual({ url: "http://127.0.0.1:8420", adminPassword: null, home: "/h" });
  });

  it("passes the workers, compare workers and job memory to the server", async () => {
    const calls: unknown[] = [];
    const t = testContext({ CARETFLOW_HOME: "/h" }, async () => async (opts) => {
      calls.push(opts);
      return { url: "http://127.0.0.1:8420", adminPassword: null, close: async () => {} };
    });
    const running = runCli(["up", "--workers", "2", "--compare-workers", "1", "--job-memory", "4096", "--json"], t.ctx);
    for (let i = 0; i < 100 && t.out.stdout === ""; i++) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    expect(await running).toBe(0);
    expect(calls[0]).toMatchObject({ engineWorkers: 2, compareWorkers: 1, jobMemoryMb: 4096 });
    expect(await runCli(["up", "--compare-workers", "0"], testContext({}).ctx)).toBe(1);
  });

  it("passes the public URL and extra host names to the server", async () => {
    const calls: unknown[] = [];
    const t = testContext({ CARETFLOW_HOME: "/h" }, async () => async (opts) => {
      calls.push(opts);
      return { url: "http://127.0.0.1:8420", adminPassword: null, close: async () => {} };
    });
    const args = ["up", "--public-url", "https://ml.example.com", "--allowed-host", "ml.lan", "--allowed-host", "ml.vpn", "--json"];
    const running = runCli(args, t.ctx);
    for (let i = 0; i < 100 && t.out.stdout === ""; i++) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    expect(await running).toBe(0);
    expect(calls[0]).toMatchObject({ publicUrl: "https://ml.example.com", allowedHosts: ["ml.lan", "ml.vpn"] });
  });

  it("passes --redis to the server, and `worker` starts a worker on the home until Ctrl-C; a URL that is not redis:// is refused", async () => {
    const calls: unknown[] = [];
    const t = testContext({ CARETFLOW_HOME: "/h" }, async () => async (opts) => {
      calls.push(opts);
      return { url: "http://127.0.0.1:8420", adminPassword: null, close: async () => {} };
    });
    const up = runCli(["up", "--redis", "redis://127.0.0.1:6390", "--json"], t.ctx);
    for (let i = 0; i < 100 && t.out.stdout === ""; i++) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    expect(await up).toBe(0);
    expect(calls[0]).toMatchObject({ redisUrl: "redis://127.0.0.1:6390" });

    const w = testContext({ CARETFLOW_HOME: "/h" });
    const started: unknown[] = [];
    let closed = 0;
    w.ctx.loadWorker = async () => async (opts) => {
      started.push({ ...opts, log: typeof opts.log });
      return { close: async () => void closed++ };
    };
    const worker = runCli(["worker", "--redis", "redis://127.0.0.1:6390", "--workers", "2"], w.ctx);
    for (let i = 0; i < 100 && !w.out.stdout.includes("press Ctrl-C"); i++) await new Promise((r) => setTimeout(r, 10));
    w.interrupt();
    expect(await worker).toBe(0);
    expect(started).toEqual([{ home: "/h", redisUrl: "redis://127.0.0.1:6390", engineWorkers: 2, log: "function" }]);
    expect(closed).toBe(1);

    const bad = testContext({});
    expect(await runCli(["worker", "--redis", "http://127.0.0.1:6390"], bad.ctx)).toBe(1);
    expect(bad.out.stderr).toContain("--redis must be a redis:// or rediss:// URL");
    expect(await runCli(["worker"], testContext({}).ctx)).toBe(1);
  });

  it("passes --database to the server and the worker; refuses a URL that is neither PostgreSQL nor a path, without echoing it", async () => {
    const calls: unknown[] = [];
    const t = testContext({ CARETFLOW_HOME: "/h" }, async () => async (opts) => {
      calls.push(opts);
      return { url: "http://127.0.0.1:8420", adminPassword: null, close: async () => {} };
    });
    const pgUrl = "postgres://cf:s3cret@db.lan:5432/caretflow";
    const up = runCli(["up", "--redis", "redis://127.0.0.1:6390", "--database", pgUrl, "--json"], t.ctx);
    for (let i = 0; i < 100 && t.out.stdout === ""; i++) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    expect(await up).toBe(0);
    expect(calls[0]).toMatchObject({ redisUrl: "redis://127.0.0.1:6390", database: pgUrl });

    const w = testContext({ CARETFLOW_HOME: "/h" });
    const started: unknown[] = [];
    w.ctx.loadWorker = async () => async (opts) => {
      started.push({ ...opts, log: typeof opts.log });
      return { close: async () => {} };
    };
    const worker = runCli(["worker", "--redis", "redis://127.0.0.1:6390", "--database", pgUrl, "--home", "/shared/cf"], w.ctx);
    for (let i = 0; i < 100 && !w.out.stdout.includes("press Ctrl-C"); i++) await new Promise((r) => setTimeout(r, 10));
    w.interrupt();
    expect(await worker).toBe(0);
    expect(started).toEqual([{ home: "/shared/cf", redisUrl: "redis://127.0.0.1:6390", database: pgUrl, log: "function" }]);

    for (const bad of ["mysql://root:s3cret@db/caretflow", "postgres://cf:s3cret@db.lan"]) {
      const b = testContext({});
      expect(await runCli(["worker", "--redis", "redis://127.0.0.1:6390", "--database", bad], b.ctx)).toBe(1);
      expect(b.out.stderr).toMatch(/--database/);
      expect(b.out.stderr).not.toContain("s3cret");
    }
  });

  it("rejects a port out of range", async () => {
    const t = testContext({});
    expect(await runCli(["up", "--port", "70000"], t.ctx)).toBe(1);
    expect(t.out.stderr).toContain("--port must be between 0 and 65535");
  });
});
