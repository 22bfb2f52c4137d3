import { randomUUID } from "node:crypto";
import { type FeedbackResponse, type MonitoringResponse, PROJECT_HEADER } from "@caretflow/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { PredictionLog, type PredictionRecord } from "../deployments/prediction.log.ts";
import type { TrackingPort } from "../ports.ts";

/**
 * Feedback and live figures through the HTTP API on SQLite and PostgreSQL: predictions written by the
 * gateway's own log writer, labels sent back by prediction id, and the figures per bucket and version
 * checked against accuracy, AUC, RMSE and MAE computed here from the same rows.
 */
let f: Awaited<ReturnType<typeof appFixture>>;
const cookies: Record<string, string> = {};
const HOUR = 3_600_000;
/** Two whole hours, ending an hour before now (inside the log's retention). */
const start = new Date(Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR);

function call(who: string, method: string, path: string, body?: unknown) {
  return f.app.request(path, {
    method,
    headers: { cookie: cookies[who]!, [PROJECT_HEADER]: "ops", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** A logged classification row and the label sent for it (if any). */
interface ClassRow {
  id: string;
  row: number;
  version: number;
  bucket: number;
  predicted: string;
  /** The score of the predicted class. */
  score: number;
  truth: string | null;
}
interface RegRow {
  id: string;
  version: number;
  bucket: number;
  predicted: number;
  truth: number | null;
}
const classRows: ClassRow[] = [];
const regRows: RegRow[] = [];

/** A small deterministic generator, so every run checks the same data. */
function lcg(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function accuracy(rows: ClassRow[]): number | null {
  const l = rows.filter((r) => r.truth !== null);
  return l.length ? l.filter((r) => r.predicted === r.truth).length / l.length : null;
}

/** ROC AUC by counting pairs: the probability of "MM" from the score of the predicted class. */
function auc(rows: ClassRow[]): number | null {
  const l = rows.filter((r) => r.truth !== null);
  const p = (r: ClassRow) => (r.predicted === "MM" ? r.score : 1 - r.score);
  const pos = l.filter((r) => r.truth === "MM");
  const neg = l.filter((r) => r.truth === "CH");
  if (!pos.length || !neg.length) return null;
  let wins = 0;
  for (const a of pos) for (const b of neg) wins += p(a) > p(b) ? 1 : p(a) === p(b) ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

function errors(rows: RegRow[]): { rmse: number; mae: number } | null {
  const l = rows.filter((r) => r.truth !== null);
  if (!l.length) return null;
  const d = l.map((r) => r.predicted - r.truth!);
  return { rmse: Math.sqrt(d.reduce((a, x) => a + x * x, 0) / d.length), mae: d.reduce((a, x) => a + Math.abs(x), 0) / d.length };
}

forEachDatabase("deployment monitoring", (dbs) => {
  beforeAll(async () => {
    classRows.length = 0;
    regRows.length = 0;
    const { db } = await dbs.fresh<ServerTables>();
    // The registry as drift checks read it: churn's version 1 was trained on juice@v1, price's records no dataset.
    const tracking = {
      getModel: async () => ({ aliases: {} }),
      resolveModelRef: async (ref: string) => ({ name: ref.split("/")[0], version: 1, uri: "", sha256: null, runId: ref.split("/")[0] }),
      getRun: async (runId: string) => ({ runId, dataset: runId === "churn" ? "juice@v1" : null, parentRunId: null, params: {}, tags: {} }),
    } as unknown as TrackingPort;
    f = await appFixture({ tracking }, { db });
    for (const name of ["m-viewer", "m-editor", "m-owner"]) await f.auth.createUser({ username: name });
    await f.projects.create((await f.auth.userByName("m-owner"))!, "ops", null);
    await f.projects.setMember("ops", "m-viewer", "viewer");
    await f.projects.setMember("ops", "m-editor", "editor");
    for (const name of ["m-viewer", "m-editor", "m-owner"]) {
      const user = (await f.auth.userByName(name))!;
      cookies[name] = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
    }
    const repo = f.monitoring.routes.deployments;
    for (const name of ["churn", "price"])
      await repo.create({ name, project: "ops", model: name, target: { version: 1 }, policy: { kind: "single" }, by: "m-owner" });
    await repo.create({
      name: "elsewhere",
      project: "default",
      model: "x",
      target: { version: 1 },
      policy: { kind: "single" },
      by: "admin",
    });

    // The gateway's writer lays the log out: 60 classification requests of 1-2 rows over two hours, versions 1
    // and 2 (and version 3 as a shadow of some), and 30 regression requests.
    const log = new PredictionLog({ root: f.monitoring.logRoot, retentionDays: 0, flushMs: 60_000 });
    const rnd = lcg(7);
    const at = (i: number, n: number) => new Date(start.getTime() + Math.floor((i / n) * 2 * HOUR)).toISOString();
    for (let i = 0; i < 60; i++) {
      const id = randomUUID();
      const version = i % 3 === 0 ? 2 : 1;
      const n = 1 + (i % 2);
      const preds = Array.from({ length: n }, () => {
        const predicted = rnd() < 0.5 ? "CH" : "MM";
        return { predicted, score: Math.round((0.5 + rnd() / 2) * 1000) / 1000 };
      });
      const time = at(i, 60);
      const failed = i === 5;
      const record: PredictionRecord = {
        predictionId: id,
        deployment: "churn",
        model: "churn",
        version,
        shadow: false,
        time,
        latencyMs: 10 + i,
        rows: preds.map((_, k) => ({ Price: i + k })),
        ...(failed
          ? { error: "scoring_process_lost" }
          : { predictions: preds.map((p) => ({ prediction_label: p.predicted, prediction_score: p.score })) }),
      };
      log.add(record);
      const { predictions: _answered, ...asked } = record;
      if (i % 4 === 0) log.add({ ...asked, version: 3, shadow: true, latencyMs: 99, error: "shadow failed" });
      if (!failed) {
        preds.forEach((p, k) => {
          // Most rows get a label; the truth agrees with the prediction two times in three.
          const truth = i % 5 === 4 ? null : rnd() < 0.67 ? p.predicted : p.predicted === "CH" ? "MM" : "CH";
          classRows.push({ id, row: k, version, bucket: Math.floor(i / 30), ...p, truth });
        });
      }
    }
    for (let i = 0; i < 30; i++) {
      const id = randomUUID();
      const predicted = Math.round(rnd() * 10_000) / 100;
      log.add({
        predictionId: id,
        deployment: "price",
        model: "price",
        version: 1,
        shadow: false,
        time: at(i, 30),
        latencyMs: 5,
        rows: [{ x: i }],
        predictions: [{ prediction_label: predicted }],
      });
      regRows.push({ id, version: 1, bucket: Math.floor(i / 15), predicted, truth: i % 3 === 0 ? null : predicted + (rnd() - 0.5) * 20 });
    }
    await log.close();
  });
  afterAll(async () => {
    await f?.close();
  });

  it("refuses an unknown deployment, an empty or oversized batch, a malformed id and a viewer's labels, saying why", async () => {
    const label = { predictionId: randomUUID(), label: "CH" };
    const unknown = await call("m-editor", "POST", "/api/deployments/nope/feedback", { labels: [label] });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { hint: expect.stringContaining("caretflow deploy list") } });
    // Another project's deployment is not revealed.
    expect((await call("m-editor", "POST", "/api/deployments/elsewhere/feedback", { labels: [label] })).status).toBe(404);
    const empty = await call("m-editor", "POST", "/api/deployments/churn/feedback", { labels: [] });
    expect(empty.status).toBe(400);
    expect(JSON.stringify(await empty.json())).toContain("at least one label");
    const many = await call("m-editor", "POST", "/api/deployments/churn/feedback", { labels: Array(10_001).fill(label) });
    expect(many.status).toBe(400);
    expect(JSON.stringify(await many.json())).toContain("at most 10,000");
    const malformed = await call("m-editor", "POST", "/api/deployments/churn/feedback", { labels: [{ predictionId: "r1", label: "CH" }] });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(await malformed.json())).toContain("predictionId");
    expect((await call("m-viewer", "POST", "/api/deployments/churn/feedback", { labels: [label] })).status).toBe(403);
  });

  it("stores labels idempotently (the last one wins) and says how many match logged predictions", async () => {
    const labelled = classRows.filter((r) => r.truth !== null);
    const wrong = labelled[0]!;
    // A wrong label first, then every true one: the second replaces the first.
    const first = await call("m-editor", "POST", "/api/deployments/churn/feedback", {
      labels: [{ predictionId: wrong.id, row: wrong.row, label: wrong.truth === "CH" ? "MM" : "CH" }],
    });
    expect(first.status, await first.clone().text()).toBe(200);
    const stray = randomUUID();
    const labels = [...labelled.map((r) => ({ predictionId: r.id, row: r.row, label: r.truth })), { predictionId: stray, label: "CH" }];
    const sent = await call("m-editor", "POST", "/api/deployments/churn/feedback", { labels });
    expect(sent.status).toBe(200);
    expect((await sent.json()) as FeedbackResponse).toEqual({
      deployment: "churn",
      stored: labelled.length + 1,
      matched: labelled.length,
      unmatched: [stray],
    });
    // Sent again: nothing new.
    expect(
      (await (await call("m-editor", "POST", "/api/deployments/churn/feedback", { labels })).json()) as FeedbackResponse,
    ).toMatchObject({
      stored: labelled.length + 1,
    });
    const count = await f.db
      .selectFrom("prediction_feedback")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("deployment", "=", "churn")
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(labelled.length + 1);
    const reg = regRows.filter((r) => r.truth !== null).map((r) => ({ predictionId: r.id, label: r.truth }));
    expect((await call("m-editor", "POST", "/api/deployments/price/feedback", { labels: reg })).status).toBe(200);
  });

  it("charts requests, errors, latency and accuracy/AUC per hour and version, shadow apart", async () => {
    const from = start.toISOString();
    const to = new Date(start.getTime() + 2 * HOUR).toISOString();
    const res = await call("m-viewer", "GET", `/api/deployments/churn/monitoring?from=${from}&to=${to}&bucket=1h`);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as MonitoringResponse;
    expect(body).toMatchObject({ deployment: "churn", bucket: "1h", bucketSeconds: 3600 });
    expect(body.versions.map((v) => [v.version, v.shadow, v.task])).toEqual([
      [1, false, "classification"],
      [2, false, "classification"],
      [3, true, null],
    ]);
    for (const series of body.versions.filter((v) => !v.shadow)) {
      expect(series.points).toHaveLength(2);
      series.points.forEach((point, bucket) => {
        const rows = classRows.filter((r) => r.version === series.version && r.bucket === bucket);
        expect(point.start).toBe(new Date(start.getTime() + bucket * HOUR).toISOString());
        expect(point.labelled).toBe(rows.filter((r) => r.truth !== null).length);
        expect(point.accuracy).toBeCloseTo(accuracy(rows)!, 10);
        expect(point.auc).toBeCloseTo(auc(rows)!, 10);
        expect(point.rmse).toBeNull();
        expect(point.requests).toBe(new Set(rows.map((r) => r.id)).size + (series.version === 1 && bucket === 0 ? 1 : 0));
      });
    }
    // The one failed request (i = 5: version 1, first hour) counts as an error.
    expect(body.versions[0]!.points[0]!.errors).toBe(1);
    expect(body.versions[2]!.points.every((p) => p.errors === p.requests && p.labelled === 0 && p.accuracy === null)).toBe(true);

    const viewerBad = await call("m-viewer", "GET", `/api/deployments/churn/monitoring?from=${to}&to=${from}`);
    expect(viewerBad.status).toBe(400);
    const tooMany = await call("m-viewer", "GET", `/api/deployments/churn/monitoring?from=2020-01-01T00:00:00Z&bucket=1m`);
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(await tooMany.json())).toContain("wider bucket");
  });

  it("charts RMSE and MAE of a regression per bucket, and gives them to alert rules", async () => {
    const from = start.toISOString();
    const to = new Date(start.getTime() + 2 * HOUR).toISOString();
    const body = (await (
      await call("m-viewer", "GET", `/api/deployments/price/monitoring?from=${from}&to=${to}&bucket=1h`)
    ).json()) as MonitoringResponse;
    expect(body.versions).toHaveLength(1);
    expect(body.versions[0]!.task).toBe("regression");
    body.versions[0]!.points.forEach((point, bucket) => {
      const expected = errors(regRows.filter((r) => r.bucket === bucket))!;
      expect(point.rmse).toBeCloseTo(expected.rmse, 8);
      expect(point.mae).toBeCloseTo(expected.mae, 8);
      expect(point.accuracy).toBeNull();
    });
    const sources = new Map(f.monitoring.alertSources().map((s) => [s.info.name, s]));
    expect([...sources.keys()].sort()).toEqual([
      "accuracy",
      "auc",
      "drift_max_psi",
      "error_rate",
      "latency_p95_ms",
      "mae",
      "prediction_psi",
      "requests",
      "rmse",
    ]);
    const window = { project: "ops", from: start, to: new Date(start.getTime() + 2 * HOUR) };
    expect(await sources.get("rmse")!.value({ ...window, deployment: "price" })).toBeCloseTo(errors(regRows)!.rmse, 8);
    expect(await sources.get("accuracy")!.value({ ...window, deployment: "churn" })).toBeCloseTo(accuracy(classRows)!, 10);
    expect(await sources.get("accuracy")!.value({ ...window, deployment: "price" })).toBeNull();
  });

  it("refuses a drift check without logged predictions in the window or without training data, and lists no history yet", async () => {
    const empty = await call("m-editor", "POST", "/api/deployments/churn/drift", {
      from: "2020-01-01T00:00:00Z",
      to: "2020-01-02T00:00:00Z",
    });
    expect(empty.status).toBe(409);
    expect(await empty.json()).toMatchObject({ error: { code: "no_predictions_logged" } });
    const untracked = await call("m-editor", "POST", "/api/deployments/price/drift", {});
    expect(untracked.status).toBe(422);
    expect(await untracked.json()).toMatchObject({ error: { code: "no_training_data", hint: expect.stringContaining("POST /api/drift") } });
    expect((await call("m-viewer", "POST", "/api/deployments/churn/drift", {})).status).toBe(403);
    expect(await (await call("m-viewer", "GET", "/api/deployments/churn/drift")).json()).toEqual({ runs: [] });
  });
});
