import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { DatabaseTarget } from "../db/database.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { hashPassword, verifyPassword } from "./password.ts";

let f: Awaited<ReturnType<typeof appFixture>>;
let target: DatabaseTarget;

const json = { "content-type": "application/json" };
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  f.app.request(path, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify(body) });

forEachDatabase("auth", (dbs) => {
  beforeAll(async () => {
    const fresh = await dbs.fresh<ServerTables>();
    target = fresh.target;
    f = await appFixture({}, { db: fresh.db });
  });
  afterAll(() => f.close());

  describe("passwords", () => {
    it("verifies only the right password and never stores it in clear", async () => {
      const h = await hashPassword("correct horse");
      expect(h).not.toContain("correct horse");
      expect(h.startsWith("scrypt$")).toBe(true);
      expect(await verifyPassword("correct horse", h)).toBe(true);
      expect(await verifyPassword("correct hors", h)).toBe(false);
      expect(await verifyPassword("x", "garbage")).toBe(false);
    });

    it("creates the admin once with a generated password", async () => {
      expect(f.adminPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(await f.auth.ensureAdmin()).toBeNull();
      const stored = await f.db.selectFrom("users").select("password_hash").executeTakeFirstOrThrow();
      expect(stored.password_hash).not.toContain(f.adminPassword);
    });
  });

  describe("sessions", () => {
    it("signs in with a hardened cookie, knows the user, and signs out", async () => {
      const res = await post("/api/auth/login", { username: "admin", password: f.adminPassword });
      expect(res.status).toBe(200);
      const setCookie = res.headers.get("set-cookie")!;
      expect(setCookie).toMatch(/^caretflow_session=[A-Za-z0-9_-]{43};/);
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Strict/);
      const cookie = setCookie.split(";")[0]!;
      // Only a hash of the cookie is stored.
      const rows = await f.db.selectFrom("sessions").select("id_hash").execute();
      expect(rows.some((r) => cookie.includes(r.id_hash))).toBe(false);

      const me = await f.app.request("/api/auth/me", { headers: { cookie } });
      expect(((await me.json()) as { user: { username: string; role: string } }).user).toMatchObject({ username: "admin", role: "admin" });
      expect((await post("/api/auth/logout", {}, { cookie })).status).toBe(200);
      expect((await f.app.request("/api/auth/me", { headers: { cookie } })).status).toBe(401);
    });

    it("gives one generic message for a wrong user or a wrong password", async () => {
      const a = await post("/api/auth/login", { username: "admin", password: "nope" });
      const b = await post("/api/auth/login", { username: "ghost", password: "nope" });
      expect(a.status).toBe(401);
      expect(b.status).toBe(401);
      const ma = ((await a.json()) as { error: { message: string } }).error.message;
      const mb = ((await b.json()) as { error: { message: string } }).error.message;
      expect(ma).toBe(mb);
    });
  });

  describe("API tokens", () => {
    it("creates a cf_ token shown once, authenticates with it, lists and revokes it", async () => {
      const cookie = await f.login();
      const created = await post("/api/auth/tokens", { name: "ci" }, { cookie });
      expect(created.status).toBe(201);
      const t = (await created.json()) as { id: string; token: string };
      expect(t.token).toMatch(/^cf_/);
      const bearer = { authorization: `Bearer ${t.token}` };
      expect((await f.app.request("/api/auth/me", { headers: bearer })).status).toBe(200);
      const list = (await (await f.app.request("/api/auth/tokens", { headers: bearer })).json()) as {
        tokens: Array<{ id: string; lastUsedAt: string | null; token?: string }>;
      };
      const listed = list.tokens.find((x) => x.id === t.id)!;
      expect(listed.lastUsedAt).not.toBeNull();
      expect(listed.token).toBeUndefined();
      expect((await f.app.request(`/api/auth/tokens/${t.id}`, { method: "DELETE", headers: bearer })).status).toBe(200);
      expect((await f.app.request("/api/auth/me", { headers: bearer })).status).toBe(401);
    });
  });

  describe("login limits", () => {
    it("answers 429 with Retry-After once an address keeps failing", async () => {
      let res: Response | null = null;
      for (let i = 0; i < 7; i++) res = await post("/api/auth/login", { username: "admin", password: "wrong" });
      expect(res!.status).toBe(429);
      expect(Number(res!.headers.get("retry-after"))).toBeGreaterThan(0);
    });
  });

  describe("resetAdminPassword", () => {
    it("replaces the password and ends sessions", async () => {
      const { resetAdminPassword } = await import("../admin.reset.ts");
      // Sign in through the service: this file's HTTP logins are being slowed down by the backoff test above.
      const admin = (await f.auth.userByName("admin"))!;
      const cookie = `caretflow_session=${(await f.auth.createSession(admin.id)).cookie}`;
      expect((await f.app.request("/api/auth/me", { headers: { cookie } })).status).toBe(200);
      // As the command is run: on the home, with the metadata database `caretflow up` was given.
      const fresh = await resetAdminPassword(f.dir, target.kind === "postgres" ? target.url : target.path);
      expect(fresh).not.toBe(f.adminPassword);
      expect((await f.app.request("/api/auth/me", { headers: { cookie } })).status).toBe(401);
      expect(await f.auth.verifyLogin("admin", fresh)).not.toBeNull();
      expect(await f.auth.verifyLogin("admin", f.adminPassword)).toBeNull();
      // Recorded by the server itself, without the password, in the same chain.
      const { entries } = await f.audit.list({ action: "user.password.change", limit: 10 });
      expect(entries).toMatchObject([{ actor: { id: null, name: "system" }, target: { kind: "user", id: "admin" } }]);
      expect(JSON.stringify(entries)).not.toContain(fresh);
      expect(await f.audit.verify()).toMatchObject({ ok: true });
    });
  });
});
