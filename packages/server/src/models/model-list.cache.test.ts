import type { RegisteredModel } from "@caretflow/contracts";
import { expect, it } from "vitest";
import type { TrackingPort } from "../ports.ts";
import { withModelListCache } from "./model-list.cache.ts";

/** A registry in memory behind the tracking port's model calls; counts list reads. */
function registry() {
  const models: RegisteredModel[] = [];
  const state = { reads: 0, pageReads: 0, failNext: false };
  const model = (name: string): RegisteredModel =>
    ({ name, description: null, createdAt: "t", updatedAt: "t", aliases: {}, versions: [] }) as unknown as RegisteredModel;
  const write = async <T>(f: () => T): Promise<T> => {
    if (state.failNext) {
      state.failNext = false;
      models.push(model("half-written"));
      throw new Error("MLflow failed mid-write");
    }
    return f();
  };
  const port = {
    listModels: async () => {
      state.reads += 1;
      return models.map((m) => ({ ...m }));
    },
    getModel: async (name: string) => {
      state.pageReads += 1;
      return { ...models.find((x) => x.name === name)! };
    },
    updateModel: (name: string, patch: { description?: string }) =>
      write(() => {
        const m = models.find((x) => x.name === name)!;
        m.description = patch.description ?? null;
        return m;
      }),
  } as unknown as TrackingPort;
  return { port, models, state, model };
}

it("reads MLflow's list once per refresh window, and again after a write through caretflow, even a failed one", async () => {
  let now = 0;
  const r = registry();
  r.models.push(r.model("churn"));
  const { tracking, invalidate } = withModelListCache(r.port, { refreshMs: 10_000, now: () => now });
  await Promise.all([tracking.listModels(), tracking.listModels(), tracking.listModels()]);
  expect(r.state.reads).toBe(1);

  await tracking.updateModel("churn", { description: "via caretflow" });
  expect((await tracking.listModels())[0]?.description).toBe("via caretflow");
  expect(r.state.reads).toBe(2);

  // A change made straight in MLflow: served stale until the window ends.
  r.models.push(r.model("direct"));
  now = 9_999;
  expect((await tracking.listModels()).map((m) => m.name)).toEqual(["churn"]);
  now = 10_000;
  expect((await tracking.listModels()).map((m) => m.name)).toEqual(["churn", "direct"]);

  r.state.failNext = true;
  await expect(tracking.updateModel("churn", { description: "x" })).rejects.toThrow("mid-write");
  expect((await tracking.listModels()).map((m) => m.name)).toContain("half-written");

  const reads = r.state.reads;
  invalidate();
  await tracking.listModels();
  expect(r.state.reads).toBe(reads + 1);
});

it("caches a model's page like the list, keyed by name, while decisions still read MLflow", async () => {
  let now = 0;
  const r = registry();
  r.models.push(r.model("churn"), r.model("fraud"));
  const { tracking, modelPage } = withModelListCache(r.port, { refreshMs: 10_000, now: () => now });
  await Promise.all([modelPage("churn"), modelPage("churn"), modelPage("fraud")]);
  expect(r.state.pageReads).toBe(2);

  await tracking.updateModel("churn", { description: "via caretflow" });
  expect((await modelPage("churn")).description).toBe("via caretflow");
  expect(r.state.pageReads).toBe(3);
  await modelPage("fraud"); // a write drops every page: read again
  expect(r.state.pageReads).toBe(4);

  // Straight in MLflow: the page is stale until the window ends; tracking.getModel never is.
  r.models[1]!.description = "direct";
  now = 9_999;
  expect((await modelPage("fraud")).description).toBeNull();
  expect((await tracking.getModel("fraud")).description).toBe("direct");
  now = 20_000;
  expect((await modelPage("fraud")).description).toBe("direct");
});
