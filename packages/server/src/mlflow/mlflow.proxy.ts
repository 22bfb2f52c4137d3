import { CaretflowError } from "@caretflow/contracts";
import type { Context } from "hono";

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
const DROP_RESPONSE = new Set(["connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "set-cookie"]);

/**
 * Forwards an authenticated request under /mlflow/ to the loopback MLflow server.
 * `upstream` is MLflow's base URL including its --static-prefix, e.g.
 * http://127.0.0.1:5001/mlflow; the path after /mlflow is appended to it.
 */
export async function proxyToMlflow(c: Context, upstream: string | null, mountPath = "/mlflow"): Promise<Response> {
  if (!upstream) {
    throw new CaretflowError({
      code: "mlflow_unavailable",
      kind: "operational",
      status: 503,
      message: "MLflow is not running",
      hint: "caretflow restarts it automatically; check GET /api/health and the MLflow log in <home>/mlflow/mlflow.log.",
    });
  }
  const url = new URL(c.req.url);
  const rest = url.pathname.slice(mountPath.length) || "/";
  const target = new URL(upstream.replace(/\/$/, "") + rest + url.search);
  const headers = new Headers();
  c.req.raw.headers.forEach((v, k) => {
    if (!DROP_REQUEST.has(k.toLowerCase())) headers.set(k, v);
  });
  // MLflow's host check accepts its own loopback address.
  headers.set("host", target.host);
  // MLflow's server does not read chunked request bodies, so the (small, JSON) body of
  // a UI call is buffered and sent with a length.
  const body = ["GET", "HEAD"].includes(c.req.method) ? undefined : await c.req.arrayBuffer();
  let res: Response;
  try {
    res = await fetch(target, { method: c.req.method, headers, redirect: "manual", ...(body ? { body } : {}) });
  } catch (err) {
    throw new CaretflowError({
      code: "mlflow_unavailable",
      kind: "operational",
      status: 502,
      message: `MLflow did not answer: ${(err as Error).message}`,
      hint: "caretflow restarts MLflow automatically; try again in a few seconds.",
      cause: err,
    });
  }
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
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
}
