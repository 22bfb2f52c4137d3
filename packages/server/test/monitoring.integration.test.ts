import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Deployment, DeploymentDriftRun, DeploymentPredictResponse, FeedbackResponse, MonitoringResponse } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { runCliAt } from "./cli.fixture.ts";
import { signIn, type TestClient, until, waitReady } from "./http.client.ts";
import { trainAndRegister } from "./train.fixture.ts";

/**
 * Deployment monitoring end to end: real MLflow, real engine, real scoring processes. A juice model
 * (lr) is served; its logged inputs are checked for drift against its training data (unchanged rows,
 * then a shifted copy), true labels are sent back by prediction id (API and CLI) and the live accuracy
 * and AUC compared with figures computed here, a drift schedule runs unasked, and request figures
 * show in the monitoring endpoint and in /metrics.
 */
let home: string;
let cf: StartedCaretflow;
let api: TestClient;
const METRICS_TOKEN = "metrics-secret-token-for-tests";
const MODEL = "juice-monitored";
const TARGET = "Purchase";
/** Every row of the juice demo data, as the model's inputs, with its true label. */
let rows: { input: Record<string, unknown>; label: string }[] = [];

function readJuice(text: string) {
  const [head, ...lines] = text.trim().split(/\r?\n/);
  const columns = head!.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    const input: Record<string, unknown> = {};
    let label = "";
    columns.forEach((c, i) => {
      const v = cells[i]!;
      if (c === TARGET) label = v;
      else input[c] = /^-?[0-9.]+$/.test(v) ? Number(v) : v;
    });
    return { input, label };
  });
}

const predict = (name: string, inputs: Record<string, unknown>[]) =>
  api.post<DeploymentPredictResponse>(`/api/deployments/${name}/predict`, { rows: inputs });

/** Sends the rows in batches of 50; returns each answer's prediction id and predictions. */
async function send(name: string, inputs: Record<string, unknown>[]) {
  const answers: DeploymentPredictResponse[] = [];
  for (let i = 0; i < inputs.length; i += 50) {
    const r = await predict(name, inputs.slice(i, i + 50));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    answers.push(r.body);
  }
  return answers;
}

async function finished(name: string, id: string): Promise<DeploymentDriftRun> {
  return await until(
    `drift check ${id}`,
    async () => {
      const runs = (await api.get<{ runs: DeploymentDriftRun[] }>(`/api/deployments/${name}/drift?limit=50`)).body.runs;
      const run = runs.find((r) => r.id === id);
      return run && ["succeeded", "failed", "cancelled"].includes(run.status) ? run : null;
    },
    300_000,
  );
}

async function driftCheck(name: string, from: Date, to: Date): Promise<DeploymentDriftRun> {
  const started = await api.post<DeploymentDriftRun>(`/api/deployments/${name}/drift`, {
    from: from.toISOString(),
    to: to.toISOString(),
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const run = await finished(name, started.body.id);
  expect(run.status, run.error ?? "").toBe("succeeded");
  return run;
}

/** ROC AUC of `p` (the positive class's probability) by pairs, ties counting half. */
/**
 * PSI of the predicted labels against the true labels, as the engine bins them: one bin per label seen
 * in the reference, plus `other` and `missing` (empty on both sides), each share floored at 1e-4.
 */
function labelPsi(reference: string[], current: string[]): number {
  const labels = [...new Set(reference)];
  const shares = (values: string[]) => [
    ...labels.map((l) => values.filter((v) => v === l).length / values.length),
    values.filter((v) => !labels.includes(v)).length / values.length,
    0,
  ];
  const floor = (xs: number[]) => {
    const c = xs.map((x) => Math.max(x, 1e-4));
    const sum = c.reduce((a, b) => a + b, 0);
    return c.map((x) => x / sum);
  };
  const p = floor(shares(reference));
  const q = floor(shares(current));
  return p.reduce((acc, pi, i) => acc + (q[i]! - pi) * Math.log(q[i]! / pi), 0);
}

const predictedLabels = (answers: DeploymentPredictResponse[]) =>
  answers.flatMap((a) => a.predictions.map((p) => String(p.prediction_label)));

function aucOf(points: { p: number; positive: boolean }[]): number {
  const pos = points.filter((x) => x.positive);
  const neg = points.filter((x) => !x.positive);
  let wins = 0;
  for (const a of pos) for (const b of neg) wins += a.p > b.p ? 1 : a.p === b.p ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "cf-monitor-"));
  const tokenFile = join(home, "metrics.token");
  await writeFile(tokenFile, METRICS_TOKEN);
  cf = await startCaretflow({ home, port: 0, demo: true, log: () => {}, metricsTokenFile: tokenFile, driftTickMs: 2_000 });
  api = await signIn(cf.url, cf.adminPassword!);
  await waitReady(api, "engine");
  rows = readJuice(await readFile(join(import.meta.dirname, "..", "..", "..", "demo-data", "juice.csv"), "utf8"));
  expect(await trainAndRegister(api, { model: "lr", name: MODEL, target: TARGET })).toBe(1);
  const created = await api.post<Deployment>("/api/deployments", { name: "juice-mon", model: MODEL, target: { version: 1 } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.driftEvery).toBeNull();
}, 1_200_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("deployment monitoring", () => {
  const start = new Date(Date.now() - 60_000);
  let unchanged: DeploymentPredictResponse[] = [];
  let shiftedAt: Date;

  it("finds no drift in rows from the training distribution", async () => {
    const from = new Date();
    unchanged = await send(
      "juice-mon",
      rows.map((r) => r.input),
    );
    await sleep(1_100);
    shiftedAt = new Date();
    const run = await driftCheck("juice-mon", from, shiftedAt);
    expect(run.trigger).toBe("manual");
    expect(run.reference).toEqual({ dataset: "juice", version: 1 });
    expect(run.currentRows).toBe(rows.length);
    expect(run.referenceRows).toBe(rows.length);
    expect(run.drifted).toEqual([]);
    // None given: the check says which it used, the defaults.
    expect(run.thresholds).toEqual({ psi: 0.2, ks_p_value: 0.05, ks_statistic: 0.1 });
    expect(run.maxPsi).not.toBeNull();
    expect(run.maxPsi!).toBeLessThan(0.01);
    expect(run.features.filter((f) => f.role === "feature").length).toBe(Object.keys(rows[0]!.input).length);
    // Prediction drift: the served answers against the training labels, which the model mostly agrees with.
    const prediction = run.features.find((f) => f.role === "prediction")!;
    expect(prediction).toMatchObject({ column: "prediction_label", type: "categorical", drifted: false });
    expect(run.predictionDrift).toBe(false);
    expect(prediction.psi!).toBeCloseTo(
      labelPsi(
        rows.map((r) => r.label),
        predictedLabels(unchanged),
      ),
      6,
    );
    expect(prediction.psi!).toBeLessThan(0.1);
  }, 600_000);

  it("flags exactly the shifted numeric feature and the swapped category", async () => {
    const shifted = rows.map(({ input }) => ({
      ...input,
      LoyalCH: (input.LoyalCH as number) + 5,
      Store7: input.Store7 === "Yes" ? "No" : "Yes",
    }));
    const answers = await send("juice-mon", shifted);
    expect(answers.length).toBeGreaterThan(0);
    await sleep(1_100);
    const run = await driftCheck("juice-mon", shiftedAt, new Date());
    expect(run.currentRows).toBe(rows.length);
    expect([...run.drifted].sort()).toEqual(["LoyalCH", "Store7"]);
    // Customers five times as loyal to CH: the model answers CH far more often than the training labels say.
    const predicted = predictedLabels(answers);
    expect(predicted.filter((l) => l === "CH").length / predicted.length).toBeGreaterThan(0.9);
    const prediction = run.features.find((f) => f.role === "prediction")!;
    expect(prediction).toMatchObject({ column: "prediction_label", drifted: true });
    expect(prediction.psi!).toBeCloseTo(
      labelPsi(
        rows.map((r) => r.label),
        predicted,
      ),
      6,
    );
    expect(prediction.psi!).toBeGreaterThan(0.2);
    expect(run.predictionDrift).toBe(true);
    // An alert rule on the answers' drift fires on this check, with its PSI as the value.
    const rule = await api.post("/api/alerts", {
      name: "juice-answers",
      deployment: "juice-mon",
      metric: "prediction_psi",
      op: ">",
      threshold: 0.2,
      window_minutes: 60,
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const checked = await api.post<{ rule: { state: string; last_value: number } }>("/api/alerts/juice-answers/check", {});
    expect(checked.body.rule.state).toBe("firing");
    expect(checked.body.rule.last_value).toBeCloseTo(prediction.psi!, 9);
    const loyal = run.features.find((f) => f.column === "LoyalCH")!;
    expect(loyal).toMatchObject({ type: "numeric", drifted: true });
    expect(loyal.psi!).toBeGreaterThan(1);
    expect(loyal.ks_statistic!).toBeGreaterThan(0.9);
    expect(loyal.ks_p_value!).toBeLessThan(0.001);
    const store = run.features.find((f) => f.column === "Store7")!;
    expect(store).toMatchObject({ type: "categorical", drifted: true, ks_statistic: null });
    expect(store.psi!).toBeGreaterThan(0.2);
    for (const f of run.features.filter((x) => x.role === "feature" && !run.drifted.includes(x.column))) {
      expect(f.drifted, f.column).toBe(false);
    }
    const history = (await api.get<{ runs: DeploymentDriftRun[] }>("/api/deployments/juice-mon/drift")).body.runs;
    expect(history[0]!.id).toBe(run.id);
    expect(history[0]!.maxPsi).toBe(run.maxPsi);
  }, 600_000);

  it("joins labels sent by prediction id (API and CLI) into live accuracy and AUC", async () => {
    // The first 300 answers' labels through the API, the next 300 through the CLI.
    const answered = unchanged.flatMap((a) =>
      a.predictions.map((p, row) => ({
        predictionId: a.predictionId,
        row,
        predicted: String(p.prediction_label),
        score: Number(p.prediction_score),
      })),
    );
    expect(answered.length).toBe(rows.length);
    const labelled = answered.slice(0, 600).map((a, i) => ({ ...a, label: rows[i]!.label }));
    const viaApi = await api.post<FeedbackResponse>("/api/deployments/juice-mon/feedback", {
      labels: labelled.slice(0, 300).map(({ predictionId, row, label }) => ({ predictionId, row, label })),
    });
    expect(viaApi.status, JSON.stringify(viaApi.body)).toBe(200);
    expect(viaApi.body).toMatchObject({ stored: 300, matched: 300, unmatched: [] });

    const cli = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { url: string; token: string };
    const file = join(home, "labels.csv");
    await writeFile(
      file,
      `prediction_id,row,label\n${labelled
        .slice(300)
        .map((l) => `${l.predictionId},${l.row},${l.label}`)
        .join("\n")}\n`,
    );
    const sent = await runCliAt(["deploy", "feedback", "juice-mon", "--labels", file, "--json"], {
      CARETFLOW_URL: cli.url,
      CARETFLOW_TOKEN: cli.token,
    });
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ stored: 300, matched: 300 });
    const bad = await runCliAt(["deploy", "feedback", "juice-mon", "--labels", join(home, "missing.csv")], {
      CARETFLOW_URL: cli.url,
      CARETFLOW_TOKEN: cli.token,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("missing.csv");

    const accuracy = labelled.filter((l) => l.predicted === l.label).length / labelled.length;
    // The positive class is the larger label (MM); the score is the predicted class's probability.
    const auc = aucOf(labelled.map((l) => ({ p: l.predicted === "MM" ? l.score : 1 - l.score, positive: l.label === "MM" })));
    expect(accuracy).toBeGreaterThan(0.7);
    expect(auc).toBeGreaterThan(0.8);
    const q = new URLSearchParams({ from: start.toISOString(), to: new Date(Date.now() + 60_000).toISOString(), bucket: "1d" });
    const m = await api.get<MonitoringResponse>(`/api/deployments/juice-mon/monitoring?${q}`);
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    expect(m.body.versions.map((v) => [v.version, v.shadow, v.task])).toEqual([[1, false, "classification"]]);
    const [point] = m.body.versions[0]!.points;
    expect(m.body.versions[0]!.points.length).toBe(1);
    expect(point!.labelled).toBe(600);
    expect(point!.accuracy!).toBeCloseTo(accuracy, 9);
    expect(point!.auc!).toBeCloseTo(auc, 9);
  }, 600_000);

  it("runs a deployment's drift check on its schedule without being asked", async () => {
    const created = await api.post<Deployment>("/api/deployments", {
      name: "juice-sched",
      model: MODEL,
      target: { version: 1 },
      driftEvery: "1h",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.driftEvery).toBe("1h");
    await send(
      "juice-sched",
      rows.slice(0, 200).map((r) => r.input),
    );
    const run = await until(
      "a scheduled drift check",
      async () => (await api.get<{ runs: DeploymentDriftRun[] }>("/api/deployments/juice-sched/drift")).body.runs[0],
      120_000,
    );
    expect(run.trigger).toBe("schedule");
    expect(new Date(run.window.to).getTime() - new Date(run.window.from).getTime()).toBe(3_600_000);
    const done = await finished("juice-sched", run.id);
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.currentRows).toBe(200);
    // Not again within its period.
    await sleep(5_000);
    const runs = (await api.get<{ runs: DeploymentDriftRun[] }>("/api/deployments/juice-sched/drift")).body.runs;
    expect(runs.filter((r) => r.trigger === "schedule").length).toBe(1);
  }, 600_000);

  it("counts requests, errors and latency in the monitoring endpoint and in /metrics", async () => {
    const before = await api.post<DeploymentPredictResponse>("/api/deployments/juice-mon/predict", { rows: [rows[0]!.input] });
    expect(before.status).toBe(200);
    const broken = await predict("juice-mon", [{ LoyalCH: "not a number at all" }]);
    expect(broken.status).toBeGreaterThanOrEqual(400);

    const q = new URLSearchParams({ from: start.toISOString(), to: new Date(Date.now() + 60_000).toISOString(), bucket: "1d" });
    const point = await until("the failed request in the monitoring figures", async () => {
      const m = await api.get<MonitoringResponse>(`/api/deployments/juice-mon/monitoring?${q}`);
      const p = m.body.versions[0]?.points[0];
      return p && p.errors >= 1 ? p : null;
    });
    const batches = 2 * Math.ceil(rows.length / 50);
    expect(point.requests).toBe(batches + 2);
    expect(point.errors).toBe(1);
    expect(point.rows).toBe(2 * rows.length + 2);
    expect(point.latencyP50Ms!).toBeGreaterThan(0);
    expect(point.latencyP95Ms!).toBeGreaterThanOrEqual(point.latencyP50Ms!);

    const refused = await fetch(`${cf.url}/metrics`);
    expect(refused.status).toBe(401);
    const scraped = await fetch(`${cf.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get("content-type")).toContain("text/plain");
    const text = await scraped.text();
    const count = (status: string) =>
      Number(
        new RegExp(`^caretflow_predictions_total\\{[^}]*deployment="juice-mon"[^}]*status="${status}"[^}]*\\} (\\d+)$`, "m").exec(
          text,
        )?.[1] ?? Number.NaN,
      );
    expect(count("ok")).toBe(batches + 1);
    expect(count("invalid_input")).toBe(1);
    expect(text).toMatch(/^caretflow_prediction_seconds_count\{[^}]*deployment="juice-mon"[^}]*\} \d+$/m);
    expect(text).toMatch(/^caretflow_prediction_seconds_bucket\{[^}]*deployment="juice-sched"/m);
  }, 600_000);
});
