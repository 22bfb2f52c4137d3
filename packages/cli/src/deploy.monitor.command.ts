import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  DeploymentDriftHistoryQuery,
  DeploymentDriftRequest,
  type DeploymentDriftRun,
  type FeedbackLabel,
  FeedbackRequest,
  type FeedbackResponse,
  MonitoringQuery,
  type MonitoringResponse,
  userError,
} from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, EXIT, type ExitState, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { readRowsFile } from "./deploy.command.ts";
import { formatDrift, type ThresholdFlags, thresholdsFromFlags, withThresholdFlags } from "./drift.command.ts";
import { followWithView, formatJobError } from "./follow.ts";
import { formatMetric, formatTable } from "./table.ts";
import { exitCodeOf } from "./train.command.ts";

interface MonitorOptions extends CommonOptions, ThresholdFlags {
  labels?: string;
  bucket?: string;
  from?: string;
  to?: string;
  wait?: boolean;
  limit?: string;
}

/** Labels sent per request (the API takes at most 10,000). */
const BATCH = 10_000;

/**
 * Labels from a CSV file, a JSON-lines file (.jsonl/.ndjson) or a JSON array: one per row, with columns
 * `prediction_id` (or `predictionId`), `label` and optionally `row` (the row's index in its request, default 0).
 * @example await readLabelsFile(cwd, "labels.csv") // [{ predictionId: "…", row: 0, label: "CH" }]
 */
export async function readLabelsFile(cwd: string, name: string): Promise<FeedbackLabel[]> {
  let records: unknown;
  if (/\.(jsonl|ndjson)$/i.test(name)) {
    const text = await readFile(resolve(cwd, name), "utf8").catch((err: NodeJS.ErrnoException) => {
      throw userError(
        "labels_unreadable",
        err.code === "ENOENT" ? `file '${name}' does not exist` : `cannot read '${name}': ${err.message}`,
        "Give a CSV file or a JSON-lines file with prediction_id and label columns.",
      );
    });
    records = text
      .split("\n")
      .map((line, i) => ({ line: line.trim(), n: i + 1 }))
      .filter((l) => l.line !== "")
      .map((l) => {
        try {
          return JSON.parse(l.line) as unknown;
        } catch (err) {
          throw userError(
            "labels_unreadable",
            `${name}, line ${l.n}: not JSON (${(err as Error).message})`,
            "Write one JSON object per line.",
          );
        }
      });
  } else {
    records = await readRowsFile(cwd, name);
  }
  if (!Array.isArray(records) || records.length === 0)
    throw userError("labels_unreadable", `'${name}' holds no labels`, "Give one row per label, with prediction_id and label columns.");
  return records.map((r, i) => {
    const o = (r ?? {}) as Record<string, unknown>;
    const id = o.prediction_id ?? o.predictionId;
    if (typeof id !== "string" || o.label === undefined || o.label === null || o.label === "")
      throw userError(
        "labels_unreadable",
        `${name}, label ${i + 1}: needs a prediction_id and a label`,
        "Give prediction_id and label columns (and row, for requests of several rows).",
      );
    const row = o.row ?? 0;
    return { predictionId: id, row: Number(row), label: o.label as FeedbackLabel["label"] };
  });
}

const path = (name: string) => ({ params: { path: { name } } });

/** `deploy feedback`, `deploy monitor`, `deploy drift` and `deploy drift-history`. */
export function registerDeployMonitoring(deploy: Command, ctx: CliContext, exit: ExitState): void {
  const run = (body: Parameters<typeof action<MonitorOptions>>[2]) => action<MonitorOptions>(ctx, exit, body);

  withCommon(
    deploy
      .command("feedback")
      .description("send the true labels of logged predictions (by prediction id); a label sent again replaces the earlier one")
      .argument("<name>", "the deployment")
      .requiredOption("--labels <file>", "a CSV or JSON-lines file with prediction_id, label (and row) columns")
      .addHelpText(
        "after",
        "\nprediction_id is the predictionId of the predict answer; row is the row's index in that request (default 0).\nLabels match predictions still in the prediction log (CARETFLOW_PREDICTION_LOG_DAYS, default 30 days).\n\nExamples:\n  caretflow deploy feedback churn --labels outcomes.csv\n\n  outcomes.csv:\n    prediction_id,row,label\n    0b7f1a52-2f3e-4b8a-9f0e-1d2c3b4a5e6f,0,CH",
      ),
  ).action(
    run(async (env, opts, [name]) => {
      const labels = await readLabelsFile(env.ctx.cwd, opts.labels!);
      const client = await env.client();
      const total: FeedbackResponse = { deployment: name!, stored: 0, matched: 0, unmatched: [] };
      for (let i = 0; i < labels.length; i += BATCH) {
        const body = parseFlags(FeedbackRequest, { labels: labels.slice(i, i + BATCH) }, { labels: "--labels" });
        const r = await client.POST("/api/deployments/{name}/feedback", { ...path(name!), body });
        total.stored += r.stored;
        total.matched += r.matched;
        total.unmatched = [...total.unmatched, ...r.unmatched].slice(0, 20);
      }
      env.out.result(total, () => {
        const missing = total.stored - total.matched;
        const line = `${total.deployment}: stored ${total.stored} labels; ${total.matched} matched logged predictions`;
        return missing > 0 ? `${line}; ${missing} not found in the prediction log (e.g. ${total.unmatched.slice(0, 3).join(", ")})` : line;
      });
      return EXIT.ok;
    }),
  );

  withCommon(
    deploy
      .command("monitor")
      .description("requests, errors, latency and live accuracy/AUC or RMSE/MAE per time bucket and version")
      .argument("<name>", "the deployment")
      .option("--bucket <duration>", "bucket width: 5m, 1h, 1d... (default 1h)")
      .option("--from <time>", "ISO time the window starts (default: 24 hours before --to)")
      .option("--to <time>", "ISO time the window ends (default: now)")
      .addHelpText(
        "after",
        "\nExamples:\n  caretflow deploy monitor churn --bucket 1h\n  caretflow deploy monitor churn --bucket 1d --from 2026-11-01T00:00:00Z --json",
      ),
  ).action(
    run(async (env, opts, [name]) => {
      const query = parseFlags(
        MonitoringQuery,
        { ...(opts.bucket ? { bucket: opts.bucket } : {}), ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) },
        { bucket: "--bucket", from: "--from", to: "--to" },
      );
      const r = await (await env.client()).GET("/api/deployments/{name}/monitoring", { params: { path: { name: name! }, query } });
      env.out.result(r, () => formatMonitoring(r));
      return EXIT.ok;
    }),
  );

  withCommon(
    withThresholdFlags(
      deploy
        .command("drift")
        .description("check the deployment's logged inputs and answers for drift against the served version's training data")
        .argument("<name>", "the deployment")
        .option("--from <time>", "ISO time the window starts (default: 24 hours before --to)")
        .option("--to <time>", "ISO time the window ends (default: now)"),
    )
      .option("--wait", "wait for the check and print the table")
      .addHelpText(
        "after",
        "\nTo check on a schedule instead: caretflow deploy update NAME --drift-every 1h|6h|1d|7d\n\nExamples:\n  caretflow deploy drift churn --wait\n  caretflow deploy drift churn --from 2026-11-01T00:00:00Z --to 2026-11-02T00:00:00Z\n  caretflow deploy drift churn --psi 0.1 --ks-p-value 0.01 --wait",
      ),
  ).action(
    run(async (env, opts, [name]) => {
      const thresholds = thresholdsFromFlags(opts);
      const body = parseFlags(
        DeploymentDriftRequest,
        {
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          ...(Object.keys(thresholds).length > 0 ? { thresholds } : {}),
        },
        { from: "--from", to: "--to", thresholds: "--psi/--ks-p-value/--ks-statistic" },
      );
      const client = await env.client();
      const started = await client.POST("/api/deployments/{name}/drift", { ...path(name!), body });
      if (!opts.wait) {
        env.out.result(
          started,
          () =>
            `drift check of ${started.deployment} (${started.model}/${started.version} against ${started.reference.dataset}@v${started.reference.version}) started as job ${started.jobId}; see \`caretflow deploy drift-history ${started.deployment}\``,
        );
        return EXIT.ok;
      }
      env.out.note(`drift job ${started.jobId} started (Ctrl-C cancels it)`);
      const followed = await followWithView(env, client, started.jobId, { rows: false });
      if (followed.interrupted) {
        if (env.out.json) env.out.result({ ...started, interrupted: true }, () => "");
        return EXIT.interrupted;
      }
      const job = followed.job;
      const { runs } = await client.GET("/api/deployments/{name}/drift", { params: { path: { name: name! }, query: { limit: 20 } } });
      const checked = runs.find((r) => r.id === started.id) ?? started;
      const result = job.result?.kind === "drift" ? job.result : null;
      env.out.result(checked, () =>
        result ? formatDrift(job, result) : job.error ? formatJobError(job.error) : `job ${job.id}: ${job.status}`,
      );
      return exitCodeOf(job.status);
    }),
  );

  withCommon(
    deploy
      .command("drift-history")
      .description("the deployment's drift checks (on demand and scheduled), newest first")
      .argument("<name>", "the deployment")
      .option("--limit <n>", "at most this many checks (default 50)")
      .addHelpText(
        "after",
        "\nExamples:\n  caretflow deploy drift-history churn --limit 10\n  caretflow deploy drift-history churn --json",
      ),
  ).action(
    run(async (env, opts, [name]) => {
      const query = parseFlags(DeploymentDriftHistoryQuery, opts.limit === undefined ? {} : { limit: opts.limit }, { limit: "--limit" });
      const { runs } = await (await env.client()).GET("/api/deployments/{name}/drift", { params: { path: { name: name! }, query } });
      env.out.result({ runs }, () =>
        runs.length === 0 ? `no drift checks of ${name} yet; start one with \`caretflow deploy drift ${name}\`` : formatDriftHistory(runs),
      );
      return EXIT.ok;
    }),
  );
}

/** One table per version: a row per bucket. */
export function formatMonitoring(r: MonitoringResponse): string {
  if (r.versions.length === 0) return `${r.deployment}: no predictions logged between ${r.from} and ${r.to}`;
  return r.versions
    .map((v) => {
      const regression = v.task === "regression";
      const table = formatTable(
        [
          { header: "BUCKET" },
          { header: "REQUESTS", right: true },
          { header: "ERRORS", right: true },
          { header: "P50 MS", right: true },
          { header: "P95 MS", right: true },
          { header: "LABELLED", right: true },
          { header: regression ? "RMSE" : "ACCURACY", right: true },
          { header: regression ? "MAE" : "AUC", right: true },
        ],
        v.points.map((p) => [
          p.start.slice(0, 16).replace("T", " "),
          String(p.requests),
          String(p.errors),
          formatMetric(p.latencyP50Ms),
          formatMetric(p.latencyP95Ms),
          String(p.labelled),
          formatMetric(regression ? p.rmse : p.accuracy),
          formatMetric(regression ? p.mae : p.auc),
        ]),
      );
      return `${r.deployment} version ${v.version}${v.shadow ? " (shadow)" : ""}${v.task ? `, ${v.task}` : ""}, buckets of ${r.bucket}:\n${table}`;
    })
    .join("\n\n");
}

export function formatDriftHistory(runs: DeploymentDriftRun[]): string {
  return formatTable(
    [
      { header: "AT" },
      { header: "TRIGGER" },
      { header: "WINDOW" },
      { header: "VERSION", right: true },
      { header: "STATUS" },
      { header: "MAX PSI", right: true },
      { header: "DRIFTED" },
      { header: "PREDICTION DRIFT" },
    ],
    runs.map((r) => [
      r.at.slice(0, 16).replace("T", " "),
      r.trigger,
      `${r.window.from.slice(0, 16).replace("T", " ")} – ${r.window.to.slice(0, 16).replace("T", " ")}`,
      String(r.version),
      r.status,
      formatMetric(r.maxPsi),
      r.drifted.length ? r.drifted.join(", ") : r.status === "succeeded" ? "none" : "-",
      r.predictionDrift === null ? "-" : r.predictionDrift ? "yes" : "no",
    ]),
  );
}
