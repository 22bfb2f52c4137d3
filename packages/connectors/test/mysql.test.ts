import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RowBatch } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture } from "../../data/test/store.fixture.ts";
import { type AddressPolicy, type Connector, mysqlType } from "../src/index.ts";
import { connectorContract } from "./contract.ts";
import { type MariadbServer, startMariadb } from "./mariadb.fixture.ts";
import { freePort } from "./postgres.fixture.ts";

const LOOPBACK: AddressPolicy = { allowPrivateNetworks: true };
const READER_PASSWORD = "s3cret-Reader-pw";
let server: MariadbServer;

beforeAll(async () => {
  server = await startMariadb();
  await server.sql(`
    SET SESSION max_recursive_iterations = 1000000;
    CREATE DATABASE shop;
    CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(10,2), paid TINYINT(1), at DATETIME, stamp TIMESTAMP NULL, day DATE, qty BIGINT UNSIGNED, ratio DOUBLE, meta JSON);
    INSERT INTO shop.orders
      WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 25)
      SELECT i, CONCAT('customer ', i % 7), i * 1.25, i % 2 = 0, TIMESTAMP '2026-01-01 00:00:00' + INTERVAL i HOUR,
             TIMESTAMP '2026-01-01 00:00:00' + INTERVAL i MINUTE, DATE '2026-01-01' + INTERVAL i DAY, i * 1000, i / 4, JSON_OBJECT('i', i)
      FROM seq;
    CREATE TABLE shop.big (id BIGINT, label VARCHAR(60));
    INSERT INTO shop.big WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 200000) SELECT i, REPEAT('x', 50) FROM seq;
    CREATE VIEW shop.paid_orders AS SELECT id, amount FROM shop.orders WHERE paid;
    CREATE DATABASE other;
    CREATE TABLE other.things (id INT);
    ANALYZE TABLE shop.orders, shop.big;
    CREATE USER 'reader'@'%' IDENTIFIED BY '${READER_PASSWORD}';
    GRANT SELECT ON shop.* TO 'reader'@'%';
    GRANT INSERT, DELETE, UPDATE ON shop.orders TO 'reader'@'%';
    GRANT FILE ON *.* TO 'reader'@'%';
  `);
}, 180_000);

afterAll(async () => {
  await server?.close();
});

function connector(opts: { password?: string; hosts?: { host: string; port: number }[]; policy?: AddressPolicy } = {}): Connector {
  return mysqlType.create(
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

connectorContract("mysql (MariaDB)", async () => ({
  connector: connector(),
  fixtures: {
    table: "shop.orders",
    rowCount: 25,
    watermarkColumn: "id",
    tableParent: "shop",
    missingTable: "shop.nope",
    secrets: [READER_PASSWORD],
  },
}));

describe("mysql connector", () => {
  it("maps MySQL types to DuckDB types, lists databases, tables and views with row estimates", async () => {
    const c = connector();
    try {
      const p = await c.preview({ table: "shop.orders" }, 2);
      expect(p.columns).toEqual([
        { name: "id", duckdbType: "INTEGER" },
        { name: "customer", duckdbType: "VARCHAR" },
        { name: "amount", duckdbType: "DOUBLE" },
        { name: "paid", duckdbType: "BOOLEAN" },
        { name: "at", duckdbType: "TIMESTAMP" },
        { name: "stamp", duckdbType: "TIMESTAMP" },
        { name: "day", duckdbType: "DATE" },
        { name: "qty", duckdbType: "UBIGINT" },
        { name: "ratio", duckdbType: "DOUBLE" },
        { name: "meta", duckdbType: "VARCHAR" },
      ]);
      expect(p.rows[1]).toEqual([
        "2",
        "customer 2",
        "2.50",
        true,
        "2026-01-01 02:00:00",
        "2026-01-01 00:02:00",
        "2026-01-03",
        "2000",
        "0.5",
        '{"i": 2}',
      ]);
      expect(p.rows[0]?.[3]).toBe(false);
      // Only the databases this user may see; never the server's own.
      expect((await c.discover()).map((n) => n.path)).toEqual(["shop"]);
      const tables = await c.discover("shop");
      expect(tables.find((t) => t.name === "big")?.rowEstimate).toBeGreaterThan(100_000);
      expect(tables.find((t) => t.name === "paid_orders")?.kind).toBe("view");
      const columns = await c.discover("shop.orders");
      expect(columns.find((col) => col.name === "qty")?.type).toBe("bigint(20) unsigned");
      expect(await failure(c.discover("nowhere"))).toMatchObject({ code: "schema_not_found" });
      expect(await failure(c.discover("shop.nope"))).toMatchObject({ code: "source_table_not_found" });
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
    const e2 = await failure(rowsOf(c.read({ table: "shop.nope" })));
    expect(e2.code).toBe("source_table_not_found");
    expect(e2.status).toBe(404);
    // MySQL does not say whether a table the user may not read exists: a permission error either way.
    const e3 = await failure(rowsOf(c.read({ table: "other.things" })));
    expect(e3.code).toBe("source_permission_denied");
    expect(e3.message).toContain("SELECT command denied");
    expect(e3.status).toBe(403);
    await c.close();

    const port = await freePort();
    const gone = connector({ hosts: [{ host: "127.0.0.1", port }] });
    const e4 = await failure(gone.test());
    expect(e4.code).toBe("connection_unreachable");
    expect(e4.message).toContain(`127.0.0.1:${port} (connection refused)`);
    await gone.close();

    const noDb = mysqlType.create(
      { hosts: [{ host: server.host, port: server.port }], database: "nowhere", user: "reader", ssl: false },
      { secrets: { password: READER_PASSWORD }, addressPolicy: LOOPBACK },
    );
    const e5 = await failure(noDb.test());
    // MariaDB says "access denied" for a database the user has no rights on, whether it exists or not.
    expect(["connection_database_not_found", "source_permission_denied"]).toContain(e5.code);
    await noDb.close();
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
      expect((await c.preview({ table: "orders" }, 1)).rows).toHaveLength(1);
    } finally {
      await c.close();
    }
  });

  it("queries are one read-only statement: several statements, INTO OUTFILE and locking reads are refused, writes by the server", async () => {
    const c = connector();
    try {
      expect(await rowsOf(c.read({ query: "SELECT count(*) AS n FROM orders WHERE customer <> 'a;b' # ; drop\n;" }))).toEqual([["25"]]);
      expect(await rowsOf(c.read({ query: "SELECT `id` FROM `shop`.`orders` WHERE customer = 'it\\'s' -- none" }))).toEqual([]);
      const several = await failure(rowsOf(c.read({ query: "SELECT 1; DELETE FROM orders" })));
      expect(several.code).toBe("query_several_statements");
      const write = await failure(rowsOf(c.read({ query: "DELETE FROM orders" })));
      expect(write.code).toBe("query_not_read_only");
      const outfile = await failure(rowsOf(c.read({ query: `SELECT * FROM orders INTO OUTFILE '${join(server.dir, "out.csv")}'` })));
      expect(outfile.code).toBe("query_not_read_only");
      for (const locking of [
        "SELECT * FROM orders FOR UPDATE",
        "SELECT * FROM orders LOCK IN SHARE MODE",
        "SELECT * FROM orders /*!50000 FOR UPDATE */",
      ]) {
        expect((await failure(rowsOf(c.read({ query: locking })))).code).toBe("query_not_read_only");
      }
      // Passes the statement check (a function that writes is still a SELECT); the READ ONLY transaction refuses it.
      await server.sql(
        "CREATE FUNCTION shop.wipe() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM shop.orders WHERE id > 1000; RETURN 1; END",
      );
      await server.sql("GRANT EXECUTE ON FUNCTION shop.wipe TO 'reader'@'%'");
      const sneaky = await failure(rowsOf(c.read({ query: "SELECT shop.wipe() AS w" })));
      expect(sneaky.code).toBe("query_not_read_only");
      expect(sneaky.message).toContain("READ ONLY transaction");
      expect(await rowsOf(c.read({ query: "SELECT count(*) FROM orders" }))).toEqual([["25"]]);
      // A query's session is not handed to the next one: a named lock it took is gone with it.
      expect(await rowsOf(c.read({ query: "SELECT GET_LOCK('caretflow-test', 0) AS got" }))).toEqual([["1"]]);
      // (the server frees it once it sees the connection closed)
      await expect
        .poll(() => rowsOf(c.read({ query: "SELECT IS_FREE_LOCK('caretflow-test') AS free" })), { timeout: 5000 })
        .toEqual([["1"]]);
      // A trailing line comment stays inside the statement when it is wrapped (preview, incremental).
      expect((await c.preview({ query: "SELECT id FROM orders ORDER BY id # first ones" }, 2)).rows).toEqual([["1"], ["2"]]);
      expect(await rowsOf(c.readIncremental({ query: "SELECT id FROM orders -- all" }, "id", "23"))).toEqual([["24"], ["25"]]);
    } finally {
      await c.close();
    }
  });

  it("reads statements as the query check does, whatever SQL mode the server defaults to", async () => {
    await server.sql("SET GLOBAL sql_mode = 'ANSI,NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES'");
    const c = connector();
    try {
      const mode = String((await rowsOf(c.read({ query: "SELECT @@SESSION.sql_mode" })))[0]?.[0]);
      expect(mode).toContain("STRICT_TRANS_TABLES");
      expect(mode).not.toMatch(/ANSI_QUOTES|NO_BACKSLASH_ESCAPES/);
      // With the server's modes, "a\" would be a name and the string would end at the backslash.
      expect(await rowsOf(c.read({ query: "SELECT \"it\\\"s\" AS s, 'a\\'b' AS t" }))).toEqual([['it"s', "a'b"]]);
    } finally {
      await server.sql("SET GLOBAL sql_mode = DEFAULT");
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

describe("mysql into the dataset store", () => {
  it("imports a table as a version, then only new rows incrementally", async () => {
    const fx = await openStoreFixture();
    const c = connector();
    try {
      const r1 = await fx.store.importBatches({
        name: "orders",
        batches: c.readIncremental({ table: "shop.orders" }, "id", null),
        source: { kind: "connection", connection: "shop", table: "shop.orders" },
        watermarkColumn: "id",
      });
      expect(r1.version.rowCount).toBe(25);
      expect(r1.version.columns.find((col) => col.name === "at")?.kind).toBe("timestamp");
      expect(r1.version.columns.find((col) => col.name === "paid")?.kind).toBe("boolean");
      expect(r1.version.source.watermark).toEqual({ column: "id", value: "25" });
      await server.sql("INSERT INTO shop.orders (id, customer) VALUES (26, 'new'), (27, 'new')");
      const r2 = await fx.store.importBatches({
        name: "orders",
        batches: c.readIncremental({ table: "shop.orders" }, "id", r1.version.source.watermark!.value),
        source: { kind: "connection", connection: "shop", table: "shop.orders" },
        appendTo: r1.version.version,
        watermarkColumn: "id",
      });
      expect(r2.rowsRead).toBe(2);
      expect(r2.version.version).toBe(2);
      expect(r2.version.rowCount).toBe(27);
      expect(r2.version.source.watermark?.value).toBe("27");
    } finally {
      await server.sql("DELETE FROM shop.orders WHERE id > 25");
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
        for await (const b of c.read({ table: "shop.big" }, { batchRows: 5000 })) {
          yield b;
          if (++batches === 3) await server.stop("immediate");
        }
      }
      const e = await failure(
        fx.store.importBatches({
          name: "big",
          batches: stopping(),
          source: { kind: "connection", connection: "shop", table: "shop.big" },
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
});
