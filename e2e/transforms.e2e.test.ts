import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * The SQL transform editor in a real browser: from the Data page, insert a dataset's name from the
 * list beside the editor, see DuckDB's error at the line it names, preview the first rows, save the
 * query as a new dataset (with its input recorded) and run it again with nothing new stored.
 */
let t: TaskBrowser;

beforeAll(async () => {
  t = await openTaskBrowser("transforms");
}, 300_000);

afterAll(async () => {
  await t?.close();
});

describe("SQL transforms in a real browser", () => {
  it("writes a query, shows an error at its line, previews, saves as a dataset and re-runs", async () => {
    const { page } = t;
    await page.getByRole("link", { name: "New SQL transform" }).click();
    await page.waitForURL(/\/transforms$/);
    const editor = page.getByTestId("sql-input");

    // A dataset's name from the list is inserted at the caret.
    await editor.fill("SELECT * FROM ");
    await page.getByTestId("transform-datasets").getByRole("button", { name: "iris", exact: true }).click();
    expect(await editor.inputValue()).toBe("SELECT * FROM iris");
    await page.getByRole("button", { name: "Show the columns of iris" }).click();
    await page.getByTestId("transform-datasets").getByRole("button", { name: "petal_length" }).waitFor();

    // DuckDB's error, at the line it names.
    await editor.fill("SELECT species,\n  count(*) AS n,\n  avg(petal_lenght) AS petal\nFROM iris\nGROUP BY species");
    await page.getByTestId("transform-preview").click();
    const failure = page.getByTestId("transform-error");
    await failure.getByText("The query failed at line 3").waitFor();
    expect(await failure.textContent()).toContain('Referenced column "petal_lenght" not found');
    expect(await failure.textContent()).not.toMatch(/\.parquet|\/tmp\//);
    expect(await page.locator(".sql-gutter-error").getAttribute("data-line")).toBe("3");
    await t.shot(page, "transform-error");

    // Fixed: the first rows and the output schema; nothing stored yet.
    await editor.fill(
      "SELECT species,\n  count(*) AS n,\n  round(avg(petal_length), 2) AS petal\nFROM iris\nGROUP BY species\nORDER BY species",
    );
    await page.getByTestId("transform-preview").click();
    const table = page.getByTestId("transform-preview-table");
    await table.waitFor();
    expect(await page.locator(".sql-gutter-error").count()).toBe(0);
    expect(await table.locator("tbody tr").count()).toBe(3);
    expect(await table.locator("tbody tr").first().textContent()).toMatch(/Iris-setosa\s*50\s*1\.46/);
    await page.getByText("Reads iris v1.").waitFor();
    const listed = async () => ((await (await t.context.request.get("/api/datasets")).json()) as { datasets: { name: string }[] }).datasets;
    expect((await listed()).map((d) => d.name)).not.toContain("iris-summary");
    await expectAccessible(page, "transform page with a preview");
    await t.shot(page, "transform-preview");

    // Save as a dataset: a new version that records what it read.
    await page.getByLabel("Dataset to save as").fill("iris-summary");
    await page.getByTestId("transform-save").click();
    const saved = page.getByTestId("transform-saved");
    await saved.getByText(/Saved iris-summary version 1 \(3 rows\) from iris v1/).waitFor();
    const detail = (await (await t.context.request.get("/api/datasets/iris-summary")).json()) as {
      versions: { source: { kind: string; inputs: unknown } }[];
    };
    expect(detail.versions[0]?.source).toMatchObject({ kind: "transform", inputs: [{ dataset: "iris", version: 1 }] });

    // Saved: run again over the latest inputs, which have not changed.
    const savedList = page.getByTestId("saved-transforms");
    await savedList.getByText("iris-summary").waitFor();
    await savedList.getByRole("button", { name: "Run again" }).click();
    await saved.getByText(/Unchanged: the result equals iris-summary version 1/).waitFor();
    await t.shot(page, "transform-saved");

    // The new dataset opens from the notice.
    await saved.getByRole("link", { name: "iris-summary" }).first().click();
    await page.waitForURL(/\/data\/iris-summary$/);
    await page.getByText("SQL over iris v1").first().waitFor();
    expect(t.pageErrors).toEqual([]);
  });
});
