import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../server/test/app.fixture.ts";
import type { CliContext } from "./context.ts";
import { runCli } from "./program.ts";

/** `caretflow datasets list|tag|lineage|compare` against the real server app over HTTP, with a real dataset store. */
let f: Awaited<ReturnType<typeof appFixture>>;
let server: ReturnType<typeof serve>;
let env: Record<string, string>;
let work: string;

async function upload(name: string, csv: string) {
  const form = new FormData();
  form.set("file", new File([csv], `${name}.csv`));
  form.set("name", name);
  const res = await fetch(`${env.CARETFLOW_URL}/api/datasets`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.CARETFLOW_TOKEN}` },
    body: form,
  });
  expect(res.status).toBe(201);
}

beforeAll(async () => {
  f = await appFixture({}, { datasets: true });
  work = await mkdtemp(join(tmpdir(), "caretflow-cli-catalog-"));
  server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
  const admin = (await f.auth.userByName("admin"))!;
  const { token } = await f.auth.createToken(admin.id, "cli test");
  env = { CARETFLOW_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, CARETFLOW_TOKEN: token };
  await upload("sales", "region,amount\nnorth,10\nsouth,20\n");
  await upload("sales", "region,amount,discount\nnorth,10,0.1\nsouth,20,\nwest,5,0.2\n");
  await upload("weather", "day,temp\n1,20.5\n");
});
afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  await f.close();
  await rm(work, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  const out = { stdout: "", stderr: "" };
  const ctx: CliContext = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env,
    cwd: work,
    userHome: "/nonexistent-home",
    fetch,
    onInterrupt: () => () => {},
    now: () => Date.now(),
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    loadServer: () => Promise.reject(new Error("not in this test")),
  };
  const code = await runCli(argv, ctx);
  return { code, ...out };
}

describe("caretflow datasets catalog commands", () => {
  it("tags, then lists with search, tag, owner and source filters", async () => {
    const tagged = await cli("datasets", "tag", "sales", "Finance", "pii");
    expect(tagged.code, tagged.stderr).toBe(0);
    expect(tagged.stdout.trim()).toBe("sales: finance, pii");
    const table = await cli("datasets", "list");
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+LATEST\s+VERSIONS\s+ROWS\s+COLUMNS\s+SIZE\s+SOURCE\s+OWNER\s+TAGS\s+UPDATED/);
    expect(table.stdout).toMatch(/sales\s+v2\s+2\s+3\s+3\s+\S+ \S+\s+upload\s+admin\s+finance,pii/);
    const names = async (...flags: string[]) =>
      (JSON.parse((await cli("datasets", "list", ...flags, "--json")).stdout) as { datasets: Array<{ name: string }> }).datasets.map(
        (d) => d.name,
      );
    expect(await names("--search", "temp")).toEqual(["weather"]);
    expect(await names("--tag", "pii")).toEqual(["sales"]);
    expect(await names("--owner", "admin")).toEqual(["sales", "weather"]);
    expect(await names("--owner", "someone-else")).toEqual([]);
    expect(await names("--source", "connection")).toEqual([]);
    expect((await cli("datasets", "list", "--tag", "nothing")).stdout.trim()).toBe("no dataset matches these filters");
    const described = await cli("datasets", "describe", "weather", "Daily temperatures in Lyon");
    expect(described.stdout.trim()).toBe("weather: Daily temperatures in Lyon");
    expect(await names("--search", "lyon")).toEqual(["weather"]);
    const removed = await cli("datasets", "tag", "sales", "pii", "--remove");
    expect(removed.stdout.trim()).toBe("sales: finance");
    const page = await cli("datasets", "list", "--limit", "1");
    expect(page.stdout).toContain("1 of 2; more: --offset 1");
  });

  it("refuses bad flags with the flag's name", async () => {
    const badSource = await cli("datasets", "list", "--source", "ftp");
    expect(badSource.code).toBe(1);
    expect(badSource.stderr).toMatch(/--source/);
    const badTag = await cli("datasets", "tag", "sales", "has space");
    expect(badTag.code).toBe(1);
    expect(badTag.stderr).toMatch(/tag 1 \('has space'\)/);
    const same = await cli("datasets", "compare", "sales", "1", "1");
    expect(same.stderr).toMatch(/both versions are 1/);
  });

  it("prints lineage as a tree and compares two versions", async () => {
    const tree = await cli("datasets", "lineage", "sales");
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout.trim().split("\n")).toEqual([
      "[source] sales.csv",
      "├─ imported: * sales v1 (upload)",
      "└─ imported: * sales v2 (upload)",
    ]);
    const cmp = await cli("datasets", "compare", "sales", "1", "2");
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(cmp.stdout).toContain("rows: 2 -> 3 (+1)");
    expect(cmp.stdout).toContain("added: discount");
    expect(cmp.stdout).toMatch(/discount\s+added\s+- -> float\s+- -> 1/);
    const json = JSON.parse((await cli("datasets", "compare", "sales", "1", "2", "--json")).stdout) as { added: string[] };
    expect(json.added).toEqual(["discount"]);
    const missing = await cli("datasets", "compare", "sales", "1", "7");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/sales@v7/);
  });
});
