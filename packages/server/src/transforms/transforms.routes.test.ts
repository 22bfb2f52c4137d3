import { PROJECT_HEADER } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";

// biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
type Body = Record<string, any>;

let f: Awaited<ReturnType<typeof appFixture>>;
/** Session cookies: the site admin (default project), an editor and a viewer of project `alpha`. */
const cookies: Record<string, string> = {};

async function sessionOf(username: string): Promise<string> {
  const user = (await f.auth.userByName(username))!;
  return `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
}

async function upload(name: string, csv: string, who = "admin", project = "default") {
  const form = new FormData();
  form.append("file", new Blob([csv]), `${name}.csv`);
  form.append("name", name);
  return f.app.request("/api/datasets", { method: "POST", headers: { cookie: cookies[who]!, [PROJECT_HEADER]: project }, body: form });
}

async function call(method: string, path: string, body?: unknown, who = "admin", project = "default") {
  const res = await f.app.request(path, {
    method,
    headers: { cookie: cookies[who]!, [PROJECT_HEADER]: project, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Body };
}

const JOIN = `SELECT s.region, m.manager, sum(s.amount) AS total
FROM sales s JOIN managers m USING (region)
GROUP BY ALL ORDER BY 1`;

async function auditActions(): Promise<string[]> {
  const rows = await f.db.selectFrom("audit_log").select("action").orderBy("seq").execute();
  return rows.map((r) => r.action);
}

forEachDatabase("transform routes", (dbs) => {
  beforeAll(async () => {
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { datasets: true, transformLimits: { timeoutMs: 700 }, db });
    cookies.admin = await f.login();
    for (const name of ["alpha-editor", "alpha-viewer"]) await f.auth.createUser({ username: name });
    await f.projects.create((await f.auth.userByName("alpha-editor"))!, "alpha", null);
    await f.projects.setMember("alpha", "alpha-viewer", "viewer");
    cookies.editor = await sessionOf("alpha-editor");
    cookies.viewer = await sessionOf("alpha-viewer");
    expect((await upload("sales", "region,amount\nnorth,10\nsouth,5\nnorth,7\n")).status).toBe(201);
    expect((await upload("managers", "region,manager\nnorth,Ana\nsouth,Bo\n")).status).toBe(201);
    expect((await upload("secret-pay", "who,pay\nAna,100\n", "editor", "alpha")).status).toBe(201);
  });
  afterAll(() => f.close());

  describe("transform routes", () => {
    it("previews a join without storing anything", async () => {
      const before = await call("GET", "/api/datasets");
      const res = await call("POST", "/api/transforms/preview", { sql: JOIN, limit: 1 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        columns: [
          { name: "region", kind: "string", duckdbType: "VARCHAR", nullable: true },
          { name: "manager", kind: "string", duckdbType: "VARCHAR", nullable: true },
          { name: "total", kind: "integer", duckdbType: "HUGEINT", nullable: true },
        ],
        rows: [["north", "Ana", 17]],
        inputs: [
          { dataset: "sales", version: 1 },
          { dataset: "managers", version: 1 },
        ],
        limit: 1,
      });
      expect((await call("GET", "/api/datasets")).body).toEqual(before.body);
    });

    it("saves and runs a transform into a new version with both inputs recorded, audited; a re-run with unchanged inputs stores nothing", async () => {
      const saved = await call("POST", "/api/transforms", { name: "totals", sql: JOIN });
      expect(saved.status).toBe(201);
      expect(saved.body.transform).toMatchObject({ name: "totals", sql: JOIN, updatedBy: "admin" });
      expect(saved.body.result).toMatchObject({ created: true, version: { dataset: "totals", version: 1, rowCount: 2 } });
      expect(saved.body.result.version.source).toEqual({
        kind: "transform",
        sql: JOIN,
        inputs: [
          { dataset: "sales", version: 1 },
          { dataset: "managers", version: 1 },
        ],
      });
      expect(await auditActions()).toEqual(expect.arrayContaining(["transform.save", "dataset.transform"]));

      const rerun = await call("POST", "/api/transforms/totals/run");
      expect(rerun.status).toBe(200);
      expect(rerun.body.result).toMatchObject({ created: false, version: { version: 1 } });
      expect((await call("GET", "/api/datasets/totals")).body.versions).toHaveLength(1);

      expect((await upload("sales", "region,amount\nnorth,10\nsouth,5\nnorth,7\nsouth,2\n")).status).toBe(201);
      const third = await call("POST", "/api/transforms/totals/run");
      expect(third.status).toBe(201);
      expect(third.body.result.version).toMatchObject({
        version: 2,
        source: {
          inputs: [
            { dataset: "sales", version: 2 },
            { dataset: "managers", version: 1 },
          ],
        },
      });

      const list = await call("GET", "/api/transforms");
      expect(list.body.transforms.map((t: { name: string }) => t.name)).toEqual(["totals"]);
      expect((await call("GET", "/api/transforms/totals")).body.sql).toBe(JOIN);
    });

    it('reads a pinned version by "name@N"', async () => {
      const res = await call("POST", "/api/transforms/preview", { sql: 'SELECT count(*) AS n FROM "sales@1"' });
      expect(res.body).toMatchObject({ rows: [[3]], inputs: [{ dataset: "sales", version: 1 }] });
    });

    it("refuses file access, other statements and a second statement with clear 422s, storing nothing", async () => {
      const cases: [string, string][] = [
        ["SELECT * FROM read_csv('/etc/passwd')", "transform_access_refused"],
        ["ATTACH '/tmp/evil.db' AS evil", "query_not_read_only"],
        ["COPY (SELECT * FROM sales) TO '/tmp/escape.csv'", "query_not_read_only"],
        ["SELECT * FROM sales; SELECT * FROM managers", "query_several_statements"],
      ];
      for (const [sql, code] of cases) {
        const res = await call("POST", "/api/transforms", { name: "escape", sql });
        expect(res.status, sql).toBe(422);
        expect(res.body.error.code, sql).toBe(code);
        expect(res.body.error.message, sql).not.toMatch(new RegExp(f.dir));
      }
      expect((await call("GET", "/api/datasets/escape")).status).toBe(404);
      expect((await call("GET", "/api/transforms/escape")).status).toBe(404);
      // The failed first run left the name free for any project.
      expect([...(await f.projects.owners("dataset")).keys()]).not.toContain("escape");
    });

    it("names an unknown dataset, and refuses another project's dataset as if it did not exist", async () => {
      const unknown = await call("POST", "/api/transforms/preview", { sql: "SELECT *\nFROM salez" });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatchObject({ code: "transform_dataset_not_found", details: { line: 2, dataset: "salez" } });
      expect(unknown.body.error.message).toContain("'salez'");

      // The admin, in the default project, cannot read project alpha's dataset through SQL.
      const other = await call("POST", "/api/transforms", { name: "stolen", sql: 'SELECT * FROM "secret-pay"' });
      expect(other.status).toBe(404);
      expect(other.body.error.message).toContain("'secret-pay'");
      expect((await call("GET", "/api/datasets/stolen")).status).toBe(404);
      // Alpha's editor reads it, but not the default project's sales.
      const own = await call("POST", "/api/transforms/preview", { sql: 'SELECT * FROM "secret-pay"' }, "editor", "alpha");
      expect(own).toMatchObject({ status: 200, body: { rows: [["Ana", 100]] } });
      const cross = await call("POST", "/api/transforms/preview", { sql: "SELECT * FROM sales" }, "editor", "alpha");
      expect(cross.status).toBe(404);
    });

    it("answers DuckDB's errors as 422 with the line and no file paths", async () => {
      const res = await call("POST", "/api/transforms/preview", { sql: "SELECT region,\n  amount * 2 AS double,\n  nope\nFROM sales" });
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: "transform_query_invalid", details: { line: 3 } });
      expect(res.body.error.message).toMatch(/^DuckDB could not run the query: .*nope/);
      expect(res.body.error.message).not.toMatch(/parquet|\//);
    });

    it("interrupts a query over the time limit", async () => {
      const res = await call("POST", "/api/transforms", {
        name: "slow",
        sql: "SELECT sum(a.range * b.range) FROM range(100000000) a, range(1000) b",
      });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("transform_timeout");
      expect((await call("GET", "/api/datasets/slow")).status).toBe(404);
    });

    it("lets viewers read saved transforms but not run, preview or delete them; editors delete", async () => {
      const saved = await call("POST", "/api/transforms", { name: "alpha-copy", sql: 'SELECT * FROM "secret-pay"' }, "editor", "alpha");
      expect(saved.status).toBe(201);
      expect((await call("GET", "/api/transforms/alpha-copy", undefined, "viewer", "alpha")).status).toBe(200);
      expect((await call("POST", "/api/transforms/alpha-copy/run", undefined, "viewer", "alpha")).status).toBe(403);
      expect((await call("POST", "/api/transforms/preview", { sql: "SELECT 1" }, "viewer", "alpha")).status).toBe(403);
      // Another project's saved transform is not found from the default project.
      expect((await call("POST", "/api/transforms/alpha-copy/run")).status).toBe(404);
      expect((await call("DELETE", "/api/transforms/alpha-copy", undefined, "editor", "alpha")).status).toBe(200);
      expect((await call("GET", "/api/transforms/alpha-copy", undefined, "editor", "alpha")).status).toBe(404);
      expect((await call("GET", "/api/datasets/alpha-copy", undefined, "editor", "alpha")).status).toBe(200);
      expect(await auditActions()).toContain("transform.delete");
    });
  });
});
