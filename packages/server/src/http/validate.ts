import { userError } from "@caretflow/contracts";
import type { Context } from "hono";
import type { z } from "zod";
import { validationError } from "./errors.ts";

/** Parses the JSON body with a contract schema; a bad body becomes a 400 naming the fields. */
export async function parseJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
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
      `Invalid ${name} '${value ?? ""}' in the URL: ${r.error.issues[0]?.message ?? "bad value"}`,
      "Check the URL.",
    );
  }
  return r.data;
}
