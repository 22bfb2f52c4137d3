import { routes } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";

let f: Awaited<ReturnType<typeof appFixture>>;
beforeAll(async () => {
  f = await appFixture({
    datasets: new Proxy({} as never, {
      get: () => async () => {
        throw new Error("secret internal detail at /home/x");
      },
    }),
  });
});
afterAll(() => f.close());

/** Route-table path -> Hono path. */
const honoPath = (p: string) => p.replace("{path}", ":path{.+}").replace(/\{(\w+)\}/g, ":$1");
/** Route-table path -> a concrete URL. */
const sampleUrl = (p: string) =>
  p
    .replace("{runId}", "0123456789abcdef0123456789abcdef")
    .replace("{version}", "1")
    .replace(/\{(\w+)\}/g, "x");

describe("route table", () => {
  it("mounts every route of the contract table", () => {
    const mounted = new Set(f.app.routes.map((r) => `${r.method} ${r.path}`));
    const missing = routes.filter((r) => !mounted.has(`${r.method.toUpperCase()} ${honoPath(r.path)}`));
    expect(missing.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it.each(routes.filter((r) => !("public" in r.permission)).map((r) => [r.method, r.path] as const))(
    "%s %s needs credentials",
    async (method, path) => {
      const res = await f.app.request(sampleUrl(path), {
        method: method.toUpperCase(),
        headers: { "content-type": "application/json" },
        ...(method === "get" ? {} : { body: "{}" }),
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; hint?: string } };
      expect(body.error.code).toBe("unauthorized");
      expect(body.error.hint).toBeTruthy();
    },
  );

  it("refuses a wrong bearer token even with a valid session", async () => {
    const cookie = await f.login();
    const res = await f.app.request("/api/auth/me", { headers: { cookie, authorization: "Bearer cf_wrong" } });
    expect(res.status).toBe(401);
  });

  it("refuses cross-origin changes made with a session cookie", async () => {
    const cookie = await f.login();
    const body = JSON.stringify({ name: "x" });
    const headers = { cookie, "content-type": "application/json", host: "localhost" };
    const evil = await f.app.request("http://localhost/api/auth/tokens", {
      method: "POST",
      headers: { ...headers, origin: "http://evil.example" },
      body,
    });
    expect(evil.status).toBe(403);
    const same = await f.app.request("http://localhost/api/auth/tokens", {
      method: "POST",
      headers: { ...headers, origin: "http://localhost" },
      body,
    });
    expect(same.status).toBe(201);
  });

  it("serves health and OpenAPI without credentials", async () => {
    const health = await f.app.request("/api/health");
    expect(health.status).toBe(200);
    expect(((await health.json()) as { server: { ready: boolean } }).server.ready).toBe(true);
    const doc = (await (await f.app.request("/api/openapi.json")).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/api/jobs/{id}/events");
  });

  it("guards the MLflow UI proxy with the same sign-in", async () => {
    expect((await f.app.request("/mlflow/")).status).toBe(401);
    // A signed-out browser asking for a page goes to sign-in and comes back afterwards.
    const page = await f.app.request("/mlflow/?x=1", { headers: { accept: "text/html,application/xhtml+xml" } });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe(`/signin?next=${encodeURIComponent("/mlflow/?x=1")}`);
    const cookie = await f.login();
    // Signed in, but MLflow is down in this fixture: an operational error, not a leak.
    const res = await f.app.request("/mlflow/", { headers: { cookie } });
    expect(res.status).toBe(503);
  });
});

describe("errors", () => {
  it("answers unknown API paths with a JSON 404", async () => {
    const cookie = await f.login();
    const res = await f.app.request("/api/nope", { headers: { cookie } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("API_route_not_found");
  });

  it("turns a bad body into a 400 naming each field", async () => {
    const cookie = await f.login();
    const res = await f.app.request("/api/jobs/train", {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ dataset: "juice!", task: "regression", folds: 1 }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; hint: string; details: { issues: Array<{ path: string }> } } };
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.details.issues.map((i) => i.path).sort()).toEqual(["dataset", "folds", "target"]);
    expect(body.error.hint).toMatch(/openapi/);
  });

  it("refuses a body that is not JSON", async () => {
    const cookie = await f.login();
    const res = await f.app.request("/api/jobs/train", {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: "{",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
  });

  it("hides internals of unexpected errors behind a 500", async () => {
    const cookie = await f.login();
    const res = await f.app.request("/api/datasets", { headers: { cookie } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(/secret|\/home\/x|at /);
    expect(JSON.parse(text).error.kind).toBe("bug");
  });

  it("serves a page saying to build the UI when it is missing, without swallowing API 404s", async () => {
    const res = await f.app.request("/experiments/123");
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/npm run build:web/);
  });
});
