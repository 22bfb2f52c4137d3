import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type StartedCaretflow, startCaretflow } from "@caretflow/server";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { ensureWebBuild, launchChromium, screenshotter } from "./browser.ts";

const repo = resolve(fileURLToPath(new URL("..", import.meta.url)));
// A fresh name per run, so the test can also run against a long-lived server (CARETFLOW_E2E_URL).
const stamp = Date.now().toString(36);
const DATASET = `juice-e2e-${stamp}`;
const MODEL = `juice-e2e-${stamp}`;

/** Starts caretflow in a temporary home, or uses the one named by CARETFLOW_E2E_URL and CARETFLOW_E2E_PASSWORD. */
async function caretflow(home: string, log: (line: string) => void): Promise<StartedCaretflow> {
  const url = process.env.CARETFLOW_E2E_URL;
  if (url) return { url, adminPassword: process.env.CARETFLOW_E2E_PASSWORD ?? null, close: async () => {} };
  return startCaretflow({ home, port: 0, demo: true, log });
}

describe("caretflow in a real browser", () => {
  let home: string;
  let cf: StartedCaretflow;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shot: (page: Page, name: string) => Promise<string>;
  const serverLog: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuild(repo);
    shot = await screenshotter(join(repo, "test-artifacts", "screenshots"));
    home = await mkdtemp(join(tmpdir(), "caretflow-e2e-"));
    cf = await caretflow(home, (line) => serverLog.push(line));
    browser = await launchChromium();
    context = await browser.newContext({ baseURL: cf.url, viewport: { width: 1366, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    // A CSP violation (an inline script, a refused style or request) counts as a page error.
    context.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) pageErrors.push(`CSP: ${m.text()}`);
    });
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    await cf?.close();
    if (home) await rm(home, { recursive: true, force: true });
    if (pageErrors.length > 0) console.error(`page errors:\n${pageErrors.join("\n")}`);
  });

  it("sends a visitor to sign-in and signs in with the generated admin password", async () => {
    expect(cf.adminPassword).toBeTruthy();
    await page.goto("/");
    await page.waitForURL(/\/signin/);
    await page.getByLabel("Password").waitFor();
    await shot(page, "signin");
    await expectAccessible(page, "sign-in");

    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/sign in|password|credentials/i);
    await expectAccessible(page, "sign-in with a wrong password");

    await page.getByLabel("Password").fill(cf.adminPassword ?? "");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/data$/);
    await page.getByTestId("datasets-table").getByRole("link", { name: "juice", exact: true }).waitFor();
    await expect.poll(() => page.getByTestId("health").textContent(), { timeout: 60_000 }).toBe("All systems ready");
    await shot(page, "datasets");
    await expectAccessible(page, "datasets list");

    await page.getByRole("button", { name: "admin" }).click();
    await page.getByRole("menu").waitFor();
    await expectAccessible(page, "user menu open");
    await page.getByRole("button", { name: "admin" }).click();
  });

  it("has no serious accessibility violation on the pages before any training (empty lists, unknown address)", async () => {
    // Empty on a fresh home; against a long-lived server (CARETFLOW_E2E_URL) they show what is there, checked all the same.
    for (const [path, name] of [
      ["/jobs", "jobs list before any job"],
      ["/experiments", "experiments before any run"],
      ["/models", "models before any registration"],
      ["/predict", "predict before any model"],
      ["/no-such-page", "page not found"],
    ] as const) {
      await page.goto(path);
      await page.locator(".page-header h1, .empty-state-title").first().waitFor();
      await expectAccessible(page, name);
    }
    await page.goto("/data");
    await page.getByTestId("datasets-table").getByRole("link", { name: "juice", exact: true }).waitFor();
  });

  it("uploads a CSV through the drop zone's file input and shows the import", async () => {
    const file = join(home, `${DATASET}.csv`);
    await copyFile(join(repo, "demo-data", "juice.csv"), file);
    await page.getByTestId("upload-input").setInputFiles(file);
    await expect
      .poll(() => page.getByTestId("upload-status").textContent(), { timeout: 60_000 })
      .toMatch(new RegExp(`Imported ${DATASET} version 1`));
    await page.getByTestId("datasets-table").getByRole("link", { name: DATASET }).waitFor();
    await shot(page, "upload-done");
    await expectAccessible(page, "datasets list after an upload");
  });

  it("opens the dataset: paged preview and a profile per column with histograms", async () => {
    await page.getByTestId("datasets-table").getByRole("link", { name: DATASET }).click();
    await page.waitForURL(new RegExp(`/data/${DATASET}`));
    await expect.poll(() => page.getByTestId("preview-range").textContent(), { timeout: 30_000 }).toMatch(/Rows 1–50 of 1,070/);
    expect(await page.getByTestId("preview-table").locator("tbody tr").count()).toBe(50);
    await page.getByRole("button", { name: "Next ›" }).click();
    await expect.poll(() => page.getByTestId("preview-range").textContent()).toMatch(/Rows 51–100 of 1,070/);
    await shot(page, "dataset-preview");
    await expectAccessible(page, "dataset preview");

    await page.getByRole("tab", { name: "Profile" }).click();
    await expect.poll(() => page.getByTestId("column-profile").count(), { timeout: 60_000 }).toBe(19);
    // numeric columns draw a histogram (recharts SVG), categorical ones a top-values list
    // ResponsiveContainer draws once it has measured its box, a moment after the card appears
    await expect.poll(() => page.locator('[aria-label="Histogram of PriceCH"] svg.recharts-surface').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator('[aria-label="Most frequent values of Purchase"] li').count()).toBe(2);
    await shot(page, "dataset-profile");
    await expectAccessible(page, "dataset profile");

    await page.getByRole("tab", { name: "Schema" }).click();
    await page.getByTestId("schema-table").waitFor();
    await expectAccessible(page, "dataset schema");
    await page.getByRole("tab", { name: "Versions" }).click();
    await page.getByTestId("versions-table").waitFor();
    await expectAccessible(page, "dataset versions");
  });

  it("starts a training from the catalog-generated form and watches the leaderboard fill in row by row", async () => {
    const catalog = (await (await context.request.get("/api/catalog")).json()) as { tasks: { task: string; label: string }[] };
    await page.getByRole("link", { name: "Train a model" }).click();
    await page.waitForURL(/\/train\?dataset=/);
    await page.locator('select[name="target"]').waitFor();
    // one card per task of the engine's catalog, nothing hand-kept
    expect(await page.getByTestId("task-picker").locator("label.task-card").allTextContents()).toEqual(
      catalog.tasks.map((t) => expect.stringContaining(t.label)),
    );
    await expectAccessible(page, "train form");
    // submitting without a target shows the form's errors
    await page.getByTestId("start-training").click();
    await page.getByTestId("form-errors").waitFor();
    expect(await page.locator('[data-field="target"].field-invalid').count()).toBe(1);
    await expectAccessible(page, "train form with errors");
    // `when`: a setup option's follow-up appears only once the option is on
    expect(await page.locator('[data-field="normalize_method"]').count()).toBe(0);
    await page.locator('[data-field="normalize"] input[type="checkbox"]').check();
    expect(await page.locator('[data-field="normalize_method"]').count()).toBe(1);
    await page.locator('[data-field="normalize"] input[type="checkbox"]').uncheck();
    await page.evaluate("window.scrollTo(0, 0)"); // the click scrolled down to the button; the screenshot starts at the top
    await page.locator('select[name="target"]').selectOption("Purchase");
    expect(await page.locator(`input[name="task"][value="${catalog.tasks[0]?.task}"]`).isChecked()).toBe(true);
    // Forests take long enough (about a second each) that the page sees the leaderboard grow while
    // the job runs, even with the models compared side by side.
    for (const id of ["lr", "rf", "et"]) await page.getByTestId("models-include").locator(`label.chip:has(input[value="${id}"])`).click();
    await page.getByTestId("columns-ignore_columns").locator("label.chip", { hasText: /^Id$/ }).click(); // the row id is no feature
    // the target is not offered as a column to ignore
    expect(
      await page
        .getByTestId("columns-ignore_columns")
        .locator("label.chip", { hasText: /^Purchase$/ })
        .count(),
    ).toBe(0);
    await page.locator('input[name="folds"]').fill("3");
    await shot(page, "train-form");
    await expectAccessible(page, "train form filled in");
    await page.getByTestId("start-training").click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.getByTestId("job-progress").waitFor();

    // Sample the page while the job runs: rows must show up while it is still running, one by one.
    const board = page.getByTestId("leaderboard").locator("tbody tr:not(:has(td.table-empty))");
    const seenWhileRunning = new Set<number>();
    let midShot = false;
    const deadline = Date.now() + 8 * 60_000;
    while (Date.now() < deadline) {
      const running = (await page.getByTestId("cancel-job").count()) > 0;
      const rows = await board.count();
      if (!running) break;
      seenWhileRunning.add(rows);
      if (rows > 0 && !midShot) {
        midShot = true;
        await shot(page, "job-running");
        await expectAccessible(page, "running training job");
      }
      await page.waitForTimeout(100);
    }
    await page.getByTestId("best-model").waitFor({ timeout: 120_000 });
    const finalRows = await board.count();
    expect(finalRows).toBe(3);
    const partial = [...seenWhileRunning].filter((n) => n > 0 && n < finalRows);
    expect(partial.length, `leaderboard sizes seen while running: ${[...seenWhileRunning].join(", ")}`).toBeGreaterThan(0);
    expect(await page.locator("tr.row-best").count()).toBe(1);
    expect(await page.getByTestId("metric-chart").locator(".recharts-bar-rectangle").count()).toBe(3);
    // the task's details: the classes with their hold-out metrics
    expect(await page.getByTestId("per-class").locator("tbody tr").count()).toBe(2);
    expect(await page.getByTestId("details-classification").textContent()).toMatch(/CH, MM|MM, CH/);
    await shot(page, "job-finished");
    // the finished job page holds the register form too
    await expectAccessible(page, "finished training job");
  });

  it("registers the best model with the alias champion", async () => {
    const form = page.getByTestId("register-form");
    await form.locator('input[name="modelName"]').fill(MODEL);
    expect(await form.locator('input[name="alias"]').inputValue()).toBe("champion");
    await form.getByRole("button", { name: "Register" }).click();
    await expect.poll(() => page.getByTestId("registered").textContent()).toMatch(/version 1 with alias champion/);
    await shot(page, "model-registered");
    await expectAccessible(page, "model registered");

    await page.getByRole("link", { name: "Models", exact: true }).click();
    await page.waitForURL(/\/models$/);
    await page.getByTestId("alias").filter({ hasText: "@champion" }).first().waitFor();
    await shot(page, "models");
    await expectAccessible(page, "models");
  });

  it("runs a batch prediction and offers the output as CSV", async () => {
    await page.goto(`/predict?model=${MODEL}@champion`);
    await expect.poll(() => page.getByTestId("model-ref").textContent(), { timeout: 30_000 }).toBe(`${MODEL}@champion`);
    await expectAccessible(page, "batch predict form");
    await page.getByTestId("batch-form").locator('select[name="dataset"]').selectOption(DATASET);
    await page.getByTestId("batch-form").locator('select[name="version"]').selectOption("1");
    await page.getByTestId("start-batch").click();
    await page.getByTestId("predict-output").waitFor({ timeout: 180_000 });
    expect(await page.getByTestId("predict-output").textContent()).toMatch(/Wrote 1,070 rows to/);
    const href = await page.getByTestId("batch-job").getByRole("link", { name: "Download CSV" }).getAttribute("href");
    expect(href).toBeTruthy();
    const csv = await (await context.request.get(href ?? "")).text();
    expect(csv.split("\n")[0]).toMatch(/prediction_label/);
    await shot(page, "predict-batch");
    await expectAccessible(page, "batch prediction done");
  });

  it("runs an online prediction from rows prefilled from the training data", async () => {
    await page.getByRole("tab", { name: /Online/ }).click();
    const box = page.getByTestId("online-form").locator("textarea");
    await expect.poll(() => box.inputValue(), { timeout: 30_000 }).toMatch(/PriceCH/);
    const rows = JSON.parse(await box.inputValue()) as Record<string, unknown>[];
    expect(rows).toHaveLength(3);
    expect(rows[0]).not.toHaveProperty("Purchase");
    await expectAccessible(page, "online predict form");
    expect(await page.getByTestId("explain").isChecked()).toBe(false);
    await page.getByTestId("online-predict").click();
    const result = page.getByTestId("online-result");
    await expect.poll(() => result.locator("tbody tr").count(), { timeout: 120_000 }).toBe(3);
    const headers = (await result.locator("thead th").allTextContents()).map((h) => h.trim());
    const labelColumn = headers.indexOf("prediction_label");
    expect(labelColumn).toBeGreaterThanOrEqual(0);
    const labels = await result.locator(`tbody td:nth-child(${labelColumn + 1})`).allTextContents();
    expect(labels).toHaveLength(3);
    for (const l of labels) expect(["CH", "MM"]).toContain(l.trim());
    await shot(page, "predict-online");
    await expectAccessible(page, "online prediction result");
  });

  it("lists the run under Experiments with its child runs and plots", async () => {
    await page.getByRole("link", { name: "Experiments", exact: true }).click();
    const table = page.getByTestId("runs-table");
    await table.locator("tbody tr", { hasText: DATASET }).first().waitFor();
    await shot(page, "experiments");
    await expectAccessible(page, "experiments");
    await table.locator("tbody tr", { hasText: DATASET }).first().getByRole("link").first().click();
    await page.waitForURL(/\/experiments\/[a-f0-9]{32}$/);
    // the run page is loaded on first visit (its own chunk), then asks for the run: allow for a busy machine
    await expect.poll(() => page.getByTestId("leaderboard").locator("tbody tr").count(), { timeout: 30_000 }).toBe(3);
    expect(await page.getByTestId("open-mlflow").getAttribute("href")).toMatch(/^\/mlflow\/#\/experiments\/\d+\/runs\/[a-f0-9]{32}$/);
    // the model's evaluation (queued after the training) drew its charts; PyCaret's PNGs sit folded beneath them
    await expect.poll(() => page.getByTestId("evaluation-status").getAttribute("data-state"), { timeout: 180_000 }).toBe("succeeded");
    await page.getByTestId("chart-confusion_matrix").locator("table.heatmap").waitFor({ timeout: 30_000 });
    await page.getByText("Plot images (PNG, as logged in MLflow)").click();
    await page.getByTestId("plots").locator("img").first().waitFor({ timeout: 30_000 });
    // operations offered are the task's, from the catalog (the server refuses others)
    const catalog = (await (await context.request.get("/api/catalog?task=classification")).json()) as {
      tasks: { task: string; operations: string[] }[];
    };
    const ops = catalog.tasks.find((t) => t.task === "classification")?.operations.filter((o) => o !== "compare") ?? [];
    expect(
      await page
        .getByTestId("operations")
        .locator('input[name="operation"]')
        .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value)),
    ).toEqual(ops);
    await shot(page, "run");
    await expectAccessible(page, "run");
  });

  it("opens the run in MLflow's own UI behind caretflow's sign-in", async () => {
    const href = (await page.getByTestId("open-mlflow").getAttribute("href"))!;
    const runId = href.split("/").at(-1)!;
    await page.goto(href);
    await page.getByText(runId).first().waitFor({ timeout: 90_000 });
    await shot(page, "mlflow-run");
    // No accessibility check here: this is MLflow's own UI, served as it ships, not caretflow's pages.
    // Signed out, the same link leads to caretflow's sign-in page, not to MLflow.
    const anonymous = await browser.newContext({ baseURL: cf.url });
    try {
      const p = await anonymous.newPage();
      await p.goto(href);
      await p.waitForURL(/\/signin\?next=/);
    } finally {
      await anonymous.close();
    }
  });

  it("trains a regression from the same form and compares its run with the classification run", async () => {
    await page.goto("/train?dataset=insurance&task=regression");
    await page.locator('select[name="target"]').selectOption("charges");
    // the sort metric offers the regression metrics, from the catalog
    expect(await page.locator('select[name="sort"] option').allTextContents()).toContain("MAE (lower is better)");
    for (const id of ["lr", "dt"]) await page.getByTestId("models-include").locator(`label.chip:has(input[value="${id}"])`).click();
    await page.locator('input[name="folds"]').fill("3");
    await page.getByTestId("start-training").click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.getByTestId("best-model").waitFor({ timeout: 8 * 60_000 });
    await page.getByTestId("details-regression").getByText("R2").first().waitFor();
    await shot(page, "job-regression");
    await expectAccessible(page, "finished regression job");

    await page.getByRole("link", { name: "Experiments", exact: true }).click();
    const table = page.getByTestId("runs-table");
    await table.locator("tbody tr", { hasText: "insurance" }).first().waitFor();
    await table.locator("tbody tr", { hasText: "insurance" }).first().getByTestId("pick-run").check();
    await table.locator("tbody tr", { hasText: DATASET }).first().getByTestId("pick-run").check();
    await page.getByTestId("compare-runs").click();
    await page.waitForURL(/\/experiments\/compare\?runs=[a-f0-9]{32},[a-f0-9]{32}$/);
    const metrics = page.getByTestId("compare-metrics");
    await metrics.waitFor();
    const cells = async (metric: string) =>
      (
        await metrics
          .locator("tbody tr", { has: page.locator(`th:text-is("${metric}")`) })
          .locator("td")
          .allTextContents()
      ).map((t) => t.trim());
    // one column per run: each task's metrics filled in for its own run only
    const r2 = await cells("R2");
    const accuracy = await cells("Accuracy");
    expect(r2).toHaveLength(2);
    expect(r2.filter((v) => v === "—")).toHaveLength(1);
    expect(accuracy.filter((v) => v === "—")).toHaveLength(1);
    expect(r2.indexOf("—")).not.toBe(accuracy.indexOf("—"));
    await shot(page, "compare");
    await expectAccessible(page, "compare runs");
  });

  it("shows a failed job's error, its hint and the engine log", async () => {
    // A text target cannot be a regression target: the engine fails in setup, and the page must say why.
    await page.goto(`/train?dataset=${DATASET}&task=regression`);
    expect(await page.locator('input[name="task"][value="regression"]').isChecked()).toBe(true);
    await page.locator('select[name="target"]').selectOption("Purchase");
    await page.getByTestId("models-include").locator('label.chip:has(input[value="lr"])').click();
    await page.locator('input[name="folds"]').fill("3");
    await expectAccessible(page, "regression train form");
    await page.getByTestId("start-training").click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    const alert = page.getByRole("alert").first();
    await alert.waitFor({ timeout: 180_000 });
    expect(await page.locator(".page-header .badge").first().textContent()).toBe("failed");
    expect((await alert.textContent())?.length).toBeGreaterThan(10);
    expect(await page.getByTestId("log-link").getAttribute("href")).toMatch(/^\/api\/jobs\/[^/]+\/log$/);
    await page.locator("pre.log").waitFor();
    await shot(page, "job-failed");
    await expectAccessible(page, "failed training job");
  });

  it("lists every job, and opens a batch prediction job", async () => {
    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    await page.waitForURL(/\/jobs$/);
    const table = page.getByTestId("jobs-table");
    await table.locator("tbody tr", { hasText: "failed" }).first().waitFor();
    await table.locator("tbody tr", { hasText: "succeeded" }).first().waitFor();
    await shot(page, "jobs");
    await expectAccessible(page, "jobs list");
    const predictJob = table.getByRole("link", { name: `${MODEL}@champion on ${DATASET}` });
    await predictJob.first().click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.getByTestId("predict-output").waitFor();
    await expectAccessible(page, "batch prediction job");
  });

  it("fits a phone screen: navigation collapses, tables scroll inside their box", async () => {
    const phone = await browser.newContext({
      baseURL: cf.url,
      viewport: { width: 375, height: 812 },
      storageState: await context.storageState(),
    });
    try {
      const p = await phone.newPage();
      await p.goto(`/data/${DATASET}`);
      await p.getByTestId("preview-table").waitFor();
      expect(await p.locator(".nav").isVisible()).toBe(false);
      // a string, because this file is typechecked without the DOM library
      const overflow = (await p.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
      expect(overflow).toBeLessThanOrEqual(0);
      // the table's box scrolls, so it is a named region in the tab order, for keyboard users to scroll it
      expect(await p.getByRole("region", { name: `Rows of ${DATASET} v1` }).getAttribute("tabindex")).toBe("0");
      await shot(p, "phone-dataset");
      await expectAccessible(p, "phone: dataset");
      // the generated train form folds into one column: nothing sticks out sideways
      await p.goto(`/train?dataset=${DATASET}`);
      await p.getByTestId("task-picker").waitFor();
      expect((await p.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number).toBeLessThanOrEqual(0);
      await shot(p, "phone-train-form");
      await expectAccessible(p, "phone: train form");
      await p.getByRole("button", { name: "Menu" }).click();
      expect(await p.locator(".nav").isVisible()).toBe(true);
      await shot(p, "phone-menu");
      await expectAccessible(p, "phone: menu open");
    } finally {
      await phone.close();
    }
  });

  it("lists every change in the audit log, filters and searches it, and verifies its hash chain", async () => {
    await page.goto("/data");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
    await page.waitForURL(/\/audit$/);
    const table = page.getByTestId("audit-table");
    await table.waitFor();
    const filter = async (fields: { action?: string; search?: string }) => {
      await page.getByLabel("Action").fill(fields.action ?? "");
      await page.getByLabel("Search").fill(fields.search ?? "");
      await page.getByRole("button", { name: "Apply" }).click();
    };
    const row = (action: string, text: string) =>
      table
        .locator("tr")
        .filter({ has: page.locator("code.audit-action", { hasText: new RegExp(`^${action.replace(".", "\\.")}$`) }) })
        .filter({ hasText: text })
        .first();

    // the wrong password and the sign-in of the first test, from the browser's address
    await filter({ action: "auth.*" });
    await row("auth.login_failed", "user:admin").waitFor();
    await row("auth.login", "127.0.0.1").waitFor();
    // the upload, by admin, and the jobs started on that dataset
    await filter({ search: DATASET });
    await row("dataset.import", `dataset:${DATASET}/1`).filter({ hasText: "admin" }).waitFor();
    await row("job.create", "admin").waitFor();
    // the registered model; the demo datasets imported by the server itself
    await filter({ action: "model.*" });
    await row("model.register", `model:${MODEL}/1`).waitFor();
    if (!process.env.CARETFLOW_E2E_URL) {
      // made by the server itself on first start: the demo data, the admin user and the CLI's token
      await filter({ search: "juice.csv" });
      await row("dataset.import", "dataset:juice/1").filter({ hasText: "system" }).waitFor();
      await filter({ search: "cli.json" });
      await row("token.create", "system").waitFor();
      await filter({ action: "user.create" });
      await row("user.create", "user:admin").filter({ hasText: "system" }).waitFor();
    }
    await shot(page, "audit");
    await expectAccessible(page, "audit log");

    await page.getByRole("button", { name: "Verify chain" }).click();
    await expect.poll(() => page.getByTestId("audit-verify-result").textContent()).toMatch(/Chain intact\s*\d+ entries check out/);
    await expectAccessible(page, "audit log verified");
  });

  it("raised no uncaught errors in the page", async () => {
    expect(pageErrors).toEqual([]);
    // the server log is part of the evidence when something above fails
    if (!process.env.CARETFLOW_E2E_URL) expect(serverLog.join("\n")).toMatch(/ready at/);
    await readFile(join(repo, "test-artifacts", "screenshots", "01-signin.png"));
  });
});
