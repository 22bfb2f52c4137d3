import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Deployment, DeploymentPredictResponse, PreviewPage } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOG_COLUMNS } from "../src/deployments/prediction.log.ts";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { runCliAt } from "./cli.fixture.ts";
import { signIn, type TestClient, until, waitReady } from "./http.client.ts";
import { trainAndRegister } from "./train.fixture.ts";

/**
 * Deployments end to end: real MLflow, real engine, real scoring processes. Two versions of a juice
 * model (lr and dt) served through the gateway under A/B, shadow and single policies, an alias move
 * and a policy change under load, and a scoring process killed mid-request.
 */
let home: string;
let cf: StartedCaretflow;
let api: TestClient;
let rows: Record<string, unknown>[] = [];
const MODEL = "juice-deployed";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const predict = (name: string, body: unknown = { rows: rows.slice(0, 3) }) =>
  api.post<DeploymentPredictResponse & { error?: { code: string; message: string; hint?: string } }>(
    `/api/deployments/${name}/predict`,
    body,
  );

/** Sends requests from `workers` loops until stopped; returns every answer's status, version and error code. */
function load(name: string, workers: number) {
  const answers: { status: number; version?: number; code?: string }[] = [];
  let stopped = false;
  const loops = Array.from({ length: workers }, async () => {
    while (!stopped) {
      const r = await predict(name, { rows: rows.slice(0, 2) });
      answers.push({ status: r.status, ...(r.status === 200 ? { version: r.body.version } : { code: r.body.error?.code }) });
    }
  });
  return {
    answers,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return answers;
    },
  };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "cf-deploy-"));
  cf = await startCaretflow({ home, port: 0, demo: true, log: () => {} });
  api = await signIn(cf.url, cf.adminPassword!);
  await waitReady(api, "engine");
  const input = (await api.get<PreviewPage>("/api/datasets/juice/versions/1/preview?limit=50")).body;
  rows = input.rows.map((r) =>
    Object.fromEntries(input.columns.filter((c) => c.name !== "Purchase").map((c) => [c.name, r[input.columns.indexOf(c)]])),
  );
  expect(await trainAndRegister(api, { model: "lr", name: MODEL })).toBe(1);
  expect(await trainAndRegister(api, { model: "dt", name: MODEL })).toBe(2);
  const alias = await api.post(`/api/models/${MODEL}/aliases`, { alias: "production", version: 1 });
  expect(alias.status).toBe(200);
}, 1_200_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("deployments through the serving gateway", () => {
  it("splits traffic A/B within a few points of its weights over 1,000 requests", async () => {
    const created = await api.post<Deployment>("/api/deployments", {
      name: "juice-ab",
      model: MODEL,
      target: { alias: "production" },
      policy: { kind: "ab", splits: [{ target: { version: 2 }, weight: 30 }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.serving.map((s) => [s.version, s.weight, s.health])).toEqual([
      [1, 70, "ready"],
      [2, 30, "ready"],
    ]);
    const versions: number[] = [];
    for (let batch = 0; batch < 100; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => predict("juice-ab", { rows: rows.slice(0, 1) })));
      for (const a of answers) {
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        versions.push(a.body.version);
      }
    }
    const share = versions.filter((v) => v === 2).length / versions.length;
    expect(Math.abs(share - 0.3)).toBeLessThan(0.05);
    const listed = (await api.get<{ deployments: Deployment[] }>("/api/deployments")).body.deployments;
    expect(listed.map((d) => d.name)).toContain("juice-ab");
  }, 600_000);

  it("logs shadow answers and never returns them", async () => {
    const created = await api.post<Deployment>("/api/deployments", {
      name: "juice-shadow",
      model: MODEL,
      target: { version: 1 },
      policy: { kind: "shadow", shadow: { version: 2 } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const a = await predict("juice-shadow");
      expect(a.status).toBe(200);
      expect(a.body.version).toBe(1);
      ids.add(a.body.predictionId);
    }
    const lines = await until("the prediction log", async () => {
      const root = join(home, "prediction-log", "juice-shadow");
      const days = await readdir(root).catch(() => [] as string[]);
      const all: Record<string, unknown>[] = [];
      for (const day of days) {
        for (const f of await readdir(join(root, day))) {
          all.push(
            ...(await readFile(join(root, day, f), "utf8"))
              .trim()
              .split("\n")
              .map((l) => JSON.parse(l) as Record<string, unknown>),
          );
        }
      }
      return all.filter((l) => l[LOG_COLUMNS.shadow] === true).length === 90 ? all : null;
    });
    const shadow = lines.filter((l) => l[LOG_COLUMNS.shadow] === true);
    const served = lines.filter((l) => l[LOG_COLUMNS.shadow] === false);
    expect(served).toHaveLength(90);
    expect(new Set(shadow.map((l) => l[LOG_COLUMNS.version]))).toEqual(new Set([2]));
    expect(new Set(shadow.map((l) => l[LOG_COLUMNS.predictionId]))).toEqual(ids);
    expect(shadow.every((l) => "prediction_label" in l && "PriceCH" in l)).toBe(true);
  }, 300_000);

  it("swaps versions under continuous load without a failed request (policy change, then alias move)", async () => {
    const created = await api.post<Deployment>("/api/deployments", { name: "juice-swap", model: MODEL, target: { alias: "production" } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const running = load("juice-swap", 4);
    await sleep(1000);
    const changed = await api.put<Deployment>("/api/deployments/juice-swap", {
      policy: { kind: "ab", splits: [{ target: { version: 2 }, weight: 50 }] },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    await sleep(1000);
    const single = await api.put<Deployment>("/api/deployments/juice-swap", { policy: { kind: "single" } });
    expect(single.status).toBe(200);
    const moved = await api.post(`/api/models/${MODEL}/aliases`, { alias: "production", version: 2 });
    expect(moved.status).toBe(200);
    await sleep(1000);
    const answers = await running.stop();
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.length).toBeGreaterThan(8);
    expect(answers.at(-1)?.version).toBe(2);
    expect(new Set(answers.map((a) => a.version))).toEqual(new Set([1, 2]));
    await api.post(`/api/models/${MODEL}/aliases`, { alias: "production", version: 1 });
  }, 300_000);

  it("restarts a scoring process killed with SIGKILL, failing only its in-flight requests with a clear 503", async () => {
    const created = await api.post<Deployment>("/api/deployments", { name: "juice-kill", model: MODEL, target: { version: 2 } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const pid = created.body.serving[0]!.pid!;
    const running = load("juice-kill", 4);
    await sleep(500);
    process.kill(pid, "SIGKILL");
    await until("the restarted process", async () => {
      const d = (await api.get<Deployment>("/api/deployments/juice-kill")).body;
      return d.serving[0]?.health === "ready" && d.serving[0].restarts === 1 && d.serving[0].pid !== pid;
    });
    await sleep(500);
    const answers = await running.stop();
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed.length).toBeLessThanOrEqual(4);
    expect(failed.every((a) => a.status === 503 && a.code === "scoring_process_lost")).toBe(true);
    expect(answers.at(-1)?.status).toBe(200);
    const lost = await predict("juice-kill");
    expect(lost.status).toBe(200);
  }, 300_000);

  it("refuses bad input with a 4xx naming the field", async () => {
    const { PriceCH: _, ...withoutPrice } = rows[0]!;
    const missing = await predict("juice-kill", { rows: [rows[1], withoutPrice] });
    expect(missing.status).toBe(400);
    expect(missing.body.error?.message).toContain("PriceCH");
    expect(missing.body.error?.message).toContain("Row 1");
    const typed = await predict("juice-kill", { rows: [{ ...rows[0], PriceMM: "expensive" }] });
    expect(typed.status).toBe(400);
    expect(typed.body.error?.code).toBe("bad_feature_value");
    expect(typed.body.error?.message).toContain("PriceMM");
    expect((await predict("nope")).status).toBe(404);
  });

  it("caretflow deploy create, predict (CSV rows), list, update and delete", async () => {
    const cli = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { url: string; token: string };
    const run = (...argv: string[]) => runCliAt(argv, { CARETFLOW_URL: cli.url, CARETFLOW_TOKEN: cli.token });
    const columns = Object.keys(rows[0]!);
    const csv = join(home, "rows.csv");
    await writeFile(
      csv,
      `${columns.join(",")}\n${rows
        .slice(0, 3)
        .map((r) => columns.map((c) => String(r[c] ?? "")).join(","))
        .join("\n")}\n`,
    );

    const created = await run("deploy", "create", "juice-cli", "--model", `${MODEL}/1`, "--shadow", `${MODEL}/2`, "--json");
    expect(created.code, created.stderr).toBe(0);
    expect((JSON.parse(created.stdout) as Deployment).serving.map((s) => [s.version, s.role])).toEqual([
      [1, "target"],
      [2, "shadow"],
    ]);
    const predicted = await run("deploy", "predict", "juice-cli", "--rows", csv, "--json");
    expect(predicted.code, predicted.stderr).toBe(0);
    const answer = JSON.parse(predicted.stdout) as DeploymentPredictResponse;
    expect(answer.version).toBe(1);
    expect(answer.predictions).toHaveLength(3);
    const listed = await run("deploy", "list");
    expect(listed.stdout).toMatch(/juice-cli\s+juice-deployed\/1\s+shadow: juice-deployed\/2/);
    const updated = await run("deploy", "update", "juice-cli", "--single", "--json");
    expect(updated.code, updated.stderr).toBe(0);
    expect((JSON.parse(updated.stdout) as Deployment).policy).toEqual({ kind: "single" });
    const deleted = await run("deploy", "delete", "juice-cli");
    expect(deleted.code, deleted.stderr).toBe(0);
    const missing = await run("deploy", "show", "juice-cli");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("juice-cli");
  }, 300_000);

  it("deletes a deployment, audited", async () => {
    expect((await api.delete("/api/deployments/juice-ab")).status).toBe(200);
    expect((await predict("juice-ab")).status).toBe(404);
    const audit = (await api.get<{ records: { action: string }[] }>("/api/audit?limit=200")).body;
    expect(JSON.stringify(audit)).toContain("deployment.delete");
  });
});
