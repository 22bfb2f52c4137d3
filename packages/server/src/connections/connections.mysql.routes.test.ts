import { PROJECT_HEADER } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MariadbServer, startMariadb } from "../../../connectors/test/mariadb.fixture.ts";
import { appFixture } from "../../test/app.fixture.ts";

const PASSWORD = "Route-Maria-pw-42";
// biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
type Json = Record<string, any>;
let server: MariadbServer;
let f: Awaited<ReturnType<typeof appFixture>>;
const cookies: Record<string, string> = {};

beforeAll(async () => {
  server = await startMariadb();
  await server.sql(`
    CREATE DATABASE shop;
    CREATE TABLE shop.events (id INT PRIMARY KEY, kind VARCHAR(10), at DATETIME, ok TINYINT(1));
    INSERT INTO shop.events WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 40)
      SELECT i, CONCAT('k', i % 3), TIMESTAMP '2026-03-01 00:00:00' + INTERVAL i HOUR, i % 2 FROM seq;
    CREATE DATABASE archive;
    CREATE TABLE archive.old_events (id INT, note TEXT);
    INSERT INTO archive.old_events VALUES (1, 'first'), (2, 'second');
    ANALYZE TABLE shop.events;
    CREATE USER 'reader'@'%' IDENTIFIED BY '${PASSWORD}';
    GRANT SELECT ON shop.* TO 'reader'@'%';
    GRANT SELECT ON archive.* TO 'reader'@'%';
  `);
  f = await appFixture({}, { datasets: true });
  for (const role of ["owner", "editor", "viewer"]) await f.auth.createUser({ username: `p-${role}` });
  await f.projects.create((await f.auth.userByName("p-owner"))!, "p", null);
  for (const role of ["owner", "editor", "viewer"] as const) await f.projects.setMember("p", `p-${role}`, role);
  for (const role of ["owner", "editor", "viewer"]) {
    const user = (await f.auth.userByName(`p-${role}`))!;
    cookies[role] = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
  }
}, 180_000);

afterAll(async () => {
  await f?.close();
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

describe("MySQL/MariaDB connection routes", () => {
  it("an owner creates a mysql connection; editors browse, preview and import a table into a dataset version", async () => {
    const created = await call("owner", "POST", "", {
      name: "maria",
      type: "mysql",
      settings: { hosts: [{ host: server.host, port: server.port }], database: "shop", user: "reader" },
      secrets: { password: PASSWORD },
    });
    expect(created.status).toBe(201);
    expect(created.json.settings).toMatchObject({ database: "shop", ssl: false });
    expect(created.json.secretsSet).toEqual(["password"]);
    expect(created.text).not.toContain(PASSWORD);

    const tested = await call("editor", "POST", "/maria/test");
    expect(tested.status).toBe(200);
    expect(tested.json.serverVersion).toMatch(/MariaDB/);
    expect((await call("editor", "GET", "/maria/browse")).json.entries.map((e: Json) => e.name)).toEqual(["archive", "shop"]);
    const tables = await call("editor", "GET", "/maria/browse?path=shop");
    expect(tables.json.entries).toContainEqual(expect.objectContaining({ name: "events", kind: "table", rowEstimate: 40 }));
    const preview = await call("editor", "POST", "/maria/preview", { query: "SELECT id FROM events ORDER BY id # first", limit: 3 });
    expect(preview.json.rows).toEqual([["1"], ["2"], ["3"]]);
    const locking = await call("editor", "POST", "/maria/preview", { query: "SELECT * FROM events FOR UPDATE" });
    expect(locking.status).toBe(400);
    expect(locking.json.error.code).toBe("query_not_read_only");

    const imported = await call("editor", "POST", "/maria/import", { table: "shop.events", incremental: "id" });
    expect(imported.status).toBe(201);
    expect(imported.json.version).toMatchObject({ dataset: "events", version: 1, rowCount: 40, columnCount: 4 });
    expect(imported.json.version.source).toMatchObject({
      kind: "connection",
      connection: "maria",
      table: "shop.events",
      watermark: { column: "id", value: "40" },
    });
    expect(imported.json.version.columns.map((c: Json) => c.kind)).toEqual(["integer", "string", "timestamp", "boolean"]);
    await server.sql("INSERT INTO shop.events VALUES (41, 'new', NULL, 1), (42, 'new', NULL, 0)");
    const more = await call("editor", "POST", "/maria/import", { table: "shop.events", incremental: "id" });
    expect(more.status).toBe(201);
    expect(more.json.version).toMatchObject({ version: 2, rowCount: 42 });
    const query = await call("editor", "POST", "/maria/import", {
      query: "SELECT kind, count(*) AS n FROM events GROUP BY kind",
      name: "kinds",
    });
    expect(query.status).toBe(201);
    expect(query.json.version).toMatchObject({ dataset: "kinds", rowCount: 4 });

    const missing = await call("editor", "POST", "/maria/import", { table: "shop.nope" });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("source_table_not_found");
  });

  it("an owner edits the settings (another database) and the password; the answer never holds the password", async () => {
    expect(
      (
        await call("editor", "PUT", "/maria", {
          settings: { hosts: [{ host: server.host, port: server.port }], database: "archive", user: "reader" },
        })
      ).status,
    ).toBe(403);
    const edited = await call("owner", "PUT", "/maria", {
      settings: { hosts: [{ host: server.host, port: server.port }], database: "archive", user: "reader" },
    });
    expect(edited.status).toBe(200);
    expect(edited.json.settings.database).toBe("archive");
    expect(edited.json.secretsSet).toEqual(["password"]);
    const preview = await call("editor", "POST", "/maria/preview", { table: "old_events", limit: 5 });
    expect(preview.status).toBe(200);
    expect(preview.json.rows).toEqual([
      ["1", "first"],
      ["2", "second"],
    ]);

    const wrong = await call("owner", "PUT", "/maria", { secrets: { password: "wrong-Maria-pw" } });
    expect(wrong.status).toBe(200);
    expect(wrong.text).not.toContain("wrong-Maria-pw");
    const failed = await call("editor", "POST", "/maria/test");
    expect(failed.status).toBe(400);
    expect(failed.json.error.code).toBe("connection_auth_failed");
    expect(failed.text).not.toContain("wrong-Maria-pw");
    expect((await call("owner", "PUT", "/maria", { secrets: { password: PASSWORD } })).status).toBe(200);
    expect((await call("editor", "POST", "/maria/test")).status).toBe(200);
  });
});
