import { PipelineValidateRequest, pipelineValidateResult } from "@caretflow/contracts";
import { Hono } from "hono";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson } from "../http/validate.ts";

/** /api/pipelines: checking a pipeline file (the same validation as `caretflow pipelines validate`). */
export function pipelinesRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // A file with errors is an answer, not a failed request: 200 with valid:false and every error's place.
  app.post("/validate", async (c) => c.json(pipelineValidateResult((await parseJson(c, PipelineValidateRequest)).yaml)));
  return app;
}
