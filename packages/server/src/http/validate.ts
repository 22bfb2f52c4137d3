import { userError } from "@caretflow/contracts";
import type { Context } from "hono";
import type { z } from "zod";
import { validationError } from "./errors.ts";

/**
 * Parses the JSON body with a contract schema; a bad body becomes a 400 naming the fields. Only a
 * body declared as JSON is read: a browser may send text/plain across origins without asking
 * first, so a JSON-looking text/plain body is refused (415), never parsed.
 */
export async function parseJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  if (!isJsonType(c.req.header("content-type"))) {
    throw userError(
      "unsupported_media_type",
      `The request body must be JSON, declared as Content-Type: application/json (got '${shown(c.req.header("content-type") ?? "none", 100)}')`,
      "Send the body with the header Content-Type: application/json.",
      415,
    );
  }
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw userError("invalid_json", "The request body is not valid JSON", "Send a JSON object with Content-Type: application/json.");
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw validationError(r.error, "body");
  return r.data;
}

export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const r = schema.safeParse(c.req.query());
  if (!r.success) throw validationError(r.error, "query");
  return r.data;
}

export function parsePath<S extends z.ZodType>(value: string | undefined, schema: S, name: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw userError(
      "invalid_path",
      `Invalid ${name} '${shown(value ?? "", 200)}' in the URL: ${r.error.issues[0]?.message ?? "bad value"}`,
      "Check the URL.",
    );
  }
  return r.data;
}

/** Parses one multipart form field (or the upload's file name) with a contract schema; a bad value is a 400 naming the field. */
export function parseField<S extends z.ZodType>(value: string | undefined, schema: S, field: string, hint: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw userError(
      "invalid_field",
      `Invalid ${field} '${shown(value ?? "", 200)}': ${r.error.issues[0]?.message ?? "bad value"}`,
      hint,
      400,
      { field },
    );
  }
  return r.data;
}

/** True for application/json and any +json type. */
function isJsonType(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** A client's value as an error message may quote it: cut to `max` characters, control characters shown as '?'. */
export function shown(value: string, max: number): string {
  const cut = value.length > max ? `${value.slice(0, max)}... (${value.length} characters)` : value;
  return cut.replace(/[\p{Cc}\p{Cf}]/gu, "?");
}
