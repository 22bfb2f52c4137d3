import createFetchClient, { createFinalURL, createQuerySerializer, type MaybeOptionalInit, type Middleware } from "openapi-fetch";
import type { z } from "zod";
import { ApiError, CaretflowError } from "./errors.ts";
import type { paths } from "./generated/openapi.ts";
import { PROJECT_HEADER, type RouteDef, type RouteTable, routes } from "./routes.ts";

/**
 * The one typed client of the caretflow API, shared by the web UI and the CLI.
 *
 * Requests are typed by the OpenAPI `paths` that `npm run gen` derives from the route table (a wrong path, a
 * missing parameter or a wrong body fails `tsc`); answers are parsed at runtime with the route's zod
 * `response` schema from the same table, so callers get the contracts' parsed types and never a shape the
 * server did not promise. Every failure is a CaretflowError whose message and hint are ready to show.
 *
 * @example
 *   const api = createCaretflowClient({ baseUrl: "http://127.0.0.1:8420", token });
 *   const detail = await api.GET("/api/datasets/{name}", { params: { path: { name: "juice" } } });
 */

export type Method = "get" | "post" | "put" | "delete";
type Route = RouteTable[number];

/** Every path the OpenAPI document lists for `method`. */
export type PathOf<M extends Method> = { [P in keyof paths]: paths[P] extends { [K in M]: object } ? P : never }[keyof paths];
/** The paths whose `method` answers JSON described by a zod schema in the route table. */
export type JsonPath<M extends Method> = Extract<PathOf<M>, Extract<Route, { method: M; response: z.ZodType }>["path"]>;
/** The parsed answer of a JSON route: the output type of its `response` schema. */
export type Answer<M extends Method, P extends string> =
  Extract<Route, { method: M; path: P }> extends { response: infer S extends z.ZodType } ? z.output<S> : never;
/** Path and query parameters, body, headers and signal of one call, as openapi-fetch types them. */
export type Init<M extends Method, P extends PathOf<M>> = MaybeOptionalInit<paths[P], M>;
/** The path and query parameters of a route. */
export type ParamsOf<M extends Method, P extends PathOf<M>> = paths[P][M] extends { parameters: infer X } ? X : never;
/** The query parameters of a route, e.g. `QueryOf<"get", "/api/audit">`. */
export type QueryOf<M extends Method, P extends PathOf<M>> = paths[P][M] extends { parameters: { query?: infer Q } }
  ? NonNullable<Q>
  : never;
type RequiredKeysOf<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** The init argument may be left out only when the route needs no parameter and no body. */
export type InitArgs<I> = RequiredKeysOf<I> extends never ? [init?: I] : [init: I];

type JsonCall<M extends Method> = <P extends JsonPath<M>>(path: P, ...init: InitArgs<Init<M, P>>) => Promise<Answer<M, P>>;

export interface CaretflowClient {
  /** Where the server is ("" in the browser: the page's own origin). */
  readonly baseUrl: string;
  GET: JsonCall<"get">;
  POST: JsonCall<"post">;
  PUT: JsonCall<"put">;
  DELETE: JsonCall<"delete">;
  /** The response itself after the status checks, for CSV, NDJSON, text, event streams and artifacts. */
  raw<M extends Method, P extends PathOf<M>>(method: M, path: P, ...init: InitArgs<Init<M, P>>): Promise<Response>;
  /** The address of a route, for what the browser opens itself (links, downloads, event streams, uploads). */
  url<M extends Method, P extends PathOf<M>>(method: M, path: P, ...params: InitArgs<ParamsOf<M, P>>): string;
}

/** What failed, for `onFailure`: `unreachable` (no answer), `refused` (a 4xx/5xx answer), `unexpected` (a 2xx the contract does not describe). */
export interface Failure {
  kind: "unreachable" | "refused" | "unexpected";
  method: string;
  /** The route's path template, e.g. /api/datasets/{name}. */
  path: string;
  /** The HTTP status; 0 when the server did not answer. */
  status: number;
}

export interface ClientOptions {
  /** The server's origin, e.g. http://127.0.0.1:8420; "" in the browser for the page's own origin. */
  baseUrl: string;
  fetch?: (input: Request) => Promise<Response>;
  /** An API token, sent as `Authorization: Bearer` (the CLI); the browser sends its session cookie instead. */
  token?: string;
  /** The project every request works in, sent in the X-Caretflow-Project header. */
  project?: string;
  /** "same-origin" in the browser, so the session cookie goes along. */
  credentials?: RequestInit["credentials"];
  /** Who reads the answers, for messages: "this CLI", "the web UI". */
  reader?: string;
  /** Sees every failure before it is thrown and may reword it (the CLI says where its token came from). */
  onFailure?: (err: CaretflowError, failure: Failure) => CaretflowError | undefined;
}

/** Builds the typed client; see the top of this file. */
export function createCaretflowClient(opts: ClientOptions): CaretflowClient {
  const reader = opts.reader ?? "this client";
  const doFetch = opts.fetch ?? ((request: Request) => globalThis.fetch(request));
  const fetcher = createFetchClient<paths>({
    baseUrl: opts.baseUrl,
    fetch: doFetch,
    pathSerializer: fillPath,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  const fail = (err: CaretflowError, failure: Failure): CaretflowError => opts.onFailure?.(err, failure) ?? err;
  fetcher.use(credentialsAndErrors(opts, fail));
  // openapi-fetch's own method types are spent on the public signatures above; inside, one loose call.
  const call = fetcher.request as unknown as (
    method: Method,
    path: string,
    init?: object,
  ) => Promise<{ data?: unknown; response: Response }>;

  const json =
    <M extends Method>(method: M) =>
    async (path: string, init?: object): Promise<unknown> => {
      const route = jsonRoutes.get(`${method} ${path}`);
      if (!route?.response) throw new Error(`${method.toUpperCase()} ${path} is not a JSON route of the route table`);
      const schema = route.response;
      const body = route.multipart ? multipartInit(init) : route.rawBody ? rawBodyInit(init) : {};
      const { data, response } = await call(method, path, { ...init, parseAs: "text", ...body });
      const what = `${method.toUpperCase()} ${path}`;
      try {
        return parseAnswer(schema, typeof data === "string" ? data : "", what, reader);
      } catch (err) {
        if (!(err instanceof CaretflowError)) throw err;
        throw fail(err, { kind: "unexpected", method: method.toUpperCase(), path, status: response.status });
      }
    };

  return {
    baseUrl: opts.baseUrl,
    GET: json("get") as JsonCall<"get">,
    POST: json("post") as JsonCall<"post">,
    PUT: json("put") as JsonCall<"put">,
    DELETE: json("delete") as JsonCall<"delete">,
    async raw(method: Method, path: string, init?: object) {
      return (await call(method, path, { ...init, parseAs: "stream" })).response;
    },
    url(_method: Method, path: string, params?: { path?: Record<string, unknown>; query?: Record<string, unknown> }) {
      return createFinalURL(path, {
        baseUrl: opts.baseUrl.replace(/\/+$/, ""),
        params: { ...(params?.path ? { path: params.path } : {}), ...(params?.query ? { query: params.query } : {}) },
        querySerializer: createQuerySerializer(),
        pathSerializer: fillPath,
      });
    },
  } as CaretflowClient;
}

// Looked up by method and path template once, when the module loads.
const jsonRoutes = new Map<string, RouteDef>(routes.flatMap((r) => (r.response ? [[`${r.method} ${r.path}`, r]] : [])));

/** A multipart body (file uploads) as FormData; a file keeps its name. */
/**
 * Bytes a multipart upload streams from their source as it sends them (a file on disk, in the CLI) instead
 * of a Blob: the size is known up front, so the request has a Content-Length, and the chunks are as large as
 * the source gives them (Node's file Blobs give 64 KiB, which costs about a second per gigabyte on loopback;
 * and Node 20 reports a file Blob of 4 GiB or more with a wrong size).
 */
export interface StreamedBytes {
  /** The file name sent with the part. */
  name: string;
  size: number;
  chunks(): AsyncIterable<Uint8Array>;
}

const STREAMED = Symbol.for("caretflow.streamedBytes");

/** A File standing for streamed bytes, to pass where a multipart route takes a file; the client streams it. */
export function streamedFile(bytes: StreamedBytes): File {
  return Object.assign(new File([], bytes.name), { [STREAMED]: bytes });
}

function streamedOf(value: unknown): StreamedBytes | undefined {
  return typeof value === "object" && value !== null ? (value as { [STREAMED]?: StreamedBytes })[STREAMED] : undefined;
}

/** How a multipart body is sent: as FormData, or streamed with its length when a part is a streamedFile. */
function multipartInit(init: object | undefined): object {
  const body = (init as { body?: Record<string, unknown> } | undefined)?.body;
  if (!body || !Object.values(body).some((v) => streamedOf(v))) return { bodySerializer: toFormData };
  const { stream, contentType, length } = streamedMultipart(body);
  const headers = {
    ...((init as { headers?: Record<string, string> }).headers ?? {}),
    "content-type": contentType,
    "content-length": String(length),
  };
  return { body: stream, bodySerializer: (b: unknown) => b, headers, duplex: "half" };
}

/** How a file sent as the whole body goes: streamed with its length (a streamedFile), or the Blob itself. */
function rawBodyInit(init: object | undefined): object {
  const body = (init as { body?: unknown } | undefined)?.body;
  const headers = {
    ...((init as { headers?: Record<string, string> } | undefined)?.headers ?? {}),
    "content-type": "application/octet-stream",
  };
  const streamed = streamedOf(body);
  if (!streamed) return { bodySerializer: (b: unknown) => b, headers };
  return {
    body: pulledFrom(streamed.chunks()),
    bodySerializer: (b: unknown) => b,
    headers: { ...headers, "content-length": String(streamed.size) },
    duplex: "half",
  };
}

/** A multipart/form-data body (RFC 7578) whose streamed parts are read only while it is sent. */
function streamedMultipart(body: Record<string, unknown>): { stream: ReadableStream<Uint8Array>; contentType: string; length: number } {
  const boundary = `caretflow-${crypto.randomUUID()}`;
  const text = new TextEncoder();
  // Names are escaped as the HTML form encoder escapes them.
  const quoted = (name: string) => `"${name.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22")}"`;
  const parts: (Uint8Array | StreamedBytes)[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    const streamed = streamedOf(value);
    if (streamed) {
      parts.push(
        text.encode(
          `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(key)}; filename=${quoted(streamed.name)}\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        streamed,
        text.encode("\r\n"),
      );
    } else if (value instanceof Blob) {
      throw new Error(`multipart field '${key}': send one file per request, streamed or as a Blob, not both`);
    } else {
      parts.push(text.encode(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(key)}\r\n\r\n${String(value)}\r\n`));
    }
  }
  parts.push(text.encode(`--${boundary}--\r\n`));
  const length = parts.reduce((n, p) => n + (p instanceof Uint8Array ? p.byteLength : p.size), 0);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const part of parts) {
      if (part instanceof Uint8Array) yield part;
      else yield* part.chunks();
    }
  }
  return { stream: pulledFrom(chunks()), contentType: `multipart/form-data; boundary=${boundary}`, length };
}

/** A ReadableStream that reads `chunks` only as the request is sent (and stops them when it is cancelled). */
function pulledFrom(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const source = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await source.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await source.return?.(undefined);
    },
  });
}

function toFormData(body: Record<string, unknown>): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (value instanceof Blob) form.append(key, value, "name" in value && typeof value.name === "string" ? value.name : key);
    else form.append(key, String(value));
  }
  return form;
}

/** Adds the credentials and the project to every request, and turns every failure into a CaretflowError. */
function credentialsAndErrors(opts: ClientOptions, fail: (err: CaretflowError, failure: Failure) => CaretflowError): Middleware {
  return {
    onRequest({ request }) {
      if (opts.token) request.headers.set("authorization", `Bearer ${opts.token}`);
      if (opts.project) request.headers.set(PROJECT_HEADER, opts.project);
      if (!request.headers.has("accept")) request.headers.set("accept", "application/json");
      return request;
    },
    async onResponse({ request, response, schemaPath }) {
      if (response.ok) return undefined;
      const text = await response.text().catch(() => "");
      const failure: Failure = { kind: "refused", method: request.method, path: schemaPath, status: response.status };
      throw fail(errorFromResponse(response.status, text, `${request.method} ${schemaPath}`), failure);
    },
    onError({ request, error, schemaPath }) {
      // A cancelled request stays an AbortError, so callers can tell it from a server that is gone.
      if ((error as Error | undefined)?.name === "AbortError") return undefined;
      return fail(unreachable(opts.baseUrl, error), { kind: "unreachable", method: request.method, path: schemaPath, status: 0 });
    },
  };
}

/**
 * Fills `{param}` placeholders, URL-encoding each value; an artifact `{path}` keeps its folders (each part
 * is encoded, the slashes stay).
 */
export function fillPath(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined || v === null) throw new Error(`no value for {${name}} in ${template}`);
    return name === "path" ? String(v).split("/").map(encodeURIComponent).join("/") : encodeURIComponent(String(v));
  });
}

/**
 * Parses a JSON answer with its contract; anything else is a CaretflowError naming the first fields that differ.
 * `what` names the request ("GET /api/jobs/{id}"), `reader` who expected the answer.
 */
export function parseAnswer<S extends z.ZodType>(schema: S, text: string, what: string, reader = "this client"): z.output<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw mismatch(what, reader, `the body is not JSON: ${text.slice(0, 200)}`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw mismatch(what, reader, issues.join("; "));
  }
  return result.data;
}

function mismatch(what: string, reader: string, detail: string): CaretflowError {
  return new CaretflowError({
    code: "unexpected_response",
    kind: "bug",
    message: `the server's answer to ${what} is not what ${reader} expects: ${detail}`,
    hint: `${reader} and the server may be different versions; use both from the same caretflow release`,
  });
}

/** The error for a non-2xx answer: the API's error body when it sent one, else the status and the start of the text. */
export function errorFromResponse(status: number, text: string, what: string): CaretflowError {
  let body: ApiError | undefined;
  try {
    const parsed = ApiError.safeParse(JSON.parse(text));
    if (parsed.success) body = parsed.data;
  } catch {
    // not JSON: a proxy or a crash page; handled below
  }
  if (body) {
    return new CaretflowError({
      code: body.error.code,
      kind: body.error.kind,
      message: body.error.message,
      ...(body.error.hint ? { hint: body.error.hint } : {}),
      status,
      details: body.error.details,
    });
  }
  return new CaretflowError({
    code: `http_${status}`,
    kind: status >= 500 ? "operational" : "user",
    message: `${what} failed with HTTP ${status}${text ? `: ${text.slice(0, 300)}` : ""}`,
    hint: status >= 500 ? "see the log of `caretflow up` for details" : "check the request's arguments",
    status,
  });
}

/** The error when the server did not answer at all (not running, wrong address, network down). */
export function unreachable(baseUrl: string, err: unknown): CaretflowError {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const why = cause?.code ?? cause?.message ?? (err as Error | undefined)?.message ?? String(err);
  return new CaretflowError({
    code: "server_unreachable",
    kind: "operational",
    message: `cannot reach the caretflow server${baseUrl ? ` at ${baseUrl}` : ""} (${why})`,
    hint: "check that caretflow is running (`caretflow up`) and try again",
    status: 503,
    cause: err,
  });
}
