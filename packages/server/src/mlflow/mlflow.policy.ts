import { CaretflowError, decodeLayers } from "@caretflow/contracts";

/**
 * What the /mlflow/ proxy lets through, as pure functions: the path check, which requests are reads,
 * and which locations a site admin's write may name. mlflow.proxy.ts applies them.
 */

/**
 * POST endpoints of MLflow's API that only read (searches the MLflow UI sends as POST), relative to
 * `api/<2.0|3.0>/mlflow/` or `ajax-api/<2.0|3.0>/mlflow/`. Some are GET in MLflow 3 and are listed
 * so that either method passes. Every other POST, PUT, PATCH and DELETE is a write.
 */
export const MLFLOW_POST_READS: readonly string[] = [
  "experiments/search",
  "experiments/search-datasets",
  "runs/search",
  "logged-models/search",
  "registered-models/search",
  "registered-models/get-latest-versions",
  "model-versions/search",
  "metrics/get-history-bulk",
  "metrics/get-history-bulk-interval",
  "datasets/search",
  "traces/search",
  "traces/batchGetInfos",
  "traces/metrics",
  "traces/calculate-filter-correlation",
  "issues/search",
  "prompt-optimization/jobs/search",
];
const POST_READS = new Set(MLFLOW_POST_READS);
const API = /^(?:ajax-)?api\/[23]\.0\/mlflow\/(.+)$/;

export type MlflowAccess =
  /** Signed-in users may send it. */
  | "read"
  /** Site admins only, and only naming caretflow's own artifact store. */
  | "write"
  /** Refused for everyone: artifacts are written by caretflow's engine, not through the browser. */
  | "artifact_write";

function badPath(why: string): CaretflowError {
  return new CaretflowError({
    code: "mlflow_bad_path",
    kind: "user",
    status: 400,
    message: `Refused MLflow path: ${why}`,
    hint: "Open MLflow's pages from caretflow's links; paths under /mlflow/ may not contain '.' or '..' segments, backslashes, control characters or empty segments.",
  });
}

function decodeOnce(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badPath("it is not valid percent-encoding");
  }
}

/** The value once every layer of its percent-encoding is decoded (%252e%252e is seen as '..'). */
function decodeDeep(s: string): string {
  return decodeLayers(s).at(-1) ?? s;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const FORBIDDEN_CHARS = /[\\\u0000-\u001f\u007f]/;

function checkText(text: string): void {
  if (FORBIDDEN_CHARS.test(text)) throw badPath("it contains a backslash or a control character");
  if (text.split("/").some((p) => p === "." || p === "..")) throw badPath("it contains a '.' or '..' segment");
}

/** True when `rawPath`, however encoded, names something under `mount` (e.g. /mlflow), so the path check applies. */
export function isUnderMount(rawPath: string, mount: string): boolean {
  const p = decodeDeep(rawPath).replace(/\\/g, "/").toLowerCase();
  return p === mount || p.startsWith(`${mount}/`);
}

/**
 * Checks a request path under `mount` (as it came on the wire, percent-encoded) and returns its
 * segments after `mount`, each decoded once; a trailing slash gives a last empty segment.
 * Throws a 400 for anything that could leave the prefix: '.' or '..' segments (also percent- or
 * double-encoded), backslashes, control characters such as NUL, empty segments ('//').
 * @example parseMlflowPath("/mlflow/ajax-api/2.0/mlflow/runs/search", "/mlflow") // ["ajax-api", "2.0", "mlflow", "runs", "search"]
 */
export function parseMlflowPath(rawPath: string, mount: string): string[] {
  if (rawPath !== mount && !rawPath.startsWith(`${mount}/`)) throw badPath(`it does not stay under ${mount}/`);
  const rest = rawPath.slice(mount.length);
  if (rest === "") return [];
  const raw = rest.slice(1).split("/");
  return raw.map((seg, i) => {
    const once = decodeOnce(seg);
    for (const text of decodeLayers(seg)) checkText(text);
    if (once === "" && i !== raw.length - 1) throw badPath("it contains an empty segment ('//')");
    return once;
  });
}

/**
 * Builds MLflow's URL from checked segments: each is percent-encoded again, so no segment can
 * add a '/' or climb out of `upstream`'s path (MLflow's --static-prefix).
 */
export function upstreamUrl(upstream: string, segments: readonly string[], search: string): URL {
  const base = new URL(upstream);
  const prefix = base.pathname.replace(/\/+$/, "");
  const target = new URL(base.origin);
  target.pathname = `${prefix}/${segments.map(encodeURIComponent).join("/")}`;
  target.search = search;
  if (!target.pathname.startsWith(`${prefix}/`)) throw badPath(`it does not stay under ${prefix}/`);
  return target;
}

/** Whether a request is a read, a write or an artifact upload (see MlflowAccess). */
export function classifyMlflowRequest(method: string, segments: readonly string[]): MlflowAccess {
  const path = segments.join("/");
  const m = method.toUpperCase();
  const read = m === "GET" || m === "HEAD";
  if (/^(?:ajax-)?api\/[23]\.0\/mlflow-artifacts\//.test(path)) return read ? "read" : "artifact_write";
  const api = API.exec(path)?.[1];
  if (api === "upload-artifact" || api === "artifacts/presigned-upload-url") return "artifact_write";
  // Forwards requests to an AI gateway: nothing caretflow uses, and not a read.
  if (api === "gateway-proxy") return "write";
  if (read) return "read";
  // MLflow's GraphQL schema only reads (its two "mutations" are searches).
  if (m === "POST" && path === "graphql") return "read";
  if (m === "POST" && api !== undefined && POST_READS.has(api)) return "read";
  return "write";
}

/**
 * What a write that went through the proxy may have changed, so caretflow's caches of it are dropped
 * at once: the model registry (registered models, versions, aliases) or runs and experiments.
 */
export function mlflowWriteTouches(segments: readonly string[]): { models: boolean; runs: boolean } {
  const api = API.exec(segments.join("/"))?.[1] ?? "";
  return {
    models: /^(?:registered-models|model-versions)\//.test(api),
    runs: /^(?:runs|experiments)\//.test(api),
  };
}

/** Field names whose values MLflow treats as a storage location or a model source. */
const LOCATION_KEY = /(?:^|_)(?:location|uri|source)$/i;
/** caretflow's own artifact store (MLflow serves it under mlflow-artifacts:/) and references into it. */
const OWN_STORE = /^(?:mlflow-artifacts:\/|models:\/|runs:\/)/;

function foreignLocation(field: string, value: string): CaretflowError {
  return new CaretflowError({
    code: "mlflow_foreign_location",
    kind: "user",
    status: 400,
    message: `Refused: '${field}' must point into caretflow's own artifact store (mlflow-artifacts:/, models:/ or runs:/), got ${JSON.stringify(value.slice(0, 200))}`,
    hint: "Leave the location out so MLflow uses caretflow's store, or register models through caretflow (POST /api/models).",
  });
}

/**
 * Throws a 400 when a write's JSON body names a location outside caretflow's artifact store in any
 * field called *location, *uri or *source (artifact_location, artifact_uri, source, storage_location...),
 * at any depth. An empty string means MLflow's default and passes.
 */
export function checkWriteLocations(body: unknown, path = ""): void {
  if (Array.isArray(body)) {
    for (const [i, v] of body.entries()) checkWriteLocations(v, `${path}[${i}]`);
    return;
  }
  if (body === null || typeof body !== "object") return;
  for (const [key, value] of Object.entries(body)) {
    const field = path ? `${path}.${key}` : key;
    if (LOCATION_KEY.test(key) && typeof value === "string") {
      if (value === "") continue;
      if (!OWN_STORE.test(value)) throw foreignLocation(field, value);
      const decoded = decodeDeep(value);
      if (FORBIDDEN_CHARS.test(decoded) || decoded.split("/").some((p) => p === "..")) throw foreignLocation(field, value);
    } else {
      checkWriteLocations(value, field);
    }
  }
}
