import { DatasetName, QualityRuleInput } from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { ProjectService } from "../projects/project.service.ts";
import type { QualityService } from "./quality.service.ts";

const Version = z.coerce.number().int().positive();
const RuleId = z.string().uuid();

/**
 * Quality rules and reports under /api/datasets/{name}: viewers read rules, suggestions and reports;
 * editors change rules (each change audited) and run checks.
 */
export function qualityRoutes(deps: { quality: QualityService; projects: ProjectService; audit: AuditLog }): Hono<AppEnv> {
  const { quality, projects, audit } = deps;
  const app = new Hono<AppEnv>();
  const named = async (c: Context<AppEnv>): Promise<string> => {
    const name = parsePath(c.req.param("name"), DatasetName, "dataset name");
    await projects.requireIn("dataset", name, c.get("project"));
    return name;
  };
  const target = (name: string, id: string) => ({ kind: "quality_rule", id: `${name}/${id}` });

  app.get("/:name/quality/rules", async (c) => c.json({ rules: await quality.list(await named(c)) }));

  app.post("/:name/quality/rules", async (c) => {
    const name = await named(c);
    const input = await parseJson(c, QualityRuleInput);
    const rule = await quality.create(name, input, c.get("user").username);
    await audit.record({ ...requester(c), action: "dataset.quality_rule.create", target: target(name, rule.id), after: rule });
    return c.json(rule, 201);
  });

  app.put("/:name/quality/rules/:id", async (c) => {
    const name = await named(c);
    const input = await parseJson(c, QualityRuleInput);
    const id = parsePath(c.req.param("id"), RuleId, "rule id");
    const { before, after } = await quality.update(name, id, input);
    await audit.record({ ...requester(c), action: "dataset.quality_rule.update", target: target(name, id), before, after });
    return c.json(after);
  });

  app.delete("/:name/quality/rules/:id", async (c) => {
    const name = await named(c);
    const id = parsePath(c.req.param("id"), RuleId, "rule id");
    const before = await quality.remove(name, id);
    await audit.record({ ...requester(c), action: "dataset.quality_rule.delete", target: target(name, id), before });
    return c.json({ ok: true as const });
  });

  app.get("/:name/quality/suggestions", async (c) => {
    const name = await named(c);
    const { version } = parseQuery(c, z.object({ version: Version.optional() }));
    return c.json(await quality.suggestions(name, version));
  });

  app.get("/:name/versions/:version/quality", async (c) => {
    const name = await named(c);
    const version = parsePath(c.req.param("version"), Version, "version");
    const report = await quality.latestReport(name, version);
    return c.json({ report, current: report ? await quality.isCurrent(report) : false });
  });

  app.post("/:name/versions/:version/quality/check", async (c) => {
    const name = await named(c);
    const version = parsePath(c.req.param("version"), Version, "version");
    return c.json(await quality.check(name, version, "on_demand"));
  });

  return app;
}
