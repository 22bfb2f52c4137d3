import {
  CreateDeploymentRequest,
  DeploymentName,
  DeploymentPredictRequest,
  type DeploymentTarget,
  type TrafficPolicy,
  UpdateDeploymentRequest,
} from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath } from "../http/validate.ts";
import type { ProjectService } from "../projects/project.service.ts";
import type { DeploymentRepository, StoredDeployment } from "./deployment.repository.ts";
import type { ServingGateway } from "./gateway.ts";

/** What the audit log records of a deployment. */
const snapshot = (d: StoredDeployment) => ({
  model: d.model,
  target: d.target,
  policy: d.policy,
  status: d.status,
  driftEvery: d.driftEvery,
});

/** /api/deployments: deployments of the request's project, and their prediction endpoint. */
export function deploymentsRoutes(deps: {
  repo: DeploymentRepository;
  gateway: ServingGateway;
  projects: ProjectService;
  audit: AuditLog;
}): Hono<AppEnv> {
  const { repo, gateway, projects, audit } = deps;
  const app = new Hono<AppEnv>();
  const named = async (c: Context<AppEnv>) => repo.get(parsePath(c.req.param("name"), DeploymentName, "deployment name"), c.get("project"));

  app.post("/", async (c) => {
    const body = await parseJson(c, CreateDeploymentRequest);
    const project = c.get("project");
    await projects.requireIn("model", body.model, project);
    const stored = await repo.create({ ...body, project, by: c.get("user").username });
    try {
      // Loaded before the answer: the deployment serves as soon as it is created.
      await gateway.apply(stored);
    } catch (err) {
      gateway.remove(stored.name);
      await repo.delete(stored.name);
      throw err;
    }
    await audit.record({
      ...requester(c),
      action: "deployment.create",
      target: { kind: "deployment", id: stored.name },
      after: snapshot(stored),
    });
    return c.json(gateway.describe(stored), 201);
  });
  app.get("/", async (c) => c.json({ deployments: (await repo.list(c.get("project"))).map((d) => gateway.describe(d)) }));
  app.get("/:name", async (c) => c.json(gateway.describe(await named(c))));
  app.put("/:name", async (c) => {
    // The body is read first: a browser's text/plain POST is refused (415) before anything is looked up.
    const body = await parseJson(c, UpdateDeploymentRequest);
    const before = await named(c);
    const proposed: StoredDeployment = {
      ...before,
      ...(body.target ? { target: body.target as DeploymentTarget } : {}),
      ...(body.policy ? { policy: body.policy as TrafficPolicy, policySince: new Date().toISOString() } : {}),
      ...(body.status ? { status: body.status } : {}),
    };
    // The new versions load while the old ones serve; only then is the change stored and traffic moved.
    if (body.target || body.policy)
      await gateway.apply(proposed).catch(async (err) => {
        await gateway.apply(before).catch(() => {});
        throw err;
      });
    const after = await repo.update(before.name, { ...body, by: c.get("user").username });
    await gateway.apply(after);
    await audit.record({
      ...requester(c),
      action: "deployment.update",
      target: { kind: "deployment", id: after.name },
      before: snapshot(before),
      after: snapshot(after),
    });
    return c.json(gateway.describe(after));
  });
  app.delete("/:name", async (c) => {
    const before = await named(c);
    await repo.delete(before.name);
    gateway.remove(before.name);
    await audit.record({
      ...requester(c),
      action: "deployment.delete",
      target: { kind: "deployment", id: before.name },
      before: snapshot(before),
    });
    return c.json({ deleted: before.name });
  });
  app.post("/:name/predict", async (c) => {
    // The gateway's own copy: no database or registry lookup on the request path.
    const name = parsePath(c.req.param("name"), DeploymentName, "deployment name");
    const body = await parseJson(c, DeploymentPredictRequest);
    return c.json(await gateway.predict(name, body.rows, c.get("project")));
  });
  return app;
}
