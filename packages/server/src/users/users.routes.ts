import { CreateUserRequest } from "@caretflow/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { AuthService } from "../auth/auth.service.ts";
import type { AppEnv } from "../http/app.env.ts";
import { parseJson, parsePath } from "../http/validate.ts";

const Username = z.string().min(1).max(100);

/** /api/users: site admins manage local accounts. Permissions are the route table's. */
export function usersRoutes(deps: { auth: AuthService }): Hono<AppEnv> {
  const { auth } = deps;
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => c.json({ users: await auth.listUsers() }));
  app.post("/", async (c) => {
    const body = await parseJson(c, CreateUserRequest);
    return c.json(await auth.createUser({ username: body.username, password: body.password, admin: body.admin }), 201);
  });
  const username = (c: { req: { param: (k: string) => string } }) => parsePath(c.req.param("username"), Username, "username");
  app.post("/:username/disable", async (c) => c.json(await auth.setDisabled(username(c), true, c.get("user"))));
  app.post("/:username/enable", async (c) => c.json(await auth.setDisabled(username(c), false, c.get("user"))));
  app.post("/:username/password", async (c) => c.json(await auth.resetPassword(username(c))));
  return app;
}
