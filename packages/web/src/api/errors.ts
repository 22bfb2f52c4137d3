import { CaretflowError } from "@caretflow/contracts";

/** The server did not answer: said the same way for every request the UI makes. */
export function serverUnreachable(cause: unknown): CaretflowError {
  return new CaretflowError({
    code: "server_unreachable",
    kind: "operational",
    message: "The caretflow server could not be reached.",
    hint: "Check that caretflow is running (caretflow up) and try again.",
    cause,
  });
}

/** Any thrown value as the message + hint pair the UI's error box shows. */
export function describeError(err: unknown): { message: string; hint?: string | undefined } {
  if (err instanceof CaretflowError) return { message: err.message, hint: err.hint };
  if (err instanceof Error) return { message: err.message };
  if (typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string") {
    const e = err as { message: string; hint?: unknown };
    return { message: e.message, hint: typeof e.hint === "string" ? e.hint : undefined };
  }
  return { message: String(err) };
}
