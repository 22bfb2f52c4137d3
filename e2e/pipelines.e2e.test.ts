// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pipeline references are written ${{ ... }}
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { validatePipeline } from "@caretflow/contracts";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, repo, type TaskBrowser } from "./harness.ts";

/**
 * The pipeline builder and run view in a real browser: build a three-step pipeline on the canvas (a SQL
 * transform of the demo iris dataset, a quality check of its output, a summary transform), see an error on
 * the node at fault until the step runs after the one it references, save, run, watch each step turn
 * green, read a step's outputs and log, and check that the YAML is the pipeline that was built.
 */
let t: TaskBrowser;

beforeAll(async () => {
  t = await openTaskBrowser("pipelines");
}, 300_000);

afterAll(async () => {
  await t?.close();
});

const node = (id: string): Locator => t.page.locator(`[data-testid="pipeline-node"][data-step="${id}"]`);
const field = (name: string): Locator => t.page.getByTestId("step-form").locator(`[name="${name}"]`);
/** The values an input offers (its datalist), once they have loaded. */
async function offered(input: Locator, value: string): Promise<void> {
  const list = await input.getAttribute("list");
  await t.page.locator(`datalist[id="${list}"] option[value="${value}"]`).waitFor({ state: "attached" });
}

describe("pipelines in a real browser", () => {
  it("builds a pipeline on the canvas, saves it, runs it and shows each step's state and the YAML", async () => {
    const { page } = t;
    await page.getByRole("link", { name: "Pipelines", exact: true }).click();
    await page.waitForURL(/\/pipelines$/);
    await page.getByText("No pipelines yet").waitFor();
    await page.getByTestId("new-pipeline").first().click();
    await page.waitForURL(/\/pipelines\/_new$/);
    const settings = page.getByTestId("pipeline-settings");
    await settings.locator('[name="name"]').fill("iris-nightly");
    // A trigger: run after another pipeline finishes, whatever its end.
    await settings.getByRole("button", { name: "Add a trigger" }).click();
    await settings.locator('[name="triggers.0.kind"]').selectOption("pipeline_finished");
    await settings.locator('[name="triggers.0.pipeline"]').fill("iris-import");
    await settings.locator('[name="triggers.0.status"]').selectOption("any");

    // 1. A transform, dragged from the palette onto the canvas: its form opens with its errors.
    await page.getByTestId("palette-transform").dragTo(page.getByTestId("pipeline-canvas"), { targetPosition: { x: 200, y: 200 } });
    await node("transform").waitFor();
    expect(Number(await node("transform").getAttribute("data-errors"))).toBeGreaterThan(0);
    expect(await page.getByTestId("pipeline-save").isDisabled()).toBe(true);
    await field("with.sql").fill("SELECT * FROM iris WHERE sepal_length > 5");
    await field("with.output").fill("iris_large");
    await expect.poll(() => node("transform").getAttribute("data-errors")).toBe("0");

    // 2. A quality check of the transform's output, added by a click: it may only use the outputs of a
    // step it runs after, so the error shows on its node until it does.
    await page.getByTestId("palette-quality_check").click();
    await node("quality_check").waitFor();
    // the project's datasets and the references the step may use are offered; any value may be typed
    await offered(field("with.dataset"), "iris");
    await field("with.dataset").fill("${{ steps.transform.outputs.dataset }}");
    await field("with.version").fill("${{ steps.transform.outputs.version }}");
    await expect.poll(() => node("quality_check").textContent()).toMatch(/does not run after it; add 'transform' to its needs/);
    expect(await page.getByTestId("step-form").textContent()).toContain("add 'transform' to its needs");
    expect(await page.getByTestId("pipeline-save").isDisabled()).toBe(true);
    await page.getByTestId("step-form").getByRole("checkbox", { name: "transform" }).check();
    await expect.poll(() => node("quality_check").getAttribute("data-errors")).toBe("0");

    // 3. A summary of the checked data, after the check.
    await page.getByTestId("palette-transform").click();
    await node("transform_2").waitFor();
    await field("with.sql").fill("SELECT species, count(*) AS n\nFROM iris_large\nGROUP BY species\nORDER BY species");
    await field("with.output").fill("iris_large_counts");
    await page.getByTestId("step-form").getByRole("checkbox", { name: "quality_check" }).check();
    await expect.poll(() => page.getByTestId("pipeline-validity").getAttribute("data-valid")).toBe("true");
    expect(await page.locator(".react-flow__edge").count()).toBe(2);
    await t.shot(page, "builder");
    await expectAccessible(page, "pipeline builder");

    // Save: the stored pipeline opens at its own address, revision 1.
    await page.getByTestId("pipeline-save").click();
    await page.waitForURL(/\/pipelines\/iris-nightly$/);
    await page.getByText("revision 1").waitFor();
    const stored = (await (await t.context.request.get("/api/pipelines/iris-nightly")).json()) as { yaml: string; revision: number };
    const built = validatePipeline(stored.yaml);
    if (!built.ok) throw new Error(`the saved file is not valid: ${JSON.stringify(built.errors)}`);
    expect(built.order).toEqual([["transform"], ["quality_check"], ["transform_2"]]);
    expect(built.spec.triggers).toEqual([{ pipeline_finished: { pipeline: "iris-import", status: "any" } }]);
    expect(built.spec.steps[1]).toMatchObject({
      id: "quality_check",
      type: "quality_check",
      needs: ["transform"],
      with: { dataset: "${{ steps.transform.outputs.dataset }}", version: "${{ steps.transform.outputs.version }}" },
    });

    // Run: the run view shows the same graph; every step turns green.
    await page.getByTestId("pipeline-run").click();
    await page.getByTestId("run-start").click();
    await page.waitForURL(/\/pipeline-runs\/[^/]+$/);
    for (const id of ["transform", "quality_check", "transform_2"]) await node(id).waitFor();
    await page.locator('[data-testid="run-status"][data-status="succeeded"]').waitFor({ timeout: 120_000 });
    for (const id of ["transform", "quality_check", "transform_2"])
      await expect.poll(() => node(id).getAttribute("data-status")).toBe("succeeded");
    expect(await page.locator(".react-flow__edge").count()).toBe(2);
    await t.shot(page, "run-succeeded");

    // A step's outputs and log.
    await node("transform_2").click();
    const details = page.getByTestId("step-details");
    await details.getByTestId("step-outputs").waitFor();
    expect(await details.getByTestId("step-outputs").textContent()).toContain('"dataset": "iris_large_counts"');
    await expect
      .poll(() => details.getByTestId("step-log").textContent())
      .toMatch(/stored iris_large_counts v1 \(3 rows; read iris_large v1\)/);
    await expectAccessible(page, "pipeline run");

    // The YAML: the file that was built.
    await page.getByRole("tab", { name: "YAML" }).click();
    const yaml = await page.getByTestId("pipeline-yaml").inputValue();
    expect(yaml).toBe(stored.yaml);
    expect(yaml).toContain("name: iris-nightly");
    expect(yaml).toContain("needs: [quality_check]");
    await page.getByText("Revision 1, the one this run followed.").waitFor();
    await t.shot(page, "run-yaml");

    // The data the run made.
    const counts = (await (await t.context.request.get("/api/datasets/iris_large_counts")).json()) as { rowCount: number };
    expect(counts.rowCount).toBe(3);

    // The lists: the pipeline with its last run, the run under its filters.
    await page.getByRole("link", { name: "Pipelines", exact: true }).first().click();
    await page.waitForURL(/\/pipelines$/);
    const row = page.getByTestId("pipelines-table").locator("tbody tr", { hasText: "iris-nightly" });
    expect(await row.getByTestId("last-run").textContent()).toContain("succeeded");
    await page.goto("/pipeline-runs?pipeline=iris-nightly&status=succeeded");
    const runRows = page.getByTestId("pipeline-runs-table").locator("tbody tr");
    await runRows.first().waitFor();
    expect(await runRows.count()).toBe(1);
    expect(await runRows.first().textContent()).toMatch(/iris-nightly.*succeeded.*3 succeeded.*manual/);
    await page.goto("/pipeline-runs?pipeline=iris-nightly&status=failed");
    await page.getByText("No run matches these filters.").waitFor();
    expect(t.pageErrors).toEqual([]);
  });

  it("opens a pipeline called `new` as itself, not as an empty builder", async () => {
    const { page } = t;
    const yaml = `version: 1\nname: new\nsteps:\n  - { id: hello, type: custom, with: { language: python, code: "print(1)" } }\n`;
    const applied = await t.context.request.put("/api/pipelines", { data: { yaml } });
    expect(applied.status(), await applied.text()).toBe(200);
    await page.goto("/pipelines");
    await page.getByRole("link", { name: "new", exact: true }).click();
    await page.waitForURL(/\/pipelines\/new$/);
    await node("hello").waitFor();
    expect(await page.getByTestId("pipeline-save").isDisabled()).toBe(true);
    expect((await t.context.request.delete("/api/pipelines/new")).status()).toBe(200);
  });

  it("opens a hand-written file in the builder as it is, and shows an error made in its YAML on the node at fault", async () => {
    const { page } = t;
    const text = await readFile(join(repo, "examples", "pipelines", "nightly-retrain.yaml"), "utf8");
    const applied = await t.context.request.put("/api/pipelines", { data: { yaml: text } });
    expect(applied.status(), await applied.text()).toBe(200);

    await page.goto("/pipelines/nightly-retrain");
    for (const id of ["import", "check", "train", "evaluate", "register", "promote"]) await node(id).waitFor();
    expect(await page.locator(".react-flow__edge").count()).toBe(5);
    expect(await page.getByTestId("pipeline-validity").getAttribute("data-valid")).toBe("true");
    // Opening and reading a file is not a change: nothing to save.
    expect(await page.getByText("unsaved changes").count()).toBe(0);
    expect(await page.getByTestId("pipeline-save").isDisabled()).toBe(true);
    await expect.poll(() => page.getByTestId("pipeline-settings").locator('[name="schedule.cron"]').inputValue()).toBe("0 2 * * *");

    // The YAML tab holds the same pipeline, in the builder's canonical form.
    await page.getByRole("tab", { name: "YAML" }).click();
    const yaml = page.getByTestId("pipeline-yaml");
    const shown = await yaml.inputValue();
    const original = validatePipeline(text);
    const again = validatePipeline(shown);
    if (!original.ok || !again.ok) throw new Error("the example and its YAML in the builder should both be valid");
    expect(again.spec).toEqual(original.spec);

    // A typo in the YAML: the canvas follows, the error is on the train node, Save waits for the fix.
    await yaml.fill(shown.replace("type: train\n", "type: tarin\n"));
    await expect.poll(() => node("train").getAttribute("data-errors")).toBe("1");
    expect(await node("train").textContent()).toContain("'tarin' is not a step type. Did you mean 'train'?");
    expect(await page.getByTestId("yaml-errors").textContent()).toContain("unknown_step_type");
    expect(await page.getByTestId("pipeline-save").isDisabled()).toBe(true);
    await t.shot(page, "yaml-error");
    await yaml.fill(shown);
    await expect.poll(() => node("train").getAttribute("data-errors")).toBe("0");
    expect(await page.getByTestId("pipeline-validity").getAttribute("data-valid")).toBe("true");

    // The train step's target offers the columns of the dataset it names.
    await node("train").click();
    await field("with.dataset").fill("iris");
    await offered(field("with.target"), "species");
    await offered(field("with.dataset"), "${{ steps.check.outputs.passed }}");
    expect(t.pageErrors).toEqual([]);
  });

  it("shows a step running live with its log, cancels the run and resumes it", async () => {
    const { page } = t;
    const yaml = [
      "version: 1",
      "name: slow-one",
      "steps:",
      "  - id: wait",
      "    type: custom",
      "    with:",
      "      language: python",
      "      code: |",
      "        import time",
      '        print("waiting for a minute", flush=True)',
      "        time.sleep(60)",
      "  - id: after",
      "    type: custom",
      "    needs: [wait]",
      "    with: { language: python, code: print('done') }",
      "",
    ].join("\n");
    const applied = await t.context.request.put("/api/pipelines", { data: { yaml, files: {} } });
    expect(applied.status(), await applied.text()).toBe(200);

    await page.goto("/pipelines/slow-one");
    await page.getByTestId("pipeline-run").click();
    await page.getByTestId("run-start").click();
    await page.waitForURL(/\/pipeline-runs\/[^/]+$/);
    const first = page.url();
    await page.locator('[data-testid="pipeline-node"][data-step="wait"][data-status="running"]').waitFor({ timeout: 60_000 });
    expect(await node("after").getAttribute("data-status")).toBe("pending");
    await node("wait").click();
    await expect.poll(() => page.getByTestId("step-log").textContent(), { timeout: 30_000 }).toContain("waiting for a minute");
    await t.shot(page, "run-running");

    await page.getByTestId("run-cancel").click();
    await page.locator('[data-testid="run-status"][data-status="cancelled"]').waitFor({ timeout: 60_000 });
    await expect.poll(() => node("wait").getAttribute("data-status")).toBe("cancelled");
    await expect.poll(() => node("after").getAttribute("data-status")).toBe("cancelled");

    // Resume: a new run of the same pipeline, which says what it resumes; cancelled again to end the test.
    await page.getByTestId("run-resume").click();
    await expect.poll(() => page.url()).not.toBe(first);
    await page.getByText(/^Resumes\s/).waitFor();
    await page.locator('[data-testid="pipeline-node"][data-step="wait"][data-status="running"]').waitFor({ timeout: 60_000 });
    await page.getByTestId("run-cancel").click();
    await page.locator('[data-testid="run-status"][data-status="cancelled"]').waitFor({ timeout: 60_000 });

    await page.goto("/pipeline-runs?pipeline=slow-one&trigger=resume");
    const rows = page.getByTestId("pipeline-runs-table").locator("tbody tr");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    expect(t.pageErrors).toEqual([]);
  });

  it("adds an alert rule that starts a pipeline when it fires, checks it, then disables and deletes it", async () => {
    const { page, context } = t;
    const yaml = "version: 1\nname: on-alert\nsteps:\n  - id: check\n    type: quality_check\n    with: { dataset: iris }\n";
    expect((await context.request.put("/api/pipelines", { data: { yaml } })).status()).toBe(200);

    await page.goto("/alerts");
    const form = page.getByRole("form", { name: "New alert rule" });
    await form.getByLabel("Name").fill("quiet-churn");
    await form.getByLabel("Deployment").fill("churn");
    await form.locator('select[name="metric"] option[value="requests"]').waitFor({ state: "attached" });
    await form.locator('select[name="metric"]').selectOption("requests");
    await form.locator('select[name="op"]').selectOption("<");
    await form.getByLabel("Threshold").fill("1");
    await form.getByLabel("Window (minutes)").fill("30");
    await form.locator('select[name="pipeline"] option[value="on-alert"]').waitFor({ state: "attached" });
    await form.locator('select[name="pipeline"]').selectOption("on-alert");
    await form.getByRole("button", { name: "Add rule" }).click();

    const row = page.getByTestId("alerts-table").locator("tbody tr", { hasText: "quiet-churn" });
    await row.waitFor();
    expect(await row.textContent()).toContain("requests < 1 over 30 min");
    expect(await row.textContent()).toContain("pipeline on-alert");

    // Nothing served churn in the last half hour: no requests, so the rule fires and starts the pipeline.
    await row.getByRole("button", { name: "Check now" }).click();
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain("firing");
    const event = page.getByTestId("alert-events-table").locator("tbody tr").first();
    await event.waitFor();
    expect(await event.textContent()).toMatch(/quiet-churn\s*fired.*pipeline run [0-9a-f]{8}/);
    await expectAccessible(page, "alerts page with a firing rule");
    await t.shot(page, "alerts");

    await page.goto("/pipeline-runs?pipeline=on-alert&trigger=alert");
    const runs = page.getByTestId("pipeline-runs-table").locator("tbody tr");
    await runs.first().waitFor();
    expect(await runs.count()).toBe(1);
    expect(await runs.first().textContent()).toContain("alert");

    await page.goto("/alerts");
    await row.getByRole("button", { name: "Disable" }).click();
    await expect.poll(() => row.textContent()).toContain("disabled");
    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await page.getByText("No alert rules yet").waitFor();
    expect(t.pageErrors).toEqual([]);
  });
});
