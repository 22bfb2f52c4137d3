import { mkdir, rm } from "node:fs/promises";
import type { ColumnSchema, QualityCheck, QualityRuleResult, QualitySeverity } from "@caretflow/contracts";
import type { DuckDBConnection } from "@duckdb/node-api";
import { isNumericKind } from "./column-kind.ts";
import { sqlIdent, sqlString, withConnection } from "./duckdb.ts";
import { toJsonSafe } from "./json-safe.ts";
import { openSandbox } from "./sql-sandbox.ts";
import { refusedFunctionIn } from "./transform.ts";

/** Failing rows (or values) a result keeps as examples. */
export const QUALITY_EXAMPLES = 5;
/** How long a custom SQL rule may run before it is stopped and reported as failed. */
export const DEFAULT_SQL_TIMEOUT_MS = 10_000;

/** A rule as the runner needs it. */
export interface RunnableRule {
  id: string;
  name: string;
  check: QualityCheck;
  severity: QualitySeverity;
}

export interface QualityRunOptions {
  /** The version's Parquet file: the only file the run can read. */
  parquetPath: string;
  columns: readonly ColumnSchema[];
  rowCount: number;
  /** When the version was stored (ISO), for freshness rules without a column. */
  versionCreatedAt: string;
  /** A scratch folder of this run's own; it is created and removed. */
  workDir: string;
  now?: Date;
  sqlTimeoutMs?: number;
  memoryLimit?: string;
}

/**
 * Run quality rules on one dataset version, each with one DuckDB query over the view `data`. Every
 * query, the rules' own SQL included, runs in a sandbox that reads only this version's file
 * (openSandbox); a custom query is stopped after `sqlTimeoutMs`. A rule that cannot run (a column
 * that is not there, a bad pattern, SQL that fails) fails, with what went wrong as its message.
 */
export async function runQualityRules(rules: readonly RunnableRule[], opts: QualityRunOptions): Promise<QualityRuleResult[]> {
  if (rules.length === 0) return [];
  await mkdir(opts.workDir, { recursive: true });
  const sandbox = await openSandbox({
    readable: [opts.parquetPath],
    tempDirectory: opts.workDir,
    memoryLimit: opts.memoryLimit ?? "1GB",
    threads: 2,
  });
  try {
    await withConnection(sandbox, (conn) => conn.run(`CREATE VIEW data AS SELECT * FROM read_parquet(${sqlString(opts.parquetPath)})`));
    const results: QualityRuleResult[] = [];
    for (const rule of rules) {
      const outcome = await withConnection(sandbox, (conn) => runOne(conn, rule.check, opts)).catch(
        // The version's file is the view `data` to whoever wrote the rule; its place on disk is not theirs to see.
        (error: unknown): Outcome => ({
          passed: false,
          failing: 0,
          examples: [],
          message: `the rule could not run: ${errorText(error).replaceAll(opts.parquetPath, "data")}`,
        }),
      );
      results.push({ ruleId: rule.id, name: rule.name, type: rule.check.type, severity: rule.severity, ...outcome });
    }
    return results;
  } finally {
    sandbox.closeSync();
    await rm(opts.workDir, { recursive: true, force: true });
  }
}

type Outcome = Pick<QualityRuleResult, "passed" | "failing" | "examples" | "message">;

async function runOne(conn: DuckDBConnection, check: QualityCheck, opts: QualityRunOptions): Promise<Outcome> {
  const column = "column" in check && check.column !== undefined ? opts.columns.find((c) => c.name === check.column) : undefined;
  if ("column" in check && check.column !== undefined && !column) {
    return { passed: false, failing: 0, examples: [], message: `column '${check.column}' is not in this version` };
  }
  const id = column ? sqlIdent(column.name) : "";
  switch (check.type) {
    case "not_null":
      return failingRows(conn, `${id} IS NULL`, opts, (n) => `${n} ${rows(n)} ${n === 1 ? "is" : "are"} null`);
    case "range": {
      if (!column || !isNumericKind(column.kind)) return notKind(check.column, "numeric", column);
      const x = `CAST(${id} AS DOUBLE)`;
      const parts = [
        ...(check.min !== undefined ? [`${x} < ${check.min}`] : []),
        ...(check.max !== undefined ? [`${x} > ${check.max}`] : []),
      ];
      return failingRows(conn, `${id} IS NOT NULL AND (${parts.join(" OR ")} OR isnan(${x}))`, opts, (n) => `${n} ${rows(n)} out of range`);
    }
    case "allowed_values":
      return failingRows(
        conn,
        `${id} IS NOT NULL AND CAST(${id} AS VARCHAR) NOT IN (${check.values.map(sqlString).join(", ")})`,
        opts,
        (n) => `${n} ${rows(n)} with a value not allowed`,
      );
    case "regex":
      try {
        await conn.run(`SELECT regexp_full_match('', ${sqlString(check.pattern)})`);
      } catch (error) {
        return { passed: false, failing: 0, examples: [], message: `the pattern is not a valid regular expression: ${errorText(error)}` };
      }
      return failingRows(
        conn,
        `${id} IS NOT NULL AND NOT regexp_full_match(CAST(${id} AS VARCHAR), ${sqlString(check.pattern)})`,
        opts,
        (n) => `${n} ${rows(n)} not matching the pattern`,
      );
    case "unique": {
      const key = column?.kind === "other" ? `CAST(${id} AS VARCHAR)` : id;
      const dupes = `SELECT ${key} AS value, count(*) AS n FROM data WHERE ${id} IS NOT NULL GROUP BY 1 HAVING count(*) > 1`;
      const [total, values] = (await read(conn, `SELECT coalesce(sum(n), 0), count(*) FROM (${dupes})`))[0]!.map(Number) as [
        number,
        number,
      ];
      if (total === 0) return { passed: true, failing: 0, examples: [], message: "every value is unique" };
      const examples = (await read(conn, `${dupes} ORDER BY n DESC, 1 LIMIT ${QUALITY_EXAMPLES}`)).map(([value, n]) => ({
        value: toJsonSafe(value, column?.kind ?? "other"),
        rows: Number(n),
      }));
      return {
        passed: false,
        failing: total,
        examples,
        message: `${total} rows share a value with another row (${values} repeated ${values === 1 ? "value" : "values"})`,
      };
    }
    case "row_count": {
      const n = opts.rowCount;
      const ok = (check.min === undefined || n >= check.min) && (check.max === undefined || n <= check.max);
      const wanted =
        check.min !== undefined && check.max !== undefined
          ? `${check.min} to ${check.max}`
          : check.min !== undefined
            ? `at least ${check.min}`
            : `at most ${check.max}`;
      return { passed: ok, failing: ok ? 0 : 1, examples: [], message: `${n} ${rows(n)} (expected ${wanted})` };
    }
    case "freshness": {
      const now = (opts.now ?? new Date()).getTime();
      let newest: Date;
      let what: string;
      if (column) {
        if (column.kind !== "date" && column.kind !== "timestamp") return notKind(column.name, "date or timestamp", column);
        const value = (await read(conn, `SELECT epoch_ms(max(CAST(${id} AS TIMESTAMP))) FROM data`))[0]?.[0];
        if (value === null || value === undefined)
          return { passed: false, failing: 1, examples: [], message: `column '${column.name}' has no values` };
        newest = new Date(Number(value));
        what = `the newest ${column.name}`;
      } else {
        newest = new Date(opts.versionCreatedAt);
        what = "the version";
      }
      const ageHours = (now - newest.getTime()) / 3_600_000;
      const ok = ageHours <= check.maxAgeHours;
      return {
        passed: ok,
        failing: ok ? 0 : 1,
        examples: [{ newest: newest.toISOString(), ageHours: Math.round(ageHours * 10) / 10 }],
        message: `${what} (${newest.toISOString()}) is ${formatAge(ageHours)} old (at most ${formatAge(check.maxAgeHours)} allowed)`,
      };
    }
    case "sql":
      return customSql(conn, check.sql, opts.sqlTimeoutMs ?? DEFAULT_SQL_TIMEOUT_MS);
    default: {
      const never: never = check;
      return never;
    }
  }
}

/** Count the rows matching `where` and keep a few of them. */
async function failingRows(conn: DuckDBConnection, where: string, opts: QualityRunOptions, say: (n: number) => string): Promise<Outcome> {
  const n = Number((await read(conn, `SELECT count(*) FROM data WHERE ${where}`))[0]?.[0] ?? 0);
  if (n === 0) return { passed: true, failing: 0, examples: [], message: `all ${opts.rowCount} ${rows(opts.rowCount)} pass` };
  const examples = await examplesOf(conn, `SELECT * FROM data WHERE ${where} LIMIT ${QUALITY_EXAMPLES}`, opts.columns);
  return { passed: false, failing: n, examples, message: say(n) };
}

/**
 * A rule's own SQL: exactly one SELECT/WITH statement (checked by DuckDB's parser before it runs),
 * whose rows are the failing rows; stopped after `timeoutMs`.
 */
async function customSql(conn: DuckDBConnection, sql: string, timeoutMs: number): Promise<Outcome> {
  const body = sql.trim().replace(/;\s*$/, "");
  const statements = await conn.extractStatements(body).catch((error: unknown) => {
    throw new Error(`the SQL does not parse: ${errorText(error)}`);
  });
  if (statements.count !== 1) return { passed: false, failing: 0, examples: [], message: "the SQL must be one SELECT or WITH statement" };
  const counted = `SELECT count(*) FROM (${body}\n) AS failing_rows`;
  if ((await conn.extractStatements(counted)).count !== 1)
    return { passed: false, failing: 0, examples: [], message: "the SQL must be one SELECT or WITH statement" };
  const refused = await refusedFunctionIn(conn, body);
  if (refused)
    return {
      passed: false,
      failing: 0,
      examples: [],
      message: `the SQL calls ${refused}(), which reads DuckDB's own catalog or settings, not the data; query the view 'data'`,
    };
  const timer = setTimeout(() => conn.interrupt(), timeoutMs);
  try {
    const n = Number((await read(conn, counted))[0]?.[0] ?? 0);
    if (n === 0) return { passed: true, failing: 0, examples: [], message: "the query returned no rows" };
    const examples = await examplesOf(conn, `SELECT * FROM (${body}\n) AS failing_rows LIMIT ${QUALITY_EXAMPLES}`, []);
    return { passed: false, failing: n, examples, message: `the query returned ${n} failing ${rows(n)}` };
  } catch (error) {
    if (/interrupt/i.test(errorText(error))) {
      return { passed: false, failing: 0, examples: [], message: `the SQL ran longer than ${timeoutMs / 1000} s and was stopped` };
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function examplesOf(conn: DuckDBConnection, sql: string, columns: readonly ColumnSchema[]): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql);
  const names = reader.columnNames();
  const kinds = names.map((n) => columns.find((c) => c.name === n)?.kind ?? "other");
  return reader.getRowsJS().map((row) => Object.fromEntries(names.map((n, i) => [n, toJsonSafe(row[i], kinds[i]!)])));
}

async function read(conn: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await conn.runAndReadAll(sql)).getRowsJS();
}

function notKind(name: string | undefined, wanted: string, column: ColumnSchema | undefined): Outcome {
  return { passed: false, failing: 0, examples: [], message: `column '${name}' is ${column?.kind ?? "missing"}, not ${wanted}` };
}

const rows = (n: number) => (n === 1 ? "row" : "rows");

function formatAge(hours: number): string {
  return hours >= 48 ? `${Math.round((hours / 24) * 10) / 10} days` : `${Math.round(hours * 10) / 10} hours`;
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 300);
}
