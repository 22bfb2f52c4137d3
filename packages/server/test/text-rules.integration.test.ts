import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatasetProfile, DatasetVersion, Health, ImportResult, Job, PreviewPage, TaskDetails } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { client } from "./http.client.ts";

/**
 * Topic modelling and association rules through the HTTP API, against the real thing: a temp home,
 * a real MLflow, real engine workers, real DuckDB. spam.csv is Windows-1252 (as pycaret/datasets
 * ships it), so it is imported with its encoding named.
 */
const demo = (file: string) => join(import.meta.dirname, "..", "..", "..", "demo-data", file);
let home: string;
let cf: StartedCaretflow;
let api: ReturnType<typeof client>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}
async function waitJob(id: string): Promise<Job> {
  const job = await until(
    `job ${id}`,
    async () => {
      const j = (await api.get<Job>(`/api/jobs/${id}`)).body;
      return ["succeeded", "failed", "cancelled"].includes(j.status) ? j : null;
    },
    600_000,
  );
  if (job.status !== "succeeded") throw new Error(`job ${id} ${job.status}: ${JSON.stringify(job.error)}`);
  return job;
}
async function upload(file: string, encoding?: string): Promise<{ status: number; body: ImportResult & { error?: { code: string } } }> {
  const form = new FormData();
  form.append("file", new Blob([await readFile(demo(file))]), file);
  if (encoding) form.append("encoding", encoding);
  const res = await api.raw("/api/datasets", { method: "POST", body: form });
  return { status: res.status, body: (await res.json()) as ImportResult & { error?: { code: string } } };
}
/** All rows of a dataset version as objects (the preview pages through them). */
async function rowsOf(name: string, version = 1): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = (await api.get<PreviewPage>(`/api/datasets/${name}/versions/${version}/preview?offset=${offset}&limit=1000`)).body;
    out.push(...page.rows.map((r) => Object.fromEntries(page.columns.map((c, i) => [c.name, r[i]]))));
    if (page.rows.length < 1000) return out;
  }
}
type Details<T extends TaskDetails["task"]> = Extract<TaskDetails, { task: T }>;
function details<T extends TaskDetails["task"]>(job: Job, task: T): Details<T> {
  if (job.result?.kind !== "train" || job.result.details?.task !== task) throw new Error(`no ${task} details`);
  return job.result.details as Details<T>;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-text-it-"));
  cf = await startCaretflow({ home, port: 0, log: () => {} });
  const res = await fetch(`${cf.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: cf.adminPassword }),
  });
  api = client(cf.url, { cookie: res.headers.get("set-cookie")!.split(";")[0]! });
  await until("engine ready", async () => (await api.get<Health>("/api/health")).body.engine.ready, 180_000);
}, 300_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
}, 120_000);

let topicsJob: Job;
let rulesJob: Job;

describe("topics and association rules through the API", () => {
  it("imports spam.csv in its encoding and france.csv", async () => {
    expect((await upload("spam.csv")).body.error?.code).toBe("not_utf8");
    const spam = await upload("spam.csv", "latin1");
    expect(spam.status).toBe(201);
    expect(spam.body.version).toMatchObject({ dataset: "spam", rowCount: 5572, source: { encoding: "windows-1252" } });
    const france = await upload("france.csv");
    expect(france.status).toBe(201);
    expect(france.body.version).toMatchObject({ dataset: "france", rowCount: 8557 });
  });

  it("refuses impossible requests before queueing them", async () => {
    const noColumn = await api.post<{ error: { code: string } }>("/api/jobs/train", {
      dataset: "spam",
      task: "topics",
      text_column: "body",
    });
    expect([noColumn.status, noColumn.body.error.code]).toEqual([422, "column_not_found"]);
    const noItem = await api.post<{ error: { code: string } }>("/api/jobs/train", {
      dataset: "france",
      task: "association_rules",
      transaction_column: "InvoiceNo",
    });
    expect([noItem.status, noItem.body.error.code]).toEqual([422, "missing_field"]);
  });

  it("finds 5 topics in spam with their words, coherence and a spam-topics dataset", async () => {
    const started = await api.post<Job>("/api/jobs/train", { dataset: "spam", task: "topics", text_column: "text", num_topics: 5 });
    expect(started.status).toBe(202);
    topicsJob = await waitJob(started.body.id);
    const d = details(topicsJob, "topics");
    expect(d.num_topics).toBe(5);
    expect(d.topics.map((t) => t.topic)).toEqual([0, 1, 2, 3, 4]);
    expect(d.topics.every((t) => t.words.length === 10)).toBe(true);
    expect(Number.isFinite(d.coherence)).toBe(true);
    expect(topicsJob.leaderboard).toHaveLength(1);
    expect(topicsJob.leaderboard[0]?.metrics.Coherence).toBe(d.coherence);
    expect(topicsJob.outputDatasets).toEqual([{ role: "topic_weights", name: "spam-topics", version: 1 }]);
    const stored = (await api.get<{ versions: DatasetVersion[] }>("/api/datasets/spam-topics")).body.versions[0]!;
    expect(stored.rowCount).toBe(5572);
    expect(stored.columns.map((c) => c.name)).toEqual([
      "label",
      "text",
      ...[0, 1, 2, 3, 4].map((k) => `Topic_${k}`),
      "Dominant_Topic",
      "Perc_Dominant_Topic",
    ]);
    expect(stored.source).toMatchObject({ kind: "derived", role: "topic_weights", parent: { dataset: "spam", version: 1 } });
    const documents = d.topics.reduce((n, t) => n + t.documents, 0);
    const profile = (await api.get<DatasetProfile>("/api/datasets/spam-topics/versions/1/profile")).body;
    expect(profile.columns.find((c) => c.name === "Dominant_Topic")?.nulls).toBe(5572 - documents);
  }, 900_000);

  it("mines rules on france into france-rules and france-itemsets", async () => {
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "france",
      task: "association_rules",
      transaction_column: "InvoiceNo",
      item_column: "Description",
      min_support: 0.03,
      min_confidence: 0.5,
      ignore_items: ["POSTAGE"],
    });
    expect(started.status).toBe(202);
    rulesJob = await waitJob(started.body.id);
    const d = details(rulesJob, "association_rules");
    expect(d.transactions).toBe(448);
    expect(d.rules).toBeGreaterThan(0);
    expect(d.top_rules[0]!.lift).toBeGreaterThanOrEqual(d.top_rules.at(-1)!.lift);
    expect(rulesJob.outputDatasets).toEqual([
      { role: "rules", name: "france-rules", version: 1 },
      { role: "itemsets", name: "france-itemsets", version: 1 },
    ]);
    const rules = await rowsOf("france-rules");
    expect(rules).toHaveLength(d.rules);
    for (const r of rules) {
      expect(r.support as number).toBeGreaterThanOrEqual(0.03);
      expect(r.confidence as number).toBeGreaterThanOrEqual(0.5);
      expect(r.lift as number).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(r.antecedents as string)).not.toContain("POSTAGE");
    }
    expect(await rowsOf("france-itemsets")).toHaveLength(d.itemsets);
  }, 900_000);

  it("evaluates both models after training: a report from the charts and plots their runs hold", async () => {
    for (const [job, chart] of [
      [topicsJob, "topic_distribution"],
      [rulesJob, "rules_top"],
    ] as const) {
      if (job.result?.kind !== "train") throw new Error("no train result");
      const runId = job.result.best_run_id;
      const queued = await until(
        "the evaluate job queued after training",
        async () =>
          (await api.get<{ jobs: Job[] }>("/api/jobs")).body.jobs.find(
            (j) => j.kind === "evaluate" && "after" in j.request && j.request.after === job.id,
          ),
        60_000,
      );
      const evaluated = await waitJob(queued.id);
      expect(evaluated.result?.kind === "evaluate" && evaluated.result.charts).toContain(chart);
      const png = await api.raw(`/api/runs/${runId}/artifacts/plots/${chart}.png`);
      expect([png.status, png.headers.get("content-type")]).toEqual([200, "image/png"]);
      const report = await api.raw(`/api/runs/${runId}/artifacts/report/report.html`);
      expect(report.status).toBe(200);
      expect(await report.text()).toContain(job === topicsJob ? "Topic 0: top words" : "Top 20 rules by lift");
    }
  }, 600_000);

  it("registers the topic model and scores spam the same in batch and online", async () => {
    if (topicsJob.result?.kind !== "train") throw new Error("no topics result");
    const reg = await api.post<{ version: number }>("/api/models", {
      runId: topicsJob.result.best_run_id,
      name: "spam-topics",
      alias: "live",
    });
    expect(reg.status).toBe(201);
    const started = await api.post<Job>("/api/jobs/predict", { model: "spam-topics@live", dataset: "spam" });
    const job = await waitJob(started.body.id);
    expect(job.outputDatasets).toEqual([{ role: "predictions", name: "spam-predictions", version: 1 }]);
    const batch = (await rowsOf("spam-predictions")).slice(0, 60);
    const trained = (await rowsOf("spam-topics")).slice(0, 60);
    expect(batch).toEqual(trained); // the registered model gives the training job's weights
    const online = await api.post<{ columns: string[]; predictions: Record<string, unknown>[] }>("/api/predict", {
      model: "spam-topics@live",
      rows: batch.map((r) => ({ text: r.text })),
    });
    expect(online.status).toBe(200);
    expect(online.body.columns).toEqual([...[0, 1, 2, 3, 4].map((k) => `Topic_${k}`), "Dominant_Topic", "Perc_Dominant_Topic"]);
    expect(online.body.predictions).toEqual(batch.map((r) => Object.fromEntries(online.body.columns.map((c) => [c, r[c]]))));
  }, 600_000);

  it("registers the rules model and recommends the same items in batch and online", async () => {
    if (rulesJob.result?.kind !== "train") throw new Error("no rules result");
    const reg = await api.post<{ version: number }>("/api/models", { runId: rulesJob.result.best_run_id, name: "france-rules" });
    expect(reg.status).toBe(201);
    const started = await api.post<Job>("/api/jobs/predict", { model: "france-rules/1", dataset: "france" });
    const job = await waitJob(started.body.id);
    expect(job.result?.kind === "predict" && job.result.prediction_columns).toEqual([
      "InvoiceNo",
      "recommendations",
      "recommendation_lift",
      "rules_matched",
    ]);
    const batch = await rowsOf("france-predictions");
    expect(batch).toHaveLength(461); // one row per invoice
    const fired = batch.filter((r) => (r.rules_matched as number) > 0).slice(0, 10);
    expect(fired.length).toBeGreaterThan(0);
    const invoices = new Set(fired.map((r) => r.InvoiceNo));
    const rows = (await rowsOf("france")).filter((r) => invoices.has(r.InvoiceNo));
    const online = await api.post<{ predictions: Record<string, unknown>[] }>("/api/predict", { model: "france-rules/1", rows });
    expect(online.status).toBe(200);
    expect(online.body.predictions).toEqual(fired);
  }, 600_000);
});
