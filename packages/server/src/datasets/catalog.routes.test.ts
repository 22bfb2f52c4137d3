import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type LineageGraph, PROJECT_HEADER, type VersionComparison } from "@caretflow/contracts";
import type { DataTables } from "@caretflow/data";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";

/** The catalog (search, filters, tags), lineage and version comparison over a real store and database. */
let f: Awaited<ReturnType<typeof appFixture>>;
const cookies: Record<string, string> = {};

async function sessionOf(username: string): Promise<string> {
  const user = (await f.auth.userByName(username))!;
  return `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
}

function req(who: string, project: string, path: string, init: { method?: string; body?: unknown } = {}) {
  return f.app.request(path, {
    method: init.method ?? "GET",
    headers: { cookie: cookies[who]!, [PROJECT_HEADER]: project, "content-type": "application/json" },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function upload(who: string, project: string, name: string, csv: string) {
  const form = new FormData();
  form.set("file", new File([csv], `${name}.csv`, { type: "text/csv" }));
  form.set("name", name);
  const res = await f.app.request("/api/datasets", {
    method: "POST",
    headers: { cookie: cookies[who]!, [PROJECT_HEADER]: project },
    body: form,
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

type Listed = { datasets: Array<{ name: string; tags?: string[]; owner?: string | null }>; total: number };
const names = async (who: string, project: string, query = "") => {
  const res = await req(who, project, `/api/datasets${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as Listed).datasets.map((d) => d.name);
};

forEachDatabase("catalog routes", (dbs) => {
  beforeAll(async () => {
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { datasets: true, db });
    for (const name of ["ana", "eddie", "vera", "bob"]) await f.auth.createUser({ username: name });
    await f.projects.create((await f.auth.userByName("ana"))!, "alpha", null);
    await f.projects.create((await f.auth.userByName("bob"))!, "beta", null);
    await f.projects.setMember("alpha", "eddie", "editor");
    await f.projects.setMember("alpha", "vera", "viewer");
    for (const name of ["ana", "eddie", "vera", "bob"]) cookies[name] = await sessionOf(name);
    await upload("ana", "alpha", "sales-2024", "region,amount,customer_email\nnorth,10,a@x\nsouth,20,b@x\n");
    await upload("eddie", "alpha", "churn", "tenure,churned\n1,yes\n5,no\n");
    await upload("bob", "beta", "beta-secret", "region,amount\neast,1\n");
  });
  afterAll(() => f.close());

  describe("the catalog", () => {
    it("lists only the request's project, with owner, tags, size and source", async () => {
      expect(await names("vera", "alpha")).toEqual(["churn", "sales-2024"]);
      expect(await names("bob", "beta")).toEqual(["beta-secret"]);
      // Another project's dataset never appears, whatever the search.
      expect(await names("ana", "alpha", "?search=beta")).toEqual([]);
      const list = (await (await req("vera", "alpha", "/api/datasets")).json()) as {
        datasets: Array<{ name: string; owner: string | null; tags: string[]; sizeBytes: number; source: { kind: string } }>;
        total: number;
      };
      expect(list.total).toBe(2);
      const sales = list.datasets.find((d) => d.name === "sales-2024")!;
      expect(sales).toMatchObject({ owner: "ana", tags: [], source: { kind: "upload" } });
      expect(sales.sizeBytes).toBeGreaterThan(0);
    });

    it("searches names, column names and tags, and filters by owner and source, paged", async () => {
      expect(await names("vera", "alpha", "?search=EMAIL")).toEqual(["sales-2024"]);
      expect(await names("vera", "alpha", "?search=sales%20amount")).toEqual(["sales-2024"]);
      expect(await names("vera", "alpha", "?search=sales%20tenure")).toEqual([]);
      expect(await names("vera", "alpha", "?owner=eddie")).toEqual(["churn"]);
      expect(await names("vera", "alpha", "?source=upload")).toEqual(["churn", "sales-2024"]);
      expect(await names("vera", "alpha", "?source=connection")).toEqual([]);
      const page = (await (await req("vera", "alpha", "/api/datasets?limit=1&offset=1")).json()) as Listed;
      expect(page).toMatchObject({ total: 2, datasets: [{ name: "sales-2024" }] });
      const bad = await req("vera", "alpha", "/api/datasets?source=ftp");
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { hint?: string } }).error.hint).toBeTruthy();
    });

    it("lets editors add and remove tags, audited, and refuses viewers and other projects", async () => {
      const tagged = await req("eddie", "alpha", "/api/datasets/sales-2024/tags", { method: "POST", body: { add: ["PII", "finance"] } });
      expect(tagged.status, await tagged.clone().text()).toBe(200);
      expect(await tagged.json()).toEqual({ dataset: "sales-2024", tags: ["finance", "pii"] });
      expect(await names("vera", "alpha", "?tag=pii")).toEqual(["sales-2024"]);
      expect(await names("vera", "alpha", "?search=financ")).toEqual(["sales-2024"]);

      const viewer = await req("vera", "alpha", "/api/datasets/sales-2024/tags", { method: "POST", body: { add: ["x"] } });
      expect(viewer.status).toBe(403);
      const elsewhere = await req("bob", "beta", "/api/datasets/sales-2024/tags", { method: "POST", body: { add: ["x"] } });
      expect(elsewhere.status).toBe(404);
      const badTag = await req("eddie", "alpha", "/api/datasets/sales-2024/tags", { method: "POST", body: { add: ["no spaces"] } });
      expect(badTag.status).toBe(400);

      const removed = await req("eddie", "alpha", "/api/datasets/sales-2024/tags", { method: "POST", body: { remove: ["finance"] } });
      expect(((await removed.json()) as { tags: string[] }).tags).toEqual(["pii"]);
      const detail = (await (await req("vera", "alpha", "/api/datasets/sales-2024")).json()) as { tags: string[]; owner: string };
      expect(detail).toMatchObject({ tags: ["pii"], owner: "ana" });
      const { entries } = await f.audit.list({ limit: 20, action: "dataset.tags" });
      expect(entries.map((e) => e.after)).toEqual([{ tags: ["pii"] }, { tags: ["finance", "pii"] }]);
      expect(entries.every((e) => e.target.id === "sales-2024")).toBe(true);
    });

    it("lets editors describe a dataset, searched by the catalog; viewers may not", async () => {
      const set = await req("eddie", "alpha", "/api/datasets/churn/description", {
        method: "PUT",
        body: { description: "  Monthly churn of subscribers " },
      });
      expect(set.status, await set.clone().text()).toBe(200);
      expect(await set.json()).toEqual({ dataset: "churn", description: "Monthly churn of subscribers" });
      expect(await names("vera", "alpha", "?search=subscribers")).toEqual(["churn"]);
      expect((await req("vera", "alpha", "/api/datasets/churn/description", { method: "PUT", body: { description: "x" } })).status).toBe(
        403,
      );
      expect((await req("eddie", "alpha", "/api/datasets/churn/description", { method: "PUT", body: {} })).status).toBe(400);
      const cleared = await req("eddie", "alpha", "/api/datasets/churn/description", { method: "PUT", body: { description: "" } });
      expect(await cleared.json()).toEqual({ dataset: "churn", description: null });
      expect(await names("vera", "alpha", "?search=subscribers")).toEqual([]);
      const { entries } = await f.audit.list({ limit: 5, action: "dataset.describe" });
      expect(entries.map((e) => e.after)).toEqual([{ description: null }, { description: "Monthly churn of subscribers" }]);
    });

    it("keeps datasets made before owners were recorded valid, with an unknown owner", async () => {
      const db = f.db as unknown as Kysely<DataTables>;
      await db.updateTable("datasets").set({ owner: null }).where("name", "=", "churn").execute();
      const list = (await (await req("vera", "alpha", "/api/datasets")).json()) as Listed;
      expect(list.datasets.find((d) => d.name === "churn")?.owner).toBeNull();
      expect(await names("vera", "alpha", "?owner=eddie")).toEqual([]);
      await db.updateTable("datasets").set({ owner: "eddie" }).where("name", "=", "churn").execute();
    });
  });

  describe("lineage", () => {
    it("links sources, versions, prediction jobs and outputs, and hides other projects' datasets", async () => {
      const store = f.store!;
      // A second version of sales-2024, then a prediction job of alpha that read it and wrote sales-preds v1.
      await upload("ana", "alpha", "sales-2024", "region,amount,customer_email\nnorth,10,a@x\nsouth,25,b@x\nwest,7,\n");
      await f.projects.claim("dataset", "sales-preds", "alpha");
      const out = join(f.dir, "preds.csv");
      await writeFile(out, "region,prediction_label\nnorth,1\nsouth,0\nwest,1\n");
      const now = new Date().toISOString();
      await f.db
        .insertInto("jobs")
        .values({
          id: "job-predict-1",
          kind: "predict",
          status: "succeeded",
          request_json: JSON.stringify({ model: "sales-model/1", dataset: "sales-2024", version: 2, output: "sales-preds" }),
          stage: null,
          progress_json: null,
          leaderboard_json: "[]",
          result_json: null,
          error_json: null,
          output_dataset_json: JSON.stringify({ name: "sales-preds", version: 1 }),
          output_datasets_json: JSON.stringify([{ role: "predictions", name: "sales-preds", version: 1 }]),
          log_path: join(f.dir, "job.log"),
          project: "alpha",
          last_seq: 0,
          created_at: now,
          started_at: now,
          finished_at: now,
        })
        .execute();
      await store.importFile({
        path: out,
        name: "sales-preds",
        filename: "sales-preds.csv",
        source: { kind: "prediction", parent: { dataset: "sales-2024", version: 2 }, jobId: "job-predict-1", model: "sales-model/1" },
      });
      // Project beta derived a dataset from alpha's (its rows copied in): alpha must not learn its name.
      await f.projects.claim("dataset", "beta-copy", "beta");
      await store.importFile({
        path: out,
        name: "beta-copy",
        filename: "copy.csv",
        source: { kind: "derived", parent: { dataset: "sales-2024", version: 1 } },
      });

      const res = await req("vera", "alpha", "/api/datasets/sales-2024/lineage");
      expect(res.status, await res.clone().text()).toBe(200);
      const text = await res.clone().text();
      expect(text).not.toContain("beta");
      const g = (await res.json()) as LineageGraph;
      const byId = new Map(g.nodes.map((n) => [n.id, n]));
      const edges = g.edges.map((e) => `${byId.get(e.from)?.label} -${e.type}-> ${byId.get(e.to)?.label}`).sort();
      expect(edges).toEqual(
        [
          "sales-2024.csv -imported-> sales-2024 v1",
          "sales-2024.csv -imported-> sales-2024 v2",
          "sales-2024 v1 -derived-> hidden (another project)",
          "sales-2024 v2 -read-> predict job-pred",
          "predict job-pred -wrote-> sales-preds v1",
        ].sort(),
      );
      expect(g.nodes.filter((n) => n.current).map((n) => n.label)).toEqual(["sales-2024 v1", "sales-2024 v2"]);

      // From the output's side the walk goes upstream to the source file.
      const up = (await (await req("vera", "alpha", "/api/datasets/sales-preds/lineage")).json()) as LineageGraph;
      expect(up.nodes.map((n) => n.label).sort()).toEqual(["predict job-pred", "sales-2024 v2", "sales-2024.csv", "sales-preds v1"]);
      // Beta sees its own dataset and a hidden parent, never alpha's name.
      const beta = await req("bob", "beta", "/api/datasets/beta-copy/lineage");
      const betaText = await beta.text();
      expect(betaText).not.toContain("sales");
      expect((JSON.parse(betaText) as LineageGraph).nodes.map((n) => n.type).sort()).toEqual(["hidden", "version"]);
      // And asking beta's lineage through alpha is a 404.
      expect((await req("vera", "alpha", "/api/datasets/beta-copy/lineage")).status).toBe(404);
    });
  });

  describe("comparing versions", () => {
    it("reports schema changes, row counts and per-column statistics", async () => {
      await upload("ana", "alpha", "evolving", "id,score,city\n1,1.5,a\n2,2.5,b\n");
      await upload("ana", "alpha", "evolving", "id,score,country\n1,x,de\n2,y,fr\n3,z,\n");
      const res = await req("vera", "alpha", "/api/datasets/evolving/compare?from=1&to=2");
      expect(res.status, await res.clone().text()).toBe(200);
      const c = (await res.json()) as VersionComparison;
      expect(c).toMatchObject({ added: ["country"], removed: ["city"], typeChanged: ["score"], rowDelta: 1 });
      expect(c.from.rowCount).toBe(2);
      expect(c.to.rowCount).toBe(3);
      const id = c.columns.find((x) => x.name === "id")!;
      expect(id.change).toBe("unchanged");
      expect(id.changed).toBe(true); // 3 values now: its max and distinct changed
      expect([id.from?.max, id.to?.max]).toEqual([2, 3]);
      expect(c.columns.find((x) => x.name === "country")?.to?.nulls).toBe(1);
      expect(c.columns.map((x) => x.name)).toEqual(["id", "score", "country", "city"]);

      const same = (await (await req("vera", "alpha", "/api/datasets/evolving/compare?from=2&to=2")).json()) as VersionComparison;
      expect(same.columns.every((x) => !x.changed)).toBe(true);
      expect((await req("vera", "alpha", "/api/datasets/evolving/compare?from=1&to=9")).status).toBe(404);
      expect((await req("vera", "alpha", "/api/datasets/evolving/compare?from=1")).status).toBe(400);
      expect((await req("bob", "beta", "/api/datasets/evolving/compare?from=1&to=2")).status).toBe(404);
    });
  });
});
