import { join } from "node:path";
import { DeploymentPool } from "@caretflow/engine-host";
import type { Kysely } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import type { TrackingPort } from "../ports.ts";
import { DeploymentRepository } from "./deployment.repository.ts";
import { type PredictionObserver, ServingGateway } from "./gateway.ts";
import { PredictionLog, retentionDaysFrom } from "./prediction.log.ts";

type Log = (level: "info" | "warn" | "error", msg: string) => void;

/**
 * The tracking port with alias changes announced: every caller that moves an alias through caretflow
 * (the models routes, promotions) reaches the serving gateway at once.
 */
export function announcingAliases(port: TrackingPort, announce: (model: string, aliases: Record<string, number>) => void): TrackingPort {
  return {
    ...port,
    setAlias: async (name, alias, version) => {
      const model = await port.setAlias(name, alias, version);
      announce(model.name, model.aliases);
      return model;
    },
    deleteAlias: async (name, alias) => {
      const model = await port.deleteAlias(name, alias);
      announce(model.name, model.aliases);
      return model;
    },
  };
}

export interface ServingOptions {
  db: Kysely<ServerTables>;
  home: string;
  python: string;
  engineDir: string;
  trackingUri: string;
  logDir: string;
  env: Record<string, string>;
  log: Log;
  /** Days the prediction log keeps (CARETFLOW_PREDICTION_LOG_DAYS); default 30, 0 keeps everything. */
  retentionDays?: number;
  observer?: PredictionObserver;
}

/**
 * Deployments: their table, the scoring processes they hold, the gateway and the prediction log.
 * `start(tracking)` loads the stored deployments (in the background: a model that fails to load shows as
 * the deployment's problem).
 */
export function createServing(opts: ServingOptions) {
  const repo = new DeploymentRepository(opts.db);
  const pool = new DeploymentPool({
    python: opts.python,
    engineDir: opts.engineDir,
    trackingUri: opts.trackingUri,
    logDir: opts.logDir,
    env: opts.env,
    log: opts.log,
  });
  const retentionDays = opts.retentionDays ?? retentionDaysFrom(process.env.CARETFLOW_PREDICTION_LOG_DAYS);
  const predictionLog = new PredictionLog({ root: join(opts.home, "prediction-log"), retentionDays, log: opts.log });
  let gateway: ServingGateway | null = null;
  const serving = {
    repo,
    pool,
    predictionLog,
    /** Days the prediction log keeps (0: everything). */
    retentionDays,
    get gateway(): ServingGateway {
      if (!gateway) throw new Error("the serving gateway is not started");
      return gateway;
    },
    /** Wraps the tracking port so alias moves reach the gateway. */
    tracking(port: TrackingPort): TrackingPort {
      return announcingAliases(port, (model, aliases) => void gateway?.aliasesChanged(model, aliases));
    },
    async start(registry: TrackingPort, ready: Promise<unknown>): Promise<ServingGateway> {
      gateway = new ServingGateway({
        pool,
        registry,
        log: predictionLog,
        logger: opts.log,
        ...(opts.observer ? { observer: opts.observer } : {}),
      });
      const g = gateway;
      void ready
        .then(async () => {
          await predictionLog.applyRetention();
          for (const d of await repo.list()) {
            g.apply(d).catch((err: Error) => opts.log("warn", `deployment ${d.name} cannot serve yet: ${err.message}`));
          }
        })
        .catch(() => {});
      return g;
    },
    async close(): Promise<void> {
      gateway?.close();
      await predictionLog.close();
      await pool.close();
    },
  };
  return serving;
}
