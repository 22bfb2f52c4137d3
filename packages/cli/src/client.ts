import { CaretflowError } from "@caretflow/contracts";
import { type CaretflowClient, createCaretflowClient, unreachable as unreachableError } from "@caretflow/contracts/client";
import { type Connection, tokenHint } from "./connection.ts";
import { isStreamedUpload, sendUpload } from "./upload-transport.ts";

/** The CLI's API client: the typed client of @caretflow/contracts, with the CLI's token and wording. */
export type ApiClient = CaretflowClient;

/**
 * The typed client for one connection: the Bearer token from the connection, `project` (the server's default
 * project when left out) in the project header, and failures worded for a terminal (where the token came from,
 * how to start the server).
 */
export function createClient(conn: Connection, fetchFn: typeof fetch, project?: string): ApiClient {
  return createCaretflowClient({
    baseUrl: conn.url,
    fetch: (request) => (fetchFn === globalThis.fetch && isStreamedUpload(request) ? sendUpload(request) : fetchFn(request)),
    token: conn.token,
    ...(project ? { project } : {}),
    reader: "this CLI",
    onFailure(err, failure) {
      if (failure.kind === "unreachable") return unreachable(conn, err.cause);
      if (failure.kind === "refused" && failure.status === 401) {
        const where = conn.source === "file" ? `the token in ${conn.file}` : "the token in CARETFLOW_TOKEN";
        const said = err.code === "http_401" ? "" : `: ${err.message}`;
        return new CaretflowError({
          code: err.code === "http_401" ? "unauthorized" : err.code,
          message: `the server at ${conn.url} rejected ${where} (401${said})`,
          hint: tokenHint(),
          status: 401,
        });
      }
      if (failure.kind === "unexpected") {
        return new CaretflowError({
          code: err.code,
          kind: err.kind,
          message: err.message,
          hint: "the CLI and the server may be different versions; use the CLI from the same checkout as the server",
        });
      }
      return undefined;
    },
  });
}

/** Nothing answered at `conn.url`: says how to start the server, or which setting to check. */
function unreachable(conn: Pick<Connection, "url" | "source">, err: unknown): CaretflowError {
  const generic = unreachableError(conn.url, err);
  return new CaretflowError({
    code: generic.code,
    kind: generic.kind,
    message: generic.message,
    hint:
      conn.source === "env"
        ? "start it with `caretflow up`, or check CARETFLOW_URL"
        : "start it with `caretflow up` (it may have stopped since it wrote cli.json)",
    cause: err,
  });
}
