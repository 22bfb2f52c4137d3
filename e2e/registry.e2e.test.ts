import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser, upload } from "./harness.ts";

/**
 * A registered model's stages on the Models page: promote to production, promote again (the history
 * says which version was replaced), a production move that needs approval shown as a request with
 * Approve (refused to its requester) and Reject, and a rollback with its reason.
 */
let t: TaskBrowser;
const model = `churn-${Date.now().toString(36)}`;

beforeAll(async () => {
  t = await openTaskBrowser("registry");
  // Two finished runs with a model folder, written through the /mlflow proxy as the site admin, of a
  // dataset of the default project; registered as versions 1 and 2.
  const dataset = await upload(t, "juice.csv");
  const mlflow = (path: string, data: unknown) => t.context.request.post(`/mlflow/ajax-api/2.0/mlflow/${path}`, { data });
  const exp = await mlflow("experiments/create", { name: `registry-${model}` });
  expect(exp.status(), await exp.text()).toBe(200);
  const expId = ((await exp.json()) as { experiment_id: string }).experiment_id;
  for (let i = 1; i <= 2; i++) {
    const run = await mlflow("runs/create", {
      experiment_id: expId,
      run_name: `lr-${i}`,
      start_time: Date.now(),
      tags: [
        { key: "caretflow.dataset", value: `${dataset}@v1` },
        { key: "caretflow.task", value: "classification" },
      ],
    });
    const runId = ((await run.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
    const put = await t.context.request.put(`/mlflow/ajax-api/2.0/mlflow-artifacts/artifacts/${expId}/${runId}/artifacts/model/MLmodel`, {
      data: "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n",
    });
    expect(put.status(), await put.text()).toBe(200);
    expect((await mlflow("runs/update", { run_id: runId, status: "FINISHED", end_time: Date.now() })).status()).toBe(200);
    const reg = await t.context.request.post("/api/models", { data: { runId, name: model } });
    expect(reg.status(), await reg.text()).toBe(201);
  }
});

afterAll(async () => {
  await t?.close();
});

describe("model stages on the Models page", () => {
  it("promotes, asks for approval, rejects, rolls back and shows the history", async () => {
    const { page } = t;
    await page.goto("/models");
    const card = page.locator(".model-card", { has: page.getByTestId("model-name").filter({ hasText: model }) });
    const panel = card.getByTestId("model-lifecycle");
    const stages = panel.getByTestId("stages");
    await expect.poll(() => stages.textContent()).toContain("production: —");

    const promote = async (version: number, stage: string, reason: string) => {
      await panel.getByLabel("Version to promote").selectOption(String(version));
      await panel.getByLabel("Stage").selectOption(stage);
      await panel.getByLabel("Reason for the promotion").fill(reason);
      await panel.getByRole("button", { name: "Promote" }).click();
    };
    await promote(1, "production", "first model");
    await expect.poll(() => stages.textContent()).toContain("production: v1");
    await promote(2, "production", "better AUC");
    await expect.poll(() => stages.textContent()).toContain("production: v2");

    // Once production needs approval, the owner's own move is a request they cannot approve.
    const set = await t.context.request.put(`/api/models/${model}/settings`, { data: { productionNeedsApproval: true } });
    expect(set.status()).toBe(200);
    await promote(1, "production", "go back");
    const request = panel.getByTestId("promotion-request");
    await expect.poll(() => request.textContent()).toMatch(/v1 → production requested by admin: go back/);
    await t.shot(page, "promotion-request");
    await expectAccessible(page, "models page with a promotion request");
    await request.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => panel.textContent()).toMatch(/cannot approve it/);
    expect(await stages.textContent()).toContain("production: v2");
    await request.getByRole("button", { name: "Reject" }).click();
    await expect.poll(() => panel.getByTestId("promotion-request").count()).toBe(0);

    await panel.getByLabel("Reason for the rollback").fill("error rate up");
    await panel.getByRole("button", { name: "Rollback" }).click();
    await expect.poll(() => stages.textContent()).toContain("production: v1");

    await panel.locator("summary", { hasText: "History" }).click();
    const history = panel.getByTestId("model-history").locator("li");
    await expect.poll(() => history.count()).toBe(3);
    expect(await history.nth(0).textContent()).toMatch(/production: v1 \(replaced v2\) by admin, rollback — error rate up/);
    expect(await history.nth(1).textContent()).toMatch(/production: v2 \(replaced v1\) by admin, promotion — better AUC/);
    await t.shot(page, "model-history");
    expect(t.pageErrors).toEqual([]);
  });
});
