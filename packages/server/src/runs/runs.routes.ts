import { OperateRequest, userError } from "@caretflow/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath } from "../http/validate.ts";
import type { JobService } from "../jobs/job.service.ts";
import { jobCreated } from "../jobs/jobs.routes.ts";
import type { TrackingPort } from "../ports.ts";
import { contentTypeFor, safeArtifactPath } from "./artifact.path.ts";

const RunId = z.string().regex(/^[a-f0-9]{32}$/, "an MLflow run id is 32 hex characters");

export function runsRoutes(deps: { tracking: TrackingPort; jobs: JobService; audit: AuditLog }): Hono<AppEnv> {
  const { tracking } = deps;
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => c.json({ runs: await tracking.listRuns() }));
  app.get("/:runId", async (c) => c.json(await tracking.getRun(parsePath(c.req.param("runId"), RunId, "run id"))));
  app.post("/:runId/evaluate", async (c) => {
    const runId = parsePath(c.req.param("runId"), RunId, "run id");
    const job = await deps.jobs.startEvaluate(runId);
    await deps.audit.record({ ...requester(c), ...jobCreated(job) });
    return c.json(job, 202);
  });
  app.post("/:runId/operations", async (c) => {
    const runId = parsePath(c.req.param("runId"), RunId, "run id");
    const job = await deps.jobs.startOperate(runId, await parseJson(c, OperateRequest));
    await deps.audit.record({ ...requester(c), ...jobCreated(job) });
    return c.json(job, 202);
  });

  app.get("/:runId/artifacts/:path{.+}", async (c) => {
    const runId = parsePath(c.req.param("runId"), RunId, "run id");
    const path = safeArtifactPath(c.req.param("path"));
    const upstream = await tracking.getArtifact(runId, path);
    if (!upstream.ok) {
      throw userError(
        "artifact_not_found",
        `Run ${runId} has no artifact '${path}'`,
        "List the run's artifacts with GET /api/runs/{runId}.",
        404,
      );
    }
    const headers = new Headers({ "content-type": contentTypeFor(path) });
    const length = upstream.headers.get("content-length");
    if (length) headers.set("content-length", length);
    // Artifacts are data, not pages: never let an HTML or SVG artifact run script in caretflow's origin.
    headers.set("content-security-policy", "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox");
    headers.set("x-content-type-options", "nosniff");
    const filename = path.split("/").pop() ?? "artifact";
    headers.set(
      "content-disposition",
      `${contentTypeFor(path).startsWith("image/") ? "inline" : "attachment"}; filename="${filename.replace(/"/g, "")}"`,
    );
    return new Response(upstream.body, { status: 200, headers });
  });

  return app;
}
