import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type StartedCaretflow, startCaretflow } from "@caretflow/server";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "../a11y.ts";
import { ensureWebBuild, launchChromium, screenshotter } from "../browser.ts";

// Every task through the catalog-generated UI: train form → live job page → result details → run page charts.
// Waiting for the engine families and pieces named in each test (see README.md beside this file).

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const stamp = Date.now().toString(36);

interface CatalogTask {
  task: string;
  models: { id: string; turbo: boolean; installed: boolean }[];
  operations: string[];
}

describe("every task in a real browser", () => {
  let home: string;
  let cf: StartedCaretflow;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shot: (page: Page, name: string) => Promise<string>;
  let tasks: CatalogTask[];
  const pageErrors: string[] = [];

  /** The first `n` fast installed models of a task, from the catalog (no model id is hard-coded). */
  const fastModels = (task: string, n: number) =>
    (tasks.find((t) => t.task === task)?.models ?? [])
      .filter((m) => m.turbo && m.installed)
      .slice(0, n)
      .map((m) => m.id);

  /** Imports a demo file under a fresh name through the API (the upload page has its own test in ui.e2e.test.ts). */
  async function upload(file: string): Promise<string> {
    const name = `${file.replace(/\.csv$/, "").replace(/_/g, "-")}-${stamp}`;
    // spam.csv is Latin-1, which caretflow refuses (it asks for UTF-8): the test re-saves it as UTF-8, as the hint says
    const bytes = await readFile(join(repo, "demo-data", file));
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      text = bytes.toString("latin1");
    }
    const buffer = Buffer.from(text, "utf8");
    const res = await context.request.post("/api/datasets", {
      multipart: { file: { name: file, mimeType: "text/csv", buffer }, name },
      timeout: 120_000,
    });
    expect(res.status(), await res.text()).toBe(201);
    return name;
  }

  /** Trains through the API and waits for the job: for tests whose subject is what comes after training. */
  async function trainViaApi(
    body: Record<string, unknown>,
  ): Promise<{ id: string; result: { parent_run_id: string; best_run_id: string } }> {
    const started = await context.request.post("/api/jobs/train", { data: body });
    expect(started.status(), await started.text()).toBe(202);
    const { id } = (await started.json()) as { id: string };
    for (let i = 0; i < 600; i++) {
      const job = (await (await context.request.get(`/api/jobs/${id}`)).json()) as {
        id: string;
        status: string;
        error: unknown;
        result: { parent_run_id: string; best_run_id: string };
      };
      if (job.status === "succeeded") return job;
      if (job.status === "failed" || job.status === "cancelled")
        throw new Error(`training ${id} ${job.status}: ${JSON.stringify(job.error)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`training ${id} did not finish in 10 minutes`);
  }

  /** Opens the train form for a task, fills it with `fill`, starts it and waits for the finished job page. */
  async function train(dataset: string, task: string, fill: () => Promise<void>, name: string): Promise<void> {
    await page.goto(`/train?dataset=${dataset}&task=${task}`);
    expect(await page.locator(`input[name="task"][value="${task}"]`).isChecked()).toBe(true);
    await page.getByTestId("start-training").waitFor();
    await fill();
    await shot(page, `train-${name}`);
    await expectAccessible(page, `${task} train form`);
    await page.getByTestId("start-training").click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.getByTestId("best-model").waitFor({ timeout: 8 * 60_000 });
    await shot(page, `job-${name}`);
    await expectAccessible(page, `${task} job`);
  }

  async function pickModels(task: string, n: number): Promise<void> {
    for (const id of fastModels(task, n)) await page.getByTestId("models-include").locator(`label.chip:has(input[value="${id}"])`).click();
  }

  /** The run page of the job shown now, with its charts drawn from chart data. */
  async function runPageCharts(name: string, chartIds: string[]): Promise<void> {
    await page.getByTestId("view-run").click();
    await page.waitForURL(/\/experiments\/[a-f0-9]{32}$/);
    for (const id of chartIds)
      await page
        .getByTestId(`chart-${id}`)
        .locator(".recharts-wrapper > svg.recharts-surface, table.heatmap")
        .first()
        .waitFor({ timeout: 60_000 });
    await shot(page, `run-${name}`);
    await expectAccessible(page, `${name} run`);
  }

  beforeAll(async () => {
    await ensureWebBuild(repo);
    shot = await screenshotter(join(repo, "test-artifacts", "screenshots-tasks"));
    home = await mkdtemp(join(tmpdir(), "caretflow-e2e-tasks-"));
    cf = await startCaretflow({ home, port: 0, demo: true, log: () => {} });
    browser = await launchChromium();
    context = await browser.newContext({ baseURL: cf.url, viewport: { width: 1366, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.setDefaultTimeout(30_000);
    await page.goto("/signin");
    await page.getByLabel("Password").fill(cf.adminPassword ?? "");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/data$/);
    tasks = ((await (await context.request.get("/api/catalog")).json()) as { tasks: CatalogTask[] }).tasks;
  });

  afterAll(async () => {
    await browser?.close();
    await cf?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("setup preview: what the options do, on sample rows (server: POST .../setup-preview)", async () => {
    await page.goto("/train?dataset=juice&task=classification");
    await page.locator('select[name="target"]').selectOption("Purchase");
    await page.locator('[data-field="normalize"] input[type="checkbox"]').check();
    await page.getByTestId("run-setup-preview").click();
    const preview = page.getByTestId("setup-preview-result");
    await preview.waitFor({ timeout: 120_000 });
    expect(await preview.locator("ol li").count()).toBeGreaterThan(0);
    await shot(page, "setup-preview");
    await expectAccessible(page, "setup preview");
  });

  it("classification: charts from chart data and the HTML report (engine: supervised chart data, report)", async () => {
    await train(
      "juice",
      "classification",
      async () => {
        await page.locator('select[name="target"]').selectOption("Purchase");
        await pickModels("classification", 2);
        await page.locator('input[name="folds"]').fill("3");
      },
      "classification",
    );
    const report = await page.getByTestId("report-link").getAttribute("href");
    const html = await (await context.request.get(report ?? "")).text();
    expect(html).toMatch(/<html/i);
    await runPageCharts("classification", ["roc", "confusion_matrix", "feature"]);
    expect(await page.getByTestId("report-link").count()).toBe(1);
  });

  it("operations: tune a run's model, follow the job, see the operation run linked to its source (ops)", async () => {
    const job = await trainViaApi({
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      include: fastModels("classification", 2),
      folds: 3,
    });
    await page.goto(`/experiments/${job.result.parent_run_id}`);
    await page.locator('label.segment:has(input[value="tune"])').click();
    await page.getByTestId("operation-form").locator('input[name="n_iter"]').fill("2");
    await shot(page, "operation-form");
    await expectAccessible(page, "operation form");
    await page.getByTestId("start-operation").click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.getByTestId("best-model").waitFor({ timeout: 8 * 60_000 });
    expect(await page.locator(".result-card .card-title").textContent()).toMatch(/tune/i);
    await shot(page, "operation-job");
    await expectAccessible(page, "operation job");
    await page.getByTestId("view-run").click();
    const runs = page.getByTestId("operation-runs");
    await runs.locator("tbody tr").first().waitFor();
    expect(await runs.locator("tbody tr").first().getByRole("link").count()).toBeGreaterThanOrEqual(2); // the run, and its source
    await shot(page, "operation-runs");
    await expectAccessible(page, "run with operation runs");
  });

  it("SHAP: an online prediction explains each row (engine: explain in scoring)", async () => {
    const job = await trainViaApi({
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      include: fastModels("classification", 1),
      folds: 3,
    });
    const model = `juice-shap-${stamp}`;
    const reg = await context.request.post("/api/models", { data: { runId: job.result.best_run_id, name: model, alias: "champion" } });
    expect(reg.status(), await reg.text()).toBe(201);
    await page.goto(`/predict?model=${model}@champion&mode=online`);
    await expect.poll(() => page.getByTestId("online-form").locator("textarea").inputValue(), { timeout: 30_000 }).toMatch(/PriceCH/);
    await page.getByTestId("explain").check();
    await page.getByTestId("online-predict").click();
    await expect.poll(() => page.getByTestId("explanation").count(), { timeout: 120_000 }).toBe(3);
    expect(await page.getByTestId("explanation").first().locator("li").count()).toBeGreaterThan(1);
    await shot(page, "predict-explain");
    await expectAccessible(page, "online prediction explained");
  });

  it("clustering: sizes, the elbow suggestion, labels as a new dataset version, elbow and silhouette charts (unsupervised family)", async () => {
    const ds = await upload("jewellery.csv");
    await train(ds, "clustering", () => pickModels("clustering", 1), "clustering");
    expect(await page.getByTestId("cluster-sizes").locator("tbody tr").count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId("details-clustering").textContent()).toMatch(/elbow/);
    await page.getByTestId("output-datasets").getByRole("link").first().click();
    await page.getByTestId("preview-table").locator("th", { hasText: "Cluster" }).first().waitFor();
    await page.goBack();
    await runPageCharts("clustering", ["elbow", "silhouette"]);
  });

  it("anomaly: anomalies found and labels written (unsupervised family)", async () => {
    const ds = await upload("anomaly.csv");
    await train(ds, "anomaly", () => pickModels("anomaly", 1), "anomaly");
    expect(await page.getByTestId("details-anomaly").textContent()).toMatch(/Anomalies/);
    expect(await page.getByTestId("output-datasets").getByRole("link").count()).toBeGreaterThan(0);
  });

  it("time series: forecast table and chart with its interval, forecast chart on the run page (forecasting family)", async () => {
    const ds = await upload("pycaret_downloads.csv");
    await train(
      ds,
      "time_series",
      async () => {
        await page.locator('select[name="date_column"]').selectOption("Date");
        await page.locator('select[name="target"]').selectOption("Total");
        await page.locator('input[name="horizon"]').fill("7");
        await pickModels("time_series", 2);
      },
      "time-series",
    );
    expect(await page.getByTestId("forecast-table").locator("tbody tr").count()).toBe(7);
    await page.getByTestId("chart-forecast_table").locator(".recharts-wrapper > svg.recharts-surface").waitFor();
    await runPageCharts("time-series", ["forecast"]);
  });

  it("topics: topics with their words and per-document weights (text family)", async () => {
    const ds = await upload("spam.csv");
    await train(
      ds,
      "topics",
      async () => {
        await page.locator('select[name="text_column"]').selectOption("text");
        await page.locator('input[name="num_topics"]').fill("3");
      },
      "topics",
    );
    expect(await page.getByTestId("topics-table").locator("tbody tr").count()).toBe(3);
    expect(await page.getByTestId("output-datasets").textContent()).toMatch(/topic weights/);
  });

  it("association rules: a sortable rules table (association family)", async () => {
    const ds = await upload("france.csv");
    await train(
      ds,
      "association_rules",
      async () => {
        await page.locator('select[name="transaction_column"]').selectOption("InvoiceNo");
        await page.locator('select[name="item_column"]').selectOption("Description");
      },
      "rules",
    );
    const rules = page.getByTestId("rules-table");
    const lifts = async () => (await rules.locator("tbody td:nth-child(5)").allTextContents()).map(Number);
    const desc = await lifts();
    expect(desc.length).toBeGreaterThan(0);
    expect(desc).toEqual([...desc].sort((a, b) => b - a));
    await rules.getByRole("button", { name: /Lift/ }).click();
    expect(await lifts()).toEqual([...desc].sort((a, b) => a - b));
  });

  it("raised no uncaught errors in the page", () => {
    expect(pageErrors).toEqual([]);
  });
});
