import { notFound, OperateRequest, RunsQuery, userError } from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { JobService } from "../jobs/job.service.ts";
import { jobCreated } from "../jobs/jobs.routes.ts";
import type { TrackingPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import { contentTypeFor, safeArtifactPath } from "./artifact.path.ts";
import type { RunsIndexRepository } from "./runs.index.ts";

const RunId = z.string().regex(/^[a-f0-9]{32}$/, "an MLflow run id is 32 hex characters");

export function runsRoutes(deps: {
  tracking: TrackingPort;
  jobs: JobService;
  projects: ProjectService;
  audit: AuditLog;
  /** The list reads only this index (kept in step with MLflow by RunsIndexSync), never MLflow. */
  index: RunsIndexRepository;
}): Hono<AppEnv> {
  const { tracking, projects } = deps;
  const app = new Hono<AppEnv>();
  /** The run of the path, once it is known to be one of the request's project (another project's answers as missing). */
  const ownRun = async (c: Context<AppEnv>) => {
    const runId = parsePath(c.req.param("runId"), RunId, "run id");
    const run = await tracking.getRun(runId);
    if ((await projects.projectOfRun(run)) !== c.get("project"))
      throw notFound("run", runId, "List this project's runs with GET /api/runs.");
    return run;
  };

  app.get("/", async (c) => c.json(await deps.index.page(c.get("project"), parseQuery(c, RunsQuery))));
  app.get("/:runId", async (c) => c.json(await ownRun(c)));
  app.post("/:runId/evaluate", async (c) => {
    const run = await ownRun(c);
    const job = await deps.jobs.startEvaluate(run.runId, c.get("project"));
    await deps.audit.record({ ...requester(c), ...jobCreated(job) });
    return c.json(job, 202);
  });
  app.post("/:runId/operations", async (c) => {
    const body = await parseJson(c, OperateRequest);
    const run = await ownRun(c);
    const job = await deps.jobs.startOperate(run.runId, body, c.get("project"));
    await deps.audit.record({ ...requester(c), ...jobCreated(job) });
    return c.json(job, 202);
  });

  app.get("/:runId/artifacts/:path{.+}", async (c) => {
    // The path is checked before anything is asked of MLflow.
    const path = safeArtifactPath(c.req.param("path"));
    const { runId } = await ownRun(c);
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
