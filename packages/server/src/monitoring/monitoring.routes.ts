import {
  DeploymentDriftHistoryQuery,
  DeploymentDriftRequest,
  DeploymentName,
  FeedbackRequest,
  type FeedbackResponse,
  MonitoringQuery,
  type MonitoringResponse,
  type MonitoringVersionSeries,
  monitoringWindow,
  userError,
} from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { DeploymentRepository } from "../deployments/deployment.repository.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { DeploymentDrift } from "./deployment-drift.service.ts";
import type { FeedbackRepository } from "./feedback.repository.ts";
import type { LivePerformance } from "./live-performance.ts";

/** What the monitoring routes read and write. */
export interface MonitoringDeps {
  deployments: DeploymentRepository;
  feedback: FeedbackRepository;
  performance: LivePerformance;
  drift: DeploymentDrift;
  /** Writes the prediction log's buffered lines, so feedback sent right after a prediction finds it. */
  flushLog: () => Promise<void>;
  /** Days the prediction log keeps: feedback is matched against that many days. */
  logDays: number;
}

/**
 * /api/deployments/{name}/feedback, /monitoring and /drift: labels sent back by prediction id, figures per
 * time bucket and version, drift checks of the logged inputs.
 */
export function monitoringRoutes(deps: MonitoringDeps & { audit: AuditLog }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const named = async (c: Context<AppEnv>) =>
    deps.deployments.get(parsePath(c.req.param("name"), DeploymentName, "deployment name"), c.get("project"));

  app.post("/:name/feedback", async (c) => {
    const body = await parseJson(c, FeedbackRequest);
    const d = await named(c);
    const stored = await deps.feedback.upsert(d.name, body.labels, c.get("user").username);
    await deps.flushLog();
    const found = await deps.performance.matched(d.name, body.labels, deps.logDays || 3650);
    const unmatched = [
      ...new Set(body.labels.filter((l) => !found.has(`${l.predictionId.toLowerCase()}/${l.row}`)).map((l) => l.predictionId)),
    ];
    const matched = new Set(body.labels.map((l) => `${l.predictionId.toLowerCase()}/${l.row}`).filter((k) => found.has(k))).size;
    await deps.audit.record({
      ...requester(c),
      action: "deployment.feedback",
      target: { kind: "deployment", id: d.name },
      after: { labels: stored, matched },
    });
    const answer: FeedbackResponse = { deployment: d.name, stored, matched, unmatched: unmatched.slice(0, 20) };
    return c.json(answer);
  });

  app.get("/:name/monitoring", async (c) => {
    const q = parseQuery(c, MonitoringQuery);
    const d = await named(c);
    const w = monitoringWindow(q, new Date());
    if (typeof w === "string") throw userError("bad_window", `Cannot chart this window: ${w}`, "Change from, to or bucket.", 400);
    const points = await deps.performance.series(d.name, w.from, w.to, w.bucketSeconds);
    const versions = new Map<string, MonitoringVersionSeries>();
    for (const { version, shadow, task, ...point } of points) {
      const key = `${version}/${shadow}`;
      const series = versions.get(key) ?? { version, shadow, task, points: [] };
      versions.set(key, series);
      series.points.push(point);
    }
    const answer: MonitoringResponse = {
      deployment: d.name,
      from: w.from.toISOString(),
      to: w.to.toISOString(),
      bucket: q.bucket,
      bucketSeconds: w.bucketSeconds,
      versions: [...versions.values()].sort((a, b) => Number(a.shadow) - Number(b.shadow) || a.version - b.version),
    };
    return c.json(answer);
  });

  app.post("/:name/drift", async (c) => {
    const body = await parseJson(c, DeploymentDriftRequest);
    const d = await named(c);
    const run = await deps.drift.check(d, {
      ...(body.from ? { from: new Date(body.from) } : {}),
      ...(body.to ? { to: new Date(body.to) } : {}),
      ...(body.thresholds ? { thresholds: body.thresholds } : {}),
      trigger: "manual",
    });
    await deps.audit.record({
      ...requester(c),
      action: "deployment.drift",
      target: { kind: "deployment", id: d.name },
      after: { job: run.jobId, window: run.window, version: run.version, reference: run.reference },
    });
    return c.json(run, 202);
  });

  app.get("/:name/drift", async (c) => {
    const { limit } = parseQuery(c, DeploymentDriftHistoryQuery);
    const d = await named(c);
    return c.json({ runs: await deps.drift.history(d.name, limit) });
  });
  return app;
}
