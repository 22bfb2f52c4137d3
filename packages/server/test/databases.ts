import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataMigrations } from "@caretflow/data";
import type { Kysely, Migration } from "kysely";
import pg from "pg";
import { afterAll, describe } from "vitest";
import { type PostgresServer, startPostgres } from "../../connectors/test/postgres.fixture.ts";
import { type DatabaseTarget, migrateToLatest, openDatabase } from "../src/db/database.ts";
import { serverMigrations } from "../src/db/server.migrations.ts";

export type DatabaseKind = DatabaseTarget["kind"];

/** One database a suite runs on: a fresh one per `fresh()` call. */
export interface TestDatabases {
  readonly kind: DatabaseKind;
  /**
   * A new, empty database with the migrations applied (the server's and the dataset store's unless
   * `migrations` says otherwise), and its target, to open it again as another process would.
   */
  fresh<DB>(opts?: { migrations?: Array<Record<string, Migration>> }): Promise<{ db: Kysely<DB>; target: DatabaseTarget }>;
  /** A new, empty database without migrations (for tests of the migrations themselves). */
  empty(): Promise<DatabaseTarget>;
}

/**
 * PostgreSQL for this test file: the server CARETFLOW_TEST_POSTGRES_URL names (a superuser's URL,
 * e.g. a CI service), else one started from Debian's binaries on first use and stopped after the file.
 */
let server: Promise<{ adminUrl: string; close(): Promise<void> }> | null = null;
let serverClosing = false;
let counter = 0;
/** Databases this file created on a server it shares with other files, dropped when the file ends. */
const created: string[] = [];

function postgres(): Promise<{ adminUrl: string; close(): Promise<void> }> {
  if (!server) {
    const fromEnv = process.env.CARETFLOW_TEST_POSTGRES_URL;
    server = fromEnv
      ? Promise.resolve({ adminUrl: fromEnv, close: async () => {} })
      : startPostgres().then((s: PostgresServer) => ({
          adminUrl: `postgres://postgres:${encodeURIComponent(s.superPassword)}@${s.host}:${s.port}/postgres`,
          close: () => s.close(),
        }));
  }
  return server;
}

async function createDatabase(template?: string): Promise<DatabaseTarget> {
  const { adminUrl } = await postgres();
  // Unique across files sharing one server (CARETFLOW_TEST_POSTGRES_URL) and across suites of a file.
  const name = `cf_test_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
    created.push(name);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { kind: "postgres", url: url.toString() };
}

/** Migrated databases to copy (CREATE DATABASE ... TEMPLATE is much faster than migrating each), by migration names. */
const templates = new Map<string, Promise<string>>();

async function migratedPostgres(migrations: Array<Record<string, Migration>>): Promise<DatabaseTarget> {
  const key = migrations.flatMap((m) => Object.keys(m)).join(",");
  let template = templates.get(key);
  if (!template) {
    template = (async () => {
      const target = await createDatabase();
      const db = await openDatabase(target);
      try {
        await migrateToLatest(db, ...migrations);
      } finally {
        // A template must have no open connections when it is copied.
        await db.destroy();
      }
      return new URL((target as { url: string }).url).pathname.slice(1);
    })();
    templates.set(key, template);
  }
  return await createDatabase(await template);
}

/**
 * Runs `suite` once on SQLite and once on PostgreSQL, in describe blocks named "<name> (sqlite)" and
 * "<name> (postgres)": the same tests must pass on both metadata databases. PostgreSQL starts once per
 * test file; every `fresh()` is a new database on it (or a new SQLite file).
 * @example forEachDatabase("job repository", (dbs) => { beforeEach(async () => { ({ db } = await dbs.fresh()); }); ... });
 */
export function forEachDatabase(name: string, suite: (dbs: TestDatabases) => void): void {
  if (!serverClosing) {
    serverClosing = true;
    // Registered in the file's scope, so the server outlives every suite of the file.
    afterAll(async () => {
      if (!server) return;
      const { adminUrl, close } = await server;
      if (process.env.CARETFLOW_TEST_POSTGRES_URL && created.length > 0) {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        try {
          // Copies first, then the templates they were made from.
          for (const name of created.reverse()) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await client.end();
        }
      }
      await close();
    });
  }
  for (const kind of ["sqlite", "postgres"] as const) {
    describe(`${name} (${kind})`, () => {
      const opened: Kysely<unknown>[] = [];
      const dirs: string[] = [];
      const empty = async (): Promise<DatabaseTarget> => {
        if (kind === "postgres") return await createDatabase();
        const dir = await mkdtemp(join(tmpdir(), "caretflow-db-"));
        dirs.push(dir);
        return { kind: "sqlite", path: join(dir, "caretflow.db") };
      };
      afterAll(async () => {
        for (const db of opened) await db.destroy();
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      });
      suite({
        kind,
        empty,
        async fresh<DB>(opts: { migrations?: Array<Record<string, Migration>> } = {}) {
          const migrations = opts.migrations ?? [serverMigrations, dataMigrations];
          const target = kind === "postgres" ? await migratedPostgres(migrations) : await empty();
          const db = await openDatabase<DB>(target);
          opened.push(db as Kysely<unknown>);
          // On PostgreSQL a copy of the migrated template: nothing is pending, and migrating again must say so.
          const applied = await migrateToLatest(db as Kysely<unknown>, ...migrations);
          if (kind === "postgres" && applied.length > 0) throw new Error(`the template database missed ${applied.join(", ")}`);
          return { db, target };
        },
      });
    });
  }
}
