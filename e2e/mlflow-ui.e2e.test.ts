import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * MLflow's own UI behind caretflow's /mlflow proxy, under the proxy's Content-Security-Policy and
 * read-only rules: it must still render a run, without a CSP violation or a refused request.
 */
let t: TaskBrowser;

beforeAll(async () => {
  t = await openTaskBrowser("mlflow-ui");
});

afterAll(async () => {
  await t?.close();
});

describe("MLflow's UI through caretflow's proxy", () => {
  it("renders a run's page with its metrics under the proxy's CSP, and nothing it asks for is refused", async () => {
    // The site admin may write through the proxy (inside caretflow's artifact store): make a run to look at.
    const api = (path: string, data: unknown) => t.context.request.post(`/mlflow/ajax-api/2.0/mlflow/${path}`, { data });
    const exp = await api("experiments/create", { name: "proxy-ui" });
    expect(exp.status(), await exp.text()).toBe(200);
    const expId = ((await exp.json()) as { experiment_id: string }).experiment_id;
    const run = await api("runs/create", { experiment_id: expId, run_name: "looked-at-through-caretflow", start_time: Date.now() });
    const runId = ((await run.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
    const logged = await api("runs/log-batch", {
      run_id: runId,
      metrics: [{ key: "Accuracy", value: 0.875, timestamp: Date.now(), step: 0 }],
      params: [{ key: "folds", value: "3" }],
    });
    expect(logged.status()).toBe(200);

    const violations: string[] = [];
    const refused: string[] = [];
    const posts: string[] = [];
    t.page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    t.page.on("response", (r) => {
      const path = new URL(r.url()).pathname;
      if (!path.startsWith("/mlflow")) return;
      if ([400, 403].includes(r.status())) refused.push(`${r.status()} ${r.request().method()} ${path}`);
      if (r.request().method() === "POST") posts.push(`${r.status()} ${path}`);
    });
    const res = await t.page.goto(`/mlflow/#/experiments/${expId}/runs/${runId}`);
    expect(res?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    await t.page.getByText("looked-at-through-caretflow").first().waitFor({ timeout: 90_000 });
    await t.page.getByText("Accuracy").first().waitFor({ timeout: 30_000 });
    // The page's searches went through as reads (the UI sends them as POST); the running run keeps polling.
    await expect
      .poll(() => posts.some((p) => /^200 .*\/(runs|experiments|logged-models)\/search$/.test(p)), { timeout: 30_000 })
      .toBe(true);
    await t.page.waitForTimeout(2000);
    await t.shot(t.page, "mlflow-run");
    expect(violations).toEqual([]);
    expect(refused).toEqual([]);
    expect(t.pageErrors).toEqual([]);
  });
});
