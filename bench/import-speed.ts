/**
 * Import speed: one generated CSV (mixed column types, deterministic) through
 *   1. a bare DuckDB COPY to Parquet (the same @duckdb/node-api, its defaults, in this process),
 *   2. pandas read_csv + to_parquet (engine/.venv, pyarrow; timed after its imports),
 *   3. caretflow's server-side import (DatasetStore.importFile on a fresh store),
 *   4. the whole `caretflow datasets import FILE` (a CLI process uploading to a served caretflow),
 * in one run, and prints the ratios with their goals and where caretflow's time went.
 *
 *   npx tsx bench/import-speed.ts --size 1GB            # the figure in bench/README.md
 *   npx tsx bench/import-speed.ts --size 50MB --repeat 2
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import Database from "better-sqlite3";
import { Kysely, type Migration, type MigrationProvider, Migrator, SqliteDialect } from "kysely";
import { DatasetStore, type DataTables, dataMigrations } from "../packages/data/src/index.ts";
import { generateCsv, parseSize } from "./gen-csv.ts";
import { cliImport, formatPhases, root, run, startServer } from "./import-lib.ts";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: process.env.BENCH_SIZE ?? "1GB" },
    repeat: { type: "string", default: "1" },
    dir: { type: "string", default: process.env.BENCH_DIR ?? tmpdir() },
    "skip-pandas": { type: "boolean", default: false },
  },
});
const size = parseSize(values.size!);
const repeat = Number(values.repeat);
const dir = await mkdtemp(join(values.dir!, "caretflow-import-speed-"));
const python = resolve(root, "engine/.venv/bin/python");

class Provider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return dataMigrations;
  }
}

async function bareDuckdb(csv: string, out: string): Promise<number> {
  const duck = await DuckDBInstance.create(":memory:");
  const conn = await duck.connect();
  try {
    const start = performance.now();
    await conn.run(`COPY (SELECT * FROM read_csv('${csv}')) TO '${out}' (FORMAT parquet)`);
    return (performance.now() - start) / 1000;
  } finally {
    conn.closeSync();
    duck.closeSync();
    await rm(out, { force: true });
  }
}

async function pandas(csv: string, out: string): Promise<number> {
  const code = [
    "import sys, time",
    "import pandas as pd",
    "t = time.perf_counter()",
    "pd.read_csv(sys.argv[1]).to_parquet(sys.argv[2])",
    "print(time.perf_counter() - t)",
  ].join("\n");
  const r = await run(python, ["-c", code, csv, out]);
  await rm(out, { force: true });
  if (r.code !== 0) throw new Error("pandas failed");
  return Number(r.stdout.trim());
}

async function serverSide(csv: string, i: number) {
  const home = join(dir, `store-${i}`);
  const db = new Kysely<DataTables>({ dialect: new SqliteDialect({ database: new Database(join(dir, `meta-${i}.db`)) }) });
  const { error } = await new Migrator({ db, provider: new Provider() }).migrateToLatest();
  if (error) throw error;
  const store = await DatasetStore.open({ root: home, db });
  try {
    const start = performance.now();
    const r = await store.importFile({ path: csv, name: "bench", filename: "bench.csv" });
    return { seconds: (performance.now() - start) / 1000, phases: r.phases ?? [], rows: r.version.rowCount };
  } finally {
    await store.close();
    await db.destroy();
    await rm(home, { recursive: true, force: true });
  }
}

try {
  const csv = join(dir, "bench.csv");
  const genStart = performance.now();
  const gen = await generateCsv(csv, size);
  console.log(
    `generated ${csv}: ${(gen.bytes / 1e6).toFixed(0)} MB, ${gen.rows} rows, 8 columns (int, 2 float, 2 text, date, bool, text) in ${((performance.now() - genStart) / 1000).toFixed(1)} s`,
  );
  const served = await startServer();
  const times = { duckdb: [] as number[], pandas: [] as number[], server: [] as number[], cli: [] as number[] };
  try {
    for (let i = 0; i < repeat; i++) {
      times.duckdb.push(await bareDuckdb(csv, join(dir, "duckdb.parquet")));
      console.log(`[${i + 1}] bare DuckDB COPY:            ${times.duckdb.at(-1)!.toFixed(2)} s`);
      if (!values["skip-pandas"]) {
        times.pandas.push(await pandas(csv, join(dir, "pandas.parquet")));
        console.log(`[${i + 1}] pandas read_csv+to_parquet:  ${times.pandas.at(-1)!.toFixed(2)} s`);
      }
      const s = await serverSide(csv, i);
      times.server.push(s.seconds);
      console.log(`[${i + 1}] caretflow server-side:       ${s.seconds.toFixed(2)} s (${s.rows} rows; ${formatPhases(s.phases)})`);
      const c = await cliImport(served, csv, `bench-${i}`);
      times.cli.push(c.seconds);
      console.log(`[${i + 1}] caretflow datasets import:   ${c.seconds.toFixed(2)} s (${formatPhases(c.phases)})`);
    }
  } finally {
    await served.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const d = median(times.duckdb);
  const s = median(times.server);
  const c = median(times.cli);
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  console.log(`\nmedians over ${repeat} run(s), ${(size / 1e6).toFixed(0)} MB:`);
  console.log(`  server-side / DuckDB      ${(s / d).toFixed(2)}x  (goal <= 1.15: ${verdict(s / d <= 1.15)})`);
  console.log(`  whole CLI import / DuckDB ${(c / d).toFixed(2)}x  (goal <= 1.5: ${verdict(c / d <= 1.5)})`);
  if (times.pandas.length > 0) {
    const p = median(times.pandas);
    console.log(`  pandas / server-side      ${(p / s).toFixed(2)}x faster (goal >= 4: ${verdict(p / s >= 4)})`);
    console.log(`  pandas / whole CLI import ${(p / c).toFixed(2)}x faster`);
  }
  console.log(`  CSV ${(await stat(csv)).size} bytes`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
