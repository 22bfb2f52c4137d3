import {
  PipelineApplyRequest,
  PipelineLogQuery,
  PipelineRunRequest,
  PipelineRunsQuery,
  PipelineValidateRequest,
  pipelineValidateResult,
} from "@caretflow/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { PipelineService } from "./pipeline.service.ts";

/**
 * /api/pipelines: checking and storing pipeline files and starting runs; /api/pipeline-runs: following,
 * cancelling and resuming runs. Everything acts in the request's project (the route table's roles:
 * viewers read, editors apply, run, cancel and resume).
 */
export function pipelinesRoutes(deps: { pipelines: PipelineService; audit: AuditLog }): Hono<AppEnv> {
  const { pipelines, audit } = deps;
  const app = new Hono<AppEnv>();
  // A file with errors is an answer, not a failed request: 200 with valid:false and every error's place.
  app.post("/validate", async (c) => c.json(pipelineValidateResult((await parseJson(c, PipelineValidateRequest)).yaml)));

  app.put("/", async (c) => {
    const r = await pipelines.apply(c.get("project"), await parseJson(c, PipelineApplyRequest), c.get("user").username);
    if (r.change !== "unchanged") {
      await audit.record({
        ...requester(c),
        action: r.change === "created" ? "pipeline.create" : "pipeline.update",
        target: { kind: "pipeline", id: r.pipeline.name },
        after: { revision: r.pipeline.revision, steps: r.pipeline.steps },
      });
    }
    return c.json(r);
  });
  app.get("/", async (c) => c.json({ pipelines: await pipelines.list(c.get("project")) }));
  app.get("/:name", async (c) => c.json(await pipelines.get(c.get("project"), c.req.param("name"))));
  app.get("/:name/revisions/:revision", async (c) => {
    const revision = parsePath(c.req.param("revision"), z.coerce.number().int().min(1), "revision");
    return c.json(await pipelines.revision(c.get("project"), c.req.param("name"), revision));
  });
  app.delete("/:name", async (c) => {
    const p = await pipelines.delete(c.get("project"), c.req.param("name"));
    await audit.record({
      ...requester(c),
      action: "pipeline.delete",
      target: { kind: "pipeline", id: p.name },
      before: { revision: p.revision },
    });
    return c.json({ deleted: p.name });
  });
  app.post("/:name/runs", async (c) => {
    const run = await pipelines.startRun(
      c.get("project"),
      c.req.param("name"),
      await parseJson(c, PipelineRunRequest),
      c.get("user").username,
    );
    await audit.record({
      ...requester(c),
      action: "pipeline.run",
      target: { kind: "pipeline_run", id: run.id },
      after: { pipeline: run.pipeline, revision: run.revision, params: run.params, force: run.force },
    });
    return c.json(run, 202);
  });
  return app;
}

export function pipelineRunsRoutes(deps: { pipelines: PipelineService; audit: AuditLog }): Hono<AppEnv> {
  const { pipelines, audit } = deps;
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => c.json({ runs: await pipelines.runs(c.get("project"), parseQuery(c, PipelineRunsQuery)) }));
  app.get("/:id", async (c) => c.json(await pipelines.run(c.req.param("id"), c.get("project"))));
  app.get("/:id/logs", async (c) => {
    const { step } = parseQuery(c, PipelineLogQuery);
    return c.text(await pipelines.logs(c.req.param("id"), c.get("project"), step));
  });
  app.post("/:id/cancel", async (c) => {
    const id = c.req.param("id");
    const before = (await pipelines.run(id, c.get("project"))).status;
    const run = await pipelines.cancel(id, c.get("project"), `cancelled by ${c.get("user").username}`);
    await audit.record({
      ...requester(c),
      action: "pipeline_run.cancel",
      target: { kind: "pipeline_run", id },
      before: { status: before },
      after: { status: run.status },
    });
    return c.json(run);
  });
  app.post("/:id/resume", async (c) => {
    const id = c.req.param("id");
    const run = await pipelines.resume(id, c.get("project"), c.get("user").username);
    await audit.record({
      ...requester(c),
      action: "pipeline_run.resume",
      target: { kind: "pipeline_run", id: run.id },
      after: { resumes: id },
    });
    return c.json(run, 202);
  });
  return app;
}
