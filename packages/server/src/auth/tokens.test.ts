import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiTokenInfo, CreatedToken, PROJECT_HEADER } from "@caretflow/contracts";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import { writeCliFile } from "../cli.file.ts";
import { CLI_TOKEN_NAME, cliToken } from "../cli.token.ts";
import type { ServerTables } from "../db/server.tables.ts";
import type { TokenScope } from "./auth.service.ts";
import { sha256Hex } from "./password.ts";

/**
 * Scoped API tokens against the real app and database: read tokens only read, project tokens stay in
 * their project and off site-admin routes, expired and revoked tokens are refused, secrets are shown once.
 */
let f: Awaited<ReturnType<typeof appFixture>>;
/** ann owns alpha and beta; her session cookie. */
let annCookie: string;
let adminCookie: string;

/** Creates a token over HTTP with a session, as the Account page does. */
async function create(cookie: string, body: Record<string, unknown>): Promise<CreatedToken> {
  const res = await f.app.request("/api/auth/tokens", {
    method: "POST",
    headers: { cookie, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return CreatedToken.parse(await res.json());
}

function withToken(token: string, path: string, init: { method?: string; project?: string; body?: string } = {}) {
  return f.app.request(path, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      ...(init.project ? { [PROJECT_HEADER]: init.project } : {}),
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}

async function errorOf(res: Response): Promise<{ code: string; message: string; hint?: string }> {
  return ((await res.json()) as { error: { code: string; message: string; hint?: string } }).error;
}

forEachDatabase("API tokens", (dbs) => {
  beforeAll(async () => {
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { datasets: true, db });
    await f.auth.createUser({ username: "ann" });
    const ann = (await f.auth.userByName("ann"))!;
    await f.projects.create(ann, "alpha", null);
    await f.projects.create(ann, "beta", null);
    annCookie = `caretflow_session=${(await f.auth.createSession(ann.id)).cookie}`;
    adminCookie = await f.login();
  });
  afterAll(() => f.close());

  describe("API token scopes", () => {
    it("a read token may GET but is refused a POST with a 403 naming its scope", async () => {
      const t = await create(annCookie, { name: "reader", project: "alpha", access: "read" });
      expect(t).toMatchObject({ project: "alpha", access: "read" });
      expect((await withToken(t.token, "/api/datasets", { project: "alpha" })).status).toBe(200);
      const res = await withToken(t.token, "/api/projects/alpha/members/ann", { method: "PUT", body: '{"role":"owner"}' });
      expect(res.status).toBe(403);
      const err = await errorOf(res);
      expect(err.message).toContain("'reader' is read-only (scope: read on project 'alpha')");
      expect(err.message).not.toContain(t.token);
      // Unscoped read tokens are refused writes too, including making more tokens.
      const all = await create(annCookie, { name: "reader-all", access: "read" });
      const mint = await withToken(all.token, "/api/auth/tokens", { method: "POST", body: '{"name":"x"}' });
      expect(mint.status).toBe(403);
      expect((await errorOf(mint)).message).toContain("scope: read on all your projects");
    });

    it("a project token is refused on any other project and outside its project", async () => {
      const t = await create(annCookie, { name: "alpha-writer", project: "alpha" });
      expect(t.access).toBe("write");
      expect((await withToken(t.token, "/api/datasets", { project: "alpha" })).status).toBe(200);
      const other = await withToken(t.token, "/api/datasets", { project: "beta" });
      expect(other.status).toBe(403);
      expect((await errorOf(other)).message).toContain("scoped to project 'alpha' and cannot touch project 'beta'");
      // The default project is another project too, when the request names none.
      expect((await withToken(t.token, "/api/datasets")).status).toBe(403);
      // It cannot mint an unscoped token (or any), nor create projects.
      expect((await withToken(t.token, "/api/auth/tokens", { method: "POST", body: '{"name":"wider"}' })).status).toBe(403);
      expect((await withToken(t.token, "/api/projects", { method: "POST", body: '{"name":"gamma"}' })).status).toBe(403);
      // An unscoped token of the same user reaches both projects.
      const all = await create(annCookie, { name: "ann-all" });
      expect((await withToken(all.token, "/api/datasets", { project: "beta" })).status).toBe(200);
    });

    it("never grants site-admin routes to a project-scoped token, even an admin's", async () => {
      const scoped = await create(adminCookie, { name: "admin-alpha", project: "alpha" });
      const res = await withToken(scoped.token, "/api/users");
      expect(res.status).toBe(403);
      expect((await errorOf(res)).message).toContain("site-admin routes need a token for all projects");
      const unscoped = await create(adminCookie, { name: "admin-all", access: "read" });
      expect((await withToken(unscoped.token, "/api/users")).status).toBe(200);
    });

    it("refuses a token whose user has no role on the project: the scope adds no rights", async () => {
      await f.auth.createUser({ username: "vic" });
      await f.projects.setMember("alpha", "vic", "viewer");
      const vic = (await f.auth.userByName("vic"))!;
      const t = await f.auth.createToken(vic.id, "vic", { project: "alpha", access: "write" });
      const res = await withToken(t.token, "/api/projects/alpha/members/vic", { method: "PUT", body: '{"role":"owner"}' });
      expect(res.status).toBe(403);
      expect((await errorOf(res)).message).toContain("needs the owner role");
    });

    it("answers an expired token with 401 saying it expired and how to make a new one", async () => {
      const t = await create(annCookie, { name: "short", expiresInDays: 1 });
      expect(Date.parse(t.expiresAt!) - Date.parse(t.createdAt)).toBe(24 * 3600 * 1000);
      expect((await withToken(t.token, "/api/auth/me")).status).toBe(200);
      await f.db
        .updateTable("api_tokens")
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where("id", "=", t.id)
        .execute();
      const res = await withToken(t.token, "/api/auth/me");
      expect(res.status).toBe(401);
      const err = await errorOf(res);
      expect(err.code).toBe("token_expired");
      expect(err.message).toMatch(/^The API token 'short' expired at \d{4}-/);
      expect(err.hint).toContain("caretflow tokens create");
    });

    it("expires new tokens in 90 days by default and refuses a bad expiry or an unknown project", async () => {
      const t = await create(annCookie, { name: "default-expiry" });
      expect(Math.round((Date.parse(t.expiresAt!) - Date.parse(t.createdAt)) / (24 * 3600 * 1000))).toBe(90);
      for (const body of [
        { name: "x", expiresInDays: 0 },
        { name: "x", access: "admin" },
        { name: "x", project: "../etc" },
      ]) {
        const res = await f.app.request("/api/auth/tokens", {
          method: "POST",
          headers: { cookie: annCookie, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        expect(res.status, JSON.stringify(body)).toBe(400);
      }
      const unknown = await f.app.request("/api/auth/tokens", {
        method: "POST",
        headers: { cookie: annCookie, "content-type": "application/json" },
        body: JSON.stringify({ name: "x", project: "nope" }),
      });
      expect(unknown.status).toBe(404);
    });

    it("refuses a revoked token with 401", async () => {
      const t = await create(annCookie, { name: "to-revoke" });
      expect((await withToken(t.token, "/api/auth/me")).status).toBe(200);
      const del = await f.app.request(`/api/auth/tokens/${t.id}`, { method: "DELETE", headers: { cookie: annCookie } });
      expect(del.status).toBe(200);
      const res = await withToken(t.token, "/api/auth/me");
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe("unauthorized");
    });

    it("lists tokens with their scope and last use, never their secrets", async () => {
      const t = await create(annCookie, { name: "listed", project: "beta", access: "read", expiresInDays: 7 });
      await withToken(t.token, "/api/datasets", { project: "beta" });
      const res = await f.app.request("/api/auth/tokens", { headers: { cookie: annCookie } });
      const text = await res.text();
      expect(text).not.toContain(t.token);
      expect(text).not.toContain(sha256Hex(t.token));
      const tokens = (JSON.parse(text) as { tokens: unknown[] }).tokens.map((x) => ApiTokenInfo.strict().parse(x));
      const listed = tokens.find((x) => x.id === t.id)!;
      expect(listed).toMatchObject({ name: "listed", project: "beta", access: "read", expiresAt: t.expiresAt });
      expect(listed.lastUsedAt).not.toBeNull();
      // Only the user's own tokens.
      expect(tokens.every((x) => !x.name.startsWith("admin-"))).toBe(true);
    });

    it("keeps a project token to its own project's tokens: it lists only those and creates or revokes none", async () => {
      const alphaToken = await create(annCookie, { name: "alpha-writer", project: "alpha", access: "write" });
      const betaToken = await create(annCookie, { name: "beta-other", project: "beta" });
      const unscoped = await create(annCookie, { name: "everywhere" });

      const listed = (await (await withToken(alphaToken.token, "/api/auth/tokens")).json()) as {
        tokens: { id: string; project: string | null }[];
      };
      expect(listed.tokens.map((t) => t.id)).toContain(alphaToken.id);
      expect(listed.tokens.every((t) => t.project === "alpha")).toBe(true);

      // Managing tokens is a change outside the project: refused, whatever the new token's scope.
      for (const body of [{ name: "wider" }, { name: "same", project: "alpha", access: "read" }]) {
        const res = await withToken(alphaToken.token, "/api/auth/tokens", { method: "POST", body: JSON.stringify(body) });
        expect(res.status).toBe(403);
        expect((await errorOf(res)).message).toMatch(/scoped to project 'alpha'/);
      }
      const revokeOther = await withToken(alphaToken.token, `/api/auth/tokens/${betaToken.id}`, { method: "DELETE" });
      expect(revokeOther.status).toBe(403);
      expect((await withToken(betaToken.token, "/api/datasets", { project: "beta" })).status).toBe(200);
      // The unscoped token still sees every token of its user.
      const all = (await (await withToken(unscoped.token, "/api/auth/tokens")).json()) as { tokens: { id: string }[] };
      expect(all.tokens.map((t) => t.id)).toEqual(expect.arrayContaining([alphaToken.id, betaToken.id, unscoped.id]));
    });

    it("keeps tokens made before scopes working as write tokens on all projects that never expire", async () => {
      const ann = (await f.auth.userByName("ann"))!;
      const secret = "cf_legacy-token-secret";
      await sql`INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ('legacy', ${ann.id}, 'old', ${sha256Hex(secret)}, '2026-01-01T00:00:00.000Z')`.execute(
        f.db,
      );
      const listed = (await f.auth.listTokens(ann.id)).find((x) => x.id === "legacy");
      expect(listed).toMatchObject({ project: null, access: "write", expiresAt: null });
      expect((await withToken(secret, "/api/datasets", { project: "beta" })).status).toBe(200);
      const res = await withToken(secret, "/api/projects/alpha/members/vic", { method: "PUT", body: '{"role":"editor"}' });
      expect(res.status).toBe(200);
    });
  });

  describe("the CLI's token written by caretflow up", () => {
    it("is the admin's unscoped write token, reused while fresh, replaced (and the old one deleted) near expiry", async () => {
      const home = await mkdtemp(join(tmpdir(), "caretflow-cli-token-"));
      try {
        const first = await cliToken(f.auth, f.audit, home);
        const scope = (await f.auth.resolveToken(first)) as { expired: false; user: { username: string }; scope: TokenScope };
        expect(scope.user.username).toBe("admin");
        expect(scope.scope).toMatchObject({ name: CLI_TOKEN_NAME, project: null, access: "write" });
        await writeCliFile(home, { url: "http://127.0.0.1:1", token: first });
        expect(await cliToken(f.auth, f.audit, home)).toBe(first);
        // 61 days on, fewer than 30 are left: a new token, and the old one no longer works.
        const later = new Date(Date.now() + 61 * 24 * 3600 * 1000);
        const second = await cliToken(f.auth, f.audit, home, later);
        expect(second).not.toBe(first);
        expect(await f.auth.resolveToken(first)).toBeNull();
        // A token of someone else put into cli.json is replaced but not deleted.
        const ann = (await f.auth.userByName("ann"))!;
        const hers = (await f.auth.createToken(ann.id, CLI_TOKEN_NAME)).token;
        await writeCliFile(home, { url: "http://127.0.0.1:1", token: hers });
        expect(await cliToken(f.auth, f.audit, home)).not.toBe(hers);
        expect(await f.auth.userForToken(hers)).not.toBeNull();
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });
  });
});
