import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { AuditQuery, CaretflowError, PROJECT_HEADER, type RouteDef, routes } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScoringPort, TrackingPort } from "../src/ports.ts";
import { appFixture } from "./app.fixture.ts";
import { FOREIGN_ORIGINS, INERT_TEMPLATES, PAYLOADS, type Payload, type PayloadClass, PROBE, payloadsOf } from "./refused.payloads.ts";

/**
 * Refused input: every hostile value of refused.payloads.ts sent to every route and field where it
 * applies gets a 4xx naming what went wrong and what to do, and nothing is written or read:
 * no dataset, user, project, token, job or audit entry appears, no file appears anywhere, and
 * MLflow and the scoring processes are never asked.
 */

/** Every call a neighbour receives; a refused request must leave this empty. */
const reached: string[] = [];
function recording<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: (_t, key) =>
      key === "trackingUri"
        ? () => "http://127.0.0.1:9/mlflow"
        : (..._args: unknown[]) => {
            reached.push(`${what}.${String(key)}`);
            throw new CaretflowError({ code: "not_wired", kind: "operational", message: `${what} must not be reached` });
          },
  });
}

let f: Awaited<ReturnType<typeof appFixture>>;
let cookie: string;
const ORIGIN_HOST = "localhost";

beforeAll(async () => {
  f = await appFixture({ tracking: recording<TrackingPort>("tracking"), scoring: recording<ScoringPort>("scoring") }, { datasets: true });
  cookie = await f.login();
  const form = new FormData();
  form.set("file", new File(["a,b\n1,x\n2,y\n3,z\n"], "base.csv", { type: "text/csv" }));
  form.set("name", "base");
  const res = await send("POST", "/api/datasets", { body: form });
  expect(res.status).toBe(201);
  await f.projects.claim("model", "m", "default");
  before = await snapshot();
});
afterAll(() => f.close());

function send(
  method: string,
  path: string,
  init: { body?: RequestInit["body"]; headers?: Record<string, string> } = {},
): Promise<Response> {
  return Promise.resolve(
    f.app.request(`http://${ORIGIN_HOST}${path}`, {
      method,
      headers: { cookie, host: ORIGIN_HOST, [PROJECT_HEADER]: "default", ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
    }),
  );
}
const postJson = (path: string, body: unknown, method = "POST") =>
  send(method, path, { body: JSON.stringify(body), headers: { "content-type": "application/json" } });

/** A multipart upload built byte by byte, so the file name arrives exactly as an attacker writes it. */
function upload(fields: Record<string, string>, filename: string): Promise<Response> {
  const boundary = "----refused-boundary";
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  const file = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${filename.replaceAll('"', "%22")}"\r\ncontent-type: text/csv\r\n\r\na,b\n1,2\n\r\n--${boundary}--\r\n`;
  return send("POST", "/api/datasets", {
    body: Buffer.from(parts.join("") + file, "utf8"),
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
  });
}

/** A path parameter as the server's router hands it over: every character, dots included, percent-encoded. */
const param = (v: string) => encodeURIComponent(v).replaceAll(".", "%2E");

const RUN = "0123456789abcdef0123456789abcdef";
const TRAIN = { dataset: "base", task: "regression", target: "a" };
const PG = { hosts: [{ host: "db.example.com" }], database: "shop", user: "reader" };
const S3 = { region: "us-east-1", accessKeyId: "AKIAEXAMPLE", endpoint: "https://s3.example.com" };

interface Target {
  /** The route as the route table names it. */
  route: string;
  field: string;
  classes: PayloadClass[];
  send: (v: string) => Promise<Response>;
  status: number;
  code: string;
  /** Payloads this field takes by design (documented in docs/api.md), or that cannot reach it. */
  skip?: (p: Payload) => boolean;
  /** Another refusal a payload gets before the field's own check (a part header that cannot be parsed). */
  alt?: (p: Payload) => { status: number; code: string } | null;
}

const json = (route: string, field: string, classes: PayloadClass[], body: (v: string) => unknown, path?: string): Target => {
  const [method, tablePath] = route.split(" ") as [string, string];
  return {
    route,
    field,
    classes,
    send: (v) => postJson(path ?? tablePath, body(v), method.toUpperCase()),
    status: 400,
    code: "invalid_request",
  };
};
const inUrl = (route: string, field: string, classes: PayloadClass[], url: (p: string) => string, code = "invalid_path", status = 400) => {
  const method = route.split(" ")[0]!.toUpperCase();
  // A whole segment ".." is resolved by the URL itself (RFC 3986), so it never reaches a route.
  const skip = (p: Payload) => p.value === "..";
  return { route, field, classes, send: (v: string) => send(method, url(param(v))), status, code, skip } satisfies Target;
};

const NAME: PayloadClass[] = ["location", "oversized", "lookalike", "control", "template"];
const FILE: PayloadClass[] = ["location", "oversized", "control"];
const TEXT: PayloadClass[] = ["oversized", "control"];
const allowedInText = (p: Payload) => p.value === "ju\nice"; // descriptions keep line breaks

const TARGETS: Target[] = [
  // files, artifacts, sources, locations
  {
    ...inUrl("get /api/runs/{runId}/artifacts/{path}", "path", FILE, (v) => `/api/runs/${RUN}/artifacts/${v}`, "invalid_artifact_path"),
    // The route's pattern does not match a line break, so no handler sees it.
    alt: (p) => (/[\n\r]/.test(p.value) ? { status: 404, code: "API_route_not_found" } : null),
  },
  { ...json("post /api/datasets", "dataset name", NAME, () => null), send: (v) => upload({ name: v }, "data.csv"), code: "invalid_field" },
  {
    ...json("post /api/datasets", "file name", FILE, () => null),
    send: (v) => upload({}, v),
    code: "invalid_field",
    // Raw control bytes or 1 MB in a part header stop the multipart parser itself (browsers percent-encode them).
    alt: (p) =>
      p.class === "oversized" || [...p.value].some((ch) => ch.charCodeAt(0) < 0x20) ? { status: 400, code: "upload_malformed" } : null,
  },
  inUrl("get /api/datasets/{name}", "name", NAME, (v) => `/api/datasets/${v}`),
  inUrl("get /api/datasets/{name}/versions/{version}/preview", "name", NAME, (v) => `/api/datasets/${v}/versions/1/preview`),
  inUrl("get /api/datasets/{name}/versions/{version}/profile", "name", NAME, (v) => `/api/datasets/${v}/versions/1/profile`),
  inUrl("get /api/datasets/{name}/versions/{version}/download", "name", NAME, (v) => `/api/datasets/${v}/versions/1/download`),
  json("post /api/jobs/train", "dataset", NAME, (v) => ({ ...TRAIN, dataset: v })),
  json("post /api/jobs/train", "experiment", NAME, (v) => ({ ...TRAIN, experiment: v })),
  json("post /api/jobs/train", "custom_models.0.import_path", NAME, (v) => ({ ...TRAIN, custom_models: [{ import_path: v }] })),
  json("post /api/jobs/train", "custom_metrics.0.scorer", NAME, (v) => ({ ...TRAIN, custom_metrics: [{ name: "m", scorer: v }] })),
  json("post /api/jobs/predict", "model", NAME, (v) => ({ model: v, dataset: "base" })),
  json("post /api/jobs/predict", "dataset", NAME, (v) => ({ model: "m@champion", dataset: v })),
  json("post /api/jobs/predict", "output", NAME, (v) => ({ model: "m@champion", dataset: "base", output: v })),
  json("post /api/predict", "model", NAME, (v) => ({ model: v, rows: [] })),
  json("post /api/models", "name", NAME, (v) => ({ runId: RUN, name: v })),
  json("post /api/models", "runId", NAME, (v) => ({ runId: v, name: "m" })),
  inUrl("get /api/models/{name}", "name", NAME, (v) => `/api/models/${v}`),
  json("post /api/models/{name}/aliases", "alias", NAME, (v) => ({ alias: v, version: 1 }), "/api/models/m/aliases"),
  inUrl("delete /api/models/{name}/aliases/{alias}", "alias", NAME, (v) => `/api/models/m/aliases/${v}`),
  inUrl("post /api/runs/{runId}/evaluate", "runId", NAME, (v) => `/api/runs/${v}/evaluate`),
  inUrl("get /api/jobs/{id}/log", "id", ["location", "oversized", "control"], (v) => `/api/jobs/${v}/log`, "job_not_found", 404),
  inUrl("post /api/jobs/{id}/cancel", "id", ["location", "oversized", "control"], (v) => `/api/jobs/${v}/cancel`, "job_not_found", 404),
  {
    route: "get /api/datasets",
    field: `${PROJECT_HEADER} header`,
    classes: ["location", "oversized", "lookalike", "template"],
    // Header values cannot carry control characters at all (fetch refuses to send them).
    skip: (p) => [...p.value].some((ch) => ch.charCodeAt(0) < 0x20),
    // A header arrives as bytes: UTF-8 look-alikes reach the server as their Latin-1 reading.
    send: (v) => send("GET", "/api/datasets", { headers: { [PROJECT_HEADER]: Buffer.from(v, "utf8").toString("latin1") } }),
    status: 400,
    code: "bad_project_name",
  },
  // names of people, projects and tokens
  json("post /api/projects", "name", NAME, (v) => ({ name: v })),
  json("post /api/users", "username", NAME, (v) => ({ username: v })),
  json("post /api/auth/tokens", "name", ["oversized", "lookalike", "control", "template"], (v) => ({ name: v })),
  inUrl("post /api/users/{username}/disable", "username", NAME, (v) => `/api/users/${v}/disable`),
  inUrl(
    "put /api/projects/{project}/members/{username}",
    "project",
    ["location", "oversized", "lookalike"],
    (v) => `/api/projects/${v}/members/admin`,
    "bad_project_name",
  ),
  // connections: names, the hosts caretflow dials, and the database and user it names there
  json("post /api/connections", "name", NAME, (v) => ({ name: v, type: "postgres", settings: PG })),
  {
    ...json("post /api/connections", "settings.hosts.0.host", ["location", "oversized", "control", "lookalike"], (v) => ({
      name: "pg",
      type: "postgres",
      settings: { ...PG, hosts: [{ host: v }] },
    })),
    code: "invalid_connection_settings",
  },
  {
    ...json("post /api/connections", "settings.database", ["oversized", "control"], (v) => ({
      name: "pg",
      type: "postgres",
      settings: { ...PG, database: v },
    })),
    code: "invalid_connection_settings",
  },
  // object stores: the endpoint caretflow dials, the bucket it names, the key or glob it reads
  {
    ...json("post /api/connections", "settings.endpoint", ["location", "oversized", "control", "lookalike"], (v) => ({
      name: "lake",
      type: "s3",
      settings: { ...S3, endpoint: v },
    })),
    code: "invalid_connection_settings",
  },
  {
    ...json("post /api/connections", "settings.bucket", NAME, (v) => ({ name: "lake", type: "s3", settings: { ...S3, bucket: v } })),
    code: "invalid_connection_settings",
  },
  json(
    "post /api/connections/{name}/import",
    "object",
    ["oversized", "control"],
    (v) => ({ object: v, name: "x" }),
    "/api/connections/lake/import",
  ),
  // free text: any language, but no control or invisible characters
  { ...json("post /api/projects", "description", TEXT, (v) => ({ name: "described", description: v })), skip: allowedInText },
  { ...json("post /api/models", "description", TEXT, (v) => ({ runId: RUN, name: "m", description: v })), skip: allowedInText },
  { ...json("put /api/models/{name}", "description", TEXT, (v) => ({ description: v }), "/api/models/m"), skip: allowedInText },
  {
    ...json("put /api/models/{name}/versions/{version}", "tags.team", TEXT, (v) => ({ tags: { team: v } }), "/api/models/m/versions/1"),
    skip: allowedInText,
  },
];

const cases = TARGETS.flatMap((t) =>
  payloadsOf(...t.classes)
    .filter((p) => !t.skip?.(p))
    .map((p) => [`${t.route} ${t.field}`, `${p.class}: ${p.label}`, t, p] as const),
);

/** Route keys the suite sends hostile input to (every sweep adds its own). */
const covered = new Set<string>(TARGETS.map((t) => t.route));

interface Snapshot {
  datasets: string[];
  users: string[];
  projects: string[];
  tokens: number;
  jobs: number;
  audit: number;
  /** Names claimed by a project (datasets, models). */
  claims: number;
  files: string[];
}
let before: Snapshot;

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !/caretflow\.db(-wal|-shm)?$/.test(e.name))
    .map((e) => relative(f.dir, join(e.parentPath, e.name)))
    .sort();
}

async function snapshot(): Promise<Snapshot> {
  const admin = (await f.auth.userByName("admin"))!;
  return {
    datasets: (await f.store!.list()).map((d) => d.name).sort(),
    users: (await f.auth.listUsers()).map((u) => u.username).sort(),
    projects: (await f.projects.list(admin)).map((p) => p.name).sort(),
    tokens: (await f.auth.listTokens(admin.id)).length,
    jobs: (await f.jobs.list("default")).length,
    audit: (await f.audit.list(AuditQuery.parse({ limit: 1000 }))).entries.length,
    claims: (await f.db.selectFrom("project_objects").select("name").execute()).length,
    files: await listFiles(f.dir),
  };
}

type ErrorBody = {
  error: { code: string; message: string; hint?: string; details?: { issues?: Array<{ path: string }>; field?: string } };
};

async function expectRefused(res: Response, status: number, code: string): Promise<ErrorBody["error"]> {
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(status);
  const { error } = JSON.parse(text) as ErrorBody;
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(10);
  // A 1 MB value is never echoed back whole.
  expect(text.length).toBeLessThan(4000);
  if (status === 400 || status === 415) expect(error.hint?.length ?? 0).toBeGreaterThan(5);
  return error;
}

describe("hostile names, paths and text in every field that takes them", () => {
  it.each(cases)("%s refuses %s", async (_where, _what, target, payload) => {
    const asked = reached.length;
    const { status, code } = target.alt?.(payload) ?? target;
    const error = await expectRefused(await target.send(payload.value), status, code);
    if (code === "invalid_request") expect(error.details?.issues?.map((i) => i.path)).toContain(target.field);
    if (code === "invalid_field") expect(error.details?.field).toBe(target.field);
    expect(reached.slice(asked)).toEqual([]);
  });
});

describe("browser-origin attacks", () => {
  const changing = routes.filter((r) => r.method !== "get" && !("public" in r.permission));
  const url = (r: RouteDef) =>
    r.path
      .replace("{runId}", RUN)
      .replace("{version}", "1")
      .replace("{name}", r.path.startsWith("/api/models") ? "m" : "base")
      .replace("{project}", "default")
      .replace("{username}", "admin")
      .replace(/\{(\w+)\}/g, "x");
  for (const r of changing) covered.add(`${r.method} ${r.path}`);

  it.each(changing.flatMap((r) => FOREIGN_ORIGINS.map((o) => [r.method, r.path, o, r] as const)))(
    "%s %s refuses a session cookie from origin %s",
    async (_m, _p, origin, route) => {
      const res = await send(route.method.toUpperCase(), url(route), {
        body: route.path === "/api/datasets" ? new FormData() : "{}",
        headers: { origin, "content-type": route.path === "/api/datasets" ? "multipart/form-data; boundary=x" : "application/json" },
      });
      const error = await expectRefused(res, 403, "cross_origin");
      expect(error.hint).toMatch(/API token/);
    },
  );

  const withBody = routes.filter((r) => r.body !== undefined);
  for (const r of withBody) covered.add(`${r.method} ${r.path}`);
  it.each(withBody.map((r) => [r.method, r.path, r] as const))("%s %s never reads a text/plain body as JSON", async (_m, _p, route) => {
    const res = await send(route.method.toUpperCase(), url(route), { body: "{}", headers: { "content-type": "text/plain" } });
    const error = await expectRefused(res, 415, "unsupported_media_type");
    expect(error.message).toMatch(/application\/json/);
  });

  it("refuses a well-formed JSON token request sent as text/plain, and creates no token", async () => {
    const res = await send("POST", "/api/auth/tokens", {
      body: JSON.stringify({ name: "csrf" }),
      headers: { "content-type": "text/plain;charset=UTF-8" },
    });
    await expectRefused(res, 415, "unsupported_media_type");
    const refusedForm = await send("POST", "/api/datasets", { body: "a,b\n1,2\n", headers: { "content-type": "text/plain" } });
    await expectRefused(refusedForm, 415, "upload_not_multipart");
  });

  // Framing (X-Frame-Options / CSP frame-ancestors) is tested with the security headers, not here.
});

describe("after every refusal", () => {
  it("nothing was written and nothing outside the root was read", async () => {
    expect(await snapshot()).toEqual(before);
    expect(reached).toEqual([]);
    for (const dir of [f.dir, tmpdir(), "/tmp"]) {
      const names = await readdir(dir, { recursive: dir === f.dir });
      expect(
        names.filter((n) => n.includes(PROBE)),
        dir,
      ).toEqual([]);
    }
  });

  it("lets the same requests through with ordinary values (the refusals were the payloads')", async () => {
    expect((await upload({ name: "base" }, "base.csv")).status).toBe(201);
    expect((await upload({}, "Crème brûlée {{x}}.csv")).status).toBe(201); // any language in a file name
    expect((await send("GET", "/api/datasets/base/versions/1/download")).status).toBe(200);
    expect((await postJson("/api/auth/tokens", { name: "laptop (work)" })).status).toBe(201);
    expect((await postJson("/api/projects", { name: "described", description: "two lines\nand a tab\t, émigré" })).status).toBe(201);
  });

  it("keeps template text in a description as text, never evaluated", async () => {
    for (const [i, text] of INERT_TEMPLATES.entries()) {
      const res = await postJson("/api/projects", { name: `inert-${i}`, description: text });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { description: string }).description).toBe(text);
    }
  });

  it("reports its coverage", () => {
    const counts = { payloads: PAYLOADS.length, routes: covered.size, cases: cases.length, targets: TARGETS.length };
    console.log(`refused-input suite: ${JSON.stringify(counts)}`);
    expect(counts.payloads).toBeGreaterThanOrEqual(30);
    expect(counts.routes).toBeGreaterThanOrEqual(20);
  });
});
