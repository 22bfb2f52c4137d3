import { createHash, timingSafeEqual } from "node:crypto";
import { CaretflowError, notFound } from "@caretflow/contracts";
import type { Context } from "hono";
import type { ServerMetrics } from "./metrics.ts";

/**
 * GET /metrics for Prometheus, behind a token of its own (bearer), not a user's session or API token:
 * 404 when no token is configured, 401 without the right one.
 */
export function metricsHandler(deps: { metrics: ServerMetrics; token: string | null }) {
  const expected = deps.token === null ? null : digest(deps.token);
  return async (c: Context) => {
    if (expected === null) {
      throw notFound(
        "route",
        "GET /metrics",
        "Start caretflow with --metrics-token-file FILE (or CARETFLOW_METRICS_TOKEN) to serve metrics.",
      );
    }
    const sent = /^Bearer (.+)$/i.exec(c.req.header("authorization") ?? "")?.[1]?.trim();
    if (!sent || !timingSafeEqual(digest(sent), expected)) {
      c.header("WWW-Authenticate", 'Bearer realm="caretflow metrics"');
      throw new CaretflowError({
        code: "unauthorized",
        kind: "user",
        status: 401,
        message: "GET /metrics needs the metrics token",
        hint: "Send `Authorization: Bearer <token>` with the token caretflow was started with (Prometheus: authorization.credentials_file).",
      });
    }
    return c.body(await deps.metrics.registry.metrics(), 200, { "content-type": deps.metrics.registry.contentType });
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
