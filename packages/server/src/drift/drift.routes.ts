import { DriftRequest } from "@caretflow/contracts";
import { Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson } from "../http/validate.ts";
import type { JobService } from "../jobs/job.service.ts";
import { jobCreated } from "../jobs/jobs.routes.ts";

/** POST /api/drift: queue a drift job; its result (GET /api/jobs/{id}) is the per-feature table. */
export function driftRoutes(deps: { jobs: JobService; audit: AuditLog }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const job = await deps.jobs.start("drift", await parseJson(c, DriftRequest), c.get("project"));
    await deps.audit.record({ ...requester(c), ...jobCreated(job) });
    return c.json(job, 202);
  });
  return app;
}
