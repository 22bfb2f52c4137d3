import type { TrackingPort } from "../ports.ts";
import { ReadCache } from "../read.cache.ts";

export interface ModelListCacheOptions {
  /** How long the list is served before MLflow is asked again (default 10 s): the bound for changes made straight in MLflow. */
  refreshMs?: number;
  now?: () => number;
}

type Model = Awaited<ReturnType<TrackingPort["getModel"]>>;

/** The tracking port with its model list cached, and what drops the cache from outside (a job that registered a model). */
export interface CachedModelsTracking {
  tracking: TrackingPort;
  /**
   * One model as its page shows it, cached like the list. Only for reads shown to people: decisions
   * (promotion, rollback, a deployment's alias) read `tracking.getModel`, which always asks MLflow.
   */
  modelPage(name: string): Promise<Model>;
  invalidate(): void;
}

/**
 * Wraps a tracking port so that the registered-model list (and each model's page) is read from MLflow
 * at most once per `refreshMs` (MLflow answers it on a single worker, for every client at once), and
 * again at once after any registry write made through this port (register, alias, tag, description),
 * failed or not.
 * @example const { tracking, invalidate } = withModelListCache(trackingPort(client, url, digests));
 */
export function withModelListCache(port: TrackingPort, o: ModelListCacheOptions = {}): CachedModelsTracking {
  const cache = new ReadCache<Awaited<ReturnType<TrackingPort["listModels"]>>>({
    ttlMs: o.refreshMs ?? 10_000,
    maxEntries: 1,
    ...(o.now ? { now: o.now } : {}),
  });
  const pages = new ReadCache<Model>({ ttlMs: o.refreshMs ?? 10_000, maxEntries: 200, ...(o.now ? { now: o.now } : {}) });
  const invalidate = () => {
    cache.invalidate();
    pages.invalidate();
  };
  /** Runs a registry write, dropping the list before (readers meanwhile read MLflow) and after it. */
  const writes =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      invalidate();
      try {
        return await write(...args);
      } finally {
        invalidate();
      }
    };
  const tracking: TrackingPort = {
    ...port,
    listModels: () => cache.get("models", () => port.listModels()),
    registerModel: writes((req) => port.registerModel(req)),
    setAlias: writes((name, alias, version) => port.setAlias(name, alias, version)),
    deleteAlias: writes((name, alias) => port.deleteAlias(name, alias)),
    updateModel: writes((name, patch) => port.updateModel(name, patch)),
    updateModelVersion: writes((name, version, patch) => port.updateModelVersion(name, version, patch)),
    setVersionTag: writes((name, version, key, value) => port.setVersionTag(name, version, key, value)),
  };
  return { tracking, invalidate, modelPage: (name) => pages.get(name, () => port.getModel(name)) };
}
