import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { BatchPredictRequest, type Job, TrainRequest } from "@caretflow/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parseQuery } from "../http/validate.ts";
import type { JobService } from "./job.service.ts";
import { resumePoint, streamJobEvents } from "./job.sse.ts";

const EventsQuery = z.object({ after: z.coerce.number().int().nonnegative().optional() });

export function jobsRoutes(deps: { jobs: JobService; audit: AuditLog; heartbeatMs: number }): Hono<AppEnv> {
  const { jobs, audit } = deps;
  const app = new Hono<AppEnv>();

  // Every job is looked up within the request's project (the middleware checked the role on it).
  app.post("/train", async (c) => {
    const job = await jobs.startTrain(await parseJson(c, TrainRequest), c.get("project"));
    await audit.record({ ...requester(c), ...jobCreated(job) });
    return c.json(job, 202);
  });
  app.post("/predict", async (c) => {
    const job = await jobs.startPredict(await parseJson(c, BatchPredictRequest), c.get("project"));
    await audit.record({ ...requester(c), ...jobCreated(job) });
    return c.json(job, 202);
  });
  app.get("/", async (c) => c.json({ jobs: await jobs.list(c.get("project")) }));
  app.get("/:id", async (c) => c.json(await jobs.get(c.req.param("id"), c.get("project"))));
  app.post("/:id/cancel", async (c) => {
    const id = c.req.param("id");
    const before = (await jobs.get(id, c.get("project"))).status;
    const job = await jobs.cancel(id, c.get("project"));
    await audit.record({
      ...requester(c),
      action: "job.cancel",
      target: { kind: "job", id },
      before: { status: before },
      after: { status: job.status },
    });
    return c.json(job);
  });

  app.get("/:id/events", async (c) => {
    const id = c.req.param("id");
    await jobs.get(id, c.get("project")); // 404 before opening a stream
    const { after } = parseQuery(c, EventsQuery);
    return streamJobEvents(c, jobs, id, resumePoint(c.req.header("last-event-id"), after), { heartbeatMs: deps.heartbeatMs });
  });

  app.get("/:id/log", async (c) => {
    const path = await jobs.logPath(c.req.param("id"), c.get("project"));
    const size = await stat(path).then(
      (s) => s.size,
      () => null,
    );
    // A job that has not started yet has no log: an empty body, not an error.
    if (size === null || size === 0) return c.text("");
    // The log may still grow; send what exists now, matching content-length.
    return new Response(Readable.toWeb(createReadStream(path, { end: size - 1 })) as ReadableStream, {
      headers: { "content-type": "text/plain; charset=utf-8", "content-length": String(size) },
    });
  });

  return app;
}

/** The audit entry of a new job: its kind and request (capped and redacted by the log). */
export function jobCreated(job: Job): { action: string; target: { kind: string; id: string }; after: unknown } {
  return { action: "job.create", target: { kind: "job", id: job.id }, after: { kind: job.kind, request: job.request } };
}
