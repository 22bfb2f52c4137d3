import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { openDuckDb, sqlString, withConnection } from "@caretflow/data";
import type { AlertMetricSource } from "../alerts/alert.service.ts";
import { LOG_COLUMNS } from "../deployments/prediction.log.ts";

/** The `caretflow_*` columns every prediction-log line carries, as the gateway's log writes them. */
const C = {
  id: LOG_COLUMNS.predictionId,
  shadow: LOG_COLUMNS.shadow,
  time: LOG_COLUMNS.time,
  latency: LOG_COLUMNS.latencyMs,
  error: LOG_COLUMNS.error,
} as const;

/** What a deployment's served requests (shadow answers apart) looked like in a window. */
export interface ServedStats {
  requests: number;
  errors: number;
  /** Shares and latencies are null without requests. */
  errorRate: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

const DAY_MS = 86_400_000;

/** DuckDB's reading of prediction-log files, as a table expression. */
export function readLog(files: string[]): string {
  return `read_json_auto([${files.map(sqlString).join(", ")}], format = 'newline_delimited', union_by_name = true)`;
}

/**
 * Figures over a deployment's prediction log (`<root>/<deployment>/<YYYY-MM-DD>/*.jsonl`, one line per
 * input row), computed by DuckDB over the day folders a window spans. One request is one prediction id;
 * shadow answers are left out. Read-only: it never changes the log.
 * @example const stats = new PredictionLogStats({ root: join(home, "prediction-log"), tmpDir }); await stats.served("churn", from, to);
 */
export class PredictionLogStats {
  readonly #root: string;
  readonly #tmpDir: string;
  #db: ReturnType<typeof openDuckDb> | null = null;

  constructor(opts: { root: string; tmpDir: string }) {
    this.#root = opts.root;
    this.#tmpDir = opts.tmpDir;
  }

  async served(deployment: string, from: Date, to: Date): Promise<ServedStats> {
    const files = await this.files(deployment, from, to);
    const none: ServedStats = { requests: 0, errors: 0, errorRate: null, latencyP50Ms: null, latencyP95Ms: null };
    if (files.length === 0) return none;
    const sql = `
      WITH lines AS (
        SELECT * FROM ${readLog(files)}
      ),
      requests AS (
        SELECT "${C.id}" AS id, any_value("${C.latency}") AS latency, bool_or("${C.error}" IS NOT NULL) AS failed
        FROM lines
        WHERE NOT coalesce("${C.shadow}", false)
          AND CAST("${C.time}" AS TIMESTAMPTZ) >= CAST(${sqlString(from.toISOString())} AS TIMESTAMPTZ)
          AND CAST("${C.time}" AS TIMESTAMPTZ) < CAST(${sqlString(to.toISOString())} AS TIMESTAMPTZ)
        GROUP BY 1
      )
      SELECT count(*), count(*) FILTER (WHERE failed), quantile_cont(latency, 0.5), quantile_cont(latency, 0.95) FROM requests`;
    const row = (await this.rows(sql))[0];
    const requests = Number(row?.[0] ?? 0);
    if (requests === 0) return none;
    const errors = Number(row?.[1] ?? 0);
    return {
      requests,
      errors,
      errorRate: errors / requests,
      latencyP50Ms: row?.[2] === null ? null : Number(row?.[2]),
      latencyP95Ms: row?.[3] === null ? null : Number(row?.[3]),
    };
  }

  /** The alert metrics these figures give: requests, error_rate and latency_p95_ms. */
  alertSources(): AlertMetricSource[] {
    const source = (name: string, description: string, unit: string, pick: (s: ServedStats) => number | null): AlertMetricSource => ({
      info: { name, description, unit },
      value: async (q) => pick(await this.served(q.deployment, q.from, q.to)),
    });
    return [
      source("requests", "requests the deployment answered or failed (shadow answers apart)", "count", (s) => s.requests),
      source("error_rate", "share of the deployment's requests that failed", "ratio", (s) => s.errorRate),
      source("latency_p95_ms", "95th percentile of the deployment's request latency", "ms", (s) => s.latencyP95Ms),
    ];
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = null;
    if (db) (await db.catch(() => null))?.closeSync();
  }

  /** Runs a query on the stats' DuckDB (opened on first use) and answers its rows. */
  async rows(sql: string): Promise<unknown[][]> {
    this.#db ??= openDuckDb({ tempDirectory: this.#tmpDir, threads: 1, memoryLimit: "256MB" });
    return await withConnection(await this.#db, async (conn) => (await conn.runAndReadAll(sql)).getRowsJS());
  }

  /** The log's column names in these files (a deployment's models decide which prediction columns exist). */
  async columns(files: string[]): Promise<Set<string>> {
    const rows = await this.rows(`DESCRIBE SELECT * FROM ${readLog(files)}`);
    return new Set(rows.map((r) => String(r[0])));
  }

  /** The log files of the day folders [from, to] spans (UTC), those that exist. */
  async files(deployment: string, from: Date, to: Date): Promise<string[]> {
    const out: string[] = [];
    const first = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
    for (let t = first; t <= to.getTime(); t += DAY_MS) {
      const dir = join(this.#root, deployment, new Date(t).toISOString().slice(0, 10));
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) if (name.endsWith(".jsonl")) out.push(join(dir, name));
    }
    return out;
  }
}
