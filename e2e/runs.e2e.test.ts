import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * The Experiments list paged, sorted and filtered by the server with the view kept in the address
 * (reload and back keep it), then two runs picked and compared: their parameters side by side, a bar
 * chart per metric and a metric plotted against a parameter.
 */
let t: TaskBrowser;
const N = 12;
interface Seeded {
  runId: string;
  name: string;
  auc: number;
  model: string;
  team: string;
  dataset: string;
  prec: number;
  f1: number;
  trees: string;
}
const seeded: Seeded[] = [];

beforeAll(async () => {
  t = await openTaskBrowser("runs");
  // Training runs as the engine tags them (a parent run with its task and best model), written through the
  // /mlflow proxy as the site admin: the list's subject is paging, sorting and filtering, not training.
  const mlflow = async (path: string, data: unknown) => {
    const res = await t.context.request.post(`/mlflow/ajax-api/2.0/mlflow/${path}`, { data });
    expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const expId = (await mlflow("experiments/create", { name: `runs-list-${Date.now().toString(36)}` })).experiment_id as string;
  const models = ["lr", "rf", "dt"];
  for (let i = 0; i < N; i++) {
    const name = `seeded-${String(i + 1).padStart(2, "0")}`;
    // AUC values distinct and out of start order, so sorting by it differs from the default order.
    const auc = Number((0.6 + ((i * 5) % N) * 0.03).toFixed(2));
    const model = models[i % 3] as string;
    const team = i % 2 === 0 ? "red" : "blue";
    const dataset = i < 4 ? "wine" : "iris";
    // Keys with a space and a dot, as MLflow allows: distinct values in yet another order.
    const prec = Number((0.5 + ((i * 7) % N) * 0.01).toFixed(2));
    const f1 = Number((0.3 + ((i * 5 + 3) % N) * 0.05).toFixed(2));
    // 5 and 10 to 80: as text, 5 would sort after 40.
    const trees = String([5, 10, 20, 40, 80][i % 5]);
    const start = Date.now() - (N - i) * 60_000;
    const run = (await mlflow("runs/create", { experiment_id: expId, run_name: name, start_time: start })) as {
      run: { info: { run_id: string } };
    };
    const runId = run.run.info.run_id;
    await mlflow("runs/log-batch", {
      run_id: runId,
      metrics: [
        { key: "AUC", value: auc, timestamp: start, step: 0 },
        { key: "Accuracy", value: Number((auc - 0.05).toFixed(2)), timestamp: start, step: 0 },
        { key: "Prec. ", value: prec, timestamp: start, step: 0 },
        { key: "F1 score", value: f1, timestamp: start, step: 0 },
      ],
      params: [
        { key: "model", value: model },
        { key: "folds", value: String(3 + (i % 4)) },
        { key: "n estimators", value: trees },
      ],
      tags: [
        { key: "caretflow.role", value: "parent" },
        { key: "caretflow.task", value: "classification" },
        { key: "caretflow.target", value: "churn" },
        { key: "caretflow.best_model", value: model },
        { key: "team", value: team },
        { key: "caretflow.dataset", value: `${dataset}@v1` },
      ],
    });
    await mlflow("runs/update", { run_id: runId, status: "FINISHED", end_time: start + 1000 });
    seeded.push({ runId, name, auc, model, team, dataset, prec, f1, trees });
  }
  // The list reads caretflow's runs index, which follows MLflow on a timer.
  const indexed = async () => ((await (await t.context.request.get("/api/runs?limit=1")).json()) as { total: number }).total;
  for (let i = 0; i < 60 && (await indexed()) < N; i++) await new Promise((r) => setTimeout(r, 500));
  expect(await indexed()).toBe(N);
});

afterAll(async () => {
  await t?.close();
});

const query = (url: string) => new URL(url).searchParams;

describe("the Experiments list and compare", () => {
  it("pages, sorts and filters on the server, keeps the view in the address, and compares two picked runs", async () => {
    const { page } = t;
    const table = page.getByTestId("runs-table");
    const range = page.getByTestId("runs-range");
    const names = () => table.locator("tbody tr td:nth-child(2)").allTextContents();
    const aucs = async () => (await table.locator('tbody td[data-metric="AUC"]').allTextContents()).map(Number);

    await page.goto("/experiments");
    await expect.poll(() => range.textContent()).toContain(`${N} runs`);
    // Newest first by default.
    expect((await names())[0]).toBe(`seeded-${N}`);

    await page.getByLabel("Runs per page").selectOption("10");
    await expect.poll(() => range.textContent()).toBe(`Page 1 of 2 · ${N} runs`);
    expect(query(page.url()).get("size")).toBe("10");
    await expect.poll(async () => (await names()).length).toBe(10);

    // Sort by a metric: best first, then reversed on the second click.
    await table.locator('button[data-sort="metrics.AUC"]').click();
    await expect.poll(() => query(page.url()).get("order")).toBe("desc");
    expect(query(page.url()).get("sort")).toBe("metrics.AUC");
    const byAuc = [...seeded].sort((a, b) => b.auc - a.auc);
    await expect.poll(aucs).toEqual(byAuc.slice(0, 10).map((s) => s.auc));
    await table.locator('button[data-sort="metrics.AUC"]').click();
    await expect.poll(() => query(page.url()).get("order")).toBe("asc");
    const ascending = [...byAuc].reverse();
    await expect.poll(aucs).toEqual(ascending.slice(0, 10).map((s) => s.auc));

    // The second page holds the rest of that order; a reload keeps page, size and order.
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => range.textContent()).toBe(`Page 2 of 2 · ${N} runs`);
    await expect.poll(aucs).toEqual(ascending.slice(10).map((s) => s.auc));
    await page.reload();
    await expect.poll(() => range.textContent()).toBe(`Page 2 of 2 · ${N} runs`);
    await expect.poll(aucs).toEqual(ascending.slice(10).map((s) => s.auc));
    expect(Object.fromEntries(query(page.url()))).toMatchObject({ page: "2", size: "10", sort: "metrics.AUC", order: "asc" });
    // Back returns to the first page of the same order.
    await page.goBack();
    await expect.poll(() => range.textContent()).toBe(`Page 1 of 2 · ${N} runs`);
    await expect.poll(aucs).toEqual(ascending.slice(0, 10).map((s) => s.auc));

    // Filters: a metric threshold, then a parameter and a tag; each one in the address, back to page 1.
    await page.getByLabel("Filter on").selectOption("metrics");
    await page.getByLabel("Filter key").fill("AUC");
    await page.getByLabel("Operator").selectOption(">=");
    await page.getByLabel("Filter value").fill("0.75");
    await page.getByRole("button", { name: "Add filter" }).click();
    const high = seeded.filter((s) => s.auc >= 0.75);
    await expect.poll(() => range.textContent()).toContain(`${high.length} runs`);
    expect(query(page.url()).getAll("f")).toEqual(["metrics.AUC >= 0.75"]);
    await expect.poll(aucs).toEqual(high.map((s) => s.auc).sort((a, b) => a - b));

    await page.getByLabel("Filter on").selectOption("params");
    await page.getByLabel("Filter key").fill("model");
    await page.getByLabel("Filter value").fill("rf");
    await page.getByRole("button", { name: "Add filter" }).click();
    const highRf = high.filter((s) => s.model === "rf");
    await expect.poll(() => range.textContent()).toContain(`${highRf.length} run`);
    await expect.poll(names).toEqual(highRf.sort((a, b) => a.auc - b.auc).map((s) => s.name));

    await page.getByLabel("Filter on").selectOption("tags");
    await page.getByLabel("Filter key").fill("team");
    await page.getByLabel("Filter value").fill("red");
    await page.getByRole("button", { name: "Add filter" }).click();
    const highRfRed = highRf.filter((s) => s.team === "red");
    await expect.poll(names).toEqual(highRfRed.map((s) => s.name));
    expect(query(page.url()).getAll("f")).toEqual(["metrics.AUC >= 0.75", "params.model = rf", "tags.team = red"]);
    // A bad clause is refused in the form, saying what to do.
    await page.getByLabel("Filter on").selectOption("metrics");
    await page.getByLabel("Filter key").fill("AUC");
    await page.getByLabel("Filter value").fill("high");
    await page.getByRole("button", { name: "Add filter" }).click();
    await expect.poll(() => page.getByRole("alert").first().textContent()).toContain("compared with a number");
    await page.reload();
    await expect.poll(names).toEqual(highRfRed.map((s) => s.name));
    await expect.poll(() => page.getByTestId("runs-filter").count()).toBe(3);
    await t.shot(page, "runs-filtered");

    // Drop the param and tag filters again: the metric filter alone.
    await page.getByRole("button", { name: "Remove filter tags.team = red" }).click();
    await page.getByRole("button", { name: "Remove filter params.model = rf" }).click();
    await expect.poll(() => range.textContent()).toContain(`${high.length} runs`);
    await expectAccessible(page, "runs-list");

    // Pick the best and the worst run of the page and compare them.
    const [worst, best] = [high.sort((a, b) => a.auc - b.auc)[0] as Seeded, high.at(-1) as Seeded];
    await page.getByRole("checkbox", { name: `Compare ${worst.name}` }).check();
    await page.getByRole("checkbox", { name: `Compare ${best.name}` }).check();
    // The ticked runs are in the address: a reload keeps them.
    await expect.poll(() => query(page.url()).getAll("sel")).toEqual([worst.runId, best.runId]);
    await page.reload();
    await expect.poll(() => page.getByTestId("compare-runs").textContent(), { timeout: 15_000 }).toBe("Compare (2)");
    expect(await page.getByRole("checkbox", { name: `Compare ${best.name}` }).isChecked()).toBe(true);
    await page.getByTestId("compare-runs").filter({ hasText: "Compare (2)" }).click();
    await page.waitForURL(/\/experiments\/compare\?runs=/);
    expect(query(page.url()).get("runs")?.split(",")).toEqual([worst.runId, best.runId]);

    const metricsTable = page.getByTestId("compare-metrics");
    await expect
      .poll(() => metricsTable.locator("thead th").allTextContents())
      .toEqual(["Metric", expect.stringContaining(worst.name), expect.stringContaining(best.name)]);
    const aucRow = metricsTable.locator("tbody tr", { has: page.locator("th", { hasText: /^AUC/ }) });
    expect((await aucRow.locator("td.cell-best").textContent()) ?? "").toContain(String(best.auc));

    const params = page.getByTestId("compare-params");
    const paramRow = (name: string) => params.locator("tbody tr", { has: page.locator(`th:text-is("${name}")`) });
    expect(await paramRow("model").locator("td").allTextContents()).toEqual([worst.model, best.model]);
    expect(await paramRow("model").getAttribute("data-differs")).toBe(String(worst.model !== best.model));

    const bars = page.getByTestId("compare-metric-bars");
    for (const metric of ["AUC", "Accuracy"]) {
      const chart = bars.getByTestId(`chart-metric-${metric}`);
      await expect.poll(() => chart.locator(".recharts-bar-rectangle").count()).toBe(2);
      expect(await chart.locator(".recharts-cartesian-axis-tick-value").allTextContents()).toEqual(
        expect.arrayContaining([worst.name, best.name]),
      );
    }
    const scatter = page.getByTestId("compare-scatter");
    await scatter.getByLabel("Metric to plot").selectOption("AUC");
    await scatter.getByLabel("Parameter to plot against").selectOption("folds");
    await expect.poll(() => scatter.getByTestId("chart-metric-vs-param").locator(".recharts-scatter-symbol").count()).toBe(2);
    expect(await scatter.locator(".recharts-legend-item-text").allTextContents()).toEqual([worst.name, best.name]);
    await t.shot(page, "runs-compare");
    await expectAccessible(page, "runs-compare");

    // Back on the list, the same filtered view.
    await page.goBack();
    await expect.poll(() => range.textContent()).toContain(`${high.length} runs`);
    expect(t.pageErrors).toEqual([]);
  });

  it("shows picked parameter columns, filters by dataset, sorts and filters numeric params as numbers, and metric keys with a space and a dot", async () => {
    const { page } = t;
    const table = page.getByTestId("runs-table");
    const range = page.getByTestId("runs-range");
    const names = () => table.locator("tbody tr td:nth-child(2)").allTextContents();
    const column = (attr: string, key: string) => table.locator(`tbody td[${attr}="${key}"]`).allTextContents();
    const newestFirst = [...seeded].reverse();

    await page.goto("/experiments");
    await expect.poll(() => range.textContent()).toContain(`${N} runs`);
    // Parameter columns: picked from the keys the runs logged, kept in the address.
    await page.locator(".runs-cols > summary").click();
    const picker = page.getByRole("group", { name: "Parameter columns" });
    await picker.getByLabel("model", { exact: true }).click();
    await expect.poll(() => query(page.url()).getAll("cols")).toEqual(["model"]);
    await picker.getByLabel("n estimators", { exact: true }).click();
    await expect.poll(() => query(page.url()).getAll("cols")).toEqual(["model", "n estimators"]);
    await expect.poll(() => column("data-param", "model")).toEqual(newestFirst.map((s) => s.model));
    await expect.poll(() => column("data-param", "n estimators")).toEqual(newestFirst.map((s) => s.trees));
    // Sorted by a param's value, as numbers.
    await table.locator('button[data-sort="params.`n estimators`"]').click();
    await expect.poll(() => query(page.url()).get("sort")).toBe("params.`n estimators`");
    await expect.poll(() => column("data-param", "n estimators")).toEqual(seeded.map((s) => s.trees).sort((a, b) => Number(a) - Number(b)));

    // The dataset filter, in the address; the columns stay.
    await page.getByLabel("Dataset").selectOption("wine");
    const wine = seeded.filter((s) => s.dataset === "wine");
    await expect.poll(() => range.textContent()).toContain(`${wine.length} runs`);
    expect(query(page.url()).get("dataset")).toBe("wine");
    expect((await names()).sort()).toEqual(wine.map((s) => s.name).sort());
    await page.getByLabel("Dataset").selectOption("");
    await expect.poll(() => range.textContent()).toContain(`${N} runs`);

    // A metric whose key ends in a dot and a space sorts like any other.
    await table.locator('button[data-sort="metrics.`Prec. `"]').click();
    await expect.poll(() => query(page.url()).get("sort")).toBe("metrics.`Prec. `");
    const byPrec = [...seeded].sort((a, b) => b.prec - a.prec);
    await expect.poll(async () => (await column("data-metric", "Prec. ")).map(Number)).toEqual(byPrec.map((s) => s.prec));

    // And a metric key with a space filters.
    await page.getByLabel("Filter on").selectOption("metrics");
    await page.getByLabel("Filter key").fill("F1 score");
    await page.getByLabel("Operator").selectOption(">");
    await page.getByLabel("Filter value").fill("0.6");
    await page.getByRole("button", { name: "Add filter" }).click();
    const goodF1 = byPrec.filter((s) => s.f1 > 0.6);
    expect(goodF1.length).toBeGreaterThan(0);
    expect(goodF1.length).toBeLessThan(N);
    await expect.poll(() => range.textContent()).toContain(`${goodF1.length} run`);
    expect(query(page.url()).getAll("f")).toEqual(["metrics.`F1 score` > 0.6"]);
    await expect.poll(names).toEqual(goodF1.map((s) => s.name));

    // A parameter compares with a number too: 20 and up, not "20" and up as text (which would keep 5).
    await page.getByLabel("Filter on").selectOption("params");
    await page.getByLabel("Filter key").fill("n estimators");
    await page.getByLabel("Operator").selectOption(">=");
    await page.getByLabel("Filter value").fill("20");
    await page.getByRole("button", { name: "Add filter" }).click();
    const kept = goodF1.filter((s) => Number(s.trees) >= 20);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(goodF1.length);
    await expect.poll(names).toEqual(kept.map((s) => s.name));
    expect(query(page.url()).getAll("f")).toEqual(["metrics.`F1 score` > 0.6", "params.`n estimators` >= 20"]);

    // A reload keeps every part of the view.
    await page.reload();
    await expect.poll(names).toEqual(kept.map((s) => s.name));
    await expect.poll(() => column("data-param", "model")).toEqual(kept.map((s) => s.model));

    // An address that sorts on a parameter nobody picked shows it as a column, sorted as numbers.
    await page.goto("/experiments?sort=params.folds&order=asc");
    const folds = seeded.map((_, i) => 3 + (i % 4)).sort((a, b) => a - b);
    await expect.poll(() => column("data-param", "folds")).toEqual(folds.map(String));
    await page.goBack();
    await expect.poll(names).toEqual(kept.map((s) => s.name));
    await t.shot(page, "runs-param-columns");
    await expectAccessible(page, "runs-param-columns");
    expect(t.pageErrors).toEqual([]);
  });
});
