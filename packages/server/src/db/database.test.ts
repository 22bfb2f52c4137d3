import { dataMigrations } from "@caretflow/data";
import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import { databaseTarget, maskDatabaseUrl, migrateToLatest, openDatabase } from "./database.ts";
import { serverMigrations } from "./server.migrations.ts";

describe("databaseTarget", () => {
  it.each([
    ["postgres://cf:secret@db.example:5432/caretflow", { kind: "postgres", url: "postgres://cf:secret@db.example:5432/caretflow" }],
    ["postgresql://db/caretflow?sslmode=require", { kind: "postgres", url: "postgresql://db/caretflow?sslmode=require" }],
    ["/srv/caretflow/meta.db", { kind: "sqlite", path: "/srv/caretflow/meta.db" }],
    ["meta.db", { kind: "sqlite", path: "/work/here/meta.db" }],
  ])("reads %s", (raw, expected) => {
    expect(databaseTarget(raw, "/work/here")).toEqual(expected);
  });

  it.each([
    ["mysql://root:hunter2@db/caretflow", /neither a PostgreSQL URL nor a SQLite file path/],
    ["sqlite:///tmp/x.db", /neither a PostgreSQL URL nor a SQLite file path/],
    ["postgres://cf:hunter2@db", /names no host or no database/],
    ["", /neither/],
  ])("refuses %s without echoing its password", (raw, message) => {
    let error: unknown;
    try {
      databaseTarget(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: "invalid_database", message: expect.stringMatching(message) });
    expect(String((error as Error).message)).not.toContain("hunter2");
  });

  it("masks passwords in URLs", () => {
    expect(maskDatabaseUrl("postgres://cf:p%40ss@db:5432/caretflow")).toBe("postgres://cf:***@db:5432/caretflow");
    expect(maskDatabaseUrl("postgres://db/caretflow?password=x&sslmode=require")).toBe(
      "postgres://db/caretflow?password=***&sslmode=require",
    );
    expect(maskDatabaseUrl("postgres://cf@db/caretflow")).toBe("postgres://cf@db/caretflow");
  });
});

describe("openDatabase on PostgreSQL", () => {
  it("says which server it could not reach, without the password", async () => {
    const err = await openDatabase(databaseTarget("postgres://cf:hunter2@127.0.0.1:1/caretflow")).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "database_unavailable" });
    expect((err as Error).message).toContain("postgres://cf:***@127.0.0.1:1/caretflow");
    expect((err as Error).message).not.toContain("hunter2");
  });
});

/**
 * Tables -> "column:nullable:type family", to compare the two databases' schemas. SQLite lets a
 * single-column primary key that is not INTEGER hold NULL (a quirk PostgreSQL has not): such columns
 * count as not null, as caretflow never stores NULL there.
 */
async function schemaOf(db: Kysely<unknown>, kind: "sqlite" | "postgres"): Promise<Record<string, string[]>> {
  const family = (t: string) =>
    /int|serial/i.test(t) ? "integer" : /char|text|clob/i.test(t) ? "text" : /double|float8/i.test(t) ? "double" : t.toLowerCase();
  const out: Record<string, string[]> = {};
  for (const t of await db.introspection.getTables()) {
    const keys =
      kind === "sqlite"
        ? new Set(
            (await sql<{ name: string }>`select name from pragma_table_info(${t.name}) where pk > 0`.execute(db)).rows.map((r) => r.name),
          )
        : new Set<string>();
    out[t.name] = t.columns.map((c) => `${c.name}:${c.isNullable && !keys.has(c.name) ? "null" : "not null"}:${family(c.dataType)}`).sort();
  }
  return out;
}

const schemas: Partial<Record<"sqlite" | "postgres", Record<string, string[]>>> = {};

forEachDatabase("migrations", (dbs) => {
  it("apply once, then find nothing to do, on a database opened again", async () => {
    const target = await dbs.empty();
    const first = await openDatabase(target);
    const applied = await migrateToLatest(first, serverMigrations, dataMigrations);
    expect(applied).toEqual(Object.keys({ ...serverMigrations, ...dataMigrations }).sort());
    schemas[dbs.kind] = await schemaOf(first, dbs.kind);
    await first.destroy();
    const again = await openDatabase(target);
    try {
      expect(await migrateToLatest(again, serverMigrations, dataMigrations)).toEqual([]);
    } finally {
      await again.destroy();
    }
  });
});

describe("the schema", () => {
  it("is the same on SQLite and PostgreSQL", () => {
    // Filled by the suites above; vitest runs a file's suites in order.
    expect(Object.keys(schemas).sort()).toEqual(["postgres", "sqlite"]);
    expect(schemas.postgres).toEqual(schemas.sqlite);
    expect(Object.keys(schemas.sqlite ?? {})).toContain("pipeline_steps");
  });
});
