import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../server/test/app.fixture.ts";
import { timeArg } from "./audit.command.ts";
import type { CliContext } from "./context.ts";
import { runCli } from "./program.ts";

let f: Awaited<ReturnType<typeof appFixture>>;
let server: ReturnType<typeof serve>;
let env: Record<string, string>;
let outDir: string;

beforeAll(async () => {
  f = await appFixture();
  outDir = await mkdtemp(join(tmpdir(), "caretflow-cli-audit-"));
  server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
  const admin = (await f.auth.userByName("admin"))!;
  const { token } = await f.auth.createToken(admin.id, "cli test");
  env = { CARETFLOW_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, CARETFLOW_TOKEN: token };
  // Changes made over real HTTP, so entries carry the loopback address.
  await fetch(`${env.CARETFLOW_URL}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "=cmd|' /C calc'!A0", password: "x" }),
  });
  for (const name of ["first", "second"]) {
    await fetch(`${env.CARETFLOW_URL}/api/auth/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
  }
});
afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  await f.close();
  await rm(outDir, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  const out = { stdout: "", stderr: "" };
  const ctx: CliContext = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env,
    cwd: outDir,
    userHome: "/nonexistent-home",
    fetch,
    onInterrupt: () => () => {},
    now: () => Date.parse("2026-12-01T12:00:00Z"),
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    loadServer: () => Promise.reject(new Error("not in this test")),
  };
  const code = await runCli(argv, ctx);
  return { code, ...out };
}

describe("caretflow audit", () => {
  it("list prints a table, newest first, and filters by action and actor", async () => {
    const r = await cli("audit", "list");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^\s*SEQ\s+TIME\s+ACTOR\s+ACTION\s+TARGET\s+PROJECT\s+ADDRESS/);
    expect(lines[1]).toMatch(/^\s*3 .* admin\s+token\.create\s+token:\S+\s+default\s+127\.0\.0\.1/);
    expect(lines[3]).toMatch(/anonymous\s+auth\.login_failed/);
    const json = await cli("audit", "list", "--action", "token.*", "--actor", "admin", "--limit", "1", "--json");
    const page = JSON.parse(json.stdout) as { entries: Array<{ seq: number; after: unknown }>; nextBefore: number | null };
    expect(page.entries).toMatchObject([{ seq: 3, after: { name: "second" } }]);
    expect(page.nextBefore).toBe(3);
    const human = await cli("audit", "list", "--action", "token.*", "--limit", "1");
    expect(human.stdout).toContain("more: caretflow audit list --before 3");
    expect((await cli("audit", "list", "--since", "2999-01-01", "--json")).stdout).toContain('"entries": []');
  });

  it("refuses bad flags before calling the server", async () => {
    const r = await cli("audit", "list", "--since", "yesterday");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--since must be an ISO time/);
    const bad = await cli("audit", "export", "--format", "xlsx");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--format must be ndjson or csv/);
  });

  it("export writes NDJSON to stdout and CSV with neutralised formulas to a file", async () => {
    const nd = await cli("audit", "export", "--action", "token.create");
    expect(nd.code).toBe(0);
    expect(
      nd.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).after.name),
    ).toEqual(["first", "second"]);
    const r = await cli("audit", "export", "--format", "csv", "--out", "audit.csv", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: join(outDir, "audit.csv"), format: "csv" });
    const csv = await readFile(join(outDir, "audit.csv"), "utf8");
    expect(csv.split("\r\n")[0]).toMatch(/^seq,at,actor_id,actor,action/);
    expect(csv).toContain(`,user,'=cmd|' /C calc'!A0,default,`);
    expect(csv).not.toMatch(/,=cmd/);
  });

  it("verify exits 0 while intact and 1 naming the first broken row", async () => {
    const ok = await cli("audit", "verify");
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/audit log intact: \d+ entries/);
    await sql`update audit_log set actor_name = 'mallory' where seq = 2`.execute(f.db);
    const bad = await cli("audit", "verify");
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/audit log BROKEN at seq 2 \(edited\)/);
    const json = await cli("audit", "verify", "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, seq: 2, reason: "edited" });
  });
});

describe("timeArg", () => {
  const now = () => Date.parse("2026-12-02T00:00:00Z");
  it.each([
    ["7d", "2026-11-25T00:00:00.000Z"],
    ["24h", "2026-12-01T00:00:00.000Z"],
    ["30m", "2026-12-01T23:30:00.000Z"],
    ["2026-11-30", "2026-11-30T00:00:00.000Z"],
    ["2026-11-30T10:00:00+01:00", "2026-11-30T09:00:00.000Z"],
  ])("%s -> %s", (input, expected) => {
    expect(timeArg("--since", now)(input)).toBe(expected);
  });
  it("refuses anything else", () => {
    expect(() => timeArg("--since", now)("last week")).toThrow(/--since must be/);
  });
});
