import { PROJECT_HEADER, type QualityReport, type QualityRule } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";

let f: Awaited<ReturnType<typeof appFixture>>;
const cookies: Record<string, string> = {};

function call(who: string, method: string, path: string, body?: unknown, project = "shop") {
  return f.app.request(path, {
    method,
    headers: { cookie: cookies[who]!, [PROJECT_HEADER]: project, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function upload(who: string, csv: string, name: string) {
  const form = new FormData();
  form.append("file", new Blob([csv]), `${name}.csv`);
  form.append("name", name);
  return f.app.request("/api/datasets", { method: "POST", headers: { cookie: cookies[who]!, [PROJECT_HEADER]: "shop" }, body: form });
}

function salesCsv(prices: number[]): string {
  return `id,price,region\n${prices.map((p, i) => `${i + 1},${p},${i % 2 ? "north" : "south"}`).join("\n")}\n`;
}

forEachDatabase("quality routes", (dbs) => {
  beforeAll(async () => {
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { datasets: true, db });
    for (const name of ["q-viewer", "q-editor", "q-owner", "outsider"]) await f.auth.createUser({ username: name });
    await f.projects.create((await f.auth.userByName("q-owner"))!, "shop", null);
    await f.projects.setMember("shop", "q-viewer", "viewer");
    await f.projects.setMember("shop", "q-editor", "editor");
    await f.projects.create((await f.auth.userByName("outsider"))!, "elsewhere", null);
    for (const name of ["q-viewer", "q-editor", "q-owner", "outsider"]) {
      const user = (await f.auth.userByName(name))!;
      cookies[name] = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
    }
  });
  afterAll(() => f.close());

  describe("quality rules over HTTP", () => {
    it("viewers read rules; editors add, change and remove them, each change audited", async () => {
      expect((await upload("q-editor", salesCsv([10, 20, 30, 40]), "sales")).status).toBe(201);
      const rule = { check: { type: "range", column: "price", min: 0, max: 1000 }, severity: "blocking" };
      expect((await call("q-viewer", "POST", "/api/datasets/sales/quality/rules", rule)).status).toBe(403);
      expect((await call("outsider", "GET", "/api/datasets/sales/quality/rules", undefined, "elsewhere")).status).toBe(404);
      const created = await call("q-editor", "POST", "/api/datasets/sales/quality/rules", rule);
      expect(created.status).toBe(201);
      const r = (await created.json()) as QualityRule;
      expect(r).toMatchObject({ name: "price in range 0..1000", severity: "blocking", createdBy: "q-editor" });
      const listed = (await (await call("q-viewer", "GET", "/api/datasets/sales/quality/rules")).json()) as { rules: QualityRule[] };
      expect(listed.rules.map((x) => x.id)).toEqual([r.id]);

      const extra = (await (
        await call("q-editor", "POST", "/api/datasets/sales/quality/rules", { check: { type: "not_null", column: "region" } })
      ).json()) as QualityRule;
      expect(extra.severity).toBe("warning");
      const changed = await call("q-editor", "PUT", `/api/datasets/sales/quality/rules/${extra.id}`, {
        check: { type: "allowed_values", column: "region", values: ["north", "south"] },
        severity: "warning",
        name: "known regions",
      });
      expect(changed.status).toBe(200);
      expect(((await changed.json()) as QualityRule).name).toBe("known regions");
      expect((await call("q-viewer", "DELETE", `/api/datasets/sales/quality/rules/${extra.id}`)).status).toBe(403);
      expect((await call("q-editor", "DELETE", `/api/datasets/sales/quality/rules/${extra.id}`)).status).toBe(200);
      expect((await call("q-editor", "DELETE", `/api/datasets/sales/quality/rules/${extra.id}`)).status).toBe(404);

      const { entries } = await f.audit.list({ action: "dataset.quality_rule.*", limit: 50 });
      expect(entries.map((e) => e.action).sort()).toEqual([
        "dataset.quality_rule.create",
        "dataset.quality_rule.create",
        "dataset.quality_rule.delete",
        "dataset.quality_rule.update",
      ]);
      expect(entries.every((e) => e.project === "shop")).toBe(true);
    });

    it("refuses a bad rule with a 400 naming the field", async () => {
      const bad = await call("q-editor", "POST", "/api/datasets/sales/quality/rules", { check: { type: "range", column: "price" } });
      expect(bad.status).toBe(400);
      const sql = await call("q-editor", "POST", "/api/datasets/sales/quality/rules", { check: { type: "sql", sql: "DROP TABLE data" } });
      expect(sql.status).toBe(400);
      expect(await sql.text()).toMatch(/one SELECT or WITH statement/);
    });

    it("runs the rules on every new version and stores the report with it", async () => {
      expect((await upload("q-editor", salesCsv([10, 2000, 30, 5000, 7]), "sales")).status).toBe(201);
      const res = await call("q-viewer", "GET", "/api/datasets/sales/versions/2/quality");
      expect(res.status).toBe(200);
      const { report, current } = (await res.json()) as { report: QualityReport; current: boolean };
      expect(current).toBe(true);
      expect(report).toMatchObject({ dataset: "sales", version: 2, trigger: "new_version", passed: false, blockingFailures: 1 });
      expect(report.results[0]).toMatchObject({
        name: "price in range 0..1000",
        passed: false,
        failing: 2,
        message: "2 rows out of range",
      });
      expect(report.results[0]!.examples.map((e) => e.price)).toEqual([2000, 5000]);
      // Version 1 existed before the rule: no report until someone asks.
      expect(
        ((await (await call("q-viewer", "GET", "/api/datasets/sales/versions/1/quality")).json()) as { report: null }).report,
      ).toBeNull();
      expect((await call("q-viewer", "POST", "/api/datasets/sales/versions/1/quality/check")).status).toBe(403);
      const checked = (await (await call("q-editor", "POST", "/api/datasets/sales/versions/1/quality/check")).json()) as QualityReport;
      expect(checked).toMatchObject({ version: 1, trigger: "on_demand", passed: true });
    });

    it("refuses a training request on a version failing a blocking rule, with a 422 naming the rule", async () => {
      const train = { dataset: "sales", version: 2, task: "regression", target: "price" };
      const res = await call("q-editor", "POST", "/api/jobs/train", train);
      expect(res.status).toBe(422);
      const { error } = (await res.json()) as { error: { code: string; message: string; hint: string } };
      expect(error.code).toBe("quality_rule_failed");
      expect(error.message).toBe(
        "quality rule 'price in range 0..1000' failed on sales v2: 2 rows out of range; fix the data or make the rule a warning",
      );
      expect(error.hint).toMatch(/caretflow datasets check sales --version 2/);
      expect(await f.repo.idsWithStatus(["queued", "running"])).toEqual([]);
    });

    it("suggests rules from the profile, leaving out what is already there", async () => {
      const res = await call("q-viewer", "GET", "/api/datasets/sales/quality/suggestions");
      const body = (await res.json()) as { version: number; suggestions: Array<{ check: { type: string; column?: string } }> };
      expect(body.version).toBe(2);
      const kinds = body.suggestions.map((s) => `${s.check.type}:${s.check.column}`);
      expect(kinds).toEqual(expect.arrayContaining(["not_null:id", "unique:id", "not_null:price", "allowed_values:region"]));
      expect(kinds).not.toContain("range:price");
    });

    it("a report made before the rules changed is marked not current", async () => {
      await call("q-editor", "POST", "/api/datasets/sales/quality/rules", { check: { type: "row_count", min: 1 } });
      const { current } = (await (await call("q-viewer", "GET", "/api/datasets/sales/versions/2/quality")).json()) as { current: boolean };
      expect(current).toBe(false);
    });
  });
});
