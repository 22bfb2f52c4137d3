import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectReport, openTaskBrowser, type TaskBrowser, trainInForm, upload, waitForEvaluation } from "../harness.ts";

// The text branch's tasks (topics, association rules) through the same pages as tasks.e2e.test.ts.
// Waiting for that branch: see README.md beside this file.

describe("text tasks in a real browser", () => {
  let t: TaskBrowser;

  beforeAll(async () => {
    t = await openTaskBrowser("text");
  });

  afterAll(async () => {
    await t?.close();
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
