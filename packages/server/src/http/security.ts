import { isIP } from "node:net";
import { CaretflowError } from "@caretflow/contracts";
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/**
 * The web UI's Content-Security-Policy: scripts only from caretflow's own files (no inline script, no eval),
 * inline style attributes allowed (the charts position their parts with them), nothing framed, and no
 * page of another site may frame caretflow.
 */
export const UI_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", "data:", "blob:"],
  fontSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  workerSrc: ["'self'", "blob:"],
  frameSrc: ["'none'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/**
 * Security headers on every response (hono/secure-headers): the UI's CSP, no framing, no MIME sniffing,
 * no referrer. A header a route set itself (the /mlflow/ proxy's looser CSP for MLflow's UI, the sandbox
 * CSP of artifact downloads) is kept. HSTS is sent only when caretflow's public URL is https.
 * @example app.use("*", securityHeaders({ https: false }));
 */
export function securityHeaders(opts: { https: boolean }): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: UI_CSP,
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    xContentTypeOptions: true,
    strictTransportSecurity: opts.https ? "max-age=15552000" : false,
    overwrite: false,
  });
}

/** The host names caretflow answers to (besides localhost and IP addresses, which are always accepted). */
export interface AllowedHosts {
  /** Lower-case host names, without port. */
  names: string[];
}

/**
 * The names caretflow answers to: the address it listens on, its public URL's host and any extra names
 * (--allowed-host, CARETFLOW_ALLOWED_HOSTS: comma-separated names, a port or URL form is accepted).
 * @example allowedHosts({ listenHost: "0.0.0.0", publicUrl: "https://ml.example.com", extra: ["ml.lan"] })
 */
export function allowedHosts(opts: { listenHost?: string; publicUrl?: string; extra?: readonly string[] }): AllowedHosts {
  const names = new Set<string>();
  const add = (raw: string | undefined) => {
    const name = raw ? hostName(raw) : null;
    if (name) names.add(name);
  };
  add(opts.listenHost);
  if (opts.publicUrl) add(new URL(opts.publicUrl).host);
  for (const e of opts.extra ?? []) add(e);
  return { names: [...names] };
}

/** "Ml.Example.com:443", "https://ml.example.com/x", "[::1]:8420" -> the lower-case host name ("ml.example.com", "::1"). */
export function hostName(raw: string): string | null {
  let s = raw.trim().toLowerCase();
  if (!s) return null;
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(s)) {
    try {
      s = new URL(s).host;
    } catch {
      return null;
    }
  }
  s = s.split("/")[0] ?? "";
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    return end > 1 ? s.slice(1, end) : null;
  }
  if (isIP(s) === 6) return s;
  const name = s.replace(/:\d*$/, "").replace(/\.$/, "");
  return name || null;
}

/** Parses CARETFLOW_ALLOWED_HOSTS ("a.example.com, b.example.com"). */
export function allowedHostsFromEnv(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Refuses (421) a request whose Host header names none of caretflow's names: a page of another site
 * whose DNS name was re-pointed at this machine (DNS rebinding) must not reach the API. localhost and
 * IP addresses are always accepted: a browser sends them only when the user opened that address itself.
 * @example app.use("*", hostCheck(allowedHosts({ listenHost: "127.0.0.1" })));
 */
export function hostCheck(allowed: AllowedHosts): MiddlewareHandler {
  const names = new Set(allowed.names);
  return async (c, next) => {
    const raw = c.req.header("host") ?? new URL(c.req.url).host;
    const name = hostName(raw);
    if (name && (names.has(name) || name === "localhost" || name.endsWith(".localhost") || isIP(name) !== 0)) return next();
    const listed = ["localhost", "IP addresses", ...allowed.names.filter((n) => isIP(n) === 0 && n !== "localhost")];
    throw new CaretflowError({
      code: "host_not_allowed",
      kind: "user",
      status: 421,
      message: `caretflow does not answer to the host name '${(name ?? raw).slice(0, 200)}'; it answers to ${listed.join(", ")}`,
      hint: "Start caretflow with --public-url https://<that name> or --allowed-host <that name>, or add the name to CARETFLOW_ALLOWED_HOSTS (comma-separated).",
    });
  };
}
