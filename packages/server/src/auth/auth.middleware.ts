import { CaretflowError, type User } from "@caretflow/contracts";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../http/app.env.ts";
import { type AuthService, SESSION_COOKIE } from "./auth.service.ts";

export function unauthorized(): CaretflowError {
  return new CaretflowError({
    code: "unauthorized",
    kind: "user",
    status: 401,
    message: "Sign in first: this endpoint needs a session or an API token",
    hint: "Sign in through the web UI, or send 'Authorization: Bearer <token>' (the CLI's token is in <home>/cli.json).",
  });
}

/** 401 for a token past its expiry: names the token (never its secret) and how to get a new one. */
export function tokenExpired(name: string, expiresAt: string): CaretflowError {
  return new CaretflowError({
    code: "token_expired",
    kind: "user",
    status: 401,
    message: `The API token '${name}' expired at ${expiresAt}`,
    hint: "Create a new one on the Account page or with `caretflow tokens create NAME`, and revoke the old one (`caretflow up` renews the CLI's own token in cli.json).",
  });
}

/**
 * The signed-in user of a request, from a bearer token or the session cookie; throws 401 otherwise. A
 * bearer header that is present but wrong is refused even if a cookie is also sent, so a script never
 * runs silently as someone else. Sets `user`, `sessionCookie` and `apiToken`.
 */
export async function authenticate(c: Context<AppEnv>, auth: AuthService, opts: { https?: boolean } = {}): Promise<User> {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const resolved = m ? await auth.resolveToken(m[1]!) : null;
    if (!resolved) throw unauthorized();
    if (resolved.expired) throw tokenExpired(resolved.name, resolved.expiresAt);
    c.set("user", resolved.user);
    c.set("sessionCookie", null);
    c.set("apiToken", resolved.scope);
    return resolved.user;
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  const user = cookie ? await auth.userForSession(cookie) : null;
  if (!user || !cookie) throw unauthorized();
  if (!SAFE_METHODS.has(c.req.method) && !sameOrigin(c.req.header("origin"), c.req.header("host"), opts.https === true)) {
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
  c.set("apiToken", null);
  return user;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * True when there is no Origin header (non-browser clients) or it names this host; when caretflow's
 * public URL is https (`https`), the origin must be https too, so a plain-http page of the same name
 * (one a network attacker can write) does not count as caretflow's own.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined, https = false): boolean {
  if (!origin) return true;
  try {
    const url = new URL(origin);
    return url.host === host && (!https || url.protocol === "https:");
  } catch {
    return false;
  }
}
