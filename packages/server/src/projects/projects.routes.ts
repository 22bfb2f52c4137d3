import { CreateProjectRequest, SetMemberRequest } from "@caretflow/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath } from "../http/validate.ts";
import type { ProjectService } from "./project.service.ts";

const Username = z.string().min(1).max(100);

/** /api/projects: the projects you are in, new projects, members. Permissions are the route table's. */
export function projectsRoutes(deps: { projects: ProjectService }): Hono<AppEnv> {
  const { projects } = deps;
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => c.json({ projects: await projects.list(c.get("user")) }));
  app.post("/", async (c) => {
    const body = await parseJson(c, CreateProjectRequest);
    return c.json(await projects.create(c.get("user"), body.name, body.description ?? null), 201);
  });
  // The middleware has checked the role on the {project} of the path and set it as `project`.
  app.get("/:project/members", async (c) => c.json({ members: await projects.members(c.get("project")) }));
  app.put("/:project/members/:username", async (c) => {
    const username = parsePath(c.req.param("username"), Username, "username");
    const body = await parseJson(c, SetMemberRequest);
    return c.json(await projects.setMember(c.get("project"), username, body.role));
  });
  app.delete("/:project/members/:username", async (c) => {
    await projects.removeMember(c.get("project"), parsePath(c.req.param("username"), Username, "username"));
    return c.json({ ok: true as const });
  });
  return app;
}
