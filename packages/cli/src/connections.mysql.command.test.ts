import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MariadbServer, startMariadb } from "../../connectors/test/mariadb.fixture.ts";
import { appFixture } from "../../server/test/app.fixture.ts";
import type { CliContext } from "./context.ts";
import { runCli } from "./program.ts";

const PASSWORD = "Cli-Maria-pw-9";
let maria: MariadbServer;
let f: Awaited<ReturnType<typeof appFixture>>;
let server: ReturnType<typeof serve>;
let env: Record<string, string>;
let outDir: string;

beforeAll(async () => {
  maria = await startMariadb();
  await maria.sql(`
    CREATE DATABASE shop;
    CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(8,2));
    INSERT INTO shop.orders VALUES (1, 9.50), (2, 12.00), (3, 30.25);
    CREATE DATABASE archive;
    CREATE TABLE archive.old_orders (id INT, note TEXT);
    INSERT INTO archive.old_orders VALUES (1, 'first');
    CREATE USER 'reader'@'%' IDENTIFIED BY '${PASSWORD}';
    GRANT SELECT ON shop.* TO 'reader'@'%';
    GRANT SELECT ON archive.* TO 'reader'@'%';
  `);
  f = await appFixture({}, { datasets: true });
  outDir = await mkdtemp(join(tmpdir(), "caretflow-cli-mysql-"));
  server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
  const admin = (await f.auth.userByName("admin"))!;
  const { token } = await f.auth.createToken(admin.id, "cli test");
  env = { CARETFLOW_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, CARETFLOW_TOKEN: token, MARIA_PW: PASSWORD };
}, 180_000);

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  await f?.close();
  await maria?.close();
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
    now: () => Date.now(),
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    loadServer: () => Promise.reject(new Error("not in this test")),
  };
  const code = await runCli(argv, ctx);
  return { code, ...out };
}

describe("caretflow connections with MySQL/MariaDB", () => {
  it("creates, tests, browses and imports from a mysql connection; the password comes from the environment and is never printed", async () => {
    const created = await cli(
      "connections",
      "create",
      "shop",
      "--type",
      "mysql",
      "--host",
      `${maria.host}:${maria.port}`,
      "--database",
      "shop",
      "--user",
      "reader",
      "--password-env",
      "MARIA_PW",
    );
    expect(created).toMatchObject({ code: 0 });
    expect(created.stdout).toContain(`created connection shop (mysql, reader@${maria.host}:${maria.port}/shop)`);
    const tested = await cli("connections", "test", "shop");
    expect(tested.code).toBe(0);
    expect(tested.stdout).toMatch(/^ok: .* answered \(.*MariaDB/);
    const browsed = await cli("connections", "browse", "shop", "shop");
    expect(browsed.stdout).toMatch(/orders\s+table\s+3\s+shop\.orders/);
    const imported = await cli("datasets", "import", "--connection", "shop", "--table", "orders", "--incremental", "id");
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain("orders: created version 1 (3 rows, 2 columns); watermark id = 3");
    const listed = await cli("connections", "list");
    expect(listed.stdout).toMatch(/shop\s+mysql\s+reader@127\.0\.0\.1:\d+\/shop\s+password/);
    for (const r of [created, tested, browsed, imported, listed]) expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it("edit changes the database and keeps the stored password; a wrong password then fails on its own", async () => {
    const edited = await cli("connections", "edit", "shop", "--database", "archive");
    expect(edited.code).toBe(0);
    expect(edited.stdout).toContain(`updated the settings of connection shop (reader@${maria.host}:${maria.port}/archive)`);
    const imported = await cli("datasets", "import", "--connection", "shop", "--table", "old_orders");
    expect(imported.stdout).toContain("old_orders: created version 1 (1 rows, 2 columns)");
    env.WRONG_PW = "not-the-password";
    expect((await cli("connections", "edit", "shop", "--password-env", "WRONG_PW")).stdout).toContain("updated the password");
    const failed = await cli("connections", "test", "shop");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain("refused the credentials of user 'reader'");
    expect(failed.stderr).not.toContain("not-the-password");
    const nothing = await cli("connections", "edit", "shop");
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain("nothing to change");
  });
});
