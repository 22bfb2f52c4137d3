import type { RunsListRun } from "@caretflow/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import type { IndexedRun } from "./runs.index.ts";

/** GET /api/runs over HTTP: param values of the page, the keys to pick from, and keys with spaces and dots. */
let f: Awaited<ReturnType<typeof appFixture>>;
let cookie: string;

function run(n: number, metrics: Record<string, number>, params: Record<string, string>, dataset: string): IndexedRun {
  return {
    summary: {
      runId: n.toString(16).padStart(32, "0"),
      experimentId: "1",
      experimentName: "e",
      name: `run-${n}`,
      status: "FINISHED",
      startTime: new Date(Date.UTC(2026, 11, 1, 0, n)).toISOString(),
      endTime: null,
      task: "classification",
      dataset,
      target: "y",
      jobId: null,
      bestModel: null,
      bestRunId: null,
      metrics,
    },
    params,
    tags: {},
  };
}

beforeAll(async () => {
  f = await appFixture();
  cookie = await f.login();
  await f.runsIndex.upsert(
    [
      run(1, { "Prec. ": 0.9, "F1 score": 0.2 }, { model: "lr", "n estimators": "10" }, "iris@v1"),
      run(2, { "Prec. ": 0.5, "F1 score": 0.8 }, { model: "dt" }, "wine@v1"),
      run(3, { "Prec. ": 0.7, "F1 score": 0.6 }, { model: "rf", "n estimators": "20" }, "iris@v2"),
    ],
    "2026-12-03T00:00:00.000Z",
  );
});
afterAll(async () => {
  await f?.close();
});

const get = async (query: Record<string, string>) => {
  const res = await f.app.request(`/api/runs?${new URLSearchParams(query)}`, { headers: { cookie } });
  return {
    status: res.status,
    body: (await res.json()) as { runs: RunsListRun[]; total: number; paramKeys: string[]; error?: { code: string } },
  };
};

it("sorts and filters on metric keys with a space and a dot, and carries the asked params", async () => {
  const sorted = await get({ sort: "metrics.`Prec. `", order: "asc", params: "n estimators,model" });
  expect(sorted.status).toBe(200);
  expect(sorted.body.runs.map((r) => [r.name, r.params])).toEqual([
    ["run-2", { model: "dt" }],
    ["run-3", { model: "rf", "n estimators": "20" }],
    ["run-1", { model: "lr", "n estimators": "10" }],
  ]);
  expect(sorted.body.paramKeys).toEqual(["model", "n estimators"]);

  const filtered = await get({ filter: "metrics.`F1 score` >= 0.6 and metrics.`Prec. ` < 0.8", dataset: "iris" });
  expect([filtered.body.runs.map((r) => r.name), filtered.body.total]).toEqual([["run-3"], 1]);
  expect(filtered.body.runs[0]).not.toHaveProperty("params");
  expect(filtered.body.paramKeys).toEqual(["model", "n estimators"]);
});

it("refuses a clause it cannot read, and too many params, saying what to do", async () => {
  const bad = await get({ filter: "metrics.`F1 score > 0.5" });
  expect([bad.status, bad.body.error?.code]).toEqual([400, "invalid_filter"]);
  const many = await get({ params: Array.from({ length: 101 }, (_, i) => `p${i}`).join(",") });
  expect([many.status, many.body.error?.code]).toEqual([400, "invalid_params"]);
  const sort = await get({ sort: "metrics.`a`b`" });
  expect(sort.status).toBe(400);
});
