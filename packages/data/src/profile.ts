import {
  type ColumnProfile,
  type ColumnSchema,
  type DatasetProfile,
  type MissingPattern,
  PROFILE_SHAPE,
  type ProfileCorrelations,
} from "@caretflow/contracts";
import type { DuckDBConnection } from "@duckdb/node-api";
import { isNumericKind } from "./column-kind.ts";
import { displayExpr, sqlIdent, sqlString } from "./duckdb.ts";
import { toJsonSafe } from "./json-safe.ts";

export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;
/** Correlations cover at most this many numeric columns (the first ones), so the matrix stays readable. */
export const MAX_CORRELATION_COLUMNS = 30;
/** The missing-value pattern keeps this many of the most frequent patterns. */
export const MISSING_PATTERNS = 15;

interface ColumnStats {
  count: number;
  distinct: number;
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  std: number | null;
}

/**
 * Profile every column of a stored Parquet file with five DuckDB queries: one aggregate pass for
 * counts/min/max/mean/std (sample standard deviation, n-1, like pandas), one for the top values of
 * every column, one for the histograms of numeric columns, one for the Pearson correlations of every
 * pair of numeric columns, and one grouping rows by which columns are null (the missing-value pattern).
 */
export async function profileParquet(
  conn: DuckDBConnection,
  parquetPath: string,
  meta: { dataset: string; version: number; rowCount: number; columns: readonly ColumnSchema[] },
): Promise<DatasetProfile> {
  await conn.run(`CREATE OR REPLACE TEMP VIEW t AS SELECT * FROM read_parquet(${sqlString(parquetPath)})`);
  const stats = await columnStats(conn, meta.columns);
  const tops = await topValues(conn, meta.columns);
  const histograms = await histogramsOf(conn, meta.columns, stats);
  const correlations = await correlationsOf(conn, meta.columns);
  const rowCount = meta.rowCount;
  const missing = await missingPatternOf(
    conn,
    meta.columns.map((c, i) => ({ name: c.name, nulls: rowCount - stats[i]!.count })),
    rowCount,
  );
  const columns: ColumnProfile[] = meta.columns.map((c, i) => {
    const s = stats[i]!;
    const nulls = rowCount - s.count;
    return {
      name: c.name,
      kind: c.kind,
      duckdbType: c.duckdbType,
      count: s.count,
      nulls,
      nullFraction: rowCount === 0 ? 0 : nulls / rowCount,
      distinct: s.distinct,
      min: s.min,
      max: s.max,
      mean: s.mean,
      std: s.std,
      topValues: tops.get(i) ?? [],
      histogram: isNumericKind(c.kind) ? (histograms.get(i) ?? []) : null,
    };
  });
  return { dataset: meta.dataset, version: meta.version, rowCount, columns, shape: PROFILE_SHAPE, correlations, missing };
}

/** Pearson correlation of every pair of numeric columns, in one aggregate pass. */
async function correlationsOf(conn: DuckDBConnection, columns: readonly ColumnSchema[]): Promise<ProfileCorrelations> {
  const numeric = columns.filter((c) => isNumericKind(c.kind)).slice(0, MAX_CORRELATION_COLUMNS);
  const n = numeric.length;
  const matrix: (number | null)[][] = numeric.map((_, i) => numeric.map((_, j) => (i === j ? 1 : null)));
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
  if (pairs.length > 0) {
    const x = (c: ColumnSchema) => `CAST(${sqlIdent(c.name)} AS DOUBLE)`;
    const reader = await conn.runAndReadAll(
      `SELECT ${pairs.map(([i, j]) => `corr(${x(numeric[i]!)}, ${x(numeric[j]!)})`).join(", ")} FROM t`,
    );
    const row = reader.getRowsJS()[0] ?? [];
    pairs.forEach(([i, j], k) => {
      const r = finiteOrNull(row[k]);
      matrix[i]![j] = r;
      matrix[j]![i] = r;
    });
  }
  // A constant column correlates with nothing, itself included.
  for (let i = 0; i < n; i++) if (matrix[i]!.every((v, j) => j === i || v === null) && n > 1) matrix[i]![i] = null;
  return { columns: numeric.map((c) => c.name), matrix };
}

/** Rows grouped by which columns are null, most frequent patterns first, in one GROUP BY. */
async function missingPatternOf(
  conn: DuckDBConnection,
  nullsPerColumn: Array<{ name: string; nulls: number }>,
  rowCount: number,
): Promise<MissingPattern> {
  const withNulls = nullsPerColumn.filter((c) => c.nulls > 0).map((c) => c.name);
  const perColumn = nullsPerColumn.map((c) => ({ column: c.name, nulls: c.nulls }));
  if (withNulls.length === 0) {
    return { columns: [], nullsPerColumn: perColumn, patterns: rowCount > 0 ? [{ missing: [], count: rowCount }] : [], otherRows: 0 };
  }
  const flags = withNulls.map((name, i) => `${sqlIdent(name)} IS NULL AS m${i}`);
  const reader = await conn.runAndReadAll(
    `SELECT ${flags.join(", ")}, count(*) AS n FROM t GROUP BY ALL ORDER BY n DESC LIMIT ${MISSING_PATTERNS}`,
  );
  const patterns = reader.getRowsJS().map((row) => ({
    missing: withNulls.filter((_, i) => row[i] === true),
    count: Number(row[withNulls.length]),
  }));
  const listed = patterns.reduce((sum, p) => sum + p.count, 0);
  return { columns: withNulls, nullsPerColumn: perColumn, patterns, otherRows: rowCount - listed };
}

async function columnStats(conn: DuckDBConnection, columns: readonly ColumnSchema[]): Promise<ColumnStats[]> {
  const parts = columns.map((c) => {
    const id = sqlIdent(c.name);
    const comparable = c.kind !== "other";
    // Booleans: the mean is the fraction of true values, which is what a person wants to know.
    const numeric = isNumericKind(c.kind) ? `CAST(${id} AS DOUBLE)` : c.kind === "boolean" ? `CAST(${id} AS INTEGER)` : null;
    return [
      `count(${id})`,
      comparable ? `count(DISTINCT ${id})` : `count(DISTINCT CAST(${id} AS VARCHAR))`,
      comparable ? `min(${displayExpr(c)})` : "NULL",
      comparable ? `max(${displayExpr(c)})` : "NULL",
      numeric ? `avg(${numeric})` : "NULL",
      isNumericKind(c.kind) ? `stddev_samp(${numeric})` : "NULL",
    ].join(", ");
  });
  if (parts.length === 0) return [];
  const reader = await conn.runAndReadAll(`SELECT ${parts.join(", ")} FROM t`);
  const row = reader.getRowsJS()[0] ?? [];
  return columns.map((c, i) => {
    const [count, distinct, min, max, mean, std] = row.slice(i * 6, i * 6 + 6);
    return {
      count: Number(count),
      distinct: Number(distinct),
      min: asMinMax(toJsonSafe(min, c.kind), c.kind === "boolean"),
      max: asMinMax(toJsonSafe(max, c.kind), c.kind === "boolean"),
      mean: finiteOrNull(mean),
      std: finiteOrNull(std),
    };
  });
}

function asMinMax(value: unknown, isBoolean: boolean): number | string | null {
  if (value === null) return null;
  if (isBoolean || typeof value === "boolean") return String(value);
  return typeof value === "number" || typeof value === "string" ? value : String(value);
}

function finiteOrNull(value: unknown): number | null {
  const n = typeof value === "bigint" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
}

async function topValues(
  conn: DuckDBConnection,
  columns: readonly ColumnSchema[],
): Promise<Map<number, { value: string | null; count: number }[]>> {
  const result = new Map<number, { value: string | null; count: number }[]>();
  if (columns.length === 0) return result;
  const selects = columns.map((c, i) => {
    const id = sqlIdent(c.name);
    return `(SELECT ${i} AS col, CAST(${id} AS VARCHAR) AS value, count(*) AS n FROM t WHERE ${id} IS NOT NULL GROUP BY 2 ORDER BY n DESC, value LIMIT ${TOP_VALUES})`;
  });
  const reader = await conn.runAndReadAll(selects.join(" UNION ALL "));
  for (const [col, value, n] of reader.getRowsJS()) {
    const list = result.get(Number(col)) ?? [];
    list.push({ value: value === null ? null : String(value), count: Number(n) });
    result.set(Number(col), list);
  }
  // UNION ALL does not keep each part's order; restore it.
  for (const list of result.values()) list.sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)));
  return result;
}

/** Bin layout for a numeric column: integer columns with a small range get one bin per value. Pure. */
export function binLayout(min: number, max: number, integer: boolean): { lo: number; width: number; bins: number } {
  if (!(max > min)) return { lo: min, width: 0, bins: 1 };
  const bins = integer && max - min + 1 <= HISTOGRAM_BINS ? max - min + 1 : HISTOGRAM_BINS;
  return { lo: min, width: (max - min) / bins, bins };
}

async function histogramsOf(
  conn: DuckDBConnection,
  columns: readonly ColumnSchema[],
  stats: readonly ColumnStats[],
): Promise<Map<number, { lo: number; hi: number; count: number }[]>> {
  const layouts = new Map<number, { lo: number; width: number; bins: number }>();
  const selects: string[] = [];
  columns.forEach((c, i) => {
    const s = stats[i]!;
    if (!isNumericKind(c.kind) || typeof s.min !== "number" || typeof s.max !== "number") return;
    const layout = binLayout(s.min, s.max, c.kind === "integer");
    layouts.set(i, layout);
    const x = `CAST(${sqlIdent(c.name)} AS DOUBLE)`;
    // Clamped at both ends: min/max are display values (FLOAT shown by its shortest decimal), which may sit
    // a hair inside the stored extremes.
    const bin =
      layout.width === 0 ? "0" : `greatest(0, least(CAST(floor((${x} - ${layout.lo}) / ${layout.width}) AS INTEGER), ${layout.bins - 1}))`;
    selects.push(`SELECT ${i} AS col, ${bin} AS bin, count(*) AS n FROM t WHERE ${x} IS NOT NULL AND isfinite(${x}) GROUP BY 2`);
  });
  const result = new Map<number, { lo: number; hi: number; count: number }[]>();
  if (selects.length === 0) return result;
  const counts = new Map<string, number>();
  const reader = await conn.runAndReadAll(selects.join(" UNION ALL "));
  for (const [col, bin, n] of reader.getRowsJS()) counts.set(`${Number(col)}:${Number(bin)}`, Number(n));
  for (const [i, layout] of layouts) {
    const bins = [];
    for (let b = 0; b < layout.bins; b++) {
      const lo = layout.lo + b * layout.width;
      const hi = b === layout.bins - 1 ? (stats[i]!.max as number) : layout.lo + (b + 1) * layout.width;
      bins.push({ lo, hi, count: counts.get(`${i}:${b}`) ?? 0 });
    }
    result.set(i, bins);
  }
  return result;
}
