import { ApiError } from "@caretflow/contracts";

/** A failed API call as the UI shows it: the server's message and its hint on what to do. */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;

  constructor(opts: { status: number; code: string; message: string; hint?: string | undefined }) {
    super(opts.message);
    this.name = "ApiRequestError";
    this.status = opts.status;
    this.code = opts.code;
    this.hint = opts.hint;
  }
}

/** Builds the error for a non-2xx response from its body text (the API's error JSON, or anything a proxy sent). */
export function errorFromResponse(status: number, bodyText: string): ApiRequestError {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    // not JSON: a proxy or a crashed server; fall through to a generic message
  }
  const body = ApiError.safeParse(parsed);
  if (body.success) {
    const e = body.data.error;
    return new ApiRequestError({ status, code: e.code, message: e.message, hint: e.hint });
  }
  return new ApiRequestError({
    status,
    code: `http_${status}`,
    message: status === 0 ? "The caretflow server could not be reached." : `The server answered ${status}.`,
    hint: status === 0 || status >= 500 ? "Check that caretflow is running (caretflow up) and try again." : undefined,
  });
}

/** Any thrown value as the message + hint pair the UI's error box shows. */
export function describeError(err: unknown): { message: string; hint?: string | undefined } {
  if (err instanceof ApiRequestError) return { message: err.message, hint: err.hint };
  if (err instanceof Error) return { message: err.message };
  if (typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string") {
    const e = err as { message: string; hint?: unknown };
    return { message: e.message, hint: typeof e.hint === "string" ? e.hint : undefined };
  }
  return { message: String(err) };
}
