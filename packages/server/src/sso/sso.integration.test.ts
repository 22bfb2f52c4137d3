import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import { startTestProvider } from "../../test/oidc-provider.fixture.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { MAX_ATTEMPTS } from "./sso.service.ts";

/**
 * Single sign-on against a real OpenID Connect provider (oidc-provider on a free port): caretflow is
 * configured through the API and served over HTTP; a cookie-keeping client walks start -> the provider's
 * sign-in and consent pages -> the callback, like a browser.
 */
let f: Awaited<ReturnType<typeof appFixture>>;
let idp: Awaited<ReturnType<typeof startTestProvider>>;
let server: ReturnType<typeof serve>;
let base = "";
let admin = "";

/** A browser's cookie jar per host and its manual walk through redirects. */
class Browser {
  readonly jar = new Map<string, Map<string, string>>();

  async get(url: string, init: RequestInit = {}): Promise<Response> {
    const u = new URL(url);
    const cookies = [...(this.jar.get(u.host) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(u, {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as object), ...(cookies ? { cookie: cookies } : {}) },
    });
    const mine = this.jar.get(u.host) ?? new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const [name, ...value] = pair!.split("=");
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && new Date(a.split("=")[1]!) < new Date()));
      if (gone || value.join("=") === "") mine.delete(name!.trim());
      else mine.set(name!.trim(), value.join("="));
    }
    this.jar.set(u.host, mine);
    return res;
  }

  /** Follows redirects from `url`; stops at a caretflow page (not /api) or a page with a body (the provider's forms). */
  async follow(url: string, init: RequestInit = {}, stopAt?: (url: string) => boolean): Promise<{ url: string; res: Response }> {
    let at = url;
    let res = await this.get(at, init);
    for (let i = 0; i < 20 && res.status >= 300 && res.status < 400; i++) {
      at = new URL(res.headers.get("location")!, at).href;
      if ((at.startsWith(base) && !new URL(at).pathname.startsWith("/api/")) || stopAt?.(at)) return { url: at, res };
      res = await this.get(at);
    }
    return { url: at, res };
  }

  /** Submits the provider's form on `page` with `fields` added to its hidden inputs. */
  async submit(
    page: { url: string; res: Response },
    fields: Record<string, string> = {},
    stopAt?: (url: string) => boolean,
  ): Promise<{ url: string; res: Response }> {
    const html = await page.res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form on ${page.url}: ${html.slice(0, 300)}`);
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) form.set(m[1]!, m[2]!);
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    return await this.follow(
      new URL(action.replace(/&amp;/g, "&"), page.url).href,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      },
      stopAt,
    );
  }

  /** Start -> provider sign-in -> consent (when asked) -> caretflow; where it lands. */
  async signIn(login: string): Promise<URL> {
    let page = await this.follow(`${base}/api/auth/oidc/start`);
    expect(page.url.startsWith(idp.issuer)).toBe(true);
    page = await this.submit(page, { login, password: "any" });
    if (page.url.startsWith(idp.issuer)) page = await this.submit(page);
    return new URL(page.url);
  }

  cookie(name: string): string | undefined {
    return this.jar.get(new URL(base).host)?.get(name);
  }
}

const json = { "content-type": "application/json" };
const settings = (body: unknown, cookie = admin) =>
  f.app.request("/api/settings/sso", { method: "PUT", headers: { ...json, cookie }, body: JSON.stringify(body) });
const me = async (b: Browser) => {
  const res = await fetch(`${base}/api/auth/me`, { headers: { cookie: `caretflow_session=${b.cookie("caretflow_session")}` } });
  return res.status === 200 ? ((await res.json()) as { user: { username: string } }).user.username : null;
};

forEachDatabase("single sign-on", (dbs) => {
  beforeAll(async () => {
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { publicUrl: () => base, db });
    server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    idp = await startTestProvider({ redirectUri: `${base}/api/auth/oidc/callback` });
    admin = await f.login();
    await f.projects.create((await f.auth.userByName("admin"))!, "shared", null);
  });
  afterAll(async () => {
    await idp?.close();
    await new Promise<void>((ok) => {
      (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
      server ? server.close(() => ok()) : ok();
    });
    await f?.close();
  });

  describe("single sign-on settings", () => {
    it("refuses a provider that does not answer, or plain http to another machine, and stores nothing", async () => {
      const dead = await settings({ issuer: "http://127.0.0.1:9/", clientId: "x", clientSecret: "y" });
      expect(dead.status).toBe(400);
      const body = (await dead.json()) as { error: { code: string; message: string; hint: string } };
      expect(body.error.code).toBe("sso_discovery_failed");
      expect(body.error.message).toMatch(/did not answer/);
      expect(body.error.hint).toMatch(/\.well-known\/openid-configuration/);
      const insecure = await settings({ issuer: "http://idp.example.com", clientId: "x" });
      expect(((await insecure.json()) as { error: { code: string } }).error.code).toBe("sso_issuer_insecure");
      expect((await settings({ issuer: "not a url", clientId: "x" })).status).toBe(400);
      const view = (await (await f.app.request("/api/settings/sso", { headers: { cookie: admin } })).json()) as { enabled: boolean };
      expect(view.enabled).toBe(false);
    });

    it("refuses a default project that does not exist", async () => {
      const res = await settings({ issuer: idp.issuer, clientId: "x", defaultProject: "nope" });
      expect(res.status).toBe(404);
      expect(await f.sso.settings.config()).toBeNull();
    });

    it("is for site admins only", async () => {
      await f.auth.createUser({ username: "plain", password: "plain-password-123" });
      const user = (await f.auth.userByName("plain"))!;
      const cookie = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
      expect((await settings({ issuer: idp.issuer, clientId: "x" }, cookie)).status).toBe(403);
      expect((await f.app.request("/api/settings/sso", { headers: { cookie } })).status).toBe(403);
    });

    it("stores the provider with its secret sealed: never returned, not in the database file, audited without it", async () => {
      const res = await settings({
        issuer: idp.issuer,
        clientId: idp.client.clientId,
        clientSecret: idp.client.clientSecret,
        defaultProject: "shared",
        defaultRole: "editor",
        buttonLabel: "Sign in with Test IdP",
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(text).not.toContain(idp.client.clientSecret);
      expect(JSON.parse(text)).toMatchObject({
        enabled: true,
        issuer: idp.issuer,
        clientSecretSet: true,
        autoCreate: true,
        defaultProject: "shared",
        redirectUri: `${base}/api/auth/oidc/callback`,
      });
      expect(JSON.parse(text)).not.toHaveProperty("clientSecret");
      const got = await (await f.app.request("/api/settings/sso", { headers: { cookie: admin } })).text();
      expect(got).not.toContain(idp.client.clientSecret);
      const audit = await (await f.app.request("/api/audit?action=sso.*", { headers: { cookie: admin } })).text();
      expect(audit).toContain("sso.configure");
      expect(audit).not.toContain(idp.client.clientSecret);
      for (const file of ["caretflow.db", "caretflow.db-wal"]) {
        const bytes = await readFile(join(f.dir, file)).catch(() => Buffer.alloc(0));
        expect(bytes.includes(Buffer.from(idp.client.clientSecret))).toBe(false);
      }
      const row = await f.db.selectFrom("sso_settings").select("client_secret_sealed").executeTakeFirstOrThrow();
      expect(row.client_secret_sealed).toMatch(/^v1:/);
    });

    it("never keeps the stored secret for another issuer or client", async () => {
      const other = await settings({ issuer: idp.issuer, clientId: "another-client" });
      expect(other.status).toBe(400);
      expect(((await other.json()) as { error: { code: string } }).error.code).toBe("sso_secret_required");
      expect((await f.sso.settings.config())?.clientId).toBe(idp.client.clientId);
    });

    it("tells the sign-in page that single sign-on is on, without signing in", async () => {
      const res = await fetch(`${base}/api/auth/providers`);
      expect(await res.json()).toEqual({
        password: true,
        sso: { enabled: true, label: "Sign in with Test IdP", startUrl: "/api/auth/oidc/start" },
      });
    });
  });

  describe("signing in through the provider", () => {
    it("creates the user on first sign-in, adds them to the default project, and the session works", async () => {
      const b = new Browser();
      const landed = await b.signIn("alice");
      expect(landed.href).toBe(`${base}/`);
      expect(b.cookie("caretflow_oidc")).toBeUndefined();
      expect(await me(b)).toBe("alice");
      const alice = (await f.auth.userByName("alice"))!;
      expect(await f.projects.roleOf(alice.id, "shared")).toBe("editor");
      const link = await f.db.selectFrom("oidc_identities").selectAll().where("user_id", "=", alice.id).executeTakeFirstOrThrow();
      expect(link).toMatchObject({ issuer: idp.issuer, subject: "alice" });
      const listed = (await (await f.app.request("/api/users", { headers: { cookie: admin } })).json()) as {
        users: { username: string; sso?: boolean }[];
      };
      expect(listed.users.find((u) => u.username === "alice")?.sso).toBe(true);
      expect(listed.users.find((u) => u.username === "admin")?.sso).toBeUndefined();
      const audit = await (await f.app.request("/api/audit?action=auth.login", { headers: { cookie: admin } })).text();
      expect(audit).toContain('"method":"oidc"');
    });

    it("signs the same person in as the same user, linked by subject (a second sign-in creates nobody)", async () => {
      const before = (await f.auth.listUsers()).length;
      const b = new Browser();
      await b.signIn("alice");
      expect(await me(b)).toBe("alice");
      expect((await f.auth.listUsers()).length).toBe(before);
    });

    it("never links by name: a person whose username matches an existing user gets a new, unique user", async () => {
      await f.auth.createUser({ username: "bob" });
      const b = new Browser();
      await b.signIn("bob");
      expect(await me(b)).toBe("bob-2");
    });

    it("returns to the page asked for, but only on this site", async () => {
      const b = new Browser();
      let page = await b.follow(`${base}/api/auth/oidc/start?next=${encodeURIComponent("/jobs?x=1")}`);
      page = await b.submit(page, { login: "alice", password: "any" });
      if (page.url.startsWith(idp.issuer)) page = await b.submit(page);
      expect(page.url).toBe(`${base}/jobs?x=1`);
      const c = new Browser();
      page = await c.follow(`${base}/api/auth/oidc/start?next=${encodeURIComponent("//evil.example.com/x")}`);
      page = await c.submit(page, { login: "alice", password: "any" });
      if (page.url.startsWith(idp.issuer)) page = await c.submit(page);
      expect(page.url).toBe(`${base}/`);
    });

    it("refuses a disabled user", async () => {
      const disabled = await f.app.request("/api/users/alice/disable", { method: "POST", headers: { ...json, cookie: admin } });
      expect(disabled.status).toBe(200);
      const b = new Browser();
      const landed = await b.signIn("alice");
      expect(landed.pathname).toBe("/signin");
      expect(landed.searchParams.get("sso_error")).toBe("disabled");
      expect(b.cookie("caretflow_session")).toBeUndefined();
      await f.app.request("/api/users/alice/enable", { method: "POST", headers: { ...json, cookie: admin } });
    });

    it("refuses a tampered state, a replayed callback and a callback from another browser", async () => {
      const b = new Browser();
      let page = await b.follow(`${base}/api/auth/oidc/start`);
      // Stop at the provider's redirect back to caretflow, before following it.
      const atCallback = (u: string) => u.startsWith(`${base}/api/auth/oidc/callback`);
      page = await b.submit(page, { login: "carol", password: "any" }, atCallback);
      if (page.url.startsWith(idp.issuer)) page = await b.submit(page, {}, atCallback);
      const callback = new URL(page.url);
      expect(callback.searchParams.get("code")).toBeTruthy();
      const tampered = new URL(callback);
      tampered.searchParams.set("state", "forged-state");
      const other = new Browser();
      const foreign = await other.follow(callback.href);
      expect(new URL(foreign.url).searchParams.get("sso_error")).toBe("expired");

      const t = await b.follow(tampered.href);
      expect(new URL(t.url).searchParams.get("sso_error")).toBe("state_mismatch");
      expect(b.cookie("caretflow_session")).toBeUndefined();
      // The attempt was used up by the refused try: the genuine URL no longer works either.
      const replay = await b.follow(callback.href);
      expect(new URL(replay.url).searchParams.get("sso_error")).toBe("expired");
      expect(await f.auth.userByName("carol")).toBeNull();
    });

    it("says so when the person cancels at the provider", async () => {
      const b = new Browser();
      const page = await b.follow(`${base}/api/auth/oidc/start`);
      const html = await page.res.text();
      const abort = /href="([^"]*\/abort)"/.exec(html)?.[1];
      expect(abort).toBeTruthy();
      const landed = await b.follow(new URL(abort!, page.url).href);
      expect(new URL(landed.url).pathname).toBe("/signin");
      expect(new URL(landed.url).searchParams.get("sso_error")).toBe("access_denied");
    });

    it("with auto-create off, refuses a new person and asks them to get a user from a site admin", async () => {
      // Leaving the secret out keeps the stored one.
      const res = await settings({ issuer: idp.issuer, clientId: idp.client.clientId, autoCreate: false });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { clientSecretSet: boolean }).clientSecretSet).toBe(true);
      const b = new Browser();
      const landed = await b.signIn("dave");
      expect(landed.searchParams.get("sso_error")).toBe("no_user");
      expect(await f.auth.userByName("dave")).toBeNull();
      // Linked people still get in.
      const a = new Browser();
      await a.signIn("alice");
      expect(await me(a)).toBe("alice");
    });

    it("says so when the provider cannot be reached at sign-in, and when too many attempts are in flight", async () => {
      const gone = await startTestProvider({ redirectUri: `${base}/api/auth/oidc/callback` });
      expect((await settings({ issuer: gone.issuer, clientId: gone.client.clientId, clientSecret: gone.client.clientSecret })).status).toBe(
        200,
      );
      await gone.close();
      const b = new Browser();
      const landed = await b.follow(`${base}/api/auth/oidc/start`);
      expect(new URL(landed.url).searchParams.get("sso_error")).toBe("unreachable");

      expect((await settings({ issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret })).status).toBe(
        200,
      );
      const later = new Date(Date.now() + 600_000).toISOString();
      for (let i = 0; i < MAX_ATTEMPTS; i += 1000) {
        const rows = Array.from({ length: 1000 }, (_, j) => ({
          id_hash: `flood-${i + j}`,
          state: "s",
          nonce: "n",
          code_verifier: "v",
          next_path: null,
          expires_at: later,
        }));
        await f.db.insertInto("oidc_attempts").values(rows).execute();
      }
      const busy = await new Browser().follow(`${base}/api/auth/oidc/start`);
      expect(new URL(busy.url).searchParams.get("sso_error")).toBe("busy");
      await f.db.deleteFrom("oidc_attempts").where("id_hash", "like", "flood-%").execute();
      expect((await new Browser().follow(`${base}/api/auth/oidc/start`)).url.startsWith(idp.issuer)).toBe(true);
    });

    it("turned off: the sign-in page hides it and start says so", async () => {
      const off = await f.app.request("/api/settings/sso", { method: "DELETE", headers: { ...json, cookie: admin } });
      expect(((await off.json()) as { enabled: boolean; clientSecretSet: boolean }).clientSecretSet).toBe(false);
      const providers = (await (await fetch(`${base}/api/auth/providers`)).json()) as { sso: { enabled: boolean } };
      expect(providers.sso.enabled).toBe(false);
      const b = new Browser();
      const landed = await b.follow(`${base}/api/auth/oidc/start`);
      expect(new URL(landed.url).searchParams.get("sso_error")).toBe("not_configured");
    });
  });
});
