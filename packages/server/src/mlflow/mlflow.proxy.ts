import { CaretflowError } from "@caretflow/contracts";
import type { Context, MiddlewareHandler } from "hono";
import { checkWriteLocations, classifyMlflowRequest, isUnderMount, parseMlflowPath, upstreamUrl } from "./mlflow.policy.ts";
import { type AnswerCheck, checkScopedRead, type MlflowReadScope, notYours } from "./mlflow.scope.ts";

/**
 * Request headers that must not reach MLflow: caretflow's own credentials, hop-by-hop headers, and the
 * browser's Origin (caretflow has already checked it; MLflow's own check only knows its loopback name and
 * would refuse the UI's POST searches whenever caretflow is reached by another host name).
 */
const DROP_REQUEST = new Set([
  "cookie",
  "origin",
  "authorization",
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "te",
  "trailer",
  "accept-encoding",
]);
/** MLflow's own framing, cookies, auth challenge (the browser never authenticates to MLflow) and framing policy (replaced). */
const DROP_RESPONSE = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-encoding",
  "content-length",
  "set-cookie",
  "www-authenticate",
  "x-frame-options",
  "content-security-policy",
]);

/**
 * MLflow's UI as it ships: its own scripts and styles (antd and emotion add inline styles), images
 * and workers from blobs, API calls to this origin; never framed by another site.
 */
export const MLFLOW_UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
  "connect-src 'self'; worker-src 'self' blob:; frame-src 'self' blob: data:; object-src 'none'; base-uri 'self'; " +
  "form-action 'self'; frame-ancestors 'none'";
/** Artifact downloads are files written by jobs: opened directly, they run nothing in caretflow's origin. */
export const MLFLOW_ARTIFACT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'";
const ARTIFACT_DOWNLOAD = /(?:^|\/)(?:get-artifact|get-trace-artifact|mlflow-artifacts\/artifacts\/.*|artifacts\/files)$/;

/** Largest request body forwarded to MLflow (the UI sends small JSON searches). */
export const MLFLOW_MAX_BODY_BYTES = 1024 * 1024;

export interface MlflowProxyOptions {
  /** Authorization header MLflow requires (caretflow's credential); added after the checks, never shown to the browser. */
  authorization?: string;
  /** Whether this user may change MLflow (site admins); everyone signed in may read. */
  canWrite: boolean;
  /** Where the proxy is mounted in caretflow. Default /mlflow. */
  mountPath?: string;
  /**
   * A project member's scope: only reads of their projects' experiments and models pass (mlflow.scope.ts),
   * every write is refused. Null or absent: everything (a site admin).
   */
  scope?: MlflowReadScope | null;
  /** Told the path segments of every write MLflow accepted (caches of its registry and runs are dropped). */
  onWrite?: (segments: readonly string[]) => void;
}

/** The request target as it came on the wire (before URL normalisation removed '..'), without its query. */
function rawRequestPath(c: Context): string {
  const incoming = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
  const target = incoming ?? new URL(c.req.url).pathname;
  return target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "").split("?")[0] ?? "";
}

/**
 * Refuses (400) any request whose raw path names something under `mountPath` but fails the path
 * check, e.g. /mlflow/a/%2e%2e/%2e%2e/x, which URL normalisation would otherwise turn into /x.
 * Mounted before every route.
 */
export function mlflowPathGuard(mountPath = "/mlflow"): MiddlewareHandler {
  return async (c, next) => {
    const raw = rawRequestPath(c);
    if (isUnderMount(raw, mountPath)) parseMlflowPath(raw, mountPath);
    return next();
  };
}

function forbidden(message: string, hint: string): CaretflowError {
  return new CaretflowError({ code: "mlflow_read_only", kind: "user", status: 403, message, hint });
}

function securityHeaders(out: Headers, segments: readonly string[]): void {
  out.set("content-security-policy", ARTIFACT_DOWNLOAD.test(segments.join("/")) ? MLFLOW_ARTIFACT_CSP : MLFLOW_UI_CSP);
  out.set("x-content-type-options", "nosniff");
  out.set("x-frame-options", "DENY");
  out.set("referrer-policy", "no-referrer");
}

/** The request body, at most MLFLOW_MAX_BODY_BYTES. */
async function readBody(c: Context): Promise<ArrayBuffer> {
  const declared = Number(c.req.header("content-length") ?? 0);
  const tooLarge = () =>
    new CaretflowError({
      code: "mlflow_body_too_large",
      kind: "user",
      status: 413,
      message: `Requests to MLflow through caretflow may carry at most ${MLFLOW_MAX_BODY_BYTES} bytes`,
      hint: "MLflow's pages only send small searches; log runs and artifacts through caretflow's jobs.",
    });
  if (declared > MLFLOW_MAX_BODY_BYTES) throw tooLarge();
  const body = await c.req.arrayBuffer();
  if (body.byteLength > MLFLOW_MAX_BODY_BYTES) throw tooLarge();
  return body;
}

function parseJsonBody(body: ArrayBuffer): unknown {
  if (body.byteLength === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new CaretflowError({
      code: "mlflow_bad_body",
      kind: "user",
      status: 400,
      message: "Changes to MLflow through caretflow must have a JSON body",
      hint: "Send the request as MLflow's REST API documents it (application/json).",
    });
  }
}

/**
 * Forwards an authenticated request under /mlflow/ to the loopback MLflow server, after its checks:
 * the path stays under the prefix, reads pass for everyone signed in, writes only for `canWrite`
 * and only naming caretflow's own artifact store, artifact uploads never. `upstream` is MLflow's base
 * URL including its --static-prefix, e.g. http://127.0.0.1:5001/mlflow.
 */
export async function proxyToMlflow(c: Context, upstream: string | null, opts: MlflowProxyOptions): Promise<Response> {
  const mountPath = opts.mountPath ?? "/mlflow";
  const url = new URL(c.req.url);
  const segments = parseMlflowPath(url.pathname, mountPath);
  const access = classifyMlflowRequest(c.req.method, segments);
  if (access === "artifact_write") {
    throw forbidden(
      "Artifacts cannot be uploaded or changed through /mlflow",
      "caretflow's jobs write artifacts; use POST /api/jobs/train or the other job routes.",
    );
  }
  if (access === "write" && (!opts.canWrite || opts.scope)) {
    throw forbidden(
      `MLflow is read-only through caretflow: ${c.req.method} ${url.pathname} would change it`,
      "Use caretflow's pages or API (/api/models, /api/runs) to register models and change runs; site admins may change MLflow directly.",
    );
  }
  if (!upstream) {
    throw new CaretflowError({
      code: "mlflow_unavailable",
      kind: "operational",
      status: 503,
      message: "MLflow is not running",
      hint: "caretflow restarts it automatically; check GET /api/health and the MLflow log in <home>/mlflow/mlflow.log.",
    });
  }
  // MLflow's server does not read chunked request bodies, so the (small, JSON) body of
  // a UI call is buffered and sent with a length.
  const body = ["GET", "HEAD"].includes(c.req.method) ? undefined : await readBody(c);
  let answerCheck: AnswerCheck | null = null;
  if (opts.scope) {
    answerCheck = await checkScopedRead(
      { method: c.req.method, segments, query: url.searchParams, body: body ? parseJsonBody(body) : undefined },
      opts.scope,
    );
  }
  if (access === "write") {
    // MLflow reads some requests' fields from the query string.
    checkWriteLocations(Object.fromEntries(url.searchParams));
    if (body) checkWriteLocations(parseJsonBody(body));
  }
  const target = upstreamUrl(upstream, segments, url.search);
  const headers = new Headers();
  c.req.raw.headers.forEach((v, k) => {
    if (!DROP_REQUEST.has(k.toLowerCase())) headers.set(k, v);
  });
  // MLflow's host check accepts its own loopback address.
  headers.set("host", target.host);
  if (opts.authorization) headers.set("authorization", opts.authorization);
  let res: Response;
  try {
    res = await fetch(target, { method: c.req.method, headers, redirect: "manual", ...(body ? { body } : {}) });
  } catch (err) {
    throw new CaretflowError({
      code: "mlflow_unavailable",
      kind: "operational",
      status: 502,
      message: `MLflow did not answer: ${(err as Error).message}`,
      hint: "Try again in a few seconds; GET /api/health says whether caretflow reaches MLflow (its own MLflow is restarted automatically).",
      cause: err,
    });
  }
  if (access === "write" && res.ok) opts.onWrite?.(segments);
  const out = new Headers();
  res.headers.forEach((v, k) => {
    if (!DROP_RESPONSE.has(k.toLowerCase())) out.set(k, v);
  });
  const location = out.get("location");
  if (location) {
    // Keep redirects inside caretflow's origin.
    const loc = new URL(location, target);
    if (loc.host === target.host)
      out.set("location", mountPath + loc.pathname.slice(new URL(upstream).pathname.replace(/\/$/, "").length) + loc.search);
  }
  securityHeaders(out, segments);
  // Something missing answers like something of another project, so names are not revealed.
  if (answerCheck && res.status === 404) throw notYours("What this request names");
  if (answerCheck && res.ok) {
    // A project member's answer is checked or filtered to their projects before it leaves.
    let answer: unknown;
    try {
      answer = await res.json();
    } catch (err) {
      throw new CaretflowError({
        code: "mlflow_unavailable",
        kind: "operational",
        status: 502,
        message: "MLflow's answer was not JSON, so it could not be limited to your projects",
        hint: "Try again; if it persists, check the MLflow log in <home>/mlflow/mlflow.log.",
        cause: err,
      });
    }
    out.set("content-type", "application/json");
    return new Response(JSON.stringify(await answerCheck(answer)), { status: res.status, headers: out });
  }
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
}
