import { SetSsoRequest, type SsoSettings } from "@caretflow/contracts";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import { setSessionCookie } from "../auth/auth.routes.ts";
import type { AuthService } from "../auth/auth.service.ts";
import { type AppEnv, clientAddress } from "../http/app.env.ts";
import { parseJson } from "../http/validate.ts";
import type { Logger } from "../ports.ts";
import { SsoRefusal } from "./oidc.client.ts";
import { ATTEMPT_TTL_MS, type SsoService } from "./sso.service.ts";

/** The browser's handle on its sign-in attempt; SameSite=Lax so it comes back on the provider's redirect. */
export const ATTEMPT_COOKIE = "caretflow_oidc";
const ATTEMPT_COOKIE_PATH = "/api/auth/oidc";

interface SsoRouteDeps {
  sso: SsoService;
  auth: AuthService;
  audit: AuditLog;
  log: Logger;
  secureCookies?: boolean;
}

/** The sign-in page's ends of single sign-on, under /api/auth: providers, start and callback (all public). */
export function ssoAuthRoutes(deps: SsoRouteDeps): Hono<AppEnv> {
  const { sso, auth, audit } = deps;
  const app = new Hono<AppEnv>();
  const secure = (url: string) => deps.secureCookies === true || new URL(url).protocol === "https:";
  const toSignIn = (code: string) => `/signin?sso_error=${code}`;

  app.get("/providers", async (c) => c.json(await sso.providers()));

  app.get("/oidc/start", async (c) => {
    try {
      const { url, attemptCookie } = await sso.start(c.req.query("next"));
      setCookie(c, ATTEMPT_COOKIE, attemptCookie, {
        httpOnly: true,
        sameSite: "Lax",
        path: ATTEMPT_COOKIE_PATH,
        secure: secure(c.req.url),
        maxAge: ATTEMPT_TTL_MS / 1000,
      });
      return c.redirect(url, 302);
    } catch (err) {
      if (!(err instanceof SsoRefusal)) throw err;
      deps.log("warn", `single sign-on could not start: ${err.message}`);
      return c.redirect(toSignIn(err.code), 302);
    }
  });

  app.get("/oidc/callback", async (c) => {
    const address = clientAddress(c.env);
    const attempt = getCookie(c, ATTEMPT_COOKIE);
    // Single use: the browser's handle goes whatever the outcome.
    deleteCookie(c, ATTEMPT_COOKIE, { path: ATTEMPT_COOKIE_PATH, secure: secure(c.req.url) });
    try {
      const { user, next, created } = await sso.finish(attempt, new URL(c.req.url).searchParams, address);
      setSessionCookie(c, await auth.createSession(user.id), deps.secureCookies === true);
      await audit.record({
        actor: { id: user.id, name: user.username },
        action: "auth.login",
        target: { kind: "user", id: user.username },
        project: null,
        address,
        after: { method: "oidc", ...(created ? { created: true } : {}) },
      });
      return c.redirect(next, 302);
    } catch (err) {
      if (!(err instanceof SsoRefusal)) throw err;
      deps.log("warn", `single sign-on refused (${err.code}): ${err.message}`);
      await audit.record({
        actor: { id: null, name: "anonymous" },
        action: "auth.login_failed",
        target: { kind: "user", id: "(single sign-on)" },
        project: null,
        address,
        after: { method: "oidc", reason: err.code },
      });
      return c.redirect(toSignIn(err.code), 302);
    }
  });

  return app;
}

/** /api/settings/sso: site admins configure single sign-on (permissions are the route table's). */
export function ssoSettingsRoutes(deps: { sso: SsoService; audit: AuditLog }): Hono<AppEnv> {
  const { sso, audit } = deps;
  const app = new Hono<AppEnv>();
  const snapshot = (s: SsoSettings) => ({
    enabled: s.enabled,
    issuer: s.issuer,
    clientId: s.clientId,
    clientSecretSet: s.clientSecretSet,
    autoCreate: s.autoCreate,
    defaultProject: s.defaultProject,
    defaultRole: s.defaultRole,
    buttonLabel: s.buttonLabel,
  });

  app.get("/sso", async (c) => c.json(await sso.view()));

  app.put("/sso", async (c) => {
    const body = await parseJson(c, SetSsoRequest);
    const before = await sso.view();
    const after = await sso.configure(body);
    await audit.record({
      ...requester(c),
      project: null,
      action: "sso.configure",
      target: { kind: "settings", id: "sso" },
      before: before.enabled ? snapshot(before) : null,
      after: { ...snapshot(after), ...(body.clientSecret !== undefined ? { clientSecretChanged: true } : {}) },
    });
    return c.json(after);
  });

  app.delete("/sso", async (c) => {
    const before = await sso.view();
    const after = await sso.disable();
    await audit.record({
      ...requester(c),
      project: null,
      action: "sso.disable",
      target: { kind: "settings", id: "sso" },
      before: before.enabled ? snapshot(before) : null,
      after: { enabled: false },
    });
    return c.json(after);
  });

  return app;
}
