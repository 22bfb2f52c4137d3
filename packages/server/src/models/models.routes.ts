import { AliasName, OnlinePredictRequest, RegisteredModelName, RegisterModelRequest, SetAliasRequest } from "@caretflow/contracts";
import { Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath } from "../http/validate.ts";
import type { ScoringPort, TrackingPort } from "../ports.ts";

export function modelsRoutes(deps: { tracking: TrackingPort; audit: AuditLog }): Hono<AppEnv> {
  const { tracking, audit } = deps;
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => c.json({ models: await tracking.listModels() }));
  app.get("/:name", async (c) => c.json(await tracking.getModel(parsePath(c.req.param("name"), RegisteredModelName, "model name"))));
  app.post("/", async (c) => {
    const body = await parseJson(c, RegisterModelRequest);
    const version = await tracking.registerModel(body);
    await audit.record({
      ...requester(c),
      action: "model.register",
      target: { kind: "model", id: `${version.name}/${version.version}` },
      after: {
        runId: body.runId,
        ...(body.alias ? { alias: body.alias } : {}),
        ...(body.description ? { description: body.description } : {}),
      },
    });
    return c.json(version, 201);
  });
  app.post("/:name/aliases", async (c) => {
    const name = parsePath(c.req.param("name"), RegisteredModelName, "model name");
    const body = await parseJson(c, SetAliasRequest);
    const before = (await tracking.getModel(name)).aliases[body.alias] ?? null;
    const model = await tracking.setAlias(name, body.alias, body.version);
    await audit.record({
      ...requester(c),
      action: "model.alias.set",
      target: { kind: "model", id: `${name}@${body.alias}` },
      before: before === null ? null : { version: before },
      after: { version: body.version },
    });
    return c.json(model);
  });
  app.delete("/:name/aliases/:alias", async (c) => {
    const name = parsePath(c.req.param("name"), RegisteredModelName, "model name");
    const alias = parsePath(c.req.param("alias"), AliasName, "alias");
    const before = (await tracking.getModel(name)).aliases[alias] ?? null;
    const model = await tracking.deleteAlias(name, alias);
    await audit.record({
      ...requester(c),
      action: "model.alias.delete",
      target: { kind: "model", id: `${name}@${alias}` },
      before: before === null ? null : { version: before },
    });
    return c.json(model);
  });

  return app;
}

/** POST /api/predict: online scoring through a warm scoring process per model version. */
export function predictRoutes(deps: { tracking: TrackingPort; scoring: ScoringPort }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const body = await parseJson(c, OnlinePredictRequest);
    const started = performance.now();
    const model = await deps.tracking.resolveModelRef(body.model);
    const answer = await deps.scoring.predict({ uri: model.uri, sha256: model.sha256, key: `${model.name}/${model.version}` }, body.rows, {
      ...(body.horizon ? { horizon: body.horizon } : {}),
      ...(body.explain ? { explain: true } : {}),
    });
    return c.json({
      model: { name: model.name, version: model.version, task: model.task },
      columns: answer.columns,
      predictions: answer.predictions,
      ...(answer.explanations ? { explanations: answer.explanations } : {}),
      elapsedMs: Math.round((performance.now() - started) * 100) / 100,
    });
  });
  return app;
}
