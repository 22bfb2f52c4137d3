import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedCli } from "./cli.fixture.ts";
import { startTestProvider } from "./oidc-provider.fixture.ts";

/** `caretflow sso show|set|disable` against the real HTTP app and a real OpenID Connect provider. */
let served: Awaited<ReturnType<typeof servedCli>>;
let idp: Awaited<ReturnType<typeof startTestProvider>>;

beforeAll(async () => {
  served = await servedCli();
  idp = await startTestProvider({ redirectUri: "http://localhost/api/auth/oidc/callback" });
  await served.f.projects.create(served.admin, "shared", null);
});
afterAll(async () => {
  await idp?.close();
  await served?.close();
});

describe("caretflow sso", () => {
  it("sets the provider with the secret from standard input, and never prints the secret", async () => {
    const set = await served.cli(
      ["sso", "set", "--issuer", idp.issuer, "--client-id", idp.client.clientId, "--client-secret-stdin", "--default-project", "shared"],
      {},
      `${idp.client.clientSecret}\n`,
    );
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("single sign-on is on");
    expect(set.stdout).toContain("client secret:   set (never shown)");
    expect(set.stdout).toContain("default project: shared as viewer");
    expect(set.stdout).toContain("redirect URI:    http://localhost/api/auth/oidc/callback");
    expect(set.stdout).not.toContain(idp.client.clientSecret);

    const shown = await served.cli(["sso", "show", "--json"]);
    expect(shown.code).toBe(0);
    const doc = JSON.parse(shown.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ enabled: true, issuer: idp.issuer, clientSecretSet: true, autoCreate: true, defaultProject: "shared" });
    expect(shown.stdout).not.toContain(idp.client.clientSecret);
  });

  it("keeps settings left out, takes the secret from the environment, and refuses it as an argument", async () => {
    const set = await served.cli(["sso", "set", "--issuer", idp.issuer, "--client-id", idp.client.clientId, "--no-auto-create"]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("default project: shared as viewer");
    expect(set.stdout).toContain("auto-create:     no");
    expect(set.stdout).toContain("set (never shown)");
    const fromEnv = await served.cli(
      ["sso", "set", "--issuer", idp.issuer, "--client-id", idp.client.clientId, "--client-secret-stdin", "--no-default-project"],
      { CARETFLOW_SSO_CLIENT_SECRET: "another-secret-value" },
    );
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toContain("default project: (none)");
    const row = await served.f.sso.settings.config();
    expect(row?.clientSecret).toBe("another-secret-value");
    const missing = await served.cli(["sso", "set", "--issuer", idp.issuer, "--client-id", "x", "--client-secret-stdin"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("CARETFLOW_SSO_CLIENT_SECRET");
    const asArgument = await served.cli(["sso", "set", "--issuer", idp.issuer, "--client-id", "x", "--client-secret", "oops"]);
    expect(asArgument.code).not.toBe(0);
    expect(asArgument.stderr).toMatch(/unknown option '--client-secret'/);
  });

  it("explains a provider that cannot be reached, and a user who is not a site admin", async () => {
    const moved = await served.cli(["sso", "set", "--issuer", "http://127.0.0.1:9", "--client-id", "x"]);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain("the stored client secret (of the old client) cannot be kept");
    const dead = await served.cli(["sso", "set", "--issuer", "http://127.0.0.1:9", "--client-id", "x", "--client-secret-stdin"], {
      CARETFLOW_SSO_CLIENT_SECRET: "new-client-secret",
    });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/did not answer with an OpenID Connect discovery document/);
    expect(dead.stderr).toMatch(/hint: .*well-known\/openid-configuration/);
    await served.f.auth.createUser({ username: "erin" });
    const erin = (await served.f.auth.userByName("erin"))!;
    const token = (await served.f.auth.createToken(erin.id, "t")).token;
    const refused = await served.cli(["sso", "show"], { CARETFLOW_TOKEN: token });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("Only site admins may do this");
  });

  it("disables single sign-on", async () => {
    const off = await served.cli(["sso", "disable"]);
    expect(off.code).toBe(0);
    const shown = await served.cli(["sso", "show"]);
    expect(shown.stdout).toContain("single sign-on is off");
    expect(await served.f.sso.settings.config()).toBeNull();
  });
});
