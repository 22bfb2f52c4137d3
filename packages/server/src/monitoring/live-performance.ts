import { randomUUID } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sqlString } from "@caretflow/data";
import type { AlertMetricSource } from "../alerts/alert.service.ts";
import { LOG_COLUMNS } from "../deployments/prediction.log.ts";
import type { FeedbackRepository } from "./feedback.repository.ts";
import { type PredictionLogStats, readLog } from "./prediction-log.stats.ts";

export type Task = "classification" | "regression";

/** The figures of one version in one time bucket (or over the whole window). */
export interface PerformancePoint {
  start: string;
  version: number;
  shadow: boolean;
  task: Task | null;
  requests: number;
  errors: number;
  rows: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  labelled: number;
  accuracy: number | null;
  auc: number | null;
  rmse: number | null;
  mae: number | null;
}

const C = LOG_COLUMNS;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * A label or a logged answer as text both sides compare equal: numbers by their DOUBLE form (so `1`,
 * `1.0` and `"1"` match), anything else lower-cased.
 */
const norm = (expr: string) =>
  `CASE WHEN TRY_CAST(${expr} AS DOUBLE) IS NOT NULL THEN CAST(TRY_CAST(${expr} AS DOUBLE) AS VARCHAR) ELSE lower(CAST(${expr} AS VARCHAR)) END`;

/**
 * Live performance of a deployment: its prediction log (DuckDB over the JSON-lines files) joined with the
 * labels sent back (FeedbackRepository) on prediction id and row, per time bucket and version. A version
 * whose answers carry `prediction_score` is a classifier (accuracy; ROC AUC when the labels hold exactly two
 * classes, from the score turned into the probability of the greater class), else a regressor (RMSE, MAE).
 * @example await perf.series("churn", from, to, 3600)
 */
export class LivePerformance {
  readonly #stats: PredictionLogStats;
  readonly #feedback: FeedbackRepository;
  readonly #tmpDir: string;

  constructor(deps: { stats: PredictionLogStats; feedback: FeedbackRepository; tmpDir: string }) {
    this.#stats = deps.stats;
    this.#feedback = deps.feedback;
    this.#tmpDir = deps.tmpDir;
  }

  /** Points per bucket (of `bucketSeconds`, aligned on `from`) and version, oldest first; `bucketSeconds` null: one point over the window. */
  async series(deployment: string, from: Date, to: Date, bucketSeconds: number | null): Promise<PerformancePoint[]> {
    const files = await this.#stats.files(deployment, from, to);
    if (files.length === 0) return [];
    const columns = await this.#stats.columns(files);
    const labels = await this.#feedback.since(deployment, from);
    const labelFile = join(this.#tmpDir, `feedback-${randomUUID()}.jsonl`);
    await writeFile(labelFile, labels.map((l) => JSON.stringify({ id: l.predictionId, row: l.row, label: String(l.label) })).join("\n"));
    try {
      const rows = await this.#stats.rows(seriesSql({ files, columns, labelFile, hasLabels: labels.length > 0, from, to, bucketSeconds }));
      return rows.map((r) => ({
        start: new Date(String(r[0])).toISOString(),
        version: Number(r[1]),
        shadow: Boolean(r[2]),
        task: r[3] === null ? null : (r[3] as Task),
        requests: Number(r[4]),
        errors: Number(r[5]),
        rows: Number(r[6]),
        latencyP50Ms: num(r[7]),
        latencyP95Ms: num(r[8]),
        labelled: Number(r[9]),
        accuracy: r[3] === "classification" ? num(r[10]) : null,
        auc: r[3] === "classification" ? num(r[11]) : null,
        rmse: r[3] === "regression" ? num(r[12]) : null,
        mae: r[3] === "regression" ? num(r[13]) : null,
      }));
    } finally {
      await rm(labelFile, { force: true });
    }
  }

  /** How many of these prediction ids (with rows) the deployment's log holds, over the days it keeps. */
  async matched(deployment: string, keys: Array<{ predictionId: string; row: number }>, days: number): Promise<Set<string>> {
    const to = new Date();
    const files = await this.#stats.files(deployment, new Date(to.getTime() - Math.max(days, 1) * 86_400_000), to);
    if (files.length === 0 || keys.length === 0) return new Set();
    const wanted = join(this.#tmpDir, `feedback-${randomUUID()}.jsonl`);
    await writeFile(wanted, keys.map((k) => JSON.stringify({ id: k.predictionId.toLowerCase(), row: k.row })).join("\n"));
    try {
      const rows = await this.#stats.rows(`
        SELECT DISTINCT w.id, w.row
        FROM read_json(${sqlString(wanted)}, format = 'newline_delimited', columns = {id: 'VARCHAR', row: 'INTEGER'}) AS w
        JOIN ${readLog(files)} AS l ON lower(CAST(l."${C.predictionId}" AS VARCHAR)) = w.id AND l."${C.row}" = w.row`);
      return new Set(rows.map((r) => `${r[0]}/${r[1]}`));
    } finally {
      await rm(wanted, { force: true });
    }
  }

  /** The alert metrics labels give: accuracy and auc, rmse and mae, over the served (not shadow) answers of a window. */
  alertSources(): AlertMetricSource[] {
    const source = (name: string, description: string, unit: string, pick: (p: PerformancePoint) => number | null): AlertMetricSource => ({
      info: { name, description, unit },
      value: async (q) => {
        const points = (await this.series(q.deployment, q.from, q.to, null)).filter((p) => !p.shadow && p.labelled > 0);
        // Versions weigh by their labelled rows.
        let sum = 0;
        let weight = 0;
        for (const p of points) {
          const v = pick(p);
          if (v === null) continue;
          sum += v * p.labelled;
          weight += p.labelled;
        }
        return weight === 0 ? null : sum / weight;
      },
    });
    return [
      source("accuracy", "share of labelled predictions that were right (classification; needs feedback)", "ratio", (p) => p.accuracy),
      source("auc", "ROC AUC of labelled predictions from the logged score (binary classification; needs feedback)", "ratio", (p) => p.auc),
      source("rmse", "root mean squared error of labelled predictions (regression; needs feedback)", "target unit", (p) => p.rmse),
      source("mae", "mean absolute error of labelled predictions (regression; needs feedback)", "target unit", (p) => p.mae),
    ];
  }
}

/** The one query behind `series`: per-request figures, then per-row labelled figures, per bucket and version. */
function seriesSql(o: {
  files: string[];
  columns: Set<string>;
  labelFile: string;
  hasLabels: boolean;
  from: Date;
  to: Date;
  bucketSeconds: number | null;
}): string {
  const has = (c: string) => o.columns.has(c);
  const predicted = has("prediction_label") ? `"prediction_label"` : "NULL";
  const score = has("prediction_score") ? `TRY_CAST("prediction_score" AS DOUBLE)` : "CAST(NULL AS DOUBLE)";
  const from = `CAST(${sqlString(o.from.toISOString())} AS TIMESTAMPTZ)`;
  const to = `CAST(${sqlString(o.to.toISOString())} AS TIMESTAMPTZ)`;
  const bucket = o.bucketSeconds === null ? from : `time_bucket(INTERVAL ${o.bucketSeconds} SECOND, t, ${from})`;
  const labels = o.hasLabels
    ? `SELECT id, row, ${norm("label")} AS label FROM read_json(${sqlString(o.labelFile)}, format = 'newline_delimited', columns = {id: 'VARCHAR', row: 'INTEGER', label: 'VARCHAR'})`
    : "SELECT CAST(NULL AS VARCHAR) AS id, CAST(NULL AS INTEGER) AS row, CAST(NULL AS VARCHAR) AS label WHERE false";
  return `
    WITH lines AS (
      SELECT
        lower(CAST("${C.predictionId}" AS VARCHAR)) AS id, CAST("${C.row}" AS INTEGER) AS row, CAST("${C.version}" AS INTEGER) AS version,
        coalesce("${C.shadow}", false) AS shadow, CAST("${C.time}" AS TIMESTAMPTZ) AS t,
        CAST("${C.latencyMs}" AS DOUBLE) AS latency, "${C.error}" IS NOT NULL AS failed,
        CASE WHEN ${predicted} IS NULL THEN NULL ELSE ${norm(predicted)} END AS predicted,
        TRY_CAST(${predicted} AS DOUBLE) AS predicted_value, ${score} AS score
      FROM ${readLog(o.files)}
    ),
    w AS (SELECT *, ${bucket} AS bucket FROM lines WHERE t >= ${from} AND t < ${to}),
    tasks AS (
      SELECT version, shadow,
        CASE WHEN bool_or(score IS NOT NULL) THEN 'classification' WHEN bool_or(predicted_value IS NOT NULL) THEN 'regression' END AS task
      FROM w WHERE NOT failed GROUP BY 1, 2
    ),
    requests AS (
      SELECT bucket, version, shadow, count(*) AS requests, count(*) FILTER (WHERE failed) AS errors, sum(rows) AS rows,
        quantile_cont(latency, 0.5) AS p50, quantile_cont(latency, 0.95) AS p95
      FROM (SELECT bucket, version, shadow, id, any_value(latency) AS latency, bool_or(failed) AS failed, count(*) AS rows FROM w GROUP BY ALL)
      GROUP BY ALL
    ),
    labelled AS (
      SELECT w.bucket, w.version, w.shadow, w.predicted, w.predicted_value, w.score, f.label, TRY_CAST(f.label AS DOUBLE) AS label_value
      FROM w JOIN (${labels}) AS f ON f.id = w.id AND f.row = w.row
      WHERE NOT w.failed AND w.predicted IS NOT NULL
    ),
    classes AS (
      SELECT bucket, version, shadow, max(label) AS positive, count(DISTINCT label) AS n FROM labelled GROUP BY ALL
    ),
    scored AS (
      SELECT l.bucket, l.version, l.shadow, l.label = c.positive AS pos,
        CASE WHEN l.predicted = c.positive THEN l.score ELSE 1 - l.score END AS p
      FROM labelled AS l JOIN classes AS c USING (bucket, version, shadow)
      WHERE c.n = 2 AND l.score IS NOT NULL
    ),
    ranked AS (
      -- Ties share their average rank (Mann-Whitney U).
      SELECT bucket, version, shadow, pos,
        rank() OVER (PARTITION BY bucket, version, shadow ORDER BY p)
          + (count(*) OVER (PARTITION BY bucket, version, shadow, p) - 1) / 2.0 AS r
      FROM scored
    ),
    auc AS (
      SELECT bucket, version, shadow,
        (sum(r) FILTER (WHERE pos) - count(*) FILTER (WHERE pos) * (count(*) FILTER (WHERE pos) + 1) / 2.0)
          / nullif(count(*) FILTER (WHERE pos) * count(*) FILTER (WHERE NOT pos), 0) AS auc
      FROM ranked GROUP BY ALL
    ),
    perf AS (
      SELECT bucket, version, shadow, count(*) AS labelled,
        avg(CASE WHEN predicted = label THEN 1.0 ELSE 0.0 END) AS accuracy,
        sqrt(avg((predicted_value - label_value) ^ 2)) AS rmse,
        avg(abs(predicted_value - label_value)) AS mae
      FROM labelled GROUP BY ALL
    )
    SELECT r.bucket, r.version, r.shadow, t.task, r.requests, r.errors, r.rows, r.p50, r.p95,
      coalesce(p.labelled, 0), p.accuracy, a.auc, p.rmse, p.mae
    FROM requests AS r
    LEFT JOIN tasks AS t USING (version, shadow)
    LEFT JOIN perf AS p USING (bucket, version, shadow)
    LEFT JOIN auc AS a USING (bucket, version, shadow)
    ORDER BY r.bucket, r.version, r.shadow`;
}
