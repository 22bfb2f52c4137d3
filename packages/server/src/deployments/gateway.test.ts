import { CaretflowError } from "@caretflow/contracts";
import type { LoadedVersion } from "@caretflow/engine-host";
import { describe, expect, it } from "vitest";
import type { StoredDeployment } from "./deployment.repository.ts";
import { canaryWeight, type GatewayPool, ServingGateway, validateRows } from "./gateway.ts";
import type { PredictionRecord } from "./prediction.log.ts";

const FEATURES = [
  { name: "price", type: "double" },
  { name: "store", type: "string" },
];

/** A pool whose versions answer with their own number; `gate` holds a version's loads until opened. */
function fakePool() {
  const held = new Map<string, Set<string>>();
  const gates = new Map<string, Promise<void>>();
  const pool: GatewayPool & { held: typeof held; gates: typeof gates; fail: Set<string> } = {
    held,
    gates,
    fail: new Set(),
    async acquire(model, holder): Promise<LoadedVersion> {
      await gates.get(model.key);
      const h = held.get(model.key) ?? new Set();
      h.add(holder);
      held.set(model.key, h);
      return { task: "classification", features: FEATURES, predictionColumns: ["prediction_label"] };
    },
    release(key, holder) {
      held.get(key)?.delete(holder);
      if (held.get(key)?.size === 0) held.delete(key);
    },
    async predict(key, rows) {
      if (pool.fail.has(key)) throw new CaretflowError({ code: "scoring_process_lost", kind: "operational", status: 503, message: "lost" });
      await new Promise((r) => setTimeout(r, 1));
      return { columns: ["prediction_label"], predictions: rows.map(() => ({ prediction_label: key })) };
    },
    status: (key) => (held.has(key) ? { key, health: "ready", pid: 1, restarts: 0, holders: [], problem: null } : null),
  };
  return pool;
}

function setup(aliases: Record<string, number> = { production: 1 }) {
  const pool = fakePool();
  const logged: PredictionRecord[] = [];
  const registry = {
    aliases,
    reads: 0,
    async getModel() {
      registry.reads += 1;
      return { aliases: { ...registry.aliases } };
    },
    async resolveModelRef(ref: string) {
      const [name, version] = ref.split("/");
      return { name: name!, version: Number(version), uri: `models:/${ref}`, sha256: "x", runId: null, task: null };
    },
  };
  let clock = new Date("2026-12-03T10:00:00Z");
  const gateway = new ServingGateway({
    pool,
    registry,
    log: { add: (r) => logged.push(r) },
    now: () => clock,
    recheckMs: 3_600_000,
  });
  return { pool, logged, registry, gateway, tick: (s: number) => (clock = new Date(clock.getTime() + s * 1000)) };
}

const deployment = (over: Partial<StoredDeployment> = {}): StoredDeployment => ({
  name: "churn",
  project: "p",
  model: "m",
  target: { alias: "production" },
  policy: { kind: "single" },
  status: "active",
  policySince: "2026-12-03T10:00:00Z",
  driftEvery: null,
  createdBy: "ann",
  createdAt: "2026-12-03T10:00:00Z",
  updatedBy: "ann",
  updatedAt: "2026-12-03T10:00:00Z",
  ...over,
});
const row = { price: 1.5, store: "a" };

describe("ServingGateway", () => {
  it("splits A/B traffic by weight and names the version that answered", async () => {
    const { gateway, registry } = setup();
    await gateway.apply(deployment({ policy: { kind: "ab", splits: [{ target: { version: 2 }, weight: 30 }] } }));
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const a = await gateway.predict("churn", [row], "p");
      counts.set(a.version, (counts.get(a.version) ?? 0) + 1);
      expect(a.predictions[0]!.prediction_label).toBe(`m/${a.version}`);
    }
    expect(Math.abs((counts.get(2) ?? 0) / 2000 - 0.3)).toBeLessThan(0.04);
    expect(registry.reads).toBe(1);
    const shown = gateway.describe(deployment({ policy: { kind: "ab", splits: [{ target: { version: 2 }, weight: 30 }] } }));
    expect(shown.serving.map((s) => [s.version, s.role, s.weight])).toEqual([
      [1, "target", 70],
      [2, "split", 30],
    ]);
  });

  it("logs shadow answers and never returns them, and a failing shadow does not fail the request", async () => {
    const { gateway, logged, pool } = setup();
    await gateway.apply(deployment({ policy: { kind: "shadow", shadow: { version: 3 } } }));
    for (let i = 0; i < 20; i++) expect((await gateway.predict("churn", [row, row], "p")).version).toBe(1);
    pool.fail.add("m/3");
    expect((await gateway.predict("churn", [row], "p")).version).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    const shadows = logged.filter((r) => r.shadow);
    expect(shadows).toHaveLength(21);
    expect(shadows.every((r) => r.version === 3)).toBe(true);
    expect(shadows.at(-1)?.error).toBe("lost");
    const primaries = logged.filter((r) => !r.shadow);
    expect(new Set(primaries.map((r) => r.predictionId))).toEqual(new Set(shadows.map((r) => r.predictionId)));
  });

  it("logs refused and failed requests with their error and without their inputs", async () => {
    const { gateway, logged, pool } = setup();
    await gateway.apply(deployment());
    await expect(gateway.predict("churn", [{ price: "cheap", store: "a" }, row], "p")).rejects.toThrow(/price/);
    pool.fail.add("m/1");
    await expect(gateway.predict("churn", [row], "p")).rejects.toThrow("lost");
    expect(logged.map((r) => [r.version, r.shadow, r.rows, r.predictions, r.error])).toEqual([
      [1, false, [{}, {}], undefined, expect.stringContaining("price")],
      [1, false, [{}], undefined, "lost"],
    ]);
  });

  it("ramps a canary over time", async () => {
    const { gateway, tick } = setup();
    const policy = {
      kind: "canary" as const,
      canary: { version: 2 },
      startPercent: 10,
      stepPercent: 20,
      intervalSeconds: 60,
      maxPercent: 50,
    };
    const d = deployment({ policy });
    await gateway.apply(d);
    const weight = () => gateway.describe(d).serving.find((s) => s.role === "canary")?.weight;
    expect(weight()).toBe(10);
    tick(60);
    expect(weight()).toBe(30);
    tick(600);
    expect(weight()).toBe(50);
    expect(canaryWeight(policy, "2026-12-03T10:00:00Z", new Date("2026-12-03T10:02:30Z"))).toBe(50);
    expect(canaryWeight(policy, "2026-12-03T10:00:00Z", new Date("2026-12-03T10:01:59Z"))).toBe(30);
  });

  it("follows an alias move only once the new version has loaded, and releases the old one", async () => {
    const { gateway, pool } = setup();
    await gateway.apply(deployment());
    let opened = () => {};
    pool.gates.set("m/2", new Promise<void>((ok) => (opened = ok)));
    const moving = gateway.aliasesChanged("m", { production: 2 });
    for (let i = 0; i < 5; i++) expect((await gateway.predict("churn", [row], "p")).version).toBe(1);
    opened();
    await moving;
    expect((await gateway.predict("churn", [row], "p")).version).toBe(2);
    expect([...pool.held.keys()]).toEqual(["m/2"]);
  });

  it("re-reads aliases on its re-check (changes made in MLflow directly)", async () => {
    const { gateway, registry } = setup();
    await gateway.apply(deployment());
    registry.aliases = { production: 4 };
    await gateway.recheck();
    expect((await gateway.predict("churn", [row], "p")).version).toBe(4);
  });

  it("keeps serving the old versions when a change cannot load, and shows why", async () => {
    const { gateway } = setup();
    await gateway.apply(deployment());
    await expect(gateway.apply(deployment({ target: { alias: "nope" } }))).rejects.toMatchObject({ code: "alias_not_found" });
    await expect(
      gateway.apply(deployment({ policy: { kind: "ab", splits: [{ target: { alias: "gone" }, weight: 50 }] } })),
    ).rejects.toMatchObject({ code: "alias_not_found" });
    for (let i = 0; i < 20; i++) expect((await gateway.predict("churn", [row], "p")).version).toBe(1);
    const shown = gateway.describe(deployment());
    expect(shown.problem).toContain("gone");
    expect(shown.serving.map((s) => [s.version, s.weight])).toEqual([[1, 100]]);
  });

  it("hides other projects' deployments and refuses a paused one", async () => {
    const { gateway } = setup();
    await gateway.apply(deployment({ status: "paused" }));
    await expect(gateway.predict("churn", [row], "other")).rejects.toMatchObject({ status: 404 });
    await expect(gateway.predict("churn", [row], "p")).rejects.toMatchObject({ code: "deployment_paused", status: 409 });
  });
});

describe("validateRows", () => {
  it("names the missing or badly typed field and its row", () => {
    expect(() => validateRows([row, { store: "b" }], FEATURES)).toThrow(/Row 1 lacks the feature 'price'/);
    try {
      validateRows([row, { price: "cheap", store: "b" }], FEATURES);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ status: 400, code: "bad_feature_value", details: { field: "price", row: 1 } });
    }
    expect(() =>
      validateRows(
        [
          { price: "2.5", store: 3 },
          { price: null, store: null },
        ],
        FEATURES,
      ),
    ).not.toThrow();
    expect(() => validateRows([{ price: 1, store: { a: 1 } }], FEATURES)).toThrow(/'store'/);
  });
});
