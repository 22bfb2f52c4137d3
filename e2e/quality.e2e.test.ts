import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * A dataset's profile charts and quality rules in a real browser: the correlation heatmap, missing
 * values and labelled histograms; rules accepted from suggestions and added in the form; a new version
 * checked on arrival, its blocking failure shown with examples and refusing a training request.
 */
let t: TaskBrowser;

function salesCsv(rows: number, priceOf: (i: number) => number): string {
  const lines = ["order_id,price,qty,region,note"];
  for (let i = 1; i <= rows; i++) {
    const note = i % 3 === 0 ? "" : `n${i}`;
    const region = i % 7 === 0 ? "" : i % 2 ? "north" : "south";
    lines.push(`${i},${priceOf(i)},${(i % 5) + 1},${region},${note}`);
  }
  return `${lines.join("\n")}\n`;
}

async function upload(csv: string): Promise<number> {
  const res = await t.context.request.post("/api/datasets", {
    multipart: { file: { name: "sales.csv", mimeType: "text/csv", buffer: Buffer.from(csv) }, name: "sales" },
  });
  expect(res.status()).toBe(201);
  return ((await res.json()) as { version: { version: number } }).version.version;
}

beforeAll(async () => {
  t = await openTaskBrowser("quality");
  await upload(salesCsv(40, (i) => i * 10));
}, 600_000);

afterAll(async () => {
  await t?.close();
});

describe("profile charts and quality rules in a real browser", () => {
  it("shows the profile's correlation heatmap, missing values and labelled histograms", async () => {
    const { page } = t;
    await page.goto("/data/sales?tab=profile");
    const corr = page.getByTestId("profile-correlations");
    await corr.getByRole("table").waitFor();
    // price and order_id rise together: r = 1 in the cell where their row and column meet
    const priceRow = corr.getByRole("row", { name: /^price/ });
    expect(await priceRow.getByRole("cell").nth(0).getAttribute("title")).toMatch(/column price, column order_id: 1$/);
    const missing = page.getByTestId("profile-missing");
    await missing.getByRole("img", { name: /Missing values per column/ }).waitFor();
    const patterns = missing.getByTestId("missing-patterns");
    expect(await patterns.getByRole("columnheader").allTextContents()).toEqual(["region", "note", "Rows", "Share"]);
    await page.getByRole("img", { name: "Histogram of price" }).waitFor();
    await page.getByRole("list", { name: "Most frequent values of region" }).waitFor();
    expect(t.pageErrors).toEqual([]);
    await t.shot(page, "profile");
    await expectAccessible(page, "profile charts");
  });

  it("accepts a suggested rule and adds a blocking range rule from the form", async () => {
    const { page } = t;
    await page.getByRole("tab", { name: "Quality" }).click();
    await page.getByText("No quality rules yet").waitFor();
    await page.getByTestId("quality-no-report").waitFor();
    await page.getByRole("button", { name: "Accept rule order_id not null" }).click();
    const rules = page.getByTestId("quality-rules");
    await rules.getByRole("row", { name: /order_id not null/ }).waitFor();

    const form = page.getByRole("form", { name: "Add a quality rule" });
    await form.getByLabel("Rule type").selectOption("range");
    await form.getByLabel("Column").selectOption("price");
    // Neither bound: the form says what to fix and sends nothing.
    await form.getByRole("button", { name: "Add rule" }).click();
    await form.getByRole("alert").waitFor();
    expect(await form.getByRole("alert").textContent()).toMatch(/a range needs min, max or both/);
    await form.getByLabel("Min", { exact: true }).fill("0");
    await form.getByLabel("Max", { exact: true }).fill("1000");
    await form.getByLabel("Blocking (stops training)").check();
    await form.getByRole("button", { name: "Add rule" }).click();
    const range = rules.getByRole("row", { name: /price in range 0\.\.1000/ });
    await range.waitFor();
    expect(await range.getByText("blocking").count()).toBe(1);

    // Edit: the form shows the rule; saving replaces it.
    await rules.getByRole("button", { name: "Edit rule order_id not null" }).click();
    const edit = page.getByRole("form", { name: "Edit rule order_id not null" });
    expect(await edit.getByLabel("Rule type").inputValue()).toBe("not_null");
    await edit.getByLabel("Name (optional)").fill("order ids present");
    await edit.getByRole("button", { name: "Save rule" }).click();
    await rules.getByRole("row", { name: /order ids present/ }).waitFor();
    expect(await rules.getByRole("row").count()).toBe(3);
    await expectAccessible(page, "quality tab");
  });

  it("checks a new version on arrival: the blocking failure, its examples, and a refused training request", async () => {
    const { page } = t;
    const v = await upload(salesCsv(40, (i) => (i === 5 || i === 9 ? 5000 : i * 10)));
    await page.goto(`/data/sales?tab=quality&v=${v}`);
    const report = page.getByTestId("quality-report");
    await report.waitFor();
    await report.getByText("blocked").waitFor();
    expect(await report.textContent()).toMatch(/when the version was stored/);
    const failed = report.locator('[data-testid="quality-result"][data-passed="false"]');
    expect(await failed.count()).toBe(1);
    expect(await failed.textContent()).toMatch(/price in range 0\.\.1000.*2 rows out of range/);
    const examples = failed.getByRole("list", { name: "Examples failing price in range 0..1000" });
    expect(await examples.getByRole("listitem").count()).toBe(2);
    await t.shot(page, "quality-blocked");

    const train = await t.context.request.post("/api/jobs/train", {
      data: { dataset: "sales", version: v, task: "regression", target: "qty" },
    });
    expect(train.status()).toBe(422);
    const { error } = (await train.json()) as { error: { message: string } };
    expect(error.message).toBe(
      `quality rule 'price in range 0..1000' failed on sales v${v}: 2 rows out of range; fix the data or make the rule a warning`,
    );

    // Make it a warning, run again: the version is no longer blocked.
    await page
      .getByTestId("quality-rules")
      .getByRole("row", { name: /price in range/ })
      .getByRole("button", { name: "Make warning" })
      .click();
    await page.getByText("The rules changed since this report").waitFor();
    await page.getByRole("button", { name: "Run checks now" }).click();
    await report.getByText("warnings", { exact: true }).waitFor();
    expect(await report.textContent()).toMatch(/on request/);
    expect(t.pageErrors).toEqual([]);
    await expectAccessible(page, "quality report");
  });
});
