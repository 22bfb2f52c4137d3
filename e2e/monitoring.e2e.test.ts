import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser, trainViaApi } from "./harness.ts";

/**
 * A deployment's Monitoring tab and the Alerts page: a juice classifier (lr) deployed, forty rows predicted
 * and labelled through the API, then in the browser the request counts, the live accuracy chart, a drift
 * check run from the tab with its per-feature result, an alert rule added and listed, and a webhook URL to
 * the cloud metadata address refused with the server's reason under the form.
 */
let t: TaskBrowser;
const MODEL = "juice-watched";
const DEPLOYMENT = "juice-live";
const REQUESTS = 4;
const ROWS_EACH = 10;

beforeAll(async () => {
  t = await openTaskBrowser("monitoring");
  const req = t.context.request;
  const trained = await trainViaApi(t, { dataset: "juice", task: "classification", target: "Purchase", include: ["lr"], folds: 2 });
  const reg = await req.post("/api/models", { data: { runId: trained.result.best_run_id, name: MODEL } });
  expect(reg.status(), await reg.text()).toBe(201);
  // The answer waits for the version to load in its scoring process.
  const created = await req.post("/api/deployments", {
    data: { name: DEPLOYMENT, model: MODEL, target: { version: 1 } },
    timeout: 300_000,
  });
  expect(created.status(), await created.text()).toBe(201);

  const preview = (await (await req.get(`/api/datasets/juice/versions/1/preview?limit=${REQUESTS * ROWS_EACH}`)).json()) as {
    columns: { name: string }[];
    rows: unknown[][];
  };
  const target = preview.columns.findIndex((c) => c.name === "Purchase");
  const inputs = preview.rows.map((r) => Object.fromEntries(preview.columns.flatMap((c, i) => (i === target ? [] : [[c.name, r[i]]]))));
  const labels: { predictionId: string; row: number; label: unknown }[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const rows = inputs.slice(i * ROWS_EACH, (i + 1) * ROWS_EACH);
    const answer = await req.post(`/api/deployments/${DEPLOYMENT}/predict`, { data: { rows } });
    expect(answer.status(), await answer.text()).toBe(200);
    const { predictionId } = (await answer.json()) as { predictionId: string };
    for (let row = 0; row < rows.length; row++) labels.push({ predictionId, row, label: preview.rows[i * ROWS_EACH + row]?.[target] });
  }
  const fed = await req.post(`/api/deployments/${DEPLOYMENT}/feedback`, { data: { labels } });
  expect(fed.status(), await fed.text()).toBe(200);
  expect(((await fed.json()) as { matched: number }).matched).toBe(REQUESTS * ROWS_EACH);
});

afterAll(async () => {
  await t?.close();
});

describe("deployment monitoring and alerts in the browser", () => {
  it("shows request counts and live accuracy, and runs a drift check from the tab", async () => {
    const { page } = t;
    await page.goto(`/deployments/${DEPLOYMENT}`);
    await page.getByRole("tab", { name: "Monitoring" }).click();
    const tab = page.getByTestId("deployment-monitoring");
    await expect.poll(() => tab.getByTestId("total-requests").textContent(), { timeout: 30_000 }).toBe(String(REQUESTS));
    expect(await tab.getByTestId("total-errors").textContent()).toBe("0");
    expect(await tab.getByTestId("total-labelled").textContent()).toBe(String(REQUESTS * ROWS_EACH));
    const traffic = tab.getByTestId("chart-monitoring-traffic");
    expect(await traffic.locator("figcaption").textContent()).toBe("Requests and errors per 1h");
    expect(await traffic.locator(".recharts-bar-rectangle").count()).toBeGreaterThan(0);
    await expect.poll(() => tab.getByTestId("chart-monitoring-latency").count()).toBe(1);
    const performance = tab.getByTestId("chart-monitoring-performance");
    expect(await performance.locator("figcaption").textContent()).toBe("Live accuracy and AUC per 1h");
    expect(await performance.textContent()).toContain("v1 accuracy");
    expect(await performance.locator(".chart-note").textContent()).toBe(`${REQUESTS * ROWS_EACH} labelled rows`);
    expect(await tab.getByTestId("performance-empty").count()).toBe(0);

    // A shorter window still holds the predictions (they are minutes old), in 5-minute buckets.
    await tab.getByLabel("Window").selectOption("1h");
    await expect.poll(() => traffic.locator("figcaption").textContent(), { timeout: 15_000 }).toBe("Requests and errors per 5m");
    expect(await tab.getByTestId("total-requests").textContent()).toBe(String(REQUESTS));

    expect(await tab.textContent()).toContain("No drift check yet");
    // The check covers the window chosen above (the last hour), with the PSI threshold given here.
    expect(await tab.textContent()).toContain("over the window chosen above (last hour)");
    await tab.getByLabel("Drift at PSI ≥").fill("0");
    await tab.getByRole("button", { name: "Check drift now" }).click();
    expect(await tab.getByRole("alert").textContent()).toContain("The PSI threshold must be a number above 0");
    await tab.getByLabel("Drift at PSI ≥").fill("0.25");
    await tab.getByLabel("or KS p-value <").fill("1");
    await tab.getByRole("button", { name: "Check drift now" }).click();
    expect(await tab.getByRole("alert").textContent()).toContain("The KS p-value must be between 0 and 1");
    await tab.getByLabel("or KS p-value <").fill("0.01");
    await tab.getByRole("button", { name: "Check drift now" }).click();
    const latest = tab.getByTestId("drift-latest");
    await expect
      .poll(async () => (await latest.count()) && (await latest.getAttribute("data-status")), { timeout: 180_000, interval: 1000 })
      .toMatch(/^(succeeded|failed|cancelled)$/);
    const result = await latest.textContent();
    expect(await latest.getAttribute("data-status"), result ?? "").toBe("succeeded");
    expect(result).toMatch(
      new RegExp(
        `\\(${REQUESTS * ROWS_EACH} logged rows against \\d+ training rows, largest PSI \\d\\.\\d{3}; drift at PSI ≥ 0\\.25, or KS p < 0\\.01 with a gap ≥ 0\\.1\\)`,
      ),
    );
    const runs = (await (await t.context.request.get(`/api/deployments/${DEPLOYMENT}/drift`)).json()) as {
      runs: { window: { from: string; to: string } }[];
    };
    const window = runs.runs[0]?.window;
    expect(Date.parse(window?.to ?? "") - Date.parse(window?.from ?? "")).toBe(3_600_000);
    const features = tab.getByTestId("drift-features");
    const columns = await features.locator("tbody tr td:first-child").allTextContents();
    expect(columns).toContain("PriceCH");
    // The answers are compared with the training labels too (prediction drift).
    expect(columns).toContain("prediction_label");
    expect(result).toMatch(/; the predictions (drifted|did not) \(/);
    // Drifted columns are highlighted, and only they.
    const highlighted = await features.locator("tbody tr.drift-row-drifted").count();
    expect(await features.locator("tbody tr", { hasText: /drifted$/ }).count()).toBe(highlighted);
    expect(await tab.getByTestId("chart-monitoring-drift").count()).toBe(1);
    await t.shot(page, "deployment-monitoring");
    await expectAccessible(page, "deployment monitoring tab");
    expect(t.pageErrors).toEqual([]);
  });

  it("adds an alert rule on the Alerts page, lists it, refuses a metadata-address webhook and deletes the rule", async () => {
    const { page } = t;
    await page.goto("/alerts");
    const form = page.getByRole("form", { name: "New alert rule" });
    await form.getByLabel("Name", { exact: true }).fill("juice-errors");
    await expect.poll(() => form.getByLabel("Deployment").inputValue(), { timeout: 15_000 }).toBe(DEPLOYMENT);
    await form.locator("select[name=metric]").selectOption("error_rate");
    expect(await form.getByTestId("metric-description").textContent()).toMatch(/^error_rate: .*failed \(ratio\)$/);
    await form.locator("select[name=op]").selectOption(">");
    await form.getByLabel("Threshold").fill("0.1");
    await form.getByLabel("Window (minutes)").fill("30");
    await form.getByRole("button", { name: "Add rule" }).click();
    const table = page.getByTestId("alerts-table");
    const row = table.locator("tbody tr", { hasText: "juice-errors" });
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    expect(await row.textContent()).toContain("error_rate > 0.1 over 30 min");
    expect(await row.textContent()).toContain("record only");
    // The rules table fits a 1366 px screen without scrolling sideways.
    expect(await page.locator(".table-wrap", { has: table }).evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);

    // Checked now: no request failed, so the rule is ok with a value of 0.
    await row.getByRole("button", { name: "Check now" }).click();
    await expect.poll(() => row.locator("td").nth(3).textContent(), { timeout: 15_000 }).toBe("ok");
    expect(await row.locator("td").nth(4).textContent()).toBe("0");
    await row.getByRole("button", { name: "Events of juice-errors" }).click();
    expect(await page.locator("select[name=history]").inputValue()).toBe("juice-errors");
    await expect.poll(() => page.getByText("juice-errors has not fired yet.").count()).toBe(1);

    await form.getByLabel("Name", { exact: true }).fill("juice-metadata");
    await form.getByLabel("Threshold").fill("0.5");
    await form.getByLabel(/Webhook URL/).fill("http://169.254.169.254/latest/meta-data");
    await form.getByRole("button", { name: "Add rule" }).click();
    const refused = form.getByRole("alert");
    await expect.poll(() => refused.textContent(), { timeout: 15_000 }).toContain("The rule was not added");
    expect(await refused.textContent()).toContain("it is the cloud metadata address");
    expect(await table.locator("tbody tr", { hasText: "juice-metadata" }).count()).toBe(0);
    await t.shot(page, "alerts-refused-webhook");
    await expectAccessible(page, "alerts page with a refused webhook");

    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);
    expect(t.pageErrors).toEqual([]);
  });
});
