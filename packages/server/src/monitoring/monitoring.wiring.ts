import { join } from "node:path";
import type { Kysely } from "kysely";
import type { AlertMetricSource } from "../alerts/alert.service.ts";
import type { ServerTables } from "../db/server.tables.ts";
import type { DeploymentRepository } from "../deployments/deployment.repository.ts";
import type { Logger, TrackingPort } from "../ports.ts";
import { DeploymentDrift, type DriftJobs } from "./deployment-drift.service.ts";
import { FeedbackRepository } from "./feedback.repository.ts";
import { LivePerformance } from "./live-performance.ts";
import type { MonitoringDeps } from "./monitoring.routes.ts";
import { PredictionLogStats } from "./prediction-log.stats.ts";

/**
 * Monitoring over a home's prediction log (`<home>/prediction-log`): served figures, labels and live
 * performance, drift checks; with the alert metrics they give. `start()` runs the drift schedule.
 */
export function createMonitoring(opts: {
  db: Kysely<ServerTables>;
  home: string;
  tmpDir: string;
  jobs: DriftJobs;
  tracking: () => TrackingPort;
  deployments: DeploymentRepository;
  log: Logger;
  flushLog?: () => Promise<void>;
  /** Days the prediction log keeps (0: everything). */
  logDays?: number;
}) {
  const logRoot = join(opts.home, "prediction-log");
  const stats = new PredictionLogStats({ root: logRoot, tmpDir: opts.tmpDir });
  const feedback = new FeedbackRepository(opts.db);
  const performance = new LivePerformance({ stats, feedback, tmpDir: opts.tmpDir });
  const drift = new DeploymentDrift({
    db: opts.db,
    jobs: opts.jobs,
    tracking: opts.tracking,
    deployments: opts.deployments,
    stats,
    logRoot,
    log: opts.log,
  });
  const routes: MonitoringDeps = {
    deployments: opts.deployments,
    feedback,
    performance,
    drift,
    flushLog: opts.flushLog ?? (async () => {}),
    logDays: opts.logDays ?? 30,
  };
  return {
    logRoot,
    stats,
    drift,
    routes,
    /** requests, error_rate, latency_p95_ms, accuracy, auc, rmse, mae, drift_max_psi, prediction_psi. */
    alertSources(): AlertMetricSource[] {
      return [...stats.alertSources(), ...performance.alertSources(), ...drift.alertSources()];
    },
    /** Looks at the drift schedules every `tickMs` (default one minute). */
    start(tickMs?: number): void {
      drift.start(tickMs);
    },
    async close(): Promise<void> {
      await drift.close();
      await stats.close();
    },
  };
}
