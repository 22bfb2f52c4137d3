import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CaretflowError } from "@caretflow/contracts";
import { afterAll, describe, expect, it } from "vitest";
import { ScoringPool, type ScoringPoolOptions } from "../src/index.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
const venvPython = join(repo, "engine/.venv/bin/python");
const python = process.env.CARETFLOW_TEST_PYTHON ?? (existsSync(venvPython) ? venvPython : "python3");
const tmp = mkdtempSync(join(tmpdir(), "caretflow-scoring-"));
const pools: ScoringPool[] = [];

function pool(o: Partial<ScoringPoolOptions> = {}): ScoringPool {
  const p = new ScoringPool({
    python,
    engineDir: join(here, "fixtures/fake_engine"),
    trackingUri: "http://127.0.0.1:1/mlflow",
    logDir: join(tmp, `logs-${pools.length}`),
    ...o,
  });
  pools.push(p);
  return p;
}

const m = (name: string, version = 1) => ({ uri: `models:/${name}/${version}`, sha256: "f".repeat(64), key: `${name}/${version}` });

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(tmp, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<CaretflowError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CaretflowError);
  return e as CaretflowError;
}

describe("ScoringPool with a fake scoring process", () => {
  it("loads a model once and keeps the process warm between requests", async () => {
    const p = pool();
    const rows = [{ x: 2 }, { x: -1 }];
    expect(await p.predict(m("churn"), rows)).toEqual({
      columns: ["prediction_label", "prediction_score"],
      predictions: [
        { prediction_label: 1, prediction_score: 0.9 },
        { prediction_label: 0, prediction_score: 0.9 },
      ],
      aligned: true,
    });
    const t0 = Date.now();
    const again = await Promise.all([p.predict(m("churn"), [{ x: 1 }]), p.predict(m("churn"), [{ x: -3 }])]);
    expect(again.map((r) => r.predictions[0]?.prediction_label)).toEqual([1, 0]);
    expect(Date.now() - t0).toBeLessThan(1000);
    const log = readFileSync(join(tmp, "logs-0", "serve-churn_1.log"), "utf8");
    expect(log.match(/loaded models:\/churn\/1/g)).toHaveLength(1);
    expect(log).toContain(`sha256=${"f".repeat(64)}`);
  });

  it("takes a forecaster's one row per period, however many rows were sent", async () => {
    const p = pool();
    const byDefault = await p.predict(m("forecast"), [{ T: 1 }, { T: 2 }, { T: 3 }, { T: 4 }, { T: 5 }]);
    expect(byDefault.columns).toEqual(["period", "y_pred", "lower", "upper"]);
    expect(byDefault.predictions.map((r) => r.period)).toEqual(["2021-10-06", "2021-10-07", "2021-10-08"]);
    expect((await p.predict(m("forecast"), [], { horizon: 5 })).predictions).toHaveLength(5);
  });

  it("maps a permanent engine error to a user error with the engine's hint", async () => {
    const p = pool();
    const e = await rejection(p.predict(m("churn"), [{ y: 1 }]));
    expect(e).toMatchObject({ kind: "user", status: 400, code: "missing_feature_columns", hint: "Give every row the column x." });
    expect((await p.predict(m("churn"), [{ x: 1 }])).predictions[0]?.prediction_label).toBe(1);
  });

  it("takes one answer per group from a model that says its answer is not row-aligned, and refuses lost rows", async () => {
    const p = pool();
    const rows = [
      { basket: "A", x: 1 },
      { basket: "B", x: 2 },
      { basket: "A", x: 3 },
    ];
    expect(await p.predict(m("rules"), rows)).toEqual({
      columns: ["basket", "rules_matched"],
      predictions: [
        { basket: "A", rules_matched: 4 },
        { basket: "B", rules_matched: 2 },
      ],
      aligned: false,
    });
    const lost = await rejection(p.predict(m("churn"), [{ x: 1 }, { x: 2, __drop__: true }]));
    expect(lost).toMatchObject({ code: "scoring_bad_answer", kind: "bug" });
  });

  it("refuses a model that fails to load, and tries afresh next time", async () => {
    const p = pool();
    const e = await rejection(p.predict(m("bad"), [{ x: 1 }]));
    expect(e).toMatchObject({ code: "model_hash_mismatch", kind: "user", hint: "re-register the model" });
    expect(p.warmKeys()).toEqual([]);
  });

  it("reports a scoring process that dies as operational, then starts a new one", async () => {
    const p = pool();
    await p.predict(m("churn"), [{ x: 1 }]);
    const e = await rejection(p.predict(m("churn"), [{ x: 1, __crash__: true }]));
    expect(e).toMatchObject({ code: "scoring_unavailable", kind: "operational", status: 503 });
    expect(e.message).toMatch(/exited with code 9/);
    expect((await p.predict(m("churn"), [{ x: 5 }])).predictions[0]?.prediction_label).toBe(1);
  });

  it("keeps at most maxProcesses warm, closing the least recently used", async () => {
    const p = pool({ maxProcesses: 2 });
    await p.predict(m("a"), [{ x: 1 }]);
    await p.predict(m("b"), [{ x: 1 }]);
    await p.predict(m("a"), [{ x: 1 }]);
    await p.predict(m("c"), [{ x: 1 }]);
    expect(p.warmKeys()).toEqual(["a/1", "c/1"]);
  });

  it("closes idle processes", async () => {
    const p = pool({ idleMs: 200 });
    await p.predict(m("idle"), [{ x: 1 }]);
    expect(p.warmKeys()).toEqual(["idle/1"]);
    await new Promise((r) => setTimeout(r, 700));
    expect(p.warmKeys()).toEqual([]);
  });

  it("times out a request that takes too long", async () => {
    const p = pool({ predictTimeoutMs: 300 });
    await p.predict(m("slow"), [{ x: 1 }]);
    const e = await rejection(p.predict(m("slow"), [{ x: 1, __sleep__: 2 }]));
    expect(e).toMatchObject({ code: "scoring_timeout", status: 504 });
  });
});
