import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../../connectors/test/postgres.fixture.ts";
import { servedCli } from "./cli.fixture.ts";

const PASSWORD = "Cli-Secret-pw-9";
let server: PostgresServer;
let s: Awaited<ReturnType<typeof servedCli>>;

beforeAll(async () => {
  server = await startPostgres();
  await server.sql("CREATE DATABASE crm");
  await server.sql(
    `
    CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}';
    CREATE TABLE public.customers (id integer, name text, joined date);
    INSERT INTO public.customers SELECT i, 'c' || i, date '2026-01-01' + i FROM generate_series(1, 12) AS i;
    GRANT SELECT ON public.customers TO reader;
  `,
    [],
    "crm",
  );
  s = await servedCli();
}, 180_000);

afterAll(async () => {
  await s?.close();
  await server?.close();
});

describe("caretflow connections and datasets import --connection", () => {
  it("creates a connection with the password from stdin or an environment variable, never an argument", async () => {
    const refused = await s.cli(["connections", "create", "crm", "--type", "postgres", "--host", server.host, "--password", PASSWORD]);
    expect(refused.code).not.toBe(0);
    const args = [
      "--type",
      "postgres",
      "--host",
      "127.0.0.1:1",
      "--host",
      server.host,
      "--port",
      String(server.port),
      "--database",
      "crm",
      "--user",
      "reader",
    ];
    const created = await s.cli(["connections", "create", "crm", ...args, "--password-stdin"], {}, `${PASSWORD}\n`);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("created connection crm (postgres, reader@127.0.0.1:1,");
    expect(created.stdout).not.toContain(PASSWORD);
    const viaEnv = await s.cli(["connections", "create", "crm2", ...args, "--password-env", "CRM_PW"], { CRM_PW: PASSWORD });
    expect(viaEnv.code).toBe(0);
    const list = await s.cli(["connections", "list"]);
    expect(list.stdout).toMatch(/crm\s+postgres/);
    expect(list.stdout).toContain("password");
    expect(list.stdout).not.toContain(PASSWORD);
    const json = await s.cli(["connections", "list", "--json"]);
    expect(json.stdout).not.toContain(PASSWORD);
  });

  it("tests (failing over past a dead host), browses and imports a table and a query", async () => {
    const tested = await s.cli(["connections", "test", "crm"]);
    expect(tested.code).toBe(0);
    expect(tested.stdout).toContain(`ok: ${server.host}:${server.port} answered (PostgreSQL 15`);
    const browse = await s.cli(["connections", "browse", "crm", "public"]);
    expect(browse.stdout).toMatch(/customers\s+table/);
    const imported = await s.cli(["datasets", "import", "--connection", "crm", "--table", "public.customers", "--incremental", "id"]);
    expect(imported.stderr).toContain("reading public.customers from crm");
    expect(imported.stdout).toContain("customers: created version 1 (12 rows, 3 columns); watermark id = 12");
    const query = await s.cli([
      "datasets",
      "import",
      "--connection",
      "crm",
      "--query",
      "SELECT id, name FROM customers WHERE id <= 5",
      "--name",
      "first5",
    ]);
    expect(query.stdout).toContain("first5: created version 1 (5 rows, 2 columns)");
    const write = await s.cli(["datasets", "import", "--connection", "crm", "--query", "DELETE FROM customers", "--name", "nope"]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toContain("Only queries that read are allowed");
    const deleted = await s.cli(["connections", "delete", "crm2"]);
    expect(deleted.stdout).toContain("deleted connection crm2");
  });
});
