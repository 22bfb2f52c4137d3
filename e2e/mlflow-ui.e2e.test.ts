import type { APIResponse, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * MLflow's own UI behind caretflow's /mlflow proxy, under the proxy's Content-Security-Policy and
 * read-only rules: it must still render a run, without a CSP violation or a refused request. A project
 * member sees their project's experiments there and nothing of another project's.
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

  it("shows a project member their project's experiment and run, and nothing of another project's", async () => {
    const req = t.context.request;
    const ok = async (res: APIResponse) => {
      expect(res.ok(), `${res.url()}: ${await res.text()}`).toBe(true);
      return (await res.json()) as Record<string, unknown>;
    };
    // Two projects with a dataset each, and a viewer of alpha.
    for (const name of ["alpha", "beta"]) {
      await ok(await req.post("/api/projects", { data: { name } }));
      await ok(
        await req.post("/api/datasets", {
          headers: { "x-caretflow-project": name },
          multipart: {
            file: { name: `${name}_data.csv`, mimeType: "text/csv", buffer: Buffer.from("a,b\n1,2\n3,4\n") },
            name: `${name}_data`,
          },
        }),
      );
    }
    const password = (await ok(await req.post("/api/users", { data: { username: "mia" } }))).password as string;
    await ok(await req.put("/api/projects/alpha/members/mia", { data: { role: "viewer" } }));
    // One experiment per project, as a training job leaves it: its run names the project's dataset.
    const api = (path: string, data: unknown) => req.post(`/mlflow/ajax-api/2.0/mlflow/${path}`, { data });
    const made: Record<string, { expId: string; runId: string }> = {};
    for (const name of ["alpha", "beta"]) {
      const expId = (await ok(await api("experiments/create", { name: `${name}-experiment` }))).experiment_id as string;
      const run = await ok(
        await api("runs/create", {
          experiment_id: expId,
          run_name: `${name}-run`,
          start_time: Date.now(),
          tags: [{ key: "caretflow.dataset", value: `${name}_data@v1` }],
        }),
      );
      const runId = (run as { run: { info: { run_id: string } } }).run.info.run_id;
      await ok(await api("runs/log-batch", { run_id: runId, metrics: [{ key: "Accuracy", value: 0.75, timestamp: Date.now(), step: 0 }] }));
      await ok(await api("runs/update", { run_id: runId, status: "FINISHED", end_time: Date.now() }));
      made[name] = { expId, runId };
    }

    const context = await t.browser.newContext({ baseURL: t.cf.url, viewport: { width: 1366, height: 900 } });
    try {
      const page = await context.newPage();
      const pageErrors: string[] = [];
      const refused: string[] = [];
      page.on("pageerror", (err) => pageErrors.push(err.message));
      page.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) pageErrors.push(`CSP: ${m.text()}`);
      });
      const watch = (r: Response) => {
        const url = new URL(r.url());
        if (url.pathname.startsWith("/mlflow") && r.status() >= 400) refused.push(`${r.status()} ${r.request().method()} ${url.pathname}`);
      };
      page.on("response", watch);

      await page.goto("/signin?next=%2Fmlflow%2F");
      await page.getByLabel("Username").fill("mia");
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL((u) => !u.pathname.startsWith("/signin"));
      await page.goto("/mlflow/#/experiments");
      await page.getByText("alpha-experiment").first().waitFor({ timeout: 90_000 });
      await page.waitForTimeout(2000);
      expect(await page.getByText("beta-experiment").count()).toBe(0);
      await t.shot(page, "mlflow-member-experiments");

      const alpha = made.alpha!;
      await page.goto(`/mlflow/#/experiments/${alpha.expId}/runs/${alpha.runId}`);
      await page.getByText("alpha-run").first().waitFor({ timeout: 90_000 });
      await page.getByText("Accuracy").first().waitFor({ timeout: 30_000 });
      await page.waitForTimeout(2000);
      await t.shot(page, "mlflow-member-run");
      // The run's metric charts and artifacts, and the experiment's runs table.
      await page.getByRole("tab", { name: "Model metrics" }).click();
      await page.waitForTimeout(3000);
      await page.getByRole("tab", { name: "Artifacts" }).click();
      await page.waitForTimeout(3000);
      await t.shot(page, "mlflow-member-artifacts");
      await page.goto(`/mlflow/#/experiments/${alpha.expId}/runs`);
      await page.getByText("alpha-run").first().waitFor({ timeout: 90_000 });
      await page.waitForTimeout(3000);
      await t.shot(page, "mlflow-member-runs-table");
      // Everything MLflow's pages asked for about alpha's experiment was let through; only MLflow's own
      // account, its AI assistant's settings and its AI gateway (no project's data) are refused to a member.
      expect(refused.filter((r) => !/\/mlflow\/(users\/current|assistant\/(config|providers)|gateway-proxy)$/.test(r))).toEqual([]);
      expect(pageErrors).toEqual([]);

      // beta's run, opened by its address, is refused and never shown.
      const beta = made.beta!;
      await page.goto(`/mlflow/#/experiments/${beta.expId}/runs/${beta.runId}`);
      await expect
        .poll(() => refused.some((r) => /^403 .*\/(graphql|runs\/get|experiments\/get|runs\/search)$/.test(r)), { timeout: 60_000 })
        .toBe(true);
      await page.waitForTimeout(2000);
      expect(await page.getByText("beta-run").count()).toBe(0);
      await t.shot(page, "mlflow-member-refused");
    } finally {
      await context.close();
    }
  });
});
