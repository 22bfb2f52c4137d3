import { PROJECT_HEADER, PROJECT_ROLES } from "@caretflow/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../../../connectors/test/postgres.fixture.ts";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";

const PASSWORD = "Route-Secret-pw-42";
// biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
type Json = Record<string, any>;
let server: PostgresServer;
let f: Awaited<ReturnType<typeof appFixture>>;
const cookies: Record<string, string> = {};

beforeAll(async () => {
  server = await startPostgres();
  await server.sql("CREATE DATABASE shop");
  await server.sql(
    `
    CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}';
    CREATE TABLE public.events (id integer, kind text);
    INSERT INTO public.events SELECT i, 'k' || (i % 3) FROM generate_series(1, 40) AS i;
    CREATE TABLE public.big AS SELECT i AS id, repeat('x', 40) AS pad FROM generate_series(1, 1000000) AS i;
    GRANT SELECT ON public.events, public.big TO reader;
  `,
    [],
    "shop",
  );
}, 180_000);

afterAll(async () => {
  await server?.close();
});

async function call(role: string, method: string, path: string, body?: unknown) {
  const res = await f.app.request(`/api/connections${path}`, {
    method,
    headers: { cookie: cookies[role]!, [PROJECT_HEADER]: "p", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Json) : {} };
}

const settings = (port = server.port, host = server.host) => ({ hosts: [{ host, port }], database: "shop", user: "reader" });

forEachDatabase("connection routes", (dbs) => {
  beforeAll(async () => {
    // Each suite imports from the same source table, as it was before the other suite added rows.
    await server.sql("DELETE FROM public.events WHERE id > 40", [], "shop");
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { datasets: true, db });
    for (const role of PROJECT_ROLES) await f.auth.createUser({ username: `p-${role}` });
    await f.projects.create((await f.auth.userByName("p-owner"))!, "p", null);
    for (const role of PROJECT_ROLES) await f.projects.setMember("p", `p-${role}`, role);
    for (const role of PROJECT_ROLES) {
      const user = (await f.auth.userByName(`p-${role}`))!;
      cookies[role] = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
    }
  });
  afterAll(async () => {
    await f?.close();
  });

  it("only owners create; answers name the secret fields, never their values", async () => {
    expect(
      (await call("editor", "POST", "", { name: "shop", type: "postgres", settings: settings(), secrets: { password: PASSWORD } })).status,
    ).toBe(403);
    const created = await call("owner", "POST", "", {
      name: "shop",
      type: "postgres",
      settings: settings(),
      secrets: { password: PASSWORD },
    });
    expect(created.status).toBe(201);
    expect(created.json.secretsSet).toEqual(["password"]);
    expect(created.text).not.toContain(PASSWORD);
    const listed = await call("viewer", "GET", "");
    expect(listed.status).toBe(200);
    expect(listed.json.connections.map((c: { name: string }) => c.name)).toEqual(["shop"]);
    expect(listed.text).not.toContain(PASSWORD);
    // Stored sealed: the database row does not hold the password either.
    const row = await f.db.selectFrom("connections").selectAll().executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    const bad = await call("owner", "POST", "", { name: "bad", type: "postgres", settings: { hosts: [] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_connection_settings");
  });

  it("editors test, browse, preview and import; viewers may not read the source", async () => {
    expect((await call("viewer", "POST", "/shop/test")).status).toBe(403);
    expect((await call("viewer", "GET", "/shop/browse")).status).toBe(403);
    const tested = await call("editor", "POST", "/shop/test");
    expect(tested.status).toBe(200);
    expect(tested.json.serverVersion).toMatch(/PostgreSQL 15/);
    const schemas = await call("editor", "GET", "/shop/browse");
    expect(schemas.json.entries.map((e: { name: string }) => e.name)).toContain("public");
    const tables = await call("editor", "GET", "/shop/browse?path=public");
    expect(tables.json.entries).toContainEqual(expect.objectContaining({ name: "events", kind: "table" }));
    const preview = await call("editor", "POST", "/shop/preview", { query: "SELECT id FROM events ORDER BY id", limit: 3 });
    expect(preview.json.rows).toEqual([["1"], ["2"], ["3"]]);
    const refused = await call("editor", "POST", "/shop/preview", { query: "SELECT 1; DROP TABLE events" });
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe("query_several_statements");

    const imported = await call("editor", "POST", "/shop/import", { table: "public.events", incremental: "id" });
    expect(imported.status).toBe(201);
    expect(imported.json.version).toMatchObject({ dataset: "events", version: 1, rowCount: 40 });
    expect(imported.json.version.source).toMatchObject({
      kind: "connection",
      connection: "shop",
      table: "public.events",
      watermark: { column: "id", value: "40" },
    });
    // Nothing new: no new version.
    const again = await call("editor", "POST", "/shop/import", { table: "public.events", incremental: "id" });
    expect(again.status).toBe(200);
    expect(again.json.created).toBe(false);
    await server.sql("INSERT INTO public.events VALUES (41, 'new'), (42, 'new')", [], "shop");
    const more = await call("editor", "POST", "/shop/import", { table: "public.events", incremental: "id" });
    expect(more.status).toBe(201);
    expect(more.json.version).toMatchObject({ version: 2, rowCount: 42 });
    const datasets = await f.app.request("/api/datasets", { headers: { cookie: cookies.viewer!, [PROJECT_HEADER]: "p" } });
    expect(((await datasets.json()) as { datasets: { name: string }[] }).datasets.map((d) => d.name)).toEqual(["events"]);
    // The catalog knows who imported it and from where; lineage shows one source for both incremental versions.
    const catalog = await f.app.request("/api/datasets?connection=shop&owner=p-editor&source=connection", {
      headers: { cookie: cookies.viewer!, [PROJECT_HEADER]: "p" },
    });
    expect(((await catalog.json()) as { datasets: { name: string; owner: string }[] }).datasets).toMatchObject([
      { name: "events", owner: "p-editor" },
    ]);
    const lineage = await f.app.request("/api/datasets/events/lineage", { headers: { cookie: cookies.viewer!, [PROJECT_HEADER]: "p" } });
    const graph = (await lineage.json()) as { nodes: { id: string; type: string; label: string }[]; edges: { from: string }[] };
    const sources = graph.nodes.filter((n) => n.type === "source");
    expect(sources.map((n) => n.label)).toEqual(["shop: public.events"]);
    expect(graph.edges.filter((e) => e.from === sources[0]!.id)).toHaveLength(2);
    const missing = await call("editor", "POST", "/shop/import", { table: "public.nope" });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("source_table_not_found");
  });

  it("a client that goes away cancels the import: no version, the name stays free", async () => {
    const controller = new AbortController();
    const res = f.app.request(
      new Request("http://localhost/api/connections/shop/import", {
        method: "POST",
        headers: { cookie: cookies.editor!, [PROJECT_HEADER]: "p", "content-type": "application/json" },
        body: JSON.stringify({ table: "public.big" }),
        signal: controller.signal,
      }),
    );
    setTimeout(() => controller.abort(), 100);
    const answer = await res;
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as Json).error.code).toBe("import_cancelled");
    const datasets = await f.app.request("/api/datasets", { headers: { cookie: cookies.viewer!, [PROJECT_HEADER]: "p" } });
    expect(((await datasets.json()) as { datasets: { name: string }[] }).datasets.map((d) => d.name)).not.toContain("big");
    expect(await f.projects.projectOf("dataset", "big")).toBe("default");
    // The connection is still usable.
    expect((await call("editor", "POST", "/shop/test")).status).toBe(200);
  });

  it("only owners change credentials; a wrong password is its own error, with no secret in it; changes are audited without secrets", async () => {
    expect((await call("editor", "PUT", "/shop", { secrets: { password: "x" } })).status).toBe(403);
    const changed = await call("owner", "PUT", "/shop", { secrets: { password: "wrong-Password-77" } });
    expect(changed.status).toBe(200);
    expect(changed.text).not.toContain("wrong-Password-77");
    const failed = await call("editor", "POST", "/shop/test");
    expect(failed.status).toBe(400);
    expect(failed.json.error.code).toBe("connection_auth_failed");
    expect(failed.text).not.toContain("wrong-Password-77");
    expect((await call("owner", "PUT", "/shop", { secrets: { password: PASSWORD } })).status).toBe(200);
    expect((await call("editor", "POST", "/shop/test")).status).toBe(200);

    const entries = [];
    for await (const e of f.audit.export({})) entries.push(e);
    const text = JSON.stringify(entries);
    expect(text).toContain('"sealedFieldsChanged":["password"]');
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain("wrong-Password-77");
    const actions = entries.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["connection.create", "connection.credentials.update", "dataset.import"]));
  });

  it("the address guard refuses the metadata address and private networks (loopback is allowed only in tests)", async () => {
    for (const [name, host] of [
      ["meta", "169.254.169.254"],
      ["internal", "10.0.0.5"],
    ] as const) {
      expect(
        (await call("owner", "POST", "", { name, type: "postgres", settings: settings(5432, host), secrets: { password: PASSWORD } }))
          .status,
      ).toBe(201);
      const r = await call("editor", "POST", `/${name}/test`);
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe("address_refused");
      expect(r.json.error.message).toContain(host);
    }
  });

  it("only owners delete", async () => {
    expect((await call("editor", "DELETE", "/meta")).status).toBe(403);
    expect((await call("owner", "DELETE", "/meta")).status).toBe(200);
    expect((await call("viewer", "GET", "/meta")).status).toBe(404);
  });
});
