import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { appFixture } from "./app.fixture.ts";
import { servedCli } from "./cli.fixture.ts";

/** `caretflow tokens create|list|revoke` against the real HTTP app over a real socket, then the tokens it made. */
let served: Awaited<ReturnType<typeof servedCli>>;
let f: Awaited<ReturnType<typeof appFixture>>;

beforeAll(async () => {
  served = await servedCli();
  f = served.f;
  await f.projects.create(served.admin, "alpha", null);
});
afterAll(() => served.close());

/** The CLI with `token` (the admin's by default). */
const cli = (argv: string[], token?: string) => served.cli(argv, token ? { CARETFLOW_TOKEN: token } : {});

describe("caretflow tokens", () => {
  it("creates a read-only project token, prints it once, and the token only reads its project", async () => {
    const made = await cli(["tokens", "create", "ci-reader", "--project", "alpha", "--read-only", "--expires-in-days", "7"]);
    expect(made.code).toBe(0);
    const token = /token \(shown once, store it now\): (cf_\S+)/.exec(made.stdout)?.[1];
    expect(token).toBeDefined();
    expect(made.stdout).toContain("read on alpha");

    const listed = await cli(["projects", "list", "--json"], token);
    expect(listed.code).toBe(0);
    // A project token sees only its project.
    expect((JSON.parse(listed.stdout) as { projects: { name: string }[] }).projects.map((p) => p.name)).toEqual(["alpha"]);
    const datasets = await cli(["datasets", "list", "--project", "alpha"], token);
    expect(datasets.code).toBe(0);
    const write = await cli(["projects", "create", "gamma"], token!);
    expect(write.code).toBe(1);
    expect(write.stderr).toContain("'ci-reader' is read-only");
    const other = await cli(["datasets", "list", "--project", "default"], token);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("scoped to project 'alpha'");
    expect(other.stderr).not.toContain(token);
  });

  it("--json gives the document; list shows scopes and never a secret; revoke stops the token", async () => {
    const made = await cli(["tokens", "create", "scripted", "--json"]);
    expect(made.code).toBe(0);
    const doc = JSON.parse(made.stdout) as { id: string; token: string; access: string; project: string | null; expiresAt: string };
    expect(doc).toMatchObject({ name: "scripted", access: "write", project: null });

    const list = await cli(["tokens", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/ID\s+NAME\s+PROJECT\s+ACCESS\s+CREATED\s+LAST USED\s+EXPIRES/);
    expect(list.stdout).toMatch(/ci-reader\s+alpha\s+read\s/);
    expect(list.stdout).toMatch(/scripted\s+\(all\)\s+write\s/);
    expect(list.stdout).not.toContain(doc.token);
    const json = JSON.parse((await cli(["tokens", "list", "--json"])).stdout) as { tokens: { id: string }[] };
    expect(json.tokens.map((t) => t.id)).toContain(doc.id);

    expect((await cli(["projects", "list"], doc.token)).code).toBe(0);
    const revoked = await cli(["tokens", "revoke", doc.id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked token ${doc.id}`);
    const after = await cli(["projects", "list"], doc.token);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("rejected the token");
    expect((await cli(["tokens", "revoke", doc.id])).code).toBe(1);
  });

  it("refuses a bad --expires-in-days naming the flag", async () => {
    const bad = await cli(["tokens", "create", "x", "--expires-in-days", "0"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--expires-in-days");
  });
});
