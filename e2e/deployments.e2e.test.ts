import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser, trainViaApi } from "./harness.ts";

/**
 * The Deployments pages: a deployment created from the form on a model's production alias with a drift
 * schedule, tried from its page (an answer naming the version, and a bad value refused with the field
 * named), its traffic changed to an A/B split (a weight the API refuses shown under its field, then one it
 * takes), its drift schedule changed, the list, a second deployment of the same name refused, and a delete.
 */
let t: TaskBrowser;
const MODEL = "juice-served";
const NAME = "juice-api";

beforeAll(async () => {
  t = await openTaskBrowser("deployments");
  const req = t.context.request;
  const trained = await trainViaApi(t, { dataset: "juice", task: "classification", target: "Purchase", include: ["lr"], folds: 2 });
  // Two versions of the model (the same run registered twice), production on version 1.
  for (let i = 0; i < 2; i++) {
    const reg = await req.post("/api/models", { data: { runId: trained.result.best_run_id, name: MODEL } });
    expect(reg.status(), await reg.text()).toBe(201);
  }
  const alias = await req.post(`/api/models/${MODEL}/aliases`, { data: { alias: "production", version: 1 } });
  expect(alias.status(), await alias.text()).toBeLessThan(300);
});

afterAll(async () => {
  await t?.close();
});

const api = () => t.context.request;

describe("deployments in the browser", () => {
  it("creates a deployment on the production alias with a drift schedule, and opens it once it serves", async () => {
    const { page } = t;
    await page.goto("/deployments");
    await expect.poll(() => page.getByText("No deployments yet").count(), { timeout: 15_000 }).toBe(1);
    const form = page.getByRole("form", { name: "New deployment" });
    // Nothing chosen: the form names what is missing and sends nothing.
    await form.getByRole("button", { name: "Create deployment" }).click();
    expect(await form.getByText("Choose a registered model.").count()).toBe(1);
    expect(await form.getByText("Choose the alias or version to serve.").count()).toBe(1);

    await form.getByLabel("Name").fill(NAME);
    await form.getByLabel("Model").selectOption(MODEL);
    const serve = form.getByLabel("Serve");
    expect(await serve.locator("option").allTextContents()).toEqual([
      "choose…",
      "@production (now version 1)",
      "version 2 · Logistic Regression",
      "version 1 · Logistic Regression",
    ]);
    await serve.selectOption("@production");
    await form.getByLabel("Drift check").selectOption({ label: "every day" });
    await expectAccessible(page, "deployments page with the create form filled");
    await form.getByRole("button", { name: "Create deployment" }).click();
    await page.waitForURL(new RegExp(`/deployments/${NAME}$`), { timeout: 300_000 });
    await expect.poll(() => page.getByTestId("deployment-state").getAttribute("data-state"), { timeout: 120_000 }).toBe("healthy");
    expect(await page.getByTestId("deployment-policy").textContent()).toBe("single version");
    expect(await page.getByTestId("deployment-drift-every").textContent()).toBe("every day");
    const serving = page.getByTestId("serving-table");
    expect(await serving.locator("tbody tr").count()).toBe(1);
    expect(await serving.locator("tbody tr td").nth(0).textContent()).toBe("v1");
    expect(await serving.locator("tbody tr td").nth(2).textContent()).toBe("100%");

    // What the API stored is what the form said.
    const stored = (await (await api().get(`/api/deployments/${NAME}`)).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({ model: MODEL, target: { alias: "production" }, policy: { kind: "single" }, driftEvery: "1d" });
    await t.shot(page, "deployment-created");
    expect(t.pageErrors).toEqual([]);
  });

  it("answers from the Try it tab, and refuses a bad value naming the field", async () => {
    const { page } = t;
    await page.getByRole("tab", { name: "Try it" }).click();
    const rows = page.getByLabel("Rows to send, as JSON");
    await expect.poll(() => rows.inputValue(), { timeout: 30_000 }).toContain("PriceCH");
    const example = JSON.parse(await rows.inputValue()) as Record<string, unknown>[];
    expect(example).toHaveLength(1);
    expect(Object.keys(example[0] ?? {})).not.toContain("Purchase");

    await page.getByRole("button", { name: "Send" }).click();
    const answer = page.getByTestId("try-answer");
    await expect.poll(() => answer.count(), { timeout: 60_000 }).toBe(1);
    expect(await answer.textContent()).toContain(`Answered by version 1 of ${MODEL}`);
    const id = await page.getByTestId("prediction-id").textContent();
    expect(id).toMatch(/\S{8,}/);
    expect(await page.getByTestId("try-result").locator("tbody tr").count()).toBe(1);
    expect(await page.getByTestId("try-result").textContent()).toMatch(/CH|MM/);

    await rows.fill(JSON.stringify([{ ...example[0], PriceCH: "cheap" }], null, 2));
    await page.getByRole("button", { name: "Send" }).click();
    const refused = page.getByRole("alert").filter({ hasText: "The deployment did not answer" });
    await expect.poll(() => refused.count(), { timeout: 30_000 }).toBe(1);
    expect(await refused.textContent()).toContain(`the feature 'PriceCH' must be a number, not "cheap"`);
    expect(await refused.textContent()).toContain("Send a");
    expect(await answer.count()).toBe(0);

    await rows.fill("[{ not json");
    await page.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => refused.textContent()).not.toContain("PriceCH");
    await t.shot(page, "deployment-try-it");
    await expectAccessible(page, "deployment try-it tab with an error");
    expect(t.pageErrors).toEqual([]);
  });

  it("changes the traffic to an A/B split, showing the API's refusal under the field, and changes the drift schedule", async () => {
    const { page } = t;
    await page.getByRole("tab", { name: "Traffic" }).click();
    const form = page.getByRole("form", { name: "Traffic policy" });
    await form.getByRole("radiogroup", { name: "Traffic policy" }).getByText("A/B split").click();
    await form.getByLabel("Split 1 version").selectOption("/2");
    await form.getByLabel("Split 1 weight (%)").fill("150");
    await form.getByRole("button", { name: "Apply" }).click();
    const weight = form.getByLabel("Split 1 weight (%)");
    await expect.poll(() => weight.getAttribute("aria-invalid"), { timeout: 15_000 }).toBe("true");
    const message = await form.locator(`#${await weight.getAttribute("aria-describedby")}`).textContent();
    expect(message).toMatch(/100/);
    expect(await page.getByTestId("deployment-policy").textContent()).toBe("single version");

    await weight.fill("30");
    await form.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.getByTestId("deployment-policy").textContent(), { timeout: 120_000 }).toBe(`A/B: ${MODEL}/2 30%`);
    await expect.poll(() => page.getByTestId("deployment-state").getAttribute("data-state"), { timeout: 120_000 }).toBe("healthy");
    const serving = page.getByTestId("serving-table").locator("tbody tr");
    const lines = await serving.evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].slice(0, 3).map((td) => td.textContent)),
    );
    expect(lines.sort()).toEqual([
      ["v1", "target", "70%"],
      ["v2", "split", "30%"],
    ]);
    // The form shows what is stored.
    expect(await form.getByLabel("Split 1 weight (%)").inputValue()).toBe("30");

    // Both versions answer: over 60 requests each is seen.
    const versions = new Set<number>();
    for (let i = 0; i < 60 && versions.size < 2; i++) {
      const res = await api().post(`/api/deployments/${NAME}/predict`, { data: { rows: [{ ...(await exampleRow()) }] } });
      expect(res.status(), await res.text()).toBe(200);
      versions.add(((await res.json()) as { version: number }).version);
    }
    expect([...versions].sort()).toEqual([1, 2]);

    const schedule = page.getByRole("form", { name: "Drift schedule" });
    await schedule.getByLabel("Check for drift").selectOption({ label: "only on demand" });
    await schedule.getByRole("button", { name: "Save schedule" }).click();
    await expect.poll(() => page.getByTestId("deployment-drift-every").textContent(), { timeout: 15_000 }).toBe("only on demand");
    expect(((await (await api().get(`/api/deployments/${NAME}`)).json()) as { driftEvery: unknown }).driftEvery).toBeNull();
    // The policy stayed as it was.
    expect(await page.getByTestId("deployment-policy").textContent()).toBe(`A/B: ${MODEL}/2 30%`);
    await t.shot(page, "deployment-ab");
    await expectAccessible(page, "deployment traffic tab with an A/B split");
    expect(t.pageErrors).toEqual([]);
  });

  it("lists the deployment, refuses a second of the same name, and deletes it", async () => {
    const { page } = t;
    await page.goto("/deployments");
    const table = page.getByTestId("deployments-table");
    const row = table.locator("tbody tr", { hasText: NAME });
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    expect(await row.textContent()).toContain(`${MODEL}@production`);
    expect(await row.textContent()).toContain(`A/B: ${MODEL}/2 30%`);
    expect(await row.textContent()).toContain("only on demand");
    expect(
      await row
        .getByRole("list", { name: `Versions ${NAME} serves` })
        .locator("li")
        .count(),
    ).toBe(2);

    const form = page.getByRole("form", { name: "New deployment" });
    await form.getByLabel("Name").fill(NAME);
    await form.getByLabel("Model").selectOption(MODEL);
    await form.getByLabel("Serve").selectOption("/2");
    await form.getByRole("button", { name: "Create deployment" }).click();
    const refused = form.getByRole("alert");
    await expect.poll(() => refused.textContent(), { timeout: 30_000 }).toContain("The deployment was not created");
    expect(await refused.textContent()).toContain(NAME);
    expect(page.url()).toMatch(/\/deployments$/);

    await row.getByRole("link", { name: NAME }).click();
    await page.waitForURL(new RegExp(`/deployments/${NAME}$`));
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(/\/deployments$/, { timeout: 60_000 });
    await expect.poll(() => page.getByText("No deployments yet").count(), { timeout: 15_000 }).toBe(1);
    const gone = await api().post(`/api/deployments/${NAME}/predict`, { data: { rows: [await exampleRow()] } });
    expect(gone.status()).toBe(404);
    expect(t.pageErrors).toEqual([]);
  });
});

let cachedRow: Record<string, unknown> | null = null;
/** A juice row without its target, from the dataset's preview. */
async function exampleRow(): Promise<Record<string, unknown>> {
  if (cachedRow) return cachedRow;
  const preview = (await (await api().get("/api/datasets/juice/versions/1/preview?limit=1")).json()) as {
    columns: { name: string }[];
    rows: unknown[][];
  };
  cachedRow = Object.fromEntries(preview.columns.flatMap((c, i) => (c.name === "Purchase" ? [] : [[c.name, preview.rows[0]?.[i]]])));
  return cachedRow;
}
