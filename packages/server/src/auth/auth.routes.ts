import { type ApiTokenInfo, CaretflowError, ChangePasswordRequest, CreateTokenRequest, LoginRequest, notFound } from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import { type AppEnv, clientAddress } from "../http/app.env.ts";
import { parseJson } from "../http/validate.ts";
import type { ProjectService } from "../projects/project.service.ts";
import { type AuthService, SESSION_COOKIE } from "./auth.service.ts";
import type { LoginLimiter } from "./login.limiter.ts";

/** Sign-in, sign-out and API tokens. `secureCookies`: mark the session cookie Secure even on plain http (caretflow's public URL is https). */
export function authRoutes(deps: {
  auth: AuthService;
  backoff: LoginLimiter;
  audit: AuditLog;
  projects: ProjectService;
  secureCookies?: boolean;
}): Hono<AppEnv> {
  const { auth, backoff, audit } = deps;
  const app = new Hono<AppEnv>();

  app.post("/login", async (c) => {
    const address = clientAddress(c.env);
    const body = await parseJson(c, LoginRequest);
    try {
      await backoff.check(body.username, address);
    } catch (err) {
      const retry = (err as CaretflowError).details as { retryAfterSeconds?: number } | undefined;
      if (retry?.retryAfterSeconds) c.header("Retry-After", String(retry.retryAfterSeconds));
      throw err;
    }
    const user = await auth.verifyLogin(body.username, body.password);
    if (!user) {
      await backoff.failed(body.username, address);
      await audit.record({
        actor: { id: null, name: "anonymous" },
        action: "auth.login_failed",
        target: { kind: "user", id: body.username.slice(0, 200) },
        address,
      });
      throw new CaretflowError({
        code: "invalid_credentials",
        kind: "user",
        status: 401,
        message: "Wrong username or password",
        hint: "The admin password is printed once on first start; a site admin can reset any password (docs/operations.md).",
      });
    }
    await backoff.succeeded(body.username, address);
    const session = await auth.createSession(user.id);
    setCookie(c, SESSION_COOKIE, session.cookie, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      // Behind a TLS-terminating proxy caretflow sees http, but the browser is on https.
      secure: deps.secureCookies === true || new URL(c.req.url).protocol === "https:",
      expires: session.expiresAt,
    });
    await audit.record({
      actor: { id: user.id, name: user.username },
      action: "auth.login",
      target: { kind: "user", id: user.username },
      address,
    });
    return c.json({ user });
  });

  app.post("/logout", async (c) => {
    const cookie = c.get("sessionCookie");
    if (cookie) await auth.deleteSession(cookie);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    const user = c.get("user");
    await audit.record({ ...requester(c), action: "auth.logout", target: { kind: "user", id: user.username } });
    return c.json({ ok: true as const });
  });

  app.get("/me", (c) => c.json({ user: c.get("user") }));

  app.post("/password", async (c) => {
    const body = await parseJson(c, ChangePasswordRequest);
    const user = c.get("user");
    await auth.changePassword(user, body.current, body.next, c.get("sessionCookie"));
    await audit.record({ ...requester(c), action: "user.password.change", target: { kind: "user", id: user.username } });
    return c.json({ ok: true as const });
  });

  app.get("/tokens", async (c) => c.json({ tokens: await visibleTokens(c) }));

  app.post("/tokens", async (c) => {
    const body = await parseJson(c, CreateTokenRequest);
    const user = c.get("user");
    if (body.project !== undefined) {
      // A token for a project the user cannot see would be useless; refuse it the way project routes do.
      const known =
        user.role === "admin" ? await deps.projects.exists(body.project) : (await deps.projects.roleOf(user.id, body.project)) !== null;
      if (!known) {
        throw notFound("project", body.project, "List your projects with GET /api/projects (caretflow projects list).");
      }
    }
    const created = await auth.createToken(user.id, body.name, body);
    await audit.record({
      ...requester(c),
      action: "token.create",
      target: { kind: "token", id: created.id },
      ...(created.project ? { project: created.project } : {}),
      after: { name: created.name, project: created.project, access: created.access, expiresAt: created.expiresAt },
    });
    return c.json(created, 201);
  });

  app.delete("/tokens/:id", async (c) => {
    const id = c.req.param("id");
    const token = (await auth.listTokens(c.get("user").id)).find((t) => t.id === id);
    if (!(await auth.revokeToken(c.get("user").id, id))) throw notFound("api token", id);
    await audit.record({
      ...requester(c),
      action: "token.revoke",
      target: { kind: "token", id },
      before: token ? { name: token.name } : null,
    });
    return c.json({ ok: true as const });
  });

  /**
   * The user's tokens; a request made with a project-scoped token sees only that project's tokens (it can
   * neither create nor revoke any: token management changes things outside its project).
   */
  async function visibleTokens(c: Context<AppEnv>): Promise<ApiTokenInfo[]> {
    const all = await auth.listTokens(c.get("user").id);
    const scope = c.get("apiToken")?.project ?? null;
    return scope === null ? all : all.filter((t) => t.project === scope);
  }

  return app;
}
