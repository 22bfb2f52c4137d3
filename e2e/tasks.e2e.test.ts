import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import {
  expectCharts,
  expectReport,
  fastModels,
  openTaskBrowser,
  pickModels,
  runPageCharts,
  type TaskBrowser,
  trainInForm,
  trainViaApi,
  upload,
  waitForEvaluation,
} from "./harness.ts";

// Every task through the catalog-generated UI: train form → live job page → result details → the model's
// evaluation (charts, report) → run page; plus the setup preview, operations and SHAP explanations.
// Topics and association rules too: the tasks PyCaret 3 dropped and caretflow provides.

describe("every task in a real browser", () => {
  let t: TaskBrowser;
  // One classification training serves the charts, report, operations and SHAP checks; each check still
  // runs alone (it trains through the API when the form's training has not run).
  let classification: Promise<{ jobId: string; parentRunId: string; bestRunId: string }> | null = null;
  const trainedClassification = () => {
    classification ??= trainViaApi(t, {
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      include: fastModels(t, "classification", 2),
      folds: 3,
    }).then((j) => ({ jobId: j.id, parentRunId: j.result.parent_run_id, bestRunId: j.result.best_run_id }));
    return classification;
  };

  beforeAll(async () => {
    t = await openTaskBrowser("tasks");
  });

  afterAll(async () => {
    await t?.close();
  });

  it("setup preview: what the options do, on sample rows", async () => {
    const { page } = t;
    await page.goto("/train?dataset=juice&task=classification");
    await page.locator('select[name="target"]').selectOption("Purchase");
    await page.locator('[data-field="normalize"] input[type="checkbox"]').check();
    await page.getByTestId("run-setup-preview").click();
    const preview = page.getByTestId("setup-preview-result");
    await preview.waitFor({ timeout: 120_000 });
    expect(await preview.locator("ol li").count()).toBeGreaterThan(0);
    await t.shot(page, "setup-preview");
    await expectAccessible(page, "setup preview");
  });

  it("classification: the job page says it is evaluating, then draws the charts and offers the report", async () => {
    const { page } = t;
    const jobId = await trainInForm(
      t,
      "juice",
      "classification",
      async () => {
        await page.locator('select[name="target"]').selectOption("Purchase");
        await pickModels(t, "classification", 2);
        await page.locator('input[name="folds"]').fill("3");
      },
      "classification",
    );
    // the training is done and its model registrable while the evaluation still runs
    const status = page.getByTestId("evaluation-status");
    expect(["looking", "queued", "running", "succeeded"]).toContain(await status.getAttribute("data-state"));
    if ((await status.getAttribute("data-state")) !== "succeeded") {
      await t.shot(page, "job-evaluating");
      await expectAccessible(page, "classification job while evaluating");
    }
    await waitForEvaluation(page);
    await expectCharts(page, ["auc", "confusion_matrix", "feature"]);
    expect(await status.textContent()).toMatch(/Evaluated: \d+ charts?, \d+ plots? and the report/);
    const html = await expectReport(t);
    expect(html).toContain("Purchase");
    await t.shot(page, "job-evaluated");
    await expectAccessible(page, "classification job evaluated");
    const result = (await (await t.context.request.get(`/api/jobs/${jobId}`)).json()) as {
      result: { parent_run_id: string; best_run_id: string };
    };
    classification = Promise.resolve({ jobId, parentRunId: result.result.parent_run_id, bestRunId: result.result.best_run_id });

    await runPageCharts(t, "classification", ["auc", "confusion_matrix", "feature"]);
    expect(await page.getByTestId("report-link").count()).toBe(1);
    expect(await page.getByTestId("evaluation-status").getAttribute("data-state")).toBe("succeeded");
  });

  it("jobs list: each evaluation is named by its run and linked to the job it follows", async () => {
    const { page } = t;
    const trained = await trainedClassification();
    await page.goto("/jobs");
    const table = page.getByTestId("jobs-table");
    const row = table.locator("tbody tr", { hasText: `evaluate run ${trained.bestRunId.slice(0, 8)}` }).first();
    await row.waitFor();
    await t.shot(page, "jobs-with-evaluations");
    await expectAccessible(page, "jobs list with evaluations");
    await row.getByTestId("evaluation-after").getByRole("link").click();
    await page.waitForURL(new RegExp(`/jobs/${trained.jobId}$`));
    await page.getByTestId("best-model").waitFor();
    // the evaluate job's own page: what it logged, linked back to the run and the job it follows
    await page.getByTestId("evaluation-job").click();
    await page.getByTestId("evaluation-summary").waitFor({ timeout: 180_000 }); // when this check runs alone, it may still run
    expect(await page.getByTestId("evaluation-summary").textContent()).toMatch(/charts/);
    await expectCharts(page, ["auc"]);
    await expectReport(t);
    await t.shot(page, "evaluate-job");
    await expectAccessible(page, "evaluate job");
  });

  it("operations: tune a run's model, follow the job and its evaluation, see the operation run linked to its source", async () => {
    const { page } = t;
    const trained = await trainedClassification();
    await page.goto(`/experiments/${trained.parentRunId}`);
    await page.locator('label.segment:has(input[value="tune"])').click();
    await page.getByTestId("operation-form").locator('input[name="n_iter"]').fill("2");
    await t.shot(page, "operation-form");
    await expectAccessible(page, "operation form");
    await page.getByTestId("start-operation").click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.getByTestId("best-model").waitFor({ timeout: 8 * 60_000 });
    expect(await page.locator(".result-card .card-title").textContent()).toMatch(/tune/i);
    await waitForEvaluation(page);
    await expectCharts(page, ["auc"]);
    await t.shot(page, "operation-job");
    await expectAccessible(page, "operation job");
    await page.getByTestId("view-run").click();
    const runs = page.getByTestId("operation-runs");
    await runs.locator("tbody tr").first().waitFor();
    expect(await runs.locator("tbody tr").first().getByRole("link").count()).toBeGreaterThanOrEqual(2); // the run, and its source
    await t.shot(page, "operation-runs");
    await expectAccessible(page, "run with operation runs");
  });

  it("SHAP: an online prediction explains each row", async () => {
    const { page, context } = t;
    const trained = await trainedClassification();
    const model = `juice-shap-${Date.now().toString(36)}`;
    const reg = await context.request.post("/api/models", { data: { runId: trained.bestRunId, name: model, alias: "champion" } });
    expect(reg.status(), await reg.text()).toBe(201);
    await page.goto(`/predict?model=${model}@champion&mode=online`);
    await expect.poll(() => page.getByTestId("online-form").locator("textarea").inputValue(), { timeout: 30_000 }).toMatch(/PriceCH/);
    await page.getByTestId("explain").check();
    await page.getByTestId("online-predict").click();
    await expect.poll(() => page.getByTestId("explanation").count(), { timeout: 120_000 }).toBe(3);
    const first = page.getByTestId("explanation").first();
    expect(await first.locator("li").count()).toBeGreaterThan(1);
    // the figure says what it explains (a probability, log-odds or score of a class)
    expect(await first.locator("figcaption").textContent()).toMatch(/(probability|log-odds|score) of (CH|MM)/);
    await t.shot(page, "predict-explain");
    await expectAccessible(page, "online prediction explained");
  });

  it("clustering: sizes, where the count came from, labels as a new dataset version, elbow and silhouette charts, the report", async () => {
    const { page } = t;
    const ds = await upload(t, "jewellery.csv");
    await trainInForm(t, ds, "clustering", () => pickModels(t, "clustering", 1), "clustering");
    expect(await page.getByTestId("cluster-sizes").locator("tbody tr").count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId("details-clustering").textContent()).toMatch(/elbow/);
    expect(await page.getByTestId("scoring-note").textContent()).toMatch(/new rows/i);
    await waitForEvaluation(page);
    await expectReport(t);
    await page.getByTestId("output-datasets").getByRole("link").first().click();
    await page.getByTestId("preview-table").locator("th", { hasText: "Cluster" }).first().waitFor();
    await page.goBack();
    await runPageCharts(t, "clustering", ["elbow", "silhouette"]);
  });

  it("anomaly: anomalies found and labels written; the run page evaluates the model again on request", async () => {
    const { page } = t;
    const ds = await upload(t, "anomaly.csv");
    await trainInForm(t, ds, "anomaly", () => pickModels(t, "anomaly", 1), "anomaly");
    expect(await page.getByTestId("details-anomaly").textContent()).toMatch(/Anomalies/);
    expect(await page.getByTestId("output-datasets").getByRole("link").count()).toBeGreaterThan(0);
    await waitForEvaluation(page);
    await page.getByTestId("view-run").click();
    await page.waitForURL(/\/experiments\/[a-f0-9]{32}$/);
    await waitForEvaluation(page);
    const before = (await page.getByTestId("evaluation-job").getAttribute("href")) ?? "";
    await page.getByTestId("evaluate-run").click();
    // the page follows the new evaluate job until it is done
    await expect.poll(() => page.getByTestId("evaluation-job").getAttribute("href"), { timeout: 30_000 }).not.toBe(before);
    await waitForEvaluation(page);
    expect(await page.getByTestId("report-link").count()).toBe(1);
    await t.shot(page, "run-evaluated-again");
    await expectAccessible(page, "run evaluated again");
  });

  it("time series: forecast table and chart with its interval, forecast chart on the run page", async () => {
    const { page } = t;
    const ds = await upload(t, "pycaret_downloads.csv");
    await trainInForm(
      t,
      ds,
      "time_series",
      async () => {
        await page.locator('select[name="date_column"]').selectOption("Date");
        await page.locator('select[name="target"]').selectOption("Total");
        await page.locator('input[name="horizon"]').fill("7");
        await pickModels(t, "time_series", 2);
      },
      "time-series",
    );
    expect(await page.getByTestId("forecast-table").locator("tbody tr").count()).toBe(7);
    await page.getByTestId("chart-forecast_table").locator(".recharts-wrapper > svg.recharts-surface").waitFor();
    await waitForEvaluation(page);
    await runPageCharts(t, "time-series", ["forecast"]);
  });

  it("topics: topics with their words and per-document weights, the report", async () => {
    const { page } = t;
    const ds = await upload(t, "spam.csv");
    await trainInForm(
      t,
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
    await waitForEvaluation(page);
    await expectReport(t);
  });

  it("association rules: a sortable rules table, the report", async () => {
    const { page } = t;
    const ds = await upload(t, "france.csv");
    await trainInForm(
      t,
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
    await waitForEvaluation(page);
    await expectReport(t);
  });

  it("raised no uncaught errors in the page", () => {
    expect(t.pageErrors).toEqual([]);
  });
});
