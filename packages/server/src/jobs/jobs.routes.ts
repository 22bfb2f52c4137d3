import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { BatchPredictRequest, TrainRequest } from "@caretflow/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parseQuery } from "../http/validate.ts";
import type { JobService } from "./job.service.ts";
import { resumePoint, streamJobEvents } from "./job.sse.ts";

const EventsQuery = z.object({ after: z.coerce.number().int().nonnegative().optional() });

export function jobsRoutes(deps: { jobs: JobService; heartbeatMs: number }): Hono<AppEnv> {
  const { jobs } = deps;
  const app = new Hono<AppEnv>();

  // Every job is looked up within the request's project (the middleware checked the role on it).
  app.post("/train", async (c) => c.json(await jobs.startTrain(await parseJson(c, TrainRequest), c.get("project")), 202));
  app.post("/predict", async (c) => c.json(await jobs.startPredict(await parseJson(c, BatchPredictRequest), c.get("project")), 202));
  app.get("/", async (c) => c.json({ jobs: await jobs.list(c.get("project")) }));
  app.get("/:id", async (c) => c.json(await jobs.get(c.req.param("id"), c.get("project"))));
  app.post("/:id/cancel", async (c) => c.json(await jobs.cancel(c.req.param("id"), c.get("project"))));

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
