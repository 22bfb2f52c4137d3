import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * The dataset catalog in a real browser: searching as you type (by column name), tags added on the
 * dataset page and filtered by on the Data page, the lineage graph drawn with React Flow whose boxes
 * open their pages, and two versions compared with the changed columns highlighted.
 */
let t: TaskBrowser;

async function upload(name: string, csv: string): Promise<void> {
  const res = await t.context.request.post("/api/datasets", {
    multipart: { file: { name: `${name}.csv`, mimeType: "text/csv", buffer: Buffer.from(csv) }, name },
  });
  expect(res.status(), await res.text()).toBe(201);
}

beforeAll(async () => {
  t = await openTaskBrowser("catalog", { demo: false });
  await upload("sales", "region,amount\nnorth,10\nsouth,20\n");
  await upload("sales", "region,amount,discount\nnorth,10,0.1\nsouth,25,\nwest,5,0.2\n");
  await upload("weather", "day,temperature\n1,20.5\n2,21\n");
}, 300_000);

afterAll(async () => {
  await t?.close();
});

const listed = () =>
  t.page
    .getByTestId("datasets-table")
    .locator("tbody tr a.strong-link")
    .allTextContents()
    .then((names) => names.sort());

describe("the dataset catalog in a real browser", () => {
  it("searches as you type, by name and by column name", async () => {
    const { page } = t;
    await page.goto("/data");
    await expect.poll(listed).toEqual(["sales", "weather"]);
    const search = page.getByLabel("Search datasets");
    await search.pressSequentially("tempera", { delay: 20 });
    await expect.poll(listed).toEqual(["weather"]);
    await search.fill("discount");
    await expect.poll(listed).toEqual(["sales"]);
    await search.fill("nothing-like-this");
    await page.getByText("No dataset matches these filters.").waitFor();
    await search.fill("");
    await expect.poll(listed).toEqual(["sales", "weather"]);
    await t.shot(page, "catalog-search");
    await expectAccessible(page, "datasets catalog");
  });

  it("adds and removes tags on the dataset page, and filters the Data page by tag", async () => {
    const { page } = t;
    await page.goto("/data/sales");
    const tags = page.getByTestId("dataset-tags");
    await tags.getByLabel("Add a tag").fill("Finance");
    await tags.getByLabel("Add a tag").press("Enter");
    await tags.getByText("finance").waitFor();
    await tags.getByLabel("Add a tag").fill("bad tag!");
    await tags.getByLabel("Add a tag").press("Enter");
    await tags.getByRole("alert").waitFor();
    await tags.getByLabel("Add a tag").fill("pii");
    await tags.getByLabel("Add a tag").press("Enter");
    await tags.getByText("pii").waitFor();
    await tags.getByRole("button", { name: "Remove tag pii" }).click();
    await expect.poll(() => tags.getByText("pii").count()).toBe(0);
    await tags.getByRole("button", { name: "Add a description" }).click();
    await tags.getByLabel("Description").fill("Regional sales by quarter");
    await tags.getByRole("button", { name: "Save" }).click();
    await page.locator(".page-header").getByText("Regional sales by quarter").waitFor();
    await expectAccessible(page, "dataset page with tags");

    await page.goto("/data");
    await expect.poll(listed).toEqual(["sales", "weather"]);
    await page.getByLabel("Filter by tag").selectOption("finance");
    await expect.poll(listed).toEqual(["sales"]);
    await page.getByLabel("Filter by tag").selectOption("");
    await page.getByLabel("Filter by owner").selectOption("admin");
    await expect.poll(listed).toEqual(["sales", "weather"]);
    await page.getByLabel("Filter by source").selectOption("connection");
    await expect.poll(listed).toEqual([]);
  });

  it("draws the lineage graph; a version's box opens that version", async () => {
    const { page } = t;
    await page.goto("/data/sales?tab=lineage");
    const graph = page.getByTestId("lineage-graph");
    await expect.poll(() => graph.getByTestId("lineage-node").count(), { timeout: 30_000 }).toBe(3);
    expect(await graph.locator('[data-node-type="source"]').textContent()).toContain("sales.csv");
    await expect.poll(() => graph.locator(".react-flow__edge").count()).toBe(2);
    await t.shot(page, "lineage");
    await expectAccessible(page, "lineage graph");
    await graph.getByRole("link", { name: "sales v1" }).click();
    await page.waitForURL(/\/data\/sales\?v=1$/);
  });

  it("compares two versions with the added column and changed statistics highlighted", async () => {
    const { page } = t;
    await page.goto("/data/sales?tab=compare");
    await page.getByLabel("Compare from").selectOption("1");
    await page.getByLabel("Compare to").selectOption("2");
    const cmp = page.getByTestId("version-compare");
    await cmp.getByText("2 → 3 (+1)").waitFor({ timeout: 30_000 });
    const rows = cmp.getByTestId("compare-table").locator("tbody tr");
    await expect.poll(() => rows.count()).toBe(3);
    const discount = rows.filter({ hasText: "discount" });
    expect(await discount.getAttribute("class")).toContain("compare-added");
    const amount = rows.filter({ hasText: "amount" });
    expect(await amount.getAttribute("class")).toContain("compare-changed");
    await t.shot(page, "compare");
    await expectAccessible(page, "version compare");
    expect(t.pageErrors).toEqual([]);
  });
});
