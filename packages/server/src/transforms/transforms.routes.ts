import { DatasetName, type ImportResult, SaveTransformRequest, TransformPreviewRequest } from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath } from "../http/validate.ts";
import type { TransformService } from "./transform.service.ts";

/** The SQL an audit entry keeps: enough to recognise the query, never megabytes of it. */
const AUDIT_SQL_CHARS = 2000;

/**
 * /api/transforms: viewers list and read a project's saved transforms; editors preview queries,
 * save and run transforms (each new version audited with its inputs) and delete saved ones.
 */
export function transformsRoutes(deps: { transforms: TransformService; audit: AuditLog }): Hono<AppEnv> {
  const { transforms, audit } = deps;
  const app = new Hono<AppEnv>();
  const named = (c: Context<AppEnv>) => parsePath(c.req.param("name"), DatasetName, "dataset name");
  const recordVersion = async (c: Context<AppEnv>, result: ImportResult) => {
    if (!result.created) return;
    const v = result.version;
    await audit.record({
      ...requester(c),
      action: "dataset.transform",
      target: { kind: "dataset", id: `${v.dataset}/${v.version}` },
      after: {
        dataset: v.dataset,
        version: v.version,
        rows: v.rowCount,
        contentHash: v.contentHash,
        inputs: v.source.inputs ?? [],
        sql: (v.source.sql ?? "").slice(0, AUDIT_SQL_CHARS),
      },
    });
  };

  app.get("/", async (c) => c.json({ transforms: await transforms.list(c.get("project")) }));

  app.post("/preview", async (c) => {
    const req = await parseJson(c, TransformPreviewRequest);
    return c.json(await transforms.preview(c.get("project"), req.sql, req.limit, c.req.raw.signal));
  });

  app.post("/", async (c) => {
    const req = await parseJson(c, SaveTransformRequest);
    const { changed, ...answer } = await transforms.save(c.get("project"), c.get("user").username, req.name, req.sql, c.req.raw.signal);
    if (changed) {
      await audit.record({
        ...requester(c),
        action: "transform.save",
        target: { kind: "transform", id: req.name },
        after: { sql: req.sql.slice(0, AUDIT_SQL_CHARS) },
      });
    }
    await recordVersion(c, answer.result);
    return c.json(answer, answer.result.created ? 201 : 200);
  });

  app.get("/:name", async (c) => c.json(await transforms.get(c.get("project"), named(c))));

  app.post("/:name/run", async (c) => {
    const answer = await transforms.run(c.get("project"), named(c), c.req.raw.signal);
    await recordVersion(c, answer.result);
    return c.json(answer, answer.result.created ? 201 : 200);
  });

  app.delete("/:name", async (c) => {
    const before = await transforms.delete(c.get("project"), named(c));
    await audit.record({
      ...requester(c),
      action: "transform.delete",
      target: { kind: "transform", id: before.name },
      before: { sql: before.sql.slice(0, AUDIT_SQL_CHARS) },
    });
    return c.json({ ok: true as const });
  });

  return app;
}
