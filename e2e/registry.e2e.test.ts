import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * A registered model's stages on the Models page: promote to production, promote again (the history
 * says which version was replaced), a production move that needs approval shown as a request with
 * Approve (refused to its requester) and Reject, and a rollback with its reason. Then the model's and a
 * version's description and tags edited in place, two versions compared side by side, and a removed stage
 * alias in the history.
 */
let t: TaskBrowser;
const model = `churn-${Date.now().toString(36)}`;

beforeAll(async () => {
  t = await openTaskBrowser("registry");
  // A model with two versions, written through the /mlflow proxy as the site admin (a model no project
  // claimed is the default project's).
  const mlflow = async (path: string, data: unknown) => {
    const res = await t.context.request.post(`/mlflow/ajax-api/2.0/mlflow/${path}`, { data });
    expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const expId = (await mlflow("experiments/create", { name: `registry-${model}` })).experiment_id as string;
  await mlflow("registered-models/create", { name: model });
  for (let i = 1; i <= 2; i++) {
    const run = (await mlflow("runs/create", { experiment_id: expId, run_name: `lr-${i}`, start_time: Date.now() })) as {
      run: { info: { run_id: string } };
    };
    const runId = run.run.info.run_id;
    // What the compare view reads: the run's task (for the metric's direction), training data, metrics and params.
    await mlflow("runs/log-batch", {
      run_id: runId,
      metrics: [{ key: "Accuracy", value: 0.7 + i / 100, timestamp: Date.now(), step: 0 }],
      params: [
        { key: "fold", value: "5" },
        { key: "C", value: String(i) },
      ],
      tags: [
        { key: "caretflow.task", value: "classification" },
        { key: "caretflow.dataset", value: "churn@v1" },
      ],
    });
    await mlflow("model-versions/create", { name: model, source: `mlflow-artifacts:/${expId}/${runId}/artifacts/model`, run_id: runId });
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
    await expect.poll(() => stages.textContent(), { timeout: 15_000 }).toContain("production: —");

    const promote = async (version: number, stage: string, reason: string) => {
      await panel.getByLabel("Version to promote").selectOption(String(version));
      await panel.getByLabel("Stage").selectOption(stage);
      await panel.getByLabel("Reason for the promotion").fill(reason);
      await panel.getByRole("button", { name: "Promote" }).click();
    };
    await promote(1, "production", "first model");
    await expect.poll(() => panel.textContent(), { timeout: 15_000 }).toContain("v1 is now in production");
    await expect.poll(() => stages.textContent(), { timeout: 15_000 }).toContain("production: v1");
    await promote(2, "production", "better AUC");
    await expect.poll(() => stages.textContent(), { timeout: 15_000 }).toContain("production: v2");

    // Once production needs approval, the owner's own move is a request they cannot approve.
    const set = await t.context.request.put(`/api/models/${model}/settings`, { data: { productionNeedsApproval: true } });
    expect(set.status()).toBe(200);
    await promote(1, "production", "go back");
    const request = panel.getByTestId("promotion-request");
    await expect.poll(() => request.textContent(), { timeout: 15_000 }).toMatch(/v1 → production requested by admin: go back/);
    await t.shot(page, "promotion-request");
    await expectAccessible(page, "models page with a promotion request");
    await request.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => panel.textContent(), { timeout: 15_000 }).toMatch(/cannot approve it/);
    expect(await stages.textContent()).toContain("production: v2");
    await request.getByRole("button", { name: "Reject" }).click();
    await expect.poll(() => panel.getByTestId("promotion-request").count(), { timeout: 15_000 }).toBe(0);

    await panel.getByLabel("Reason for the rollback").fill("error rate up");
    await panel.getByRole("button", { name: "Rollback" }).click();
    await expect.poll(() => stages.textContent(), { timeout: 15_000 }).toContain("production: v1");

    await panel.locator("summary", { hasText: "History" }).click();
    const history = panel.getByTestId("model-history").locator("li");
    await expect.poll(() => history.count(), { timeout: 15_000 }).toBe(3);
    expect(await history.nth(0).textContent()).toMatch(/production: v1 \(replaced v2\) by admin, rollback — error rate up/);
    expect(await history.nth(1).textContent()).toMatch(/production: v2 \(replaced v1\) by admin, promotion — better AUC/);
    await t.shot(page, "model-history");
    expect(t.pageErrors).toEqual([]);
  });

  it("edits descriptions and tags, compares two versions and records a removed stage alias", async () => {
    const { page } = t;
    const card = page.locator(".model-card", { has: page.getByTestId("model-name").filter({ hasText: model }) });
    const notes = card.getByTestId("model-notes");
    await notes.getByRole("button", { name: "Add a description" }).click();
    await notes.getByLabel(`Description of ${model}`).fill("churn of prepaid users");
    await notes.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => notes.getByTestId("description").textContent(), { timeout: 15_000 }).toBe("churn of prepaid users");
    const addTag = notes.getByLabel(`Add a tag to ${model}`);
    await addTag.fill("team=risk");
    await addTag.press("Enter");
    await expect.poll(() => notes.getByTestId("tag").allTextContents(), { timeout: 15_000 }).toEqual(["team=risk"]);
    await addTag.fill("caretflow.stage=production");
    await addTag.press("Enter");
    await expect.poll(() => notes.getByRole("alert").textContent(), { timeout: 15_000 }).toMatch(/'caretflow\.stage' is set by caretflow/);

    await card.getByRole("button", { name: "Edit description and tags of v2" }).click();
    const versionNotes = card.getByTestId("version-notes");
    await versionNotes.getByLabel(`Add a tag to ${model} v2`).fill("ticket=ML-7");
    await versionNotes.getByLabel(`Add a tag to ${model} v2`).press("Enter");
    await expect.poll(() => versionNotes.getByTestId("tag").allTextContents(), { timeout: 15_000 }).toEqual(["ticket=ML-7"]);
    await t.shot(page, "model-notes");

    await card.getByLabel("Compare v1").check();
    await card.getByLabel("Compare v2").check();
    await card.getByRole("button", { name: "Compare (2)" }).click();
    await page.waitForURL(/\/models\/.+\/compare\?versions=1,2$/);
    const metrics = page.getByTestId("compare-metrics");
    await expect
      .poll(() => metrics.locator("tr", { hasText: "Accuracy" }).textContent(), { timeout: 15_000 })
      .toMatch(/0\.71\d*0\.72\d*best/);
    expect(await page.getByTestId("compare-versions").textContent()).toContain("churn@v1");
    const differing = page.getByTestId("compare-params").locator("tr[data-differs]");
    expect(await differing.allTextContents()).toEqual(["C12"]);
    await t.shot(page, "model-compare");
    await expectAccessible(page, "model version comparison");

    await page.goto("/models");
    await card.getByRole("button", { name: "Remove alias production" }).click();
    const panel = card.getByTestId("model-lifecycle");
    await expect.poll(() => panel.getByTestId("stages").textContent(), { timeout: 15_000 }).toContain("production: —");
    await panel.locator("summary", { hasText: "History" }).click();
    await expect
      .poll(() => panel.getByTestId("model-history").locator("li").first().textContent(), { timeout: 15_000 })
      .toMatch(/production: v1 removed by admin/);
    expect(t.pageErrors).toEqual([]);
  });
});
