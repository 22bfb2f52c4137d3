import { CreateUserRequest, Handle } from "@caretflow/contracts";
import { Hono } from "hono";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import type { AuthService } from "../auth/auth.service.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath } from "../http/validate.ts";

/** Path usernames follow the same rule as new ones, so a hostile value is refused before any lookup. */
const Username = Handle;

/** /api/users: site admins manage local accounts. Permissions are the route table's. */
export function usersRoutes(deps: { auth: AuthService; audit: AuditLog }): Hono<AppEnv> {
  const { auth, audit } = deps;
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => c.json({ users: await auth.listUsers() }));
  app.post("/", async (c) => {
    const body = await parseJson(c, CreateUserRequest);
    const created = await auth.createUser({ username: body.username, password: body.password, admin: body.admin });
    await audit.record({
      ...requester(c),
      action: "user.create",
      target: { kind: "user", id: created.username },
      after: { role: created.role },
    });
    return c.json(created, 201);
  });
  const username = (c: { req: { param: (k: string) => string } }) => parsePath(c.req.param("username"), Username, "username");
  for (const [verb, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    app.post(`/:username/${verb}`, async (c) => {
      const user = await auth.setDisabled(username(c), disabled, c.get("user"));
      await audit.record({ ...requester(c), action: `user.${verb}`, target: { kind: "user", id: user.username }, after: { disabled } });
      return c.json(user);
    });
  }
  app.post("/:username/password", async (c) => {
    const user = await auth.resetPassword(username(c));
    // the new password goes to the admin once; the log records only that it was reset
    await audit.record({ ...requester(c), action: "user.password.reset", target: { kind: "user", id: user.username } });
    return c.json(user);
  });
  return app;
}
