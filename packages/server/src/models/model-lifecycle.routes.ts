import {
  ModelCompareQuery,
  ModelSettings,
  PromotionCreateRequest,
  PromotionDecisionRequest,
  PromotionId,
  RegisteredModelName,
  RollbackRequest,
} from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { ProjectService } from "../projects/project.service.ts";
import type { LifecycleActor, ModelLifecycle } from "./model.lifecycle.ts";

/**
 * /api/models/{name}/promotions, /rollback, /history and /settings: stages, promotion requests with
 * approvals, rollback. Who may call which is in the route table (editors request, owners decide).
 */
export function modelLifecycleRoutes(deps: { lifecycle: ModelLifecycle; projects: ProjectService }): Hono<AppEnv> {
  const { lifecycle, projects } = deps;
  const app = new Hono<AppEnv>();
  const named = async (c: Context<AppEnv>): Promise<string> => {
    const name = parsePath(c.req.param("name"), RegisteredModelName, "model name");
    await projects.requireIn("model", name, c.get("project"));
    return name;
  };
  const who = (c: Context<AppEnv>): LifecycleActor => ({ ...requester(c), role: c.get("projectRole") });
  const requestId = (c: Context<AppEnv>) => parsePath(c.req.param("id"), PromotionId, "promotion request id");

  app.post("/:name/promotions", async (c) => {
    const name = await named(c);
    const body = await parseJson(c, PromotionCreateRequest);
    const result = await lifecycle.request(name, body, who(c));
    return c.json(result, result.transition ? 200 : 201);
  });
  app.get("/:name/promotions", async (c) => c.json({ promotions: await lifecycle.promotions(await named(c)) }));
  app.post("/:name/promotions/:id/approve", async (c) => {
    const name = await named(c);
    const body = await parseJson(c, PromotionDecisionRequest);
    return c.json(await lifecycle.approve(name, requestId(c), who(c), body.reason || null));
  });
  app.post("/:name/promotions/:id/reject", async (c) => {
    const name = await named(c);
    const body = await parseJson(c, PromotionDecisionRequest);
    return c.json(await lifecycle.reject(name, requestId(c), who(c), body.reason || null));
  });
  app.post("/:name/rollback", async (c) => {
    const name = await named(c);
    const body = await parseJson(c, RollbackRequest);
    return c.json(await lifecycle.rollback(name, who(c), body.reason));
  });
  app.get("/:name/history", async (c) => c.json({ transitions: await lifecycle.history(await named(c)) }));
  app.get("/:name/compare", async (c) => {
    const name = await named(c);
    const { versions } = parseQuery(c, ModelCompareQuery);
    return c.json(await lifecycle.compare(name, [...new Set(versions.split(",").map(Number))]));
  });
  app.get("/:name/settings", async (c) => c.json(await lifecycle.settings(await named(c))));
  app.put("/:name/settings", async (c) => {
    const name = await named(c);
    const body = await parseJson(c, ModelSettings);
    return c.json(await lifecycle.saveSettings(name, body, who(c)));
  });
  return app;
}
