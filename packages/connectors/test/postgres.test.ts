import { spawn } from "node:child_process";
import { mkdtemp, readdir, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RowBatch } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture } from "../../data/test/store.fixture.ts";
import { type AddressPolicy, type Connector, postgresType } from "../src/index.ts";
import { connectorContract } from "./contract.ts";
import { freePort, type PostgresServer, startPostgres } from "./postgres.fixture.ts";

const LOOPBACK: AddressPolicy = { allowPrivateNetworks: true };
const READER_PASSWORD = "s3cret-Reader-pw";
let server: PostgresServer;

beforeAll(async () => {
  server = await startPostgres();
  await server.sql("CREATE DATABASE shop");
  const shop = (text: string) => server.sql(text, [], "shop");
  await shop(`
    CREATE ROLE reader LOGIN PASSWORD '${READER_PASSWORD}';
    CREATE SCHEMA sales;
    CREATE TABLE sales.orders (id integer PRIMARY KEY, customer text, amount numeric(10,2), paid boolean, at timestamptz, day date, meta jsonb);
    INSERT INTO sales.orders SELECT i, 'customer ' || (i % 7), i * 1.25, i % 2 = 0, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 hour', date '2026-01-01' + i, jsonb_build_object('i', i)
      FROM generate_series(1, 25) AS i;
    CREATE TABLE sales.secret (id integer);
    CREATE TABLE sales.big (id bigint, label text);
    INSERT INTO sales.big SELECT i, repeat('x', 50) FROM generate_series(1, 200000) AS i;
    ANALYZE;
    GRANT USAGE ON SCHEMA sales TO reader;
    GRANT SELECT ON sales.orders, sales.big TO reader;
    GRANT CREATE ON SCHEMA sales TO reader;
    GRANT INSERT, DELETE ON sales.orders TO reader;
  `);
}, 180_000);

afterAll(async () => {
  await server?.close();
});

function connector(opts: { password?: string; hosts?: { host: string; port: number }[]; policy?: AddressPolicy } = {}): Connector {
  return postgresType.create(
    { hosts: opts.hosts ?? [{ host: server.host, port: server.port }], database: "shop", user: "reader", ssl: false },
    { secrets: { password: opts.password ?? READER_PASSWORD }, addressPolicy: opts.policy ?? LOOPBACK },
  );
}

async function rowsOf(batches: AsyncIterable<RowBatch>): Promise<RowBatch["rows"][number][]> {
  const rows = [];
  for await (const b of batches) rows.push(...b.rows);
  return rows;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string; status: number }> {
  try {
    await p;
  } catch (error) {
    return error as { code: string; message: string; hint?: string; status: number };
  }
  throw new Error("expected a failure");
}

connectorContract("postgres", async () => ({
  connector: connector(),
  fixtures: {
    table: "sales.orders",
    rowCount: 25,
    watermarkColumn: "id",
    tableParent: "sales",
    missingTable: "sales.nope",
    secrets: [READER_PASSWORD],
  },
}));

describe("postgres connector", () => {
  it("maps PostgreSQL types to DuckDB types and lists row estimates", async () => {
    const c = connector();
    try {
      const p = await c.preview({ table: "sales.orders" }, 1);
      expect(p.columns).toEqual([
        { name: "id", duckdbType: "INTEGER" },
        { name: "customer", duckdbType: "VARCHAR" },
        { name: "amount", duckdbType: "DOUBLE" },
        { name: "paid", duckdbType: "BOOLEAN" },
        { name: "at", duckdbType: "TIMESTAMP WITH TIME ZONE" },
        { name: "day", duckdbType: "DATE" },
        { name: "meta", duckdbType: "VARCHAR" },
      ]);
      const tables = await c.discover("sales");
      expect(tables.find((t) => t.name === "big")?.rowEstimate).toBeGreaterThan(100_000);
      expect(await failure(c.discover("nowhere"))).toMatchObject({ code: "schema_not_found" });
    } finally {
      await c.close();
    }
  });

  it("a wrong password, a missing table, missing permission and an unreachable host each get their own message", async () => {
    const wrong = connector({ password: "not-the-password" });
    const e1 = await failure(wrong.test());
    expect(e1.code).toBe("connection_auth_failed");
    expect(e1.message).toContain("refused the credentials of user 'reader'");
    expect(e1.message).not.toContain("not-the-password");
    await wrong.close();

    const c = connector();
    const e2 = await failure(rowsOf(c.read({ table: "sales.nope" })));
    expect(e2.code).toBe("source_table_not_found");
    const e3 = await failure(rowsOf(c.read({ table: "sales.secret" })));
    expect(e3.code).toBe("source_permission_denied");
    expect(e3.message).toContain("permission denied for table secret");
    await c.close();

    const port = await freePort();
    const gone = connector({ hosts: [{ host: "127.0.0.1", port }] });
    const e4 = await failure(gone.test());
    expect(e4.code).toBe("connection_unreachable");
    expect(e4.message).toContain(`127.0.0.1:${port} (connection refused)`);
    await gone.close();
  });

  it("fails over to the next host when the first cannot be reached", async () => {
    const dead = await freePort();
    const c = connector({
      hosts: [
        { host: "127.0.0.1", port: dead },
        { host: server.host, port: server.port },
      ],
    });
    try {
      expect((await c.test()).host).toBe(`${server.host}:${server.port}`);
    } finally {
      await c.close();
    }
  });

  it("queries are one read-only statement: several statements are refused before the server, writes by the server", async () => {
    const c = connector();
    try {
      expect(await rowsOf(c.read({ query: "SELECT count(*) AS n FROM sales.orders WHERE customer <> 'a;b' -- ; drop\n;" }))).toEqual([
        ["25"],
      ]);
      const several = await failure(rowsOf(c.read({ query: "SELECT 1; DELETE FROM sales.orders" })));
      expect(several.code).toBe("query_several_statements");
      const write = await failure(rowsOf(c.read({ query: "DELETE FROM sales.orders" })));
      expect(write.code).toBe("query_not_read_only");
      // Passes the statement check (it starts with WITH); the READ ONLY transaction refuses it.
      const sneaky = await failure(rowsOf(c.read({ query: "WITH d AS (DELETE FROM sales.orders RETURNING *) SELECT * FROM d" })));
      expect(sneaky.code).toBe("query_not_read_only");
      expect(sneaky.message).toContain("read-only transaction");
      expect((await server.sql("SELECT 1")).rowCount).toBe(1);
      expect(await rowsOf(c.read({ query: "SELECT count(*) FROM sales.orders" }))).toEqual([["25"]]);
      // A trailing line comment stays inside the statement when it is wrapped (preview, incremental).
      expect((await c.preview({ query: "SELECT id FROM sales.orders ORDER BY id -- first ones" }, 2)).rows).toEqual([["1"], ["2"]]);
      expect(await rowsOf(c.readIncremental({ query: "SELECT id FROM sales.orders -- all" }, "id", "23"))).toEqual([["24"], ["25"]]);
    } finally {
      await c.close();
    }
  });

  it("the address guard refuses loopback unless allowed, checked before connecting", async () => {
    const c = connector({ policy: { allowPrivateNetworks: false } });
    const e = await failure(c.test());
    expect(e.code).toBe("address_refused");
    expect(e.message).toContain("loopback");
    await c.close();
    const listed = connector({ policy: { allowPrivateNetworks: false, allowList: ["127.0.0.0/8"] } });
    expect((await listed.test()).ok).toBe(true);
    await listed.close();
  });
});

describe("postgres into the dataset store", () => {
  it("imports a table as a version, then only new rows incrementally", async () => {
    const fx = await openStoreFixture();
    const c = connector();
    try {
      const r1 = await fx.store.importBatches({
        name: "orders",
        batches: c.readIncremental({ table: "sales.orders" }, "id", null),
        source: { kind: "connection", connection: "shop", table: "sales.orders" },
        watermarkColumn: "id",
      });
      expect(r1.version.rowCount).toBe(25);
      expect(r1.version.columns.find((col) => col.name === "at")?.kind).toBe("timestamp");
      expect(r1.version.source.watermark).toEqual({ column: "id", value: "25" });
      await server.sql("INSERT INTO sales.orders (id, customer) VALUES (26, 'new'), (27, 'new')", [], "shop");
      const r2 = await fx.store.importBatches({
        name: "orders",
        batches: c.readIncremental({ table: "sales.orders" }, "id", r1.version.source.watermark!.value),
        source: { kind: "connection", connection: "shop", table: "sales.orders" },
        appendTo: r1.version.version,
        watermarkColumn: "id",
      });
      expect(r2.rowsRead).toBe(2);
      expect(r2.version.version).toBe(2);
      expect(r2.version.rowCount).toBe(27);
      expect(r2.version.source.watermark?.value).toBe("27");
    } finally {
      await c.close();
      await fx.close();
    }
  });

  it("a server stopped mid-import leaves no partial version and says the connection was lost", async () => {
    const fx = await openStoreFixture();
    const c = connector();
    try {
      let batches = 0;
      async function* stopping(): AsyncIterable<RowBatch> {
        for await (const b of c.read({ table: "sales.big" }, { batchRows: 5000 })) {
          yield b;
          if (++batches === 3) await server.stop("immediate");
        }
      }
      const e = await failure(
        fx.store.importBatches({
          name: "big",
          batches: stopping(),
          source: { kind: "connection", connection: "shop", table: "sales.big" },
        }),
      );
      expect(e.code).toBe("source_connection_lost");
      expect(e.message).toContain("nothing was stored");
      await expect(fx.store.get("big")).rejects.toThrow(/does not exist/);
      expect((await readdir(join(fx.root, ".tmp"))).filter((f) => f !== "duckdb")).toEqual([]);
    } finally {
      await server.start();
      await c.close();
      await fx.close();
    }
  });

  it("a caretflow process killed mid-import leaves no version; its leftovers are only temporary files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "caretflow-killed-"));
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "import-child.ts")], {
      env: { ...process.env, CHILD_DIR: dir, CHILD_PG_PORT: String(server.port), CHILD_PG_PASSWORD: READER_PASSWORD },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("batch 3")) resolve();
      });
      child.once("exit", () => reject(new Error(`the import process ended before it was stopped: ${out} ${err}`)));
    });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    expect(out).not.toContain("finished");
    const fx = await openStoreFixture(dir);
    try {
      await expect(fx.store.get("big")).rejects.toThrow(/does not exist/);
      expect(await fx.db.selectFrom("dataset_versions").selectAll().execute()).toEqual([]);
      // What is left is under .tmp only (removed when a day old), never at a version's path.
      expect((await readdir(fx.root)).filter((f) => f !== ".tmp")).toEqual([]);
      const parts = (await readdir(join(fx.root, ".tmp"))).filter((f) => f.startsWith("parts-"));
      expect(parts).toHaveLength(1);
      // A day later, the next start removes them.
      const dayAndMore = new Date(Date.now() - 25 * 3600 * 1000);
      await utimes(join(fx.root, ".tmp", parts[0]!), dayAndMore, dayAndMore);
      await fx.openAnother();
      expect((await readdir(join(fx.root, ".tmp"))).filter((f) => f.startsWith("parts-"))).toEqual([]);
    } finally {
      await fx.close();
    }
  });
});
