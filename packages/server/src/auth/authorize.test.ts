import { PROJECT_HEADER, PROJECT_ROLES, type ProjectRole, publicRoutes, type RouteDef, routes } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { matchRoute } from "./authorize.ts";

/**
 * The route table is the one source of truth for authorization: every mounted route is in it, and each
 * route refuses a user without the role it declares and a member of another project.
 */
let f: Awaited<ReturnType<typeof appFixture>>;
/** Session cookies: a member of `alpha` per role, the owner of `beta`, a user in no project, the site admin. */
const cookies: Record<string, string> = {};

async function sessionOf(username: string): Promise<string> {
  const user = (await f.auth.userByName(username))!;
  return `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
}

beforeAll(async () => {
  f = await appFixture({}, { datasets: true });
  for (const name of ["alpha-viewer", "alpha-editor", "alpha-owner", "beta-owner", "nobody"]) await f.auth.createUser({ username: name });
  // Each project's creator is its one owner.
  await f.projects.create((await f.auth.userByName("alpha-owner"))!, "alpha", null);
  await f.projects.create((await f.auth.userByName("beta-owner"))!, "beta", null);
  for (const role of PROJECT_ROLES) await f.projects.setMember("alpha", `alpha-${role}`, role);
  for (const name of ["alpha-viewer", "alpha-editor", "alpha-owner", "beta-owner", "nobody", "admin"])
    cookies[name] = await sessionOf(name);
});
afterAll(() => f.close());

/** Route-table path -> a concrete URL on project `alpha`. */
const sampleUrl = (p: string) =>
  p
    .replace("{project}", "alpha")
    .replace("{runId}", "0123456789abcdef0123456789abcdef")
    .replace("{version}", "1")
    .replace(/\{(\w+)\}/g, "x");

function call(route: RouteDef, cookie: string | null, project = "alpha") {
  const method = route.method.toUpperCase();
  return f.app.request(sampleUrl(route.path), {
    method,
    headers: { "content-type": "application/json", [PROJECT_HEADER]: project, ...(cookie ? { cookie } : {}) },
    ...(method === "GET" ? {} : { body: "{}" }),
  });
}

const projectRoutes = routes.filter((r) => "project" in r.permission);
const needed = (r: RouteDef) => (r.permission as { project: ProjectRole }).project;

describe("the route table", () => {
  it("declares every mounted API route, so none goes without a permission", () => {
    const undeclared = f.app.routes
      .filter((r) => r.path.startsWith("/api/") && r.path !== "/api/*" && r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, (_, n: string) => (n === "path" ? "a/b.png" : "x"))}`)
      .filter((key) => {
        const [method, path] = key.split(" ") as [string, string];
        return matchRoute(method, path) === null;
      });
    expect(undeclared).toEqual([]);
    expect(projectRoutes.length).toBeGreaterThan(20);
  });

  it("generates the public list from the table: only health, OpenAPI and sign-in", () => {
    expect(publicRoutes.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      "get /api/auth/oidc/callback",
      "get /api/auth/oidc/start",
      "get /api/auth/providers",
      "get /api/health",
      "get /api/openapi.json",
      "post /api/auth/login",
    ]);
  });

  it.each(routes.filter((r) => !("public" in r.permission)).map((r) => [r.method, r.path, r] as const))(
    "%s %s refuses a request without credentials",
    async (_m, _p, route) => {
      expect((await call(route, null)).status).toBe(401);
    },
  );

  it.each(projectRoutes.map((r) => [r.method, r.path, r] as const))(
    "%s %s refuses a member of another project and a user in none",
    async (_m, _p, route) => {
      for (const who of ["beta-owner", "nobody"]) {
        const res = await call(route, cookies[who]!);
        expect(res.status, who).toBe(403);
        const body = (await res.json()) as { error: { code: string; message: string; hint: string } };
        expect(body.error.code).toBe("forbidden");
        expect(body.error.message).toMatch(/not a member of project 'alpha'/);
        expect(body.error.hint).toMatch(/add-member alpha/);
      }
    },
  );

  it.each(projectRoutes.filter((r) => needed(r) !== "viewer").map((r) => [r.method, r.path, r] as const))(
    "%s %s refuses a member whose role is too weak",
    async (_m, _p, route) => {
      const weaker = PROJECT_ROLES.slice(0, PROJECT_ROLES.indexOf(needed(route)));
      for (const role of weaker) {
        const res = await call(route, cookies[`alpha-${role}`]!);
        expect(res.status, role).toBe(403);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(`needs the ${needed(route)} role`);
      }
    },
  );

  it.each(routes.filter((r) => "siteAdmin" in r.permission).map((r) => [r.method, r.path, r] as const))(
    "%s %s refuses everyone but a site admin",
    async (_m, _p, route) => {
      for (const who of ["alpha-owner", "nobody"]) expect((await call(route, cookies[who]!)).status, who).toBe(403);
      expect((await call(route, cookies.admin!)).status).not.toBe(403);
    },
  );

  it("lets a member with the role through to the handler (its answer is the handler's, not a refusal)", async () => {
    for (const route of projectRoutes) {
      const res = await call(route, cookies[`alpha-${needed(route)}`]!);
      expect([401, 403], `${route.method} ${route.path}`).not.toContain(res.status);
    }
  });

  it("refuses a malformed project name before anything else", async () => {
    const res = await f.app.request("/api/datasets", { headers: { cookie: cookies.admin!, [PROJECT_HEADER]: "../etc" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_project_name");
  });
});

describe("objects stay in their project", () => {
  async function upload(cookie: string, project: string, name: string) {
    const form = new FormData();
    form.set("file", new File(["a,b\n1,2\n3,4\n"], `${name}.csv`, { type: "text/csv" }));
    form.set("name", name);
    return await f.app.request("/api/datasets", { method: "POST", headers: { cookie, [PROJECT_HEADER]: project }, body: form });
  }

  it("lists, opens and downloads a dataset only within its project", async () => {
    expect((await upload(cookies["alpha-editor"]!, "alpha", "alpha_data")).status).toBe(201);
    const list = async (who: string, project: string) => {
      const res = await f.app.request("/api/datasets", { headers: { cookie: cookies[who]!, [PROJECT_HEADER]: project } });
      return ((await res.json()) as { datasets: Array<{ name: string }> }).datasets.map((d) => d.name);
    };
    expect(await list("alpha-viewer", "alpha")).toContain("alpha_data");
    expect(await list("beta-owner", "beta")).not.toContain("alpha_data");
    expect(await list("admin", "default")).not.toContain("alpha_data");
    // Named through another project, it is as missing as a dataset that does not exist.
    for (const path of [
      "/api/datasets/alpha_data",
      "/api/datasets/alpha_data/versions/1/download",
      "/api/datasets/alpha_data/versions/1/preview",
    ]) {
      const res = await f.app.request(path, { headers: { cookie: cookies["beta-owner"]!, [PROJECT_HEADER]: "beta" } });
      expect(res.status, path).toBe(404);
    }
    const own = await f.app.request("/api/datasets/alpha_data/versions/1/download", {
      headers: { cookie: cookies["alpha-viewer"]!, [PROJECT_HEADER]: "alpha" },
    });
    expect(await own.text()).toMatch(/^a,b/);
  });

  it("refuses a new version of another project's dataset, leaving it as it was", async () => {
    const res = await upload(cookies["beta-owner"]!, "beta", "alpha_data");
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("dataset_name_taken");
    expect((await f.store!.get("alpha_data")).versions).toHaveLength(1);
  });

  it("refuses a training job on another project's dataset", async () => {
    const res = await f.app.request("/api/jobs/train", {
      method: "POST",
      headers: { cookie: cookies["beta-owner"]!, [PROJECT_HEADER]: "beta", "content-type": "application/json" },
      body: JSON.stringify({ dataset: "alpha_data", task: "regression", target: "b" }),
    });
    expect(res.status).toBe(404);
  });
});

describe("a project's audit entries", () => {
  it("shows an owner the project's own entries and nothing of another project's", async () => {
    const entries = async (who: string, project: string) => {
      const res = await f.app.request(`/api/projects/${project}/audit?limit=100`, { headers: { cookie: cookies[who]! } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { entries: Array<{ action: string; project: string | null; target: { id: string } }> }).entries;
    };
    const alpha = await entries("alpha-owner", "alpha");
    expect(alpha.some((e) => e.action === "dataset.import" && e.target.id.startsWith("alpha_data/"))).toBe(true);
    expect(alpha.every((e) => e.project === "alpha")).toBe(true);
    // a filter naming another project cannot widen it
    const widened = await f.app.request("/api/projects/beta/audit?project=alpha", { headers: { cookie: cookies["beta-owner"]! } });
    expect(((await widened.json()) as { entries: Array<{ project: string }> }).entries.every((e) => e.project === "beta")).toBe(true);
  });
});

describe("users and projects", () => {
  it("shows each user only their projects, and a site admin all of them", async () => {
    const names = async (who: string) =>
      (
        (await (await f.app.request("/api/projects", { headers: { cookie: cookies[who]! } })).json()) as {
          projects: Array<{ name: string; role: string | null }>;
        }
      ).projects;
    expect(await names("beta-owner")).toEqual([expect.objectContaining({ name: "beta", role: "owner" })]);
    expect(await names("nobody")).toEqual([]);
    expect((await names("admin")).map((p) => p.name)).toEqual(["alpha", "beta", "default"]);
  });

  it("keeps at least one owner on a project", async () => {
    const res = await f.app.request("/api/projects/beta/members/beta-owner", {
      method: "DELETE",
      headers: { cookie: cookies["beta-owner"]! },
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("last_owner");
  });

  it("lets an owner add a member, who can then read the project", async () => {
    const add = await f.app.request("/api/projects/beta/members/nobody", {
      method: "PUT",
      headers: { cookie: cookies["beta-owner"]!, "content-type": "application/json" },
      body: JSON.stringify({ role: "viewer" }),
    });
    expect(add.status).toBe(200);
    const jobs = await f.app.request("/api/jobs", { headers: { cookie: cookies.nobody!, [PROJECT_HEADER]: "beta" } });
    expect(jobs.status).toBe(200);
    await f.app.request("/api/projects/beta/members/nobody", { method: "DELETE", headers: { cookie: cookies["beta-owner"]! } });
    expect((await f.app.request("/api/jobs", { headers: { cookie: cookies.nobody!, [PROJECT_HEADER]: "beta" } })).status).toBe(403);
  });

  it("creates a user with a generated password shown once; a disabled user's session stops working at once", async () => {
    const res = await f.app.request("/api/users", {
      method: "POST",
      headers: { cookie: cookies.admin!, "content-type": "application/json" },
      body: JSON.stringify({ username: "temp" }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { password: string; role: string };
    expect(created.password.length).toBeGreaterThanOrEqual(12);
    expect(created.role).toBe("user");
    const listed = JSON.stringify(await (await f.app.request("/api/users", { headers: { cookie: cookies.admin! } })).json());
    expect(listed).not.toContain(created.password);
    const session = await sessionOf("temp");
    expect((await f.app.request("/api/auth/me", { headers: { cookie: session } })).status).toBe(200);
    await f.app.request("/api/users/temp/disable", { method: "POST", headers: { cookie: cookies.admin! } });
    expect((await f.app.request("/api/auth/me", { headers: { cookie: session } })).status).toBe(401);
    expect(await f.auth.verifyLogin("temp", created.password)).toBeNull();
  });

  it("changes one's own password only with the current one", async () => {
    const created = await f.auth.createUser({ username: "changer" });
    const cookie = await sessionOf("changer");
    const change = (current: string) =>
      f.app.request("/api/auth/password", {
        method: "POST",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify({ current, next: "a-much-longer-passphrase" }),
      });
    expect((await change("wrong-password")).status).toBe(403);
    expect((await change(created.password!)).status).toBe(200);
    expect(await f.auth.verifyLogin("changer", "a-much-longer-passphrase")).not.toBeNull();
  });
});

describe("MLflow's own UI", () => {
  it("is for signed-in members of a project (the proxy limits them to their projects); a user in no project is refused", async () => {
    expect((await f.app.request("/mlflow/")).status).toBe(401);
    const nobody = await f.app.request("/mlflow/", { headers: { cookie: cookies.nobody! } });
    expect(nobody.status).toBe(403);
    expect(((await nobody.json()) as { error: { code: string } }).error.code).toBe("mlflow_no_projects");
    // a member and the admin pass the permission (MLflow is down in this fixture: 503, not a refusal)
    for (const who of ["alpha-viewer", "beta-owner", "admin"]) {
      expect((await f.app.request("/mlflow/", { headers: { cookie: cookies[who]! } })).status, who).toBe(503);
    }
  });
});
