import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { appFixture } from "./app.fixture.ts";
import { servedCli } from "./cli.fixture.ts";

/** `caretflow users|projects|password` and `--project` against the real HTTP app over a real socket. */
let served: Awaited<ReturnType<typeof servedCli>>;
let f: Awaited<ReturnType<typeof appFixture>>;

beforeAll(async () => {
  served = await servedCli();
  f = served.f;
});
afterAll(() => served.close());

const cli = (argv: string[], env: Record<string, string> = {}, stdin = "") => served.cli(argv, env, stdin);

describe("caretflow users, projects and password", () => {
  it("creates a user with a generated password shown once, and lists users", async () => {
    const made = await cli(["users", "create", "dana", "--json"]);
    expect(made.code).toBe(0);
    const user = JSON.parse(made.stdout) as { username: string; password: string; role: string };
    expect(user).toMatchObject({ username: "dana", role: "user" });
    expect(user.password.length).toBeGreaterThanOrEqual(12);
    const list = await cli(["users", "list"]);
    expect(list.stdout).toMatch(/dana\s+user\s+active/);
    expect(list.stdout).not.toContain(user.password);
  });

  it("reads a chosen password from stdin, never from an argument", async () => {
    const missing = await cli(["users", "create", "erin", "--password-stdin"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/CARETFLOW_NEW_PASSWORD/);
    const made = await cli(["users", "create", "erin", "--password-stdin"], {}, "erin-has-a-long-password\n");
    expect(made.code).toBe(0);
    expect(made.stdout).not.toMatch(/password/);
    expect(await f.auth.verifyLogin("erin", "erin-has-a-long-password")).not.toBeNull();
  });

  it("creates a project, adds a member, and the member works in it with --project", async () => {
    expect((await cli(["projects", "create", "churn", "--description", "churn models"])).code).toBe(0);
    const add = await cli(["projects", "add-member", "churn", "dana", "--role", "viewer"]);
    expect(add.stdout).toMatch(/dana is now viewer of churn/);
    expect((await cli(["projects", "members", "churn"])).stdout).toMatch(/dana\s+viewer/);
    const bad = await cli(["projects", "add-member", "churn", "dana", "--role", "boss"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--role/);

    const dana = (await f.auth.userByName("dana"))!;
    const token = (await f.auth.createToken(dana.id, "dana")).token;
    const asDana = { CARETFLOW_TOKEN: token };
    expect((await cli(["projects", "list"], asDana)).stdout).toMatch(/churn\s+viewer/);
    expect((await cli(["datasets", "list", "--project", "churn"], asDana)).code).toBe(0);
    expect((await cli(["datasets", "list"], { ...asDana, CARETFLOW_PROJECT: "churn" })).code).toBe(0);
    // Not a member of the default project, and a viewer cannot import.
    const refused = await cli(["datasets", "list"], asDana);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not a member of project 'default'/);
    expect(refused.stderr).toMatch(/hint: .*add-member default dana/);
    expect((await cli(["users", "list"], asDana)).stderr).toMatch(/Only site admins/);
  });

  it("changes one's own password from the environment, and refuses the wrong current one", async () => {
    const dana = (await f.auth.userByName("dana"))!;
    const reset = JSON.parse((await cli(["users", "reset-password", "dana", "--json"])).stdout) as { password: string };
    const token = (await f.auth.createToken(dana.id, "dana2")).token;
    const wrong = await cli(["password"], { CARETFLOW_TOKEN: token, CARETFLOW_PASSWORD: "not-it", CARETFLOW_NEW_PASSWORD: "x".repeat(14) });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/current password is wrong/);
    const ok = await cli(["password"], { CARETFLOW_TOKEN: token }, `${reset.password}\ndana-new-long-password\n`);
    expect(ok.code).toBe(0);
    expect(await f.auth.verifyLogin("dana", "dana-new-long-password")).not.toBeNull();
  });

  it("disables a user: their token stops working", async () => {
    const erin = (await f.auth.userByName("erin"))!;
    const token = (await f.auth.createToken(erin.id, "erin")).token;
    expect((await cli(["projects", "list"], { CARETFLOW_TOKEN: token })).code).toBe(0);
    expect((await cli(["users", "disable", "erin"])).stdout).toMatch(/erin is disabled/);
    expect((await cli(["projects", "list"], { CARETFLOW_TOKEN: token })).code).toBe(1);
    expect((await cli(["users", "enable", "erin"])).stdout).toMatch(/erin is active/);
  });
});
