import { CaretflowError } from "@caretflow/contracts";
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../http/app.env.ts";
import { type AuthService, SESSION_COOKIE } from "./auth.service.ts";

/** Paths under /api that answer without credentials. */
export const PUBLIC_API_PATHS: ReadonlySet<string> = new Set(["/api/health", "/api/openapi.json", "/api/auth/login"]);

export function unauthorized(): CaretflowError {
  return new CaretflowError({
    code: "unauthorized",
    kind: "user",
    status: 401,
    message: "Sign in first: this endpoint needs a session or an API token",
    hint: "Sign in through the web UI, or send 'Authorization: Bearer <token>' (the CLI's token is in <home>/cli.json).",
  });
}

/**
 * Requires a session cookie or a bearer token. A bearer header that is present
 * but wrong is refused even if a cookie is also sent, so a script never runs
 * silently as someone else.
 */
export function requireAuth(auth: AuthService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const user = m ? await auth.userForToken(m[1]!) : null;
      if (!user) throw unauthorized();
      c.set("user", user);
      c.set("sessionCookie", null);
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    const user = cookie ? await auth.userForSession(cookie) : null;
    if (!user || !cookie) throw unauthorized();
    if (!SAFE_METHODS.has(c.req.method) && !sameOrigin(c.req.header("origin"), c.req.header("host"))) {
      // SameSite=Strict already keeps the cookie off cross-site requests; this is the second lock.
      throw new CaretflowError({
        code: "cross_origin",
        kind: "user",
        status: 403,
        message: "Cross-origin requests that change data are refused",
        hint: "Call the API from caretflow's own pages, or use an API token.",
      });
    }
    c.set("user", user);
    c.set("sessionCookie", cookie);
    return next();
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** True when there is no Origin header (non-browser clients) or it names this host. */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
