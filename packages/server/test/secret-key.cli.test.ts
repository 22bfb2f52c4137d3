import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../../connectors/test/postgres.fixture.ts";
import { SsoSettingsStore } from "../src/sso/sso.settings.ts";
import { servedCli } from "./cli.fixture.ts";

/** `caretflow connections rotate-key` against the real HTTP app over a real socket and a real PostgreSQL. */
const PASSWORD = "Cli-Rotate-pw-5";
const SSO_SECRET = "Cli-Sso-secret-8";
let server: PostgresServer;
let s: Awaited<ReturnType<typeof servedCli>>;

beforeAll(async () => {
  server = await startPostgres();
  await server.sql("CREATE DATABASE crm");
  await server.sql(`CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}'`, [], "crm");
  s = await servedCli();
  await new SsoSettingsStore({ db: s.f.db, secrets: s.f.secrets }).save({
    issuer: "https://login.example.com",
    clientId: "caretflow",
    clientSecret: SSO_SECRET,
    autoCreate: true,
    defaultProject: null,
    defaultRole: "viewer",
    buttonLabel: "Sign in with SSO",
  });
}, 180_000);

afterAll(async () => {
  await s?.close();
  await server?.close();
});

describe("caretflow connections rotate-key", () => {
  it("re-encrypts every stored secret with a new key (site admins only); the connection still signs in", async () => {
    const args = ["--type", "postgres", "--host", server.host, "--port", String(server.port), "--database", "crm", "--user", "reader"];
    expect((await s.cli(["connections", "create", "crm", ...args, "--password-stdin"], {}, `${PASSWORD}\n`)).code).toBe(0);
    expect((await s.cli(["connections", "create", "crm-nopw", ...args])).code).toBe(0);

    const dana = await s.f.auth.createUser({ username: "dana" });
    const asDana = { CARETFLOW_TOKEN: (await s.f.auth.createToken(dana.id, "dana")).token };
    const keyFile = join(s.f.dir, "secret.key");
    const before = await readFile(keyFile);
    const refused = await s.cli(["connections", "rotate-key"], asDana);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/site admin|permission|not allowed|forbidden/i);
    expect(await readFile(keyFile)).toEqual(before);

    const rotated = await s.cli(["connections", "rotate-key"]);
    expect(rotated.stderr).toBe("");
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain("rotated the secret key: 2 stored secrets re-encrypted (1 connection, the SSO client secret)");
    expect(rotated.stdout + rotated.stderr).not.toContain(PASSWORD);
    expect((await readFile(keyFile)).equals(before)).toBe(false);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);

    const json = await s.cli(["connections", "rotate-key", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ resealed: 2, connections: 1, ssoClientSecret: true, unreadable: [] });

    // The server reads the re-sealed password: a fresh connector signs in to PostgreSQL with it.
    await s.f.connections.close();
    const tested = await s.cli(["connections", "test", "crm"]);
    expect(tested.stderr).toBe("");
    expect(tested.stdout).toContain(`ok: ${server.host}:${server.port} answered`);
    expect((await new SsoSettingsStore({ db: s.f.db, secrets: s.f.secrets }).config())?.clientSecret).toBe(SSO_SECRET);
  });
});
