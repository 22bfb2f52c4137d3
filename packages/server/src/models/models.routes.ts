import {
  AliasName,
  CaretflowError,
  ModelUpdateRequest,
  ModelVersionNumber,
  notFound,
  OnlinePredictRequest,
  RegisteredModelName,
  RegisterModelRequest,
  SetAliasRequest,
  userError,
} from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath } from "../http/validate.ts";
import type { ScoringPort, TrackingPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import { isStageAlias, type ModelLifecycle } from "./model.lifecycle.ts";

export function modelsRoutes(deps: {
  tracking: TrackingPort;
  /** The model as its page shows it (cached; writes below read `tracking.getModel`). */
  modelPage: (name: string) => ReturnType<TrackingPort["getModel"]>;
  projects: ProjectService;
  audit: AuditLog;
  lifecycle: ModelLifecycle;
}): Hono<AppEnv> {
  const { tracking, modelPage, projects, audit, lifecycle } = deps;
  const app = new Hono<AppEnv>();
  /** The model named in the path, once it is known to be one of the request's project. */
  const named = async (c: Context<AppEnv>): Promise<string> => {
    const name = parsePath(c.req.param("name"), RegisteredModelName, "model name");
    await projects.requireIn("model", name, c.get("project"));
    return name;
  };

  app.get("/", async (c) => {
    const owned = await projects.ownedFilter("model", c.get("project"));
    return c.json({ models: (await tracking.listModels()).filter((m) => owned(m.name)) });
  });
  app.get("/:name", async (c) => c.json(await modelPage(await named(c))));
  app.put("/:name", async (c) => {
    const name = await named(c);
    const body = await parseJson(c, ModelUpdateRequest);
    const before = await tracking.getModel(name);
    const after = await tracking.updateModel(name, body);
    await audit.record({
      ...requester(c),
      action: "model.update",
      target: { kind: "model", id: name },
      ...describedChange(body, before, after),
    });
    return c.json(after);
  });
  app.put("/:name/versions/:version", async (c) => {
    const name = await named(c);
    const version = parsePath(c.req.param("version"), ModelVersionNumber, "version");
    const body = await parseJson(c, ModelUpdateRequest);
    const before = (await tracking.getModel(name)).versions.find((v) => v.version === version);
    if (!before) throw notFound("model version", `${name}/${version}`, `List the versions with GET /api/models/${name}.`);
    const after = await tracking.updateModelVersion(name, version, body);
    await audit.record({
      ...requester(c),
      action: "model.version.update",
      target: { kind: "model", id: `${name}/${version}` },
      ...describedChange(body, before, after),
    });
    return c.json(after);
  });
  app.post("/", async (c) => {
    const body = await parseJson(c, RegisterModelRequest);
    const project = c.get("project");
    const run = await tracking.getRun(body.runId);
    if ((await projects.projectOfRun(run)) !== project)
      throw notFound("run", body.runId, "Register a model from one of this project's runs.");
    // Pointing an alias is a promotion: the owner's call.
    if (body.alias && c.get("projectRole") !== "owner") {
      throw userError(
        "forbidden",
        `Setting the alias '${body.alias}' needs the owner role on project '${project}'`,
        "Register without an alias, and ask an owner to set it.",
        403,
      );
    }
    await projects.claim("model", body.name, project);
    // The version a stage alias pointed at before, for the stage history (none for a new model).
    const replaced =
      body.alias && isStageAlias(body.alias)
        ? await tracking.getModel(body.name).then(
            (m) => m.aliases[body.alias!] ?? null,
            (err) => {
              if (err instanceof CaretflowError && err.status === 404) return null;
              throw err;
            },
          )
        : null;
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
    if (body.alias) await lifecycle.recordAliasMove(version.name, body.alias, version.version, replaced, c.get("user").username, "alias");
    return c.json(version, 201);
  });
  app.post("/:name/aliases", async (c) => {
    const name = await named(c);
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
    // A move of staging or production is a stage transition too.
    await lifecycle.recordAliasMove(name, body.alias, body.version, before, c.get("user").username, "alias");
    return c.json(model);
  });
  app.delete("/:name/aliases/:alias", async (c) => {
    const name = await named(c);
    const alias = parsePath(c.req.param("alias"), AliasName, "alias");
    const before = (await tracking.getModel(name)).aliases[alias] ?? null;
    const model = await tracking.deleteAlias(name, alias);
    await audit.record({
      ...requester(c),
      action: "model.alias.delete",
      target: { kind: "model", id: `${name}@${alias}` },
      before: before === null ? null : { version: before },
    });
    // Taking a version out of staging or production is a stage change too.
    if (before !== null) await lifecycle.recordAliasRemoval(name, alias, before, c.get("user").username);
    return c.json(model);
  });

  return app;
}

/** The audit's before and after of a description and tag change: only the fields the request touched. */
function describedChange(
  body: ModelUpdateRequest,
  before: { description: string | null; tags: Record<string, string> },
  after: { description: string | null; tags: Record<string, string> },
) {
  const pick = (o: typeof before) => ({
    ...(body.description !== undefined ? { description: o.description } : {}),
    ...(body.tags ? { tags: Object.fromEntries(Object.keys(body.tags).map((k) => [k, o.tags[k] ?? null])) } : {}),
  });
  return { before: pick(before), after: pick(after) };
}

/** POST /api/predict: online scoring through a warm scoring process per model version. */
export function predictRoutes(deps: { tracking: TrackingPort; scoring: ScoringPort; projects: ProjectService }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const body = await parseJson(c, OnlinePredictRequest);
    const started = performance.now();
    const model = await deps.tracking.resolveModelRef(body.model);
    await deps.projects.requireIn("model", model.name, c.get("project"));
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
