import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connector, fileUnderRoot, sqliteType } from "../src/index.ts";
import { connectorContract } from "./contract.ts";

let dir: string;
let root: string;
const ROWS = 12;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-sqlite-"));
  root = join(dir, "files");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(root);
  const db = new Database(join(root, "shop.sqlite"));
  db.exec(`
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, score REAL, joined DATE, photo BLOB);
    CREATE VIEW big_scores AS SELECT id, score FROM customers WHERE score > 5;
  `);
  const insert = db.prepare("INSERT INTO customers VALUES (?, ?, ?, ?, ?)");
  for (let i = 1; i <= ROWS; i++) insert.run(i, `c${i}`, i / 2, `2026-01-${String(i).padStart(2, "0")}`, Buffer.from([i]));
  db.close();
  // A database outside the root, reachable only through a symlink inside it.
  const outside = new Database(join(dir, "outside.sqlite"));
  outside.exec("CREATE TABLE secret (x TEXT); INSERT INTO secret VALUES ('outside')");
  outside.close();
  await symlink(join(dir, "outside.sqlite"), join(root, "link.sqlite"));
  await writeFile(join(root, "notes.db"), "not a database at all, just some text that is long enough to be read");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const make = (file: string, fileRoot: string | null = root): Connector =>
  sqliteType.create(
    { file },
    { secrets: {}, addressPolicy: { allowPrivateNetworks: false, allowList: [] }, ...(fileRoot ? { fileRoot } : {}) },
  );

connectorContract("sqlite", async () => ({
  connector: make("shop.sqlite"),
  fixtures: {
    table: "main.customers",
    rowCount: ROWS,
    watermarkColumn: "id",
    tableParent: "main",
    missingTable: "main.nope",
    secrets: [],
  },
}));

async function rows(c: Connector, source: { table: string } | { query: string }) {
  const out: unknown[][] = [];
  for await (const b of c.read(source)) for (const r of b.rows) out.push([...r]);
  return out;
}

describe("sqlite connector", () => {
  it("lists tables and views with row counts, columns with their declared types, and maps types", async () => {
    const c = make("shop.sqlite");
    expect(await c.discover()).toEqual([{ name: "main", path: "main", kind: "schema" }]);
    expect(await c.discover("main")).toEqual([
      { name: "big_scores", path: "main.big_scores", kind: "view", rowEstimate: 2 },
      { name: "customers", path: "main.customers", kind: "table", rowEstimate: ROWS },
    ]);
    const cols = await c.discover("main.customers");
    expect(cols.map((x) => [x.name, x.type])).toEqual([
      ["id", "INTEGER"],
      ["name", "TEXT"],
      ["score", "REAL"],
      ["joined", "DATE"],
      ["photo", "BLOB"],
    ]);
    const p = await c.preview({ table: "customers" }, 1);
    expect(p.columns).toEqual([
      { name: "id", duckdbType: "BIGINT" },
      { name: "name", duckdbType: "VARCHAR" },
      { name: "score", duckdbType: "DOUBLE" },
      { name: "joined", duckdbType: "VARCHAR" },
      { name: "photo", duckdbType: "VARCHAR" },
    ]);
    expect(p.rows).toEqual([[1n, "c1", 0.5, "2026-01-01", Buffer.from([1]).toString("base64")]]);
    expect((await c.test()).serverVersion).toMatch(/^SQLite 3\./);
  });

  it("runs a read-only query; writes, ATTACH and several statements are refused", async () => {
    const c = make("shop.sqlite");
    expect(await rows(c, { query: "SELECT name FROM customers WHERE id <= 2 ORDER BY id" })).toEqual([["c1"], ["c2"]]);
    await expect(rows(c, { query: "DELETE FROM customers" })).rejects.toMatchObject({ code: "query_not_read_only" });
    await expect(rows(c, { query: `ATTACH DATABASE '${join(dir, "outside.sqlite")}' AS o` })).rejects.toMatchObject({
      code: "query_not_read_only",
    });
    await expect(rows(c, { query: "SELECT 1; DELETE FROM customers" })).rejects.toThrow();
    await expect(rows(c, { query: "SELECT nope FROM customers" })).rejects.toMatchObject({ code: "query_invalid" });
    expect(await rows(c, { query: "SELECT count(*) FROM customers" })).toEqual([[String(ROWS)]]);
  });

  it("opens only files under its root: no .., absolute path or symlink out of it; not a database says so", async () => {
    expect(() => fileUnderRoot(root, "../outside.sqlite")).toThrow(/not a file caretflow stores/);
    expect(() => fileUnderRoot(root, join(dir, "outside.sqlite"))).toThrow(/not a file caretflow stores/);
    expect(() => fileUnderRoot(root, "link.sqlite")).toThrow(/not a file caretflow stores/);
    expect(() => fileUnderRoot(root, "missing.sqlite")).toThrow(/not stored on this server/);
    expect(fileUnderRoot(root, "shop.sqlite")).toMatch(/shop\.sqlite$/);
    await expect(make("link.sqlite").test()).rejects.toMatchObject({ code: "sqlite_file_refused" });
    await expect(make("notes.db").test()).rejects.toMatchObject({ code: "sqlite_file_invalid" });
    await expect(make("shop.sqlite", null).test()).rejects.toMatchObject({ code: "sqlite_not_configured" });
    expect(sqliteType.settings.safeParse({ file: "../x.sqlite" }).success).toBe(false);
    expect(sqliteType.settings.safeParse({ file: "/etc/passwd" }).success).toBe(false);
  });
});
