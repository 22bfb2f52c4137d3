import { AlertEventsQuery, AlertRuleName, AlertRuleRequest, AlertRuleUpdate } from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { AlertService } from "./alert.service.ts";

/**
 * /api/alerts (rules), /api/alert-events and /api/alert-metrics: viewers read rules, events and the metrics
 * rules can watch; editors change rules (each change audited, the webhook URL never echoed) and check them.
 */
export function alertsRoutes(deps: { alerts: AlertService; audit: AuditLog }): Hono<AppEnv> {
  const { alerts, audit } = deps;
  const app = new Hono<AppEnv>();
  const named = (c: Context<AppEnv>) => parsePath(c.req.param("name"), AlertRuleName, "alert rule name");
  const target = (c: Context<AppEnv>, name: string) => ({ kind: "alert_rule", id: `${c.get("project")}/${name}` });

  app.get("/", async (c) => c.json({ rules: await alerts.list(c.get("project")) }));
  app.post("/", async (c) => {
    const body = await parseJson(c, AlertRuleRequest);
    const rule = await alerts.create(c.get("project"), body, c.get("user").username);
    await audit.record({ ...requester(c), action: "alert.create", target: target(c, rule.name), after: rule });
    return c.json(rule, 201);
  });
  app.get("/:name", async (c) => c.json(await alerts.get(c.get("project"), named(c))));
  app.put("/:name", async (c) => {
    const name = named(c);
    const body = await parseJson(c, AlertRuleUpdate);
    const { before, after } = await alerts.update(c.get("project"), name, body);
    await audit.record({ ...requester(c), action: "alert.update", target: target(c, name), before, after });
    return c.json(after);
  });
  app.delete("/:name", async (c) => {
    const name = named(c);
    const before = await alerts.delete(c.get("project"), name);
    await audit.record({ ...requester(c), action: "alert.delete", target: target(c, name), before });
    return c.json(before);
  });
  app.post("/:name/check", async (c) => c.json(await alerts.check(c.get("project"), named(c))));
  return app;
}

export function alertEventsRoutes(deps: { alerts: AlertService }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => c.json({ events: await deps.alerts.events(c.get("project"), parseQuery(c, AlertEventsQuery)) }));
  return app;
}

export function alertMetricsRoutes(deps: { alerts: AlertService }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => c.json({ metrics: deps.alerts.metrics() }));
  return app;
}
