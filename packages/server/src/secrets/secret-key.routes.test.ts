import { copyFile, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_HEADER } from "@caretflow/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../../../connectors/test/postgres.fixture.ts";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { SsoSettingsStore } from "../sso/sso.settings.ts";
import { SecretBox } from "./secret-box.ts";
import { SecretKeyService } from "./secret-key.service.ts";

const PASSWORD = "Rotate-Secret-pw-77";
const SSO_SECRET = "sso-client-Secret-31";
let server: PostgresServer;
let f: Awaited<ReturnType<typeof appFixture>>;
let adminCookie: string;
let memberCookie: string;

beforeAll(async () => {
  server = await startPostgres();
  await server.sql("CREATE DATABASE shop");
  await server.sql(`CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}'; CREATE TABLE public.t (id integer)`, [], "shop");
}, 180_000);

afterAll(async () => {
  await server?.close();
});

const WEBHOOK = "http://127.0.0.1:9/hooks/alert-s3cret";

async function rotate(cookie: string) {
  const res = await f.app.request("/api/settings/secret-key/rotate", { method: "POST", headers: { cookie, [PROJECT_HEADER]: "p" } });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : {} };
}

async function storedValues(): Promise<{ context: string; sealed: string }[]> {
  const out: { context: string; sealed: string }[] = [];
  for (const row of await f.db.selectFrom("connections").select(["id", "secrets_json"]).execute()) {
    for (const [field, sealed] of Object.entries(JSON.parse(row.secrets_json) as Record<string, string>)) {
      out.push({ context: `connection.${row.id}.${field}`, sealed });
    }
  }
  const sso = await f.db.selectFrom("sso_settings").select("client_secret_sealed").executeTakeFirstOrThrow();
  out.push({ context: "sso.client_secret", sealed: sso.client_secret_sealed! });
  for (const row of await f.db.selectFrom("alert_rules").select(["id", "webhook_sealed"]).execute()) {
    out.push({ context: `alert.${row.id}.webhook`, sealed: row.webhook_sealed! });
  }
  return out;
}

forEachDatabase("POST /api/settings/secret-key/rotate", (dbs) => {
  beforeAll(async () => {
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { db, alertSources: [{ info: { name: "requests", description: "", unit: "count" }, value: async () => 0 }] });
    const owner = await f.auth.createUser({ username: "owner" });
    await f.projects.create((await f.auth.userByName("owner"))!, "p", null);
    memberCookie = `caretflow_session=${(await f.auth.createSession(owner.id)).cookie}`;
    adminCookie = await f.login();
    const settings = { hosts: [{ host: server.host, port: server.port }], database: "shop", user: "reader", ssl: false };
    await f.connections.create("p", { name: "withpw", type: "postgres", settings, secrets: { password: PASSWORD } }, null);
    await f.connections.create("p", { name: "nopw", type: "postgres", settings, secrets: {} }, null);
    await new SsoSettingsStore({ db: f.db, secrets: f.secrets }).save({
      issuer: "https://login.example.com",
      clientId: "caretflow",
      clientSecret: SSO_SECRET,
      autoCreate: true,
      defaultProject: null,
      defaultRole: "viewer",
      buttonLabel: "Sign in with SSO",
    });
    await f.alerts.create(
      "p",
      {
        name: "quiet",
        deployment: "d",
        metric: "requests",
        op: "<",
        threshold: 1,
        window_minutes: 60,
        enabled: true,
        webhook_url: WEBHOOK,
      },
      null,
    );
  });
  afterAll(async () => {
    await f?.close();
  });

  it("refuses anyone but a site admin", async () => {
    const keyBefore = await readFile(join(f.dir, "secret.key"));
    expect((await rotate(memberCookie)).status).toBe(403);
    expect(await readFile(join(f.dir, "secret.key"))).toEqual(keyBefore);
  });

  it("re-seals every secret with a new key file (mode 600); the old key opens none of them; everything still works", async () => {
    const keyFile = join(f.dir, "secret.key");
    const keyBefore = await readFile(keyFile);
    await copyFile(keyFile, join(f.dir, "old.key"));
    const valuesBefore = await storedValues();
    expect(valuesBefore).toHaveLength(3);
    expect((await f.connections.test("p", "withpw")).host).toBe(`${server.host}:${server.port}`);

    const r = await rotate(adminCookie);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ resealed: 3, connections: 1, ssoClientSecret: true, unreadable: [] });
    expect(r.text).not.toContain(PASSWORD);
    expect(r.text).not.toContain(SSO_SECRET);

    const keyAfter = await readFile(keyFile);
    expect(keyAfter.length).toBe(32);
    expect(keyAfter.equals(keyBefore)).toBe(false);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await readFile(`${keyFile}.previous`)).equals(keyBefore)).toBe(true);
    expect((await stat(`${keyFile}.previous`)).mode & 0o777).toBe(0o600);
    await expect(stat(`${keyFile}.next`)).rejects.toThrow(/ENOENT/);

    const old = await SecretBox.open(join(f.dir, "old.key"));
    await copyFile(keyFile, join(f.dir, "new.key"));
    const current = await SecretBox.open(join(f.dir, "new.key"));
    const after = await storedValues();
    for (const [i, v] of after.entries()) {
      expect(v.sealed).not.toBe(valuesBefore[i]!.sealed);
      expect(() => old.unseal(v.sealed, v.context)).toThrow(/cannot be decrypted/);
    }
    expect(current.unseal(after.find((v) => v.context === "sso.client_secret")!.sealed, "sso.client_secret")).toBe(SSO_SECRET);
    const hook = after.find((v) => v.context.startsWith("alert."))!;
    expect(current.unseal(hook.sealed, hook.context)).toBe(WEBHOOK);

    // The running server reads with the new key: the SSO secret, and the password through a real sign-in to PostgreSQL.
    expect((await new SsoSettingsStore({ db: f.db, secrets: f.secrets }).config())?.clientSecret).toBe(SSO_SECRET);
    await f.connections.update("p", "withpw", {}); // drops the pooled connector so the stored password is read again
    expect((await f.connections.test("p", "withpw")).host).toBe(`${server.host}:${server.port}`);
    // A server started on this home (a box opened from the key file) reads them too.
    const reopened = await SecretBox.open(keyFile);
    expect(reopened.unseal(after[0]!.sealed, after[0]!.context)).toBe(PASSWORD);

    const audit = await f.db.selectFrom("audit_log").selectAll().where("action", "=", "secret_key.rotate").execute();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
    expect(JSON.stringify(audit)).not.toContain(SSO_SECRET);
  });

  it("a rotation interrupted after the database commit is undone at the next start, losing nothing", async () => {
    const keyFile = join(f.dir, "secret.key");
    const keyBefore = await readFile(keyFile);
    await copyFile(keyFile, join(f.dir, "current.key"));
    const onlyCurrent = await SecretBox.open(join(f.dir, "current.key"));
    // The process dies between the database commit and the rename: the values are sealed with
    // secret.key.next, which a crash leaves on disk (rotate() itself removes it when commit throws).
    const box = await SecretBox.open(keyFile);
    const rotate = box.rotate.bind(box);
    let nextKey: Buffer | null = null;
    box.rotate = (commit) =>
      rotate(async (next) => {
        await commit(next);
        nextKey = await readFile(`${keyFile}.next`);
        throw new Error("killed after the commit");
      });
    await expect(new SecretKeyService({ db: f.db, secrets: box }).rotate()).rejects.toThrow(/killed after the commit/);
    await writeFile(`${keyFile}.next`, nextKey!, { mode: 0o600 });
    expect(await readFile(keyFile)).toEqual(keyBefore);
    for (const v of await storedValues()) expect(onlyCurrent.isCurrent(v.sealed, v.context)).toBe(false);

    // The next start opens the box (.next is read as a fallback) and re-seals with secret.key.
    const restarted = await SecretBox.open(keyFile);
    expect(await new SecretKeyService({ db: f.db, secrets: restarted }).recover()).toBe(3);
    await expect(stat(`${keyFile}.next`)).rejects.toThrow(/ENOENT/);
    const values = await storedValues();
    for (const v of values) expect(onlyCurrent.isCurrent(v.sealed, v.context)).toBe(true);
    expect(onlyCurrent.unseal(values[0]!.sealed, values[0]!.context)).toBe(PASSWORD);
    expect(onlyCurrent.unseal(values[1]!.sealed, values[1]!.context)).toBe(SSO_SECRET);
    // Nothing left to do on a later start.
    expect(await new SecretKeyService({ db: f.db, secrets: await SecretBox.open(keyFile) }).recover()).toBe(0);
  });
});
