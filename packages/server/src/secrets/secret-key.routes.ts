import { Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import type { SecretKeyService } from "./secret-key.service.ts";

/** POST /api/settings/secret-key/rotate: a site admin rotates the server's secret key (permission from the route table). */
export function secretKeyRoutes(deps: { secretKey: SecretKeyService; audit: AuditLog }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/secret-key/rotate", async (c) => {
    const result = await deps.secretKey.rotate();
    await deps.audit.record({
      ...requester(c),
      project: null,
      action: "secret_key.rotate",
      target: { kind: "settings", id: "secret-key" },
      after: { ...result },
    });
    return c.json(result);
  });
  return app;
}
