/**
 * Times the dataset profile (stats, top values, histograms, correlations, missing-value pattern) and a
 * set of quality rules on a generated table of 2 million rows (default) and 14 columns.
 *
 *   npx tsx bench/profile-2m.ts [--rows 2000000] [--threads N]
 *
 * The table is written straight to Parquet by DuckDB (no CSV), so only the profile and the rules are timed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { QualityCheck } from "../packages/contracts/src/quality.ts";
import { openDuckDb, withConnection } from "../packages/data/src/duckdb.ts";
import { describeStored } from "../packages/data/src/ingest.ts";
import { profileParquet } from "../packages/data/src/profile.ts";
import { runQualityRules } from "../packages/data/src/quality.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "2000000" }, threads: { type: "string" } } });
const rows = Number(values.rows);
const threads = Number(values.threads ?? availableParallelism());
const dir = await mkdtemp(join(tmpdir(), "caretflow-profile-bench-"));
const path = join(dir, "t.parquet");
const duck = await openDuckDb({ tempDirectory: join(dir, "tmp"), threads });
try {
  await withConnection(duck, (conn) =>
    conn.run(`COPY (
      SELECT i AS id,
        (random() * 1000)::DOUBLE AS price,
        (i % 97)::INTEGER AS qty,
        CASE WHEN i % 11 = 0 THEN NULL ELSE random() * 50 END AS discount,
        (random() * 1e6)::BIGINT AS revenue,
        sin(i / 1000.0) AS wave,
        CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 500) * 1.5 END AS score,
        ['north', 'south', 'east', 'west'][(i % 4) + 1] AS region,
        CASE WHEN i % 7 = 0 THEN NULL ELSE 'c' || (i % 5000)::VARCHAR END AS customer,
        'sku-' || (i % 200)::VARCHAR AS sku,
        DATE '2020-01-01' + (i % 1500)::INTEGER AS day,
        TIMESTAMP '2024-01-01' + to_seconds(i) AS at,
        i % 3 = 0 AS flag,
        CASE WHEN i % 17 = 0 THEN NULL ELSE md5(i::VARCHAR) END AS note
      FROM range(${rows}) t(i)) TO '${path}' (FORMAT parquet)`),
  );
  const { columns, rowCount } = await withConnection(duck, (conn) => describeStored(conn, path));
  let started = performance.now();
  const profile = await withConnection(duck, (conn) => profileParquet(conn, path, { dataset: "bench", version: 1, rowCount, columns }));
  const profileMs = performance.now() - started;
  const rules: QualityCheck[] = [
    { type: "not_null", column: "id" },
    { type: "unique", column: "id" },
    { type: "range", column: "price", min: 0, max: 1000 },
    { type: "allowed_values", column: "region", values: ["north", "south", "east", "west"] },
    { type: "regex", column: "sku", pattern: "sku-\\d+" },
    { type: "row_count", min: 1 },
    { type: "freshness", column: "at", maxAgeHours: 24 * 365 * 10 },
    { type: "sql", sql: "SELECT * FROM data WHERE qty > 90 AND discount > 49.9" },
  ];
  started = performance.now();
  const results = await runQualityRules(
    rules.map((check, i) => ({ id: String(i), name: check.type, check, severity: "warning" as const })),
    { parquetPath: path, columns, rowCount, versionCreatedAt: new Date().toISOString(), workDir: join(dir, "q") },
  );
  const rulesMs = performance.now() - started;
  console.log(
    JSON.stringify(
      {
        rows: rowCount,
        columns: columns.length,
        threads,
        profileSeconds: +(profileMs / 1000).toFixed(2),
        correlatedColumns: profile.correlations?.columns.length,
        missingPatterns: profile.missing?.patterns.length,
        rules: rules.length,
        rulesSeconds: +(rulesMs / 1000).toFixed(2),
        failing: results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.message}`),
      },
      null,
      2,
    ),
  );
} finally {
  duck.closeSync();
  await rm(dir, { recursive: true, force: true });
}
