import { CaretflowError } from "@caretflow/contracts";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { Logger } from "../ports.ts";

/** Turns a zod failure into a 400 that names every bad field. */
export function validationError(err: z.ZodError, where: "body" | "query" | "path"): CaretflowError {
  const issues = err.issues.map((i) => ({ path: i.path.map(String).join(".") || "(root)", message: i.message }));
  const summary = issues
    .slice(0, 5)
    .map((i) => `${i.path}: ${i.message}`)
    .join("; ");
  return new CaretflowError({
    code: "invalid_request",
    kind: "user",
    status: 400,
    message: `Invalid request ${where}: ${summary}${issues.length > 5 ? "; ..." : ""}`,
    hint: "Fix the fields listed in details and send the request again; GET /api/openapi.json describes every field.",
    details: { issues },
  });
}

/** Maps any thrown value to the JSON ApiError body; unknown errors become a plain 500 without internals. */
export function errorResponse(err: unknown, c: Context, log: Logger): Response {
  let e: CaretflowError;
  if (err instanceof CaretflowError) e = err;
  else if (err instanceof z.ZodError) e = validationError(err, "body");
  else if (isHttpException(err)) {
    e = new CaretflowError({
      code: "http_error",
      kind: err.status < 500 ? "user" : "bug",
      status: err.status,
      message: err.message || "request failed",
    });
  } else {
    log("error", `unhandled error on ${c.req.method} ${c.req.path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    e = new CaretflowError({
      code: "internal_error",
      kind: "bug",
      status: 500,
      message: "caretflow hit an internal error while handling this request",
      hint: "This is a bug in caretflow; the server log has the details. Please report it.",
    });
  }
  if (e.kind === "operational") log("warn", `${c.req.method} ${c.req.path}: ${e.code}: ${e.message}`);
  return c.json(e.toJSON(), e.status as ContentfulStatusCode);
}

function isHttpException(err: unknown): err is Error & { status: number } {
  return err instanceof Error && typeof (err as { status?: unknown }).status === "number" && err.name === "HTTPException";
}
