import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { type CaretflowClient, type ClientOptions, createCaretflowClient, type Method } from "./client.ts";
import { CaretflowError } from "./errors.ts";
import type { paths } from "./generated/openapi.ts";
import { PROJECT_HEADER, type RouteTable, routes } from "./routes.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/** A real HTTP server on a free loopback port that answers every request with `answer`, and records what it got. */
async function serve(answer: (req: Seen, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const s = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const json = (status: number, body: unknown) => (_: Seen, res: ServerResponse) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

async function client(answer: (req: Seen, res: ServerResponse) => void, opts: Partial<ClientOptions> = {}) {
  const s = await serve(answer);
  return { api: createCaretflowClient({ baseUrl: s.url, ...opts }), seen: s.seen };
}

async function failure(p: Promise<unknown>): Promise<CaretflowError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CaretflowError);
  return err as CaretflowError;
}

// A job as an older server sends it: without `project` and `outputDatasets`, which the schema defaults.
const job = {
  id: "j1",
  kind: "evaluate",
  status: "queued",
  request: { run: "r1", after: null },
  stage: null,
  progress: null,
  leaderboard: [],
  result: null,
  error: null,
  outputDataset: null,
  createdAt: "2026-12-01T00:00:00.000Z",
  startedAt: null,
  finishedAt: null,
};

describe("the generated OpenAPI types", () => {
  // The route table's "METHOD PATH" pairs, and those the generated `paths` declare; each must hold the other.
  type TableKey = RouteTable[number] extends infer R
    ? R extends { method: infer M extends string; path: infer P extends string }
      ? `${M} ${P}`
      : never
    : never;
  type PathsKey = {
    [P in keyof paths]: { [M in Method]: paths[P] extends { [K in M]: object } ? `${M} ${P}` : never }[Method];
  }[keyof paths];

  it("declare every route of the table, and nothing else (types)", () => {
    expectTypeOf<Exclude<TableKey, PathsKey>>().toEqualTypeOf<never>();
    expectTypeOf<Exclude<PathsKey, TableKey>>().toEqualTypeOf<never>();
  });

  it("declare every route of the table, and nothing else (the committed file)", () => {
    const text = readFileSync(new URL("./generated/openapi.ts", import.meta.url), "utf8");
    const declared = new Set<string>();
    // openapi-typescript writes each path at 4 spaces and its operations at 8: `get: {` when declared, `get?: never;` when not.
    for (const block of text.split(/\n {4}"(?=\/)/).slice(1)) {
      const path = block.slice(0, block.indexOf('"'));
      for (const m of block.matchAll(/\n {8}(get|put|post|delete): \{/g)) declared.add(`${m[1]} ${path}`);
    }
    expect([...declared].sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });
});

describe("createCaretflowClient", () => {
  it("sends the token and the project, and answers with the contract's parsed type", async () => {
    const { api, seen } = await client(json(200, job), { token: "tok", project: "alpha" });
    const got = await api.GET("/api/jobs/{id}", { params: { path: { id: "j 1" } } });
    expectTypeOf(got.outputDatasets).toEqualTypeOf<{ role: string; name: string; version: number }[]>();
    expect(got.outputDatasets).toEqual([]); // the schema's default: parsed, not the raw JSON
    expect(seen[0]).toMatchObject({ method: "GET", url: "/api/jobs/j%201" });
    expect(seen[0]!.headers.authorization).toBe("Bearer tok");
    expect(seen[0]!.headers[PROJECT_HEADER]).toBe("alpha");
  });

  it("sends query parameters and JSON bodies", async () => {
    const { api, seen } = await client(json(200, { ok: true }));
    await api.POST("/api/auth/password", { body: { current: "a", next: "b" } });
    expect(seen[0]!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(seen[0]!.body)).toEqual({ current: "a", next: "b" });
    await api.GET("/api/audit", { params: { query: { action: "job.*", limit: 5 } } }).catch(() => null);
    expect(seen[1]!.url).toBe("/api/audit?action=job.*&limit=5");
  });

  it("refuses an answer that does not match the route's schema, naming the field", async () => {
    const { api } = await client(json(200, { datasets: [{ name: "x" }] }), { reader: "this test" });
    const err = await failure(api.GET("/api/datasets"));
    expect(err).toMatchObject({ code: "unexpected_response", kind: "bug" });
    expect(err.message).toContain("GET /api/datasets is not what this test expects");
    expect(err.message).toContain("datasets.0");
    expect(err.hint).toContain("different versions");
  });

  it("refuses a 2xx answer that is not JSON", async () => {
    const { api } = await client((_, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>a proxy's page</html>");
    });
    const err = await failure(api.GET("/api/health"));
    expect(err.code).toBe("unexpected_response");
    expect(err.message).toContain("not JSON: <html>");
  });

  it("turns the server's error body into a CaretflowError with its code, message, hint and status", async () => {
    const error = { code: "dataset_not_found", kind: "user", message: "dataset 'x' does not exist", hint: "import it first" };
    const { api } = await client(json(404, { error }));
    const err = await failure(api.GET("/api/datasets/{name}", { params: { path: { name: "x" } } }));
    expect(err).toMatchObject({ ...error, status: 404 });
  });

  it("reports an error page that is not the API's JSON with its status and text", async () => {
    const { api } = await client((_, res) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end("Bad Gateway");
    });
    const err = await failure(api.raw("get", "/api/jobs/{id}/log", { params: { path: { id: "j1" } } }));
    expect(err).toMatchObject({ code: "http_502", kind: "operational", status: 502 });
    expect(err.message).toBe("GET /api/jobs/{id}/log failed with HTTP 502: Bad Gateway");
  });

  it("says the server cannot be reached when nothing listens", async () => {
    const { url } = await serve(() => {});
    await stop?.();
    stop = undefined;
    const err = await failure(createCaretflowClient({ baseUrl: url }).GET("/api/health"));
    expect(err).toMatchObject({ code: "server_unreachable", kind: "operational" });
    expect(err.message).toContain("ECONNREFUSED");
  });

  it("lets the caller reword a failure, and leaves a cancelled request an AbortError", async () => {
    const failures: string[] = [];
    const { api } = await client(
      (req, res) => (req.url.includes("slow") ? setTimeout(() => json(200, job)(req, res), 2000) : json(401, { nope: 1 })(req, res)),
      {
        onFailure: (err, f) => {
          failures.push(`${f.kind} ${f.status} ${f.method} ${f.path}`);
          return f.status === 401 ? new CaretflowError({ code: err.code, message: "sign in again", status: 401 }) : undefined;
        },
      },
    );
    expect(await failure(api.GET("/api/auth/me"))).toMatchObject({ code: "http_401", message: "sign in again" });
    expect(failures).toEqual(["refused 401 GET /api/auth/me"]);
    const aborted = await api
      .GET("/api/jobs/{id}", { params: { path: { id: "slow" } }, signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect((aborted as Error).name).toBe("AbortError");
  });

  it("hands back raw responses for text and uploads multipart bodies with the file's name", async () => {
    const { api, seen } = await client((req, res) => {
      if (req.method === "POST") return json(201, {})(req, res);
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("engine log");
    });
    const log = await api.raw("get", "/api/jobs/{id}/log", { params: { path: { id: "j1" } }, headers: { accept: "text/plain" } });
    expect(await log.text()).toBe("engine log");
    expect(seen[0]!.headers.accept).toBe("text/plain");
    await api.POST("/api/datasets", { body: { file: new File(["a\n1\n"], "d.csv"), name: "d" } }).catch(() => null);
    expect(seen[1]!.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen[1]!.body).toContain('name="file"; filename="d.csv"');
    expect(seen[1]!.body).toContain('name="name"\r\n\r\nd\r\n');
  });

  it("builds addresses with the same path typing, keeping an artifact's folders", () => {
    const api: CaretflowClient = createCaretflowClient({ baseUrl: "http://h:1/" });
    expect(api.url("get", "/api/runs/{runId}/artifacts/{path}", { path: { runId: "r/1", path: "plots/a b.png" } })).toBe(
      "http://h:1/api/runs/r%2F1/artifacts/plots/a%20b.png",
    );
    expect(api.url("get", "/api/audit/export", { query: { format: "csv", q: "a&b" } })).toBe(
      "http://h:1/api/audit/export?format=csv&q=a%26b",
    );
  });

  it("fails tsc on a wrong path, a missing parameter, a wrong body or a JSON call on a non-JSON route", () => {
    const api = createCaretflowClient({ baseUrl: "http://h:1" });
    const typeOnly = () => {
      // @ts-expect-error not a route
      void api.GET("/api/nope");
      // @ts-expect-error {name} is missing
      void api.GET("/api/datasets/{name}");
      // @ts-expect-error current must be a string
      void api.POST("/api/auth/password", { body: { current: 1, next: "b" } });
      // @ts-expect-error the log is text, read it with raw()
      void api.GET("/api/jobs/{id}/log", { params: { path: { id: "j1" } } });
      // @ts-expect-error GET /api/jobs/train does not exist
      void api.GET("/api/jobs/train");
    };
    expect(typeof typeOnly).toBe("function");
  });
});
