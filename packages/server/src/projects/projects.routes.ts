import { AuditQuery, CreateProjectRequest, Handle, SetMemberRequest } from "@caretflow/contracts";
import { Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { ProjectService } from "./project.service.ts";

/** Path usernames follow the same rule as new ones, so a hostile value is refused before any lookup. */
const Username = Handle;

/** /api/projects: the projects you are in, new projects, members. Permissions are the route table's. */
export function projectsRoutes(deps: { projects: ProjectService; audit: AuditLog }): Hono<AppEnv> {
  const { projects, audit } = deps;
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const list = await projects.list(c.get("user"));
    // A project-scoped API token sees only its own project.
    const only = c.get("apiToken")?.project;
    return c.json({ projects: only ? list.filter((p) => p.name === only) : list });
  });
  app.post("/", async (c) => {
    const body = await parseJson(c, CreateProjectRequest);
    const project = await projects.create(c.get("user"), body.name, body.description ?? null);
    await audit.record({ ...requester(c), project: project.name, action: "project.create", target: { kind: "project", id: project.name } });
    return c.json(project, 201);
  });
  // The middleware has checked the role on the {project} of the path and set it as `project`.
  // A project's owners read its own audit entries (the whole log is the site admins').
  app.get("/:project/audit", async (c) => {
    const { project: _ignored, ...query } = parseQuery(c, AuditQuery);
    return c.json(await audit.list({ ...query, project: c.get("project") }));
  });
  app.get("/:project/members", async (c) => c.json({ members: await projects.members(c.get("project")) }));
  app.put("/:project/members/:username", async (c) => {
    const username = parsePath(c.req.param("username"), Username, "username");
    const body = await parseJson(c, SetMemberRequest);
    const before = (await projects.members(c.get("project"))).find((m) => m.username === username)?.role ?? null;
    const member = await projects.setMember(c.get("project"), username, body.role);
    await audit.record({
      ...requester(c),
      action: "project.member.set",
      target: { kind: "user", id: username },
      before: before ? { role: before } : null,
      after: { role: member.role },
    });
    return c.json(member);
  });
  app.delete("/:project/members/:username", async (c) => {
    const username = parsePath(c.req.param("username"), Username, "username");
    await projects.removeMember(c.get("project"), username);
    await audit.record({ ...requester(c), action: "project.member.remove", target: { kind: "user", id: username } });
    return c.json({ ok: true as const });
  });
  return app;
}
