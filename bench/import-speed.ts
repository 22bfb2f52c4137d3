/**
 * Import speed: one generated CSV (mixed column types, deterministic) through
 *   1. a bare DuckDB COPY to Parquet (the same @duckdb/node-api, its defaults, in a process of its own),
 *   2. pandas read_csv + to_parquet (engine/.venv, pyarrow; timed after its imports),
 *   3. caretflow's server-side import (DatasetStore.importFile on a fresh store, in a process of its own),
 *   4. the whole `caretflow datasets import FILE` (a CLI process uploading to a served caretflow),
 * in one run, and prints the ratios with their goals and where caretflow's time went.
 *
 *   npx tsx bench/import-speed.ts --size 1GB            # the figure in bench/README.md
 *   npx tsx bench/import-speed.ts --size 50MB --repeat 2
 *   npx tsx bench/import-speed.ts --csv kept.csv --repeat 3   # an existing file (bench/gen-csv.ts makes one)
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { ImportPhase } from "@caretflow/contracts";
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
    /** An existing CSV to import instead of a generated one (e.g. one kept from an earlier run). */
    csv: { type: "string" },
    /** Only these contenders, e.g. duckdb,cli (duckdb, pandas, server, cli). */
    only: { type: "string" },
    /** Internal: run one contender in this (child) process and print its result as JSON. */
    child: { type: "string" },
    out: { type: "string" },
  },
});
/** Run one contender (bare DuckDB or caretflow's server-side import) in a fresh Node process. */
async function inChild<T>(mode: "duckdb" | "server", csv: string, out: string): Promise<T> {
  const r = await run(process.execPath, [
    "--import",
    "tsx",
    resolve(root, "bench/import-speed.ts"),
    "--child",
    mode,
    "--csv",
    csv,
    "--out",
    out,
  ]);
  if (r.code !== 0) throw new Error(`${mode} failed (${r.code})`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as T;
}
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

async function serverSide(csv: string, work: string) {
  const home = join(work, "store");
  await mkdir(work, { recursive: true });
  const db = new Kysely<DataTables>({ dialect: new SqliteDialect({ database: new Database(join(work, "meta.db")) }) });
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
    await rm(work, { recursive: true, force: true });
  }
}

if (values.child) {
  // A contender in its own process: neither DuckDB's memory nor its threads outlive it into the next one.
  const result =
    values.child === "duckdb" ? { seconds: await bareDuckdb(values.csv!, values.out!) } : await serverSide(values.csv!, values.out!);
  console.log(JSON.stringify(result));
  process.exit(0);
}
const size = parseSize(values.size!);
const repeat = Number(values.repeat);
const dir = await mkdtemp(join(values.dir!, "caretflow-import-speed-"));

try {
  const csv = values.csv ? resolve(values.csv) : join(dir, "bench.csv");
  if (!values.csv) {
    const genStart = performance.now();
    const gen = await generateCsv(csv, size);
    console.log(
      `generated ${csv}: ${(gen.bytes / 1e6).toFixed(0)} MB, ${gen.rows} rows, 8 columns (int, 2 float, 2 text, date, bool, text) in ${((performance.now() - genStart) / 1000).toFixed(1)} s`,
    );
  }
  // Each contender starts with the page cache clean: the generated file's (and the previous contender's)
  // writes are flushed first, so their write-back does not land on the next one's time.
  const settle = () => execFileSync("sync");
  const served = await startServer();
  const times = { duckdb: [] as number[], pandas: [] as number[], server: [] as number[], cli: [] as number[] };
  try {
    const contenders: Record<string, (i: number) => Promise<void>> = {
      duckdb: async (i) => {
        times.duckdb.push((await inChild<{ seconds: number }>("duckdb", csv, join(dir, "duckdb.parquet"))).seconds);
        console.log(`[${i + 1}] bare DuckDB COPY:            ${times.duckdb.at(-1)!.toFixed(2)} s`);
      },
      pandas: async (i) => {
        if (values["skip-pandas"]) return;
        times.pandas.push(await pandas(csv, join(dir, "pandas.parquet")));
        console.log(`[${i + 1}] pandas read_csv+to_parquet:  ${times.pandas.at(-1)!.toFixed(2)} s`);
      },
      server: async (i) => {
        const s = await inChild<{ seconds: number; phases: ImportPhase[]; rows: number }>("server", csv, join(dir, `store-${i}`));
        times.server.push(s.seconds);
        console.log(`[${i + 1}] caretflow server-side:       ${s.seconds.toFixed(2)} s (${s.rows} rows; ${formatPhases(s.phases)})`);
      },
      cli: async (i) => {
        const c = await cliImport(served, csv, `bench-${i}`);
        times.cli.push(c.seconds);
        console.log(`[${i + 1}] caretflow datasets import:   ${c.seconds.toFixed(2)} s (${formatPhases(c.phases)})`);
      },
    };
    const order = Object.keys(contenders).filter((k) => !values.only || values.only.split(",").includes(k));
    for (let i = 0; i < repeat; i++) {
      // The order rotates from one repeat to the next, so no contender always runs after the same one.
      for (let k = 0; k < order.length; k++) {
        settle();
        await contenders[order[(i + k) % order.length]!]!(i);
      }
    }
  } finally {
    await served.stop();
  }
  const median = (xs: number[]) => (xs.length === 0 ? Number.NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const d = median(times.duckdb);
  const s = median(times.server);
  const c = median(times.cli);
  const p = median(times.pandas);
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  const line = (label: string, value: number, goal: string, ok: boolean) => {
    if (Number.isFinite(value)) console.log(`  ${label.padEnd(26)}${value.toFixed(2)}x${goal ? `  (goal ${goal}: ${verdict(ok)})` : ""}`);
  };
  console.log(`\nmedians over ${repeat} run(s), ${((await stat(csv)).size / 1e6).toFixed(0)} MB:`);
  line("server-side / DuckDB", s / d, "<= 1.15", s / d <= 1.15);
  line("whole CLI import / DuckDB", c / d, "<= 1.5", c / d <= 1.5);
  line("pandas / server-side", p / s, ">= 4 (times faster)", p / s >= 4);
  line("pandas / whole CLI import", p / c, "", true);
  // What the hardware allows: how much faster than pandas DuckDB itself is here.
  line("pandas / bare DuckDB", p / d, "", true);
  console.log(`  CSV ${(await stat(csv)).size} bytes`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
