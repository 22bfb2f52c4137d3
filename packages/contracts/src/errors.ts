import { z } from "zod";

/**
 * The error vocabulary shared by every package and by the engine.
 * - user: the request or input is wrong; the message says what to change.
 * - operational: something outside the request failed (MLflow down, disk full); may be transient.
 * - bug: caretflow itself is wrong; the message says so plainly.
 */
export const ErrorKind = z.enum(["user", "operational", "bug"]);
export type ErrorKind = z.infer<typeof ErrorKind>;

/** JSON body of every non-2xx API response. */
export const ApiError = z.object({
  error: z.object({
    code: z.string().describe("stable machine-readable code, e.g. dataset_not_found"),
    kind: ErrorKind,
    message: z.string().describe("what went wrong"),
    hint: z.string().optional().describe("what to do about it"),
    details: z.unknown().optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;

/** A typed error that crosses package boundaries; the server maps it to an HTTP status. */
export class CaretflowError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly status: number;
  readonly details: unknown;

  constructor(opts: {
    code: string;
    kind?: ErrorKind;
    message: string;
    hint?: string;
    status?: number;
    details?: unknown;
    cause?: unknown;
  }) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "CaretflowError";
    this.code = opts.code;
    this.kind = opts.kind ?? "user";
    this.hint = opts.hint;
    this.status = opts.status ?? (this.kind === "user" ? 400 : this.kind === "operational" ? 503 : 500);
    this.details = opts.details;
  }

  toJSON(): ApiError {
    return {
      error: {
        code: this.code,
        kind: this.kind,
        message: this.message,
        ...(this.hint === undefined ? {} : { hint: this.hint }),
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** Shorthand for a user error (4xx). */
export function userError(code: string, message: string, hint?: string, status = 400, details?: unknown): CaretflowError {
  return new CaretflowError({ code, kind: "user", message, ...(hint ? { hint } : {}), status, details });
}

/** Shorthand for a not-found error (404). */
export function notFound(what: string, id: string, hint?: string): CaretflowError {
  return new CaretflowError({
    code: `${what.replace(/\s+/g, "_")}_not_found`,
    kind: "user",
    // A client's id is quoted, never a megabyte of it.
    message: `${what} '${id.length > 200 ? `${id.slice(0, 200)}...` : id}' does not exist`,
    ...(hint ? { hint } : {}),
    status: 404,
  });
}
