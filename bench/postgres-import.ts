/**
 * A PostgreSQL table (default 5 million rows, made with generate_series) imported through the
 * connection path: the PostgreSQL connector's read (batches over a cursor) into
 * DatasetStore.importBatches (Parquet parts, then one Parquet file, hashed and versioned). Prints
 * rows per second and this process's peak resident memory, against the baseline of psql's
 * `\copy (SELECT * FROM t) TO file CSV` on the same rows (and that CSV then copied to Parquet by
 * DuckDB, which ends where caretflow ends). A real server is started in a temp folder (Debian's
 * PostgreSQL packages).
 *
 *   npx tsx bench/postgres-import.ts --rows 5000000
 *   npx tsx bench/postgres-import.ts --rows 200000
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import Database from "better-sqlite3";
import { Kysely, type Migration, type MigrationProvider, Migrator, SqliteDialect } from "kysely";
import { postgresType } from "../packages/connectors/src/index.ts";
import { PG_BIN, startPostgres } from "../packages/connectors/test/postgres.fixture.ts";
import { DatasetStore, type DataTables, dataMigrations } from "../packages/data/src/index.ts";
import { memoryOf, mib, resetPeak, run } from "./import-lib.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: process.env.BENCH_ROWS ?? "5000000" },
    dir: { type: "string", default: process.env.BENCH_DIR ?? tmpdir() },
  },
});
const rows = Number(values.rows);
const dir = await mkdtemp(join(values.dir!, "caretflow-pg-import-"));

class Provider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return dataMigrations;
  }
}

const pg = await startPostgres();
try {
  await pg.sql("CREATE DATABASE bench");
  const fill = performance.now();
  await pg.sql(
    `CREATE TABLE t AS SELECT i AS id, (i % 100000) / 100.0::float8 AS amount, ((i * 7919) % 1000) / 1000.0::float8 AS ratio,
       (ARRAY['alpha','beta','gamma','delta','epsilon'])[(i % 5)::int + 1] AS category, 'city ' || (i % 37) AS city,
       DATE '2020-01-01' + (i % 1500)::int AS day, i % 3 = 0 AS active, 'note ' || md5(i::text) AS note
     FROM generate_series(1::bigint, ${rows}::bigint) AS i`,
    [],
    "bench",
  );
  await pg.sql("ANALYZE t", [], "bench");
  console.log(`PostgreSQL table t: ${rows} rows, 8 columns, filled in ${((performance.now() - fill) / 1000).toFixed(1)} s`);

  // Baseline: psql writes the same rows as CSV; DuckDB then makes Parquet of them.
  const csv = join(dir, "t.csv");
  const psql = await run(
    join(PG_BIN, "psql"),
    ["-h", pg.host, "-p", String(pg.port), "-U", "postgres", "-d", "bench", "-c", `\\copy (SELECT * FROM t) TO '${csv}' CSV HEADER`],
    { PGPASSWORD: pg.superPassword },
  );
  if (psql.code !== 0) throw new Error("psql failed");
  const duck = await DuckDBInstance.create(":memory:");
  const conn = await duck.connect();
  const d0 = performance.now();
  await conn.run(`COPY (SELECT * FROM read_csv('${csv}')) TO '${join(dir, "t.parquet")}' (FORMAT parquet)`);
  const duckSeconds = (performance.now() - d0) / 1000;
  conn.closeSync();
  duck.closeSync();
  console.log(
    `psql \\copy to CSV: ${psql.seconds.toFixed(2)} s (${mib((await stat(csv)).size)}); + DuckDB CSV to Parquet: ${duckSeconds.toFixed(2)} s`,
  );
  await rm(csv, { force: true });

  // caretflow: the connector's read into the dataset store.
  const db = new Kysely<DataTables>({ dialect: new SqliteDialect({ database: new Database(join(dir, "meta.db")) }) });
  const { error } = await new Migrator({ db, provider: new Provider() }).migrateToLatest();
  if (error) throw error;
  const store = await DatasetStore.open({ root: join(dir, "datasets"), db });
  const connector = postgresType.create(
    { hosts: [{ host: pg.host, port: pg.port }], database: "bench", user: "postgres", ssl: false },
    { secrets: { password: pg.superPassword }, addressPolicy: { allowPrivateNetworks: true } },
  );
  const before = memoryOf(process.pid).rss;
  resetPeak(process.pid);
  let sampled = 0;
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, memoryOf(process.pid).rss);
  }, 100);
  const start = performance.now();
  const result = await store.importBatches({
    name: "pg",
    batches: connector.read({ table: "public.t" }),
    source: { kind: "connection", connection: "bench", table: "public.t" },
  });
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  const peak = Math.max(memoryOf(process.pid).peak, sampled);
  await connector.close();
  await store.close();
  await db.destroy();
  const base = psql.seconds + duckSeconds;
  console.log(
    `caretflow connection import: ${result.rowsRead} rows in ${seconds.toFixed(2)} s = ${Math.round(result.rowsRead / seconds)} rows/s`,
  );
  console.log(`  psql alone: ${Math.round(rows / psql.seconds)} rows/s; psql + DuckDB: ${Math.round(rows / base)} rows/s`);
  console.log(
    `  ratio caretflow / (psql + DuckDB): ${(seconds / base).toFixed(2)}x; caretflow / psql alone: ${(seconds / psql.seconds).toFixed(2)}x`,
  );
  console.log(
    `  peak resident memory of this process: ${mib(peak)} (before the import ${mib(before)}); goal <= 1 GB: ${peak <= 1e9 ? "met" : "NOT met"}`,
  );
} finally {
  await pg.close();
  await rm(dir, { recursive: true, force: true });
}
