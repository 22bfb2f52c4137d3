import { ApiError, CaretflowError, PROJECT_HEADER, routes } from "@caretflow/contracts";
import type { z } from "zod";
import { type Connection, tokenHint } from "./connection.ts";

/**
 * A small typed client of the caretflow HTTP API. Every JSON answer is parsed with the
 * route's zod schema from @caretflow/contracts; every failure becomes a CaretflowError whose
 * message and hint are ready to show a person.
 */
export interface ApiClient {
  readonly url: string;
  /** JSON request and response, e.g. `client.json("get", apiPath("/api/datasets/{name}", { name }), DatasetDetail)`. */
  json<S extends z.ZodType>(method: Method, path: string, schema: S, opts?: RequestOptions): Promise<z.infer<S>>;
  /** A raw response after status checks, for text, CSV downloads and event streams. */
  raw(method: Method, path: string, opts?: RequestOptions): Promise<Response>;
}

export type Method = "get" | "post" | "put" | "delete";

export interface RequestOptions {
  body?: unknown;
  form?: FormData;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** `project` names the project every request works in (the server's default project when left out). */
export function createClient(conn: Connection, fetchFn: typeof fetch, project?: string): ApiClient {
  async function raw(method: Method, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = new URL(conn.url + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      authorization: `Bearer ${conn.token}`,
      ...(project ? { [PROJECT_HEADER]: project } : {}),
      ...opts.headers,
    };
    let body: RequestInit["body"];
    if (opts.form) body = opts.form;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    let res: Response;
    try {
      res = await fetchFn(url, { method: method.toUpperCase(), headers, body, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      throw unreachable(conn, err);
    }
    if (!res.ok) throw await errorFromResponse(res, method, path, conn);
    return res;
  }

  return {
    url: conn.url,
    raw,
    async json(method, path, schema, opts) {
      const res = await raw(method, path, { ...opts, headers: { accept: "application/json", ...opts?.headers } });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw mismatch(method, path, `the body is not JSON: ${text.slice(0, 200)}`);
      }
      const result = schema.safeParse(parsed);
      if (!result.success) throw mismatch(method, path, result.error.issues.map(issueText).join("; "));
      return result.data;
    },
  };
}

/** Fill `{param}` placeholders of a route path from the contracts route table, URL-encoding each value. */
export function apiPath(template: string, params: Record<string, string | number> = {}): string {
  // Keep the CLI honest: every path it calls is one the route table (and so the server) declares.
  if (!routes.some((r) => r.path === template)) throw new Error(`apiPath: ${template} is not in the route table`);
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = params[key];
    if (v === undefined) throw new Error(`apiPath: no value for {${key}} in ${template}`);
    return encodeURIComponent(String(v));
  });
}

export function unreachable(conn: Pick<Connection, "url" | "source">, err: unknown): CaretflowError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new CaretflowError({
    code: "server_unreachable",
    kind: "operational",
    message: `cannot reach the caretflow server at ${conn.url} (${why})`,
    hint:
      conn.source === "env"
        ? "start it with `caretflow up`, or check CARETFLOW_URL"
        : "start it with `caretflow up` (it may have stopped since it wrote cli.json)",
    cause: err,
  });
}

async function errorFromResponse(res: Response, method: Method, path: string, conn: Connection): Promise<CaretflowError> {
  const text = await res.text().catch(() => "");
  let body: ApiError | undefined;
  try {
    const parsed = ApiError.safeParse(JSON.parse(text));
    if (parsed.success) body = parsed.data;
  } catch {
    // not JSON: a proxy or a crash page; handled below
  }
  if (res.status === 401) {
    const where = conn.source === "file" ? `the token in ${conn.file}` : "the token in CARETFLOW_TOKEN";
    return new CaretflowError({
      code: body?.error.code ?? "unauthorized",
      message: `the server at ${conn.url} rejected ${where} (401${body ? `: ${body.error.message}` : ""})`,
      hint: tokenHint(),
      status: 401,
    });
  }
  if (body) {
    return new CaretflowError({
      code: body.error.code,
      kind: body.error.kind,
      message: body.error.message,
      ...(body.error.hint ? { hint: body.error.hint } : {}),
      status: res.status,
      details: body.error.details,
    });
  }
  return new CaretflowError({
    code: `http_${res.status}`,
    kind: res.status >= 500 ? "operational" : "user",
    message: `${method.toUpperCase()} ${path} failed with HTTP ${res.status}${text ? `: ${text.slice(0, 300)}` : ""}`,
    hint: res.status >= 500 ? "see the log of `caretflow up` for details" : "check the arguments of the command",
    status: res.status,
  });
}

function mismatch(method: Method, path: string, detail: string): CaretflowError {
  return new CaretflowError({
    code: "unexpected_response",
    kind: "bug",
    message: `the server's answer to ${method.toUpperCase()} ${path} is not what this CLI expects: ${detail}`,
    hint: "the CLI and the server may be different versions; use the CLI from the same checkout as the server",
  });
}

function issueText(issue: z.core.$ZodIssue): string {
  return `${issue.path.join(".") || "(root)"}: ${issue.message}`;
}
