import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type StartedCaretflow, type StartOptions, startCaretflow } from "@caretflow/server";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { ensureWebBuild, launchChromium, screenshotter } from "./browser.ts";

/**
 * One caretflow and one signed-in browser page for a file of task tests, with the steps they share:
 * upload a demo file, train through the catalog-generated form (or the API, when training is not the
 * subject), wait for the model's evaluation, check the run page's charts.
 */

export const repo = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface CatalogTask {
  task: string;
  models: { id: string; turbo: boolean; installed: boolean }[];
  operations: string[];
}

/** What a training job's result names: the runs a test goes on to open. */
export interface TrainedJob {
  id: string;
  result: { parent_run_id: string; best_run_id: string; best_model_name: string };
}

export interface TaskBrowser {
  cf: StartedCaretflow;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  tasks: CatalogTask[];
  pageErrors: string[];
  shot: (page: Page, name: string) => Promise<string>;
  close: () => Promise<void>;
}

/**
 * Starts caretflow in a temporary home (with any further start options), signs in, reads the catalog.
 * Screenshots go to test-artifacts/screenshots-<name>.
 */
export async function openTaskBrowser(name: string, options: Partial<StartOptions> = {}): Promise<TaskBrowser> {
  await ensureWebBuild(repo);
  const shot = await screenshotter(join(repo, "test-artifacts", `screenshots-${name}`));
  const home = await mkdtemp(join(tmpdir(), `caretflow-e2e-${name}-`));
  const cf = await startCaretflow({ home, port: 0, demo: true, log: () => {}, ...options });
  // A browser that cannot start must not leave caretflow (and its MLflow) running after the file.
  const browser = await launchChromium().catch(async (err: unknown) => {
    await cf.close();
    await rm(home, { recursive: true, force: true });
    throw err;
  });
  const context = await browser.newContext({ baseURL: cf.url, viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  // A CSP violation (an inline script, a refused style or request) counts as a page error.
  context.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) pageErrors.push(`CSP: ${m.text()}`);
  });
  page.setDefaultTimeout(30_000);
  await page.goto("/signin");
  await page.getByLabel("Password").fill(cf.adminPassword ?? "");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/data$/);
  const tasks = ((await (await context.request.get("/api/catalog")).json()) as { tasks: CatalogTask[] }).tasks;
  return {
    cf,
    browser,
    context,
    page,
    tasks,
    pageErrors,
    shot,
    close: async () => {
      await browser.close();
      await cf.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** The first `n` fast installed models of a task, from the catalog (no model id is hard-coded). */
export function fastModels(t: TaskBrowser, task: string, n: number): string[] {
  return (t.tasks.find((x) => x.task === task)?.models ?? [])
    .filter((m) => m.turbo && m.installed)
    .slice(0, n)
    .map((m) => m.id);
}

export async function pickModels(t: TaskBrowser, task: string, n: number): Promise<void> {
  for (const id of fastModels(t, task, n))
    await t.page.getByTestId("models-include").locator(`label.chip:has(input[value="${id}"])`).click();
}

/** Imports a demo file under a fresh name through the API (the upload page has its own test in ui.e2e.test.ts). */
export async function upload(t: TaskBrowser, file: string): Promise<string> {
  const name = `${file.replace(/\.csv$/, "").replace(/_/g, "-")}-${Date.now().toString(36)}`;
  // spam.csv is Windows-1252, not UTF-8: named on import, as caretflow's hint for such files says
  const bytes = await readFile(join(repo, "demo-data", file));
  let utf8 = true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    utf8 = false;
  }
  const res = await t.context.request.post("/api/datasets", {
    multipart: { file: { name: file, mimeType: "text/csv", buffer: bytes }, name, ...(utf8 ? {} : { encoding: "windows-1252" }) },
    timeout: 120_000,
  });
  expect(res.status(), await res.text()).toBe(201);
  return name;
}

/** Polls a job through the API until it ends; throws with its error unless it succeeded. */
export async function waitForJob(t: TaskBrowser, id: string, minutes = 10): Promise<TrainedJob & { status: string }> {
  for (let i = 0; i < minutes * 60; i++) {
    const job = (await (await t.context.request.get(`/api/jobs/${id}`)).json()) as TrainedJob & { status: string; error: unknown };
    if (job.status === "succeeded") return job;
    if (job.status === "failed" || job.status === "cancelled") throw new Error(`job ${id} ${job.status}: ${JSON.stringify(job.error)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`job ${id} did not finish in ${minutes} minutes`);
}

/** Trains through the API and waits for the job: for tests whose subject is what comes after training. */
export async function trainViaApi(t: TaskBrowser, body: Record<string, unknown>): Promise<TrainedJob> {
  const started = await t.context.request.post("/api/jobs/train", { data: body });
  expect(started.status(), await started.text()).toBe(202);
  return await waitForJob(t, ((await started.json()) as { id: string }).id);
}

/** Opens the train form for a task, fills it with `fill`, starts it and waits for the finished job page. */
export async function trainInForm(t: TaskBrowser, dataset: string, task: string, fill: () => Promise<void>, name: string): Promise<string> {
  const { page } = t;
  await page.goto(`/train?dataset=${dataset}&task=${task}`);
  expect(await page.locator(`input[name="task"][value="${task}"]`).isChecked()).toBe(true);
  await page.getByTestId("start-training").waitFor();
  await fill();
  await t.shot(page, `train-${name}`);
  await expectAccessible(page, `${task} train form`);
  await page.getByTestId("start-training").click();
  await page.waitForURL(/\/jobs\/[^/]+$/);
  await page.getByTestId("best-model").waitFor({ timeout: 8 * 60_000 });
  await t.shot(page, `job-${name}`);
  await expectAccessible(page, `${task} job`);
  return decodeURIComponent(page.url().split("/").at(-1) ?? "");
}

/**
 * Waits until the page's evaluation status says the model's evaluation succeeded (the job page and the
 * run page follow the evaluate job live); a failed evaluation fails the test with the page's own words.
 */
export async function waitForEvaluation(page: Page, minutes = 5): Promise<void> {
  const status = page.getByTestId("evaluation-status");
  const deadline = Date.now() + minutes * 60_000;
  for (;;) {
    const state = await status.getAttribute("data-state");
    if (state === "succeeded") return;
    if (state === "failed" || state === "cancelled" || state === "none")
      throw new Error(`evaluation ${state}: ${(await status.textContent())?.trim()}`);
    if (Date.now() > deadline) throw new Error(`evaluation still ${state} after ${minutes} minutes`);
    await page.waitForTimeout(250);
  }
}

/** Each chart's main surface (recharts' SVG, or the heatmap's table) is drawn on the page. */
export async function expectCharts(page: Page, chartIds: readonly string[]): Promise<void> {
  for (const id of chartIds)
    await page
      .getByTestId(`chart-${id}`)
      .locator(".recharts-wrapper > svg.recharts-surface, table.heatmap")
      .first()
      .waitFor({ timeout: 60_000 });
}

/** From a finished job page: its run page, with the given charts drawn from chart data. */
export async function runPageCharts(t: TaskBrowser, name: string, chartIds: string[]): Promise<void> {
  const { page } = t;
  await page.getByTestId("view-run").click();
  await page.waitForURL(/\/experiments\/[a-f0-9]{32}$/);
  await expectCharts(page, chartIds);
  await t.shot(page, `run-${name}`);
  await expectAccessible(page, `${name} run`);
}

/** The HTML report a link on the page points to: downloaded, and checked to be a whole page. */
export async function expectReport(t: TaskBrowser): Promise<string> {
  const href = await t.page.getByTestId("report-link").getAttribute("href");
  expect(href).toMatch(/^\/api\/runs\/[a-f0-9]{32}\/artifacts\/report\/report\.html$/);
  const res = await t.context.request.get(href ?? "");
  expect(res.status()).toBe(200);
  const html = await res.text();
  expect(html).toMatch(/<html/i);
  return html;
}
