import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The real `caretflow` binary against a real server (`caretflow up`, which calls startCaretflow:
 * real MLflow, real engine with PyCaret, real DuckDB and SQLite) in a temporary home.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const bin = join(root, "packages/cli/bin/caretflow.js");
const juice = join(root, "demo-data/juice.csv");

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let home: string;
let work: string;
let up: ChildProcess | undefined;
let upLog = "";
let url = "";

/** Run the CLI with a clean environment pointing at the test home. */
function cf(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: work,
      env: { PATH: process.env.PATH ?? "", HOME: work, CARETFLOW_HOME: home, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Exactly one JSON document on stdout, or the test fails showing what was there. */
function onlyJson<T = Record<string, unknown>>(r: Ran): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document:\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
}

async function freePortThenClosed(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function waitForExit(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolvePromise, reject) => {
    if (child.exitCode !== null) return resolvePromise(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms\n${upLog.slice(-3000)}`)), ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolvePromise(code);
    });
  });
}

describe("caretflow CLI against a real server", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "caretflow-cli-it-"));
    home = join(work, "home");
    up = spawn(process.execPath, [bin, "up", "--port", "0", "--no-demo", "--json"], {
      cwd: work,
      env: { ...process.env, CARETFLOW_HOME: home, CARETFLOW_URL: "", CARETFLOW_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    up.stderr?.on("data", (d) => (upLog += d));
    const ready = await new Promise<{ url: string; adminPassword: string | null }>((resolvePromise, reject) => {
      up!.stdout?.on("data", (d) => {
        stdout += d;
        try {
          resolvePromise(JSON.parse(stdout));
        } catch {
          // the document is not complete yet
        }
      });
      up!.once("exit", (code) => reject(new Error(`caretflow up exited with ${code} before it was ready:\n${upLog}`)));
    });
    url = ready.url;
    expect(ready.adminPassword).toMatch(/\S{12,}/);
  }, 240_000);

  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill("SIGKILL");
      await waitForExit(up, 10_000).catch(() => {});
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("writes cli.json with mode 600 and a URL the CLI uses", async () => {
    const info = await stat(join(home, "cli.json"));
    expect(info.mode & 0o777).toBe(0o600);
    const file = JSON.parse(await readFile(join(home, "cli.json"), "utf8"));
    expect(file.url).toBe(url);
  });

  it("imports a CSV once; identical content makes no new version", async () => {
    const first = await cf(["datasets", "import", juice, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(onlyJson(first)).toMatchObject({ created: true, version: { dataset: "juice", version: 1, rowCount: 1070 } });

    const again = await cf(["datasets", "import", juice]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe("juice: unchanged (identical to version 1)");
  });

  it("lists and shows datasets", async () => {
    const list = await cf(["datasets", "list", "--json"]);
    expect(onlyJson<{ datasets: { name: string }[] }>(list).datasets.map((d) => d.name)).toEqual(["juice"]);
    const table = await cf(["datasets", "list"]);
    expect(table.stdout).toMatch(/^NAME\s+LATEST/);
    expect(table.stdout).toMatch(/juice\s+v1\s+1\s+1070\s+19/);

    const show = await cf(["datasets", "show", "juice", "--rows", "3"]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain("schema of version 1:");
    expect(show.stdout).toMatch(/Purchase\s+string/);
    expect(show.stdout).toContain("first 3 of 1070 rows:");

    const out = join(work, "juice-copy.csv");
    const dl = await cf(["datasets", "download", "juice", "--out", out, "--json"]);
    expect(dl.code, dl.stderr).toBe(0);
    expect(onlyJson(dl)).toMatchObject({ dataset: "juice", version: 1, out });
    expect((await readFile(out, "utf8")).trim().split(/\r?\n/)).toHaveLength(1071);
  });

  it("reports a missing dataset with the server's message and hint, exit 1", async () => {
    const r = await cf(["datasets", "show", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: .*nope.*\nhint: /);
    const j = await cf(["datasets", "show", "nope", "--json"]);
    expect(j.code).toBe(1);
    expect(onlyJson(j)).toMatchObject({ error: { message: expect.stringContaining("nope") } });
  });

  it("refuses a target that does not exist before training starts", async () => {
    const r = await cf(["train", "--dataset", "juice", "--task", "classification", "--target", "NoSuchColumn"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: .*NoSuchColumn/);
    expect(r.stderr).toContain("hint:");
  });

  let bestRunId = "";
  let parentRunId = "";

  it("trains, following progress, and prints one JSON document with run ids and the leaderboard", async () => {
    const r = await cf([
      "train",
      "--dataset",
      "juice",
      "--task",
      "classification",
      "--target",
      "Purchase",
      "--include",
      "lr,dt",
      "--folds",
      "3",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = onlyJson<{
      jobId: string;
      status: string;
      parentRunId: string;
      bestRunId: string;
      bestModel: string;
      leaderboard: { model_id: string; metrics: Record<string, number> }[];
    }>(r);
    expect(doc.status).toBe("succeeded");
    expect(doc.parentRunId).toMatch(/^[0-9a-f]{32}$/);
    expect(doc.bestRunId).toMatch(/^[0-9a-f]{32}$/);
    expect(doc.leaderboard.map((row) => row.model_id).sort()).toEqual(["dt", "lr"]);
    for (const row of doc.leaderboard) expect(row.metrics.Accuracy).toBeGreaterThan(0.5);
    // progress and streamed rows went to stderr
    expect(r.stderr).toContain(`training job ${doc.jobId} started`);
    expect(r.stderr).toMatch(/comparing models/);
    bestRunId = doc.bestRunId;
    parentRunId = doc.parentRunId;
  }, 600_000);

  it("lists and shows runs", async () => {
    const list = await cf(["runs", "list", "--json"]);
    expect(onlyJson<{ runs: { runId: string }[] }>(list).runs.map((x) => x.runId)).toContain(parentRunId);
    const show = await cf(["runs", "show", parentRunId]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain("models:");
    expect(show.stdout).toMatch(/Logistic Regression|Decision Tree/);
  });

  it("registers the best model with an alias and lists it", async () => {
    const r = await cf(["models", "register", "--run", bestRunId, "--name", "juice-clf", "--alias", "champion", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(onlyJson(r)).toMatchObject({ name: "juice-clf", version: 1, aliases: ["champion"] });
    const list = await cf(["models", "list"]);
    expect(list.stdout).toMatch(/juice-clf\s+1\s+champion/);
    const alias = await cf(["models", "alias", "juice-clf", "staging", "1", "--json"]);
    expect(alias.code, alias.stderr).toBe(0);
    expect(onlyJson(alias)).toMatchObject({ aliases: { champion: 1, staging: 1 } });
  });

  it("predicts a dataset in batch, downloads the CSV, and online predictions agree for the same rows", async () => {
    const out = join(work, "pred.csv");
    const r = await cf(["predict", "--model", "juice-clf@champion", "--dataset", "juice", "--out", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = onlyJson<{ outputDataset: { name: string; version: number }; out: string }>(r);
    expect(doc.outputDataset).toEqual({ name: "juice-predictions", version: 1 });
    expect(doc.out).toBe(out);
    const lines = (await readFile(out, "utf8")).trim().split(/\r?\n/);
    expect(lines).toHaveLength(1071);
    const header = lines[0]!.split(",");
    const labelAt = header.indexOf("prediction_label");
    expect(labelAt).toBeGreaterThanOrEqual(0);

    // the same first five rows, online
    const csv = (await readFile(juice, "utf8")).trim().split(/\r?\n/);
    const cols = csv[0]!.split(",");
    const rows = csv.slice(1, 6).map((line) => {
      const values = line.split(",");
      return Object.fromEntries(cols.filter((c) => c !== "Purchase").map((c) => [c, asValue(values[cols.indexOf(c)]!)]));
    });
    const rowsFile = join(work, "rows.json");
    await writeFile(rowsFile, JSON.stringify(rows));
    const online = await cf(["predict", "--model", "juice-clf@champion", "--rows", rowsFile, "--json"]);
    expect(online.code, online.stderr).toBe(0);
    const predictions = onlyJson<{ predictions: { prediction_label: unknown }[] }>(online).predictions;
    const batchOrder = lines.slice(1, 6).map((l) => l.split(",")[labelAt]);
    // The download may be in stored order; match by Id to be safe.
    const idAt = header.indexOf("Id");
    const batchById = new Map(lines.slice(1).map((l) => [l.split(",")[idAt], l.split(",")[labelAt]]));
    expect(predictions.map((p) => String(p.prediction_label))).toEqual(rows.map((row) => batchById.get(String(row.Id))));
    expect(batchOrder).toHaveLength(5);
  }, 300_000);

  it("Ctrl-C during train cancels the job on the server and exits 130", async () => {
    const child = spawn(
      process.execPath,
      [bin, "train", "--dataset", "juice", "--task", "classification", "--target", "Purchase", "--include", "lr,dt,rf,et,knn"],
      {
        cwd: work,
        env: { PATH: process.env.PATH ?? "", HOME: work, CARETFLOW_HOME: home },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    const started = new Promise<string>((resolvePromise) => {
      child.stderr.on("data", (d) => {
        stderr += d;
        const m = /training job (\S+) started/.exec(stderr);
        if (m && /setup|comparing|loading/.test(stderr)) resolvePromise(m[1]!);
      });
    });
    const jobId = await started;
    child.kill("SIGINT");
    expect(await waitForExit(child, 30_000)).toBe(130);
    expect(stderr).toContain(`cancelling job ${jobId}`);
    let status = "";
    for (let i = 0; i < 60 && status !== "cancelled"; i++) {
      status = onlyJson<{ status: string }>(await cf(["jobs", "show", jobId, "--json"])).status;
      if (status !== "cancelled") await new Promise((r) => setTimeout(r, 1000));
    }
    expect(status).toBe("cancelled");
  }, 180_000);

  it("says the token is invalid and how to get one (401)", async () => {
    const r = await cf(["datasets", "list"], { CARETFLOW_URL: url, CARETFLOW_TOKEN: "not-a-real-token" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rejected the token in CARETFLOW_TOKEN/);
    expect(r.stderr).toMatch(/hint: .*caretflow up/);
    expect(r.stderr).not.toContain("not-a-real-token");
  });

  it("says to run caretflow up when the server cannot be reached", async () => {
    const port = await freePortThenClosed();
    const r = await cf(["runs", "list"], { CARETFLOW_URL: `http://127.0.0.1:${port}`, CARETFLOW_TOKEN: "t" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot reach the caretflow server/);
    expect(r.stderr).toContain("caretflow up");
  });

  it("refuses a cli.json others can read", async () => {
    const file = join(home, "cli.json");
    await chmod(file, 0o644);
    try {
      const r = await cf(["datasets", "list"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`hint: run \`chmod 600 ${file}\``);
    } finally {
      await chmod(file, 0o600);
    }
  });

  it("stops cleanly on SIGINT with exit 0", async () => {
    up!.kill("SIGINT");
    expect(await waitForExit(up!, 60_000)).toBe(0);
    const r = await cf(["datasets", "list"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot reach the caretflow server");
  }, 90_000);
});

function asValue(text: string): string | number {
  return text !== "" && !Number.isNaN(Number(text)) ? Number(text) : text;
}
