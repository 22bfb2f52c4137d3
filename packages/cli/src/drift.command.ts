import { DriftRequest, type DriftResult, type Job, userError } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, EXIT, type ExitState, floatArg, listArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { followWithView, formatJobError } from "./follow.ts";
import { formatMetric, formatTable } from "./table.ts";
import { exitCodeOf } from "./train.command.ts";

/** The threshold flags `drift` and `deploy drift` share. */
export interface ThresholdFlags {
  psi?: number;
  ksPValue?: number;
  ksStatistic?: number;
}

interface DriftOptions extends CommonOptions, ThresholdFlags {
  reference: string;
  current: string;
  features?: string[];
  wait?: boolean;
}

/** Adds `--psi`, `--ks-p-value` and `--ks-statistic` (each unset: the server's default). */
export function withThresholdFlags(cmd: Command): Command {
  return cmd
    .option("--psi <x>", "PSI at or above this is drift (default 0.2)", floatArg("--psi"))
    .option("--ks-p-value <p>", "a KS p-value below this is drift (default 0.05)...", floatArg("--ks-p-value"))
    .option("--ks-statistic <d>", "...when the KS statistic is at least this (default 0.1)", floatArg("--ks-statistic"));
}

/** The thresholds given as flags, only those set. */
export function thresholdsFromFlags(opts: ThresholdFlags): { psi?: number; ks_p_value?: number; ks_statistic?: number } {
  return {
    ...(opts.psi !== undefined ? { psi: opts.psi } : {}),
    ...(opts.ksPValue !== undefined ? { ks_p_value: opts.ksPValue } : {}),
    ...(opts.ksStatistic !== undefined ? { ks_statistic: opts.ksStatistic } : {}),
  };
}

/**
 * `NAME`, `NAME@3` or `NAME@v3` -> the dataset and its version (none: the latest).
 * @example parseDatasetVersion("juice@v2", "--reference") // { dataset: "juice", version: 2 }
 */
export function parseDatasetVersion(value: string, flag: string): { dataset: string; version?: number } {
  const m = /^([^@]+)(?:@v?(\d+))?$/.exec(value.trim());
  if (!m?.[1]) throw userError("invalid_arguments", `${flag}: '${value}' is not DATASET or DATASET@VERSION`, `e.g. ${flag} juice@2`);
  return m[2] === undefined ? { dataset: m[1] } : { dataset: m[1], version: Number(m[2]) };
}

export function registerDrift(program: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    withThresholdFlags(
      program
        .command("drift")
        .description("compare a dataset version with the training data: PSI and KS test per feature")
        .requiredOption("--reference <dataset@version>", "the training data (version: default the latest)")
        .requiredOption("--current <dataset@version>", "the data to check")
        .option("--features <columns>", "columns to compare, comma-separated (default: every column both have)", listArg),
    )
      .option("--wait", "wait for the job and print the table")
      .addHelpText("after", "\nExamples:\n  caretflow drift --reference juice@1 --current juice-march --wait"),
  ).action(
    action<DriftOptions>(ctx, exit, async (env, opts) => {
      const thresholds = thresholdsFromFlags(opts);
      const body = parseFlags(
        DriftRequest,
        {
          reference: parseDatasetVersion(opts.reference, "--reference"),
          current: parseDatasetVersion(opts.current, "--current"),
          features: opts.features,
          thresholds,
        },
        { reference: "--reference", current: "--current", features: "--features", thresholds: "--psi/--ks-p-value/--ks-statistic" },
      );
      const client = await env.client();
      const started = await client.POST("/api/drift", { body });
      if (!opts.wait) {
        env.out.result(
          { jobId: started.id, status: started.status },
          () => `drift job ${started.id} started; see \`caretflow jobs show ${started.id}\``,
        );
        return EXIT.ok;
      }
      env.out.note(`drift job ${started.id} started (Ctrl-C cancels it)`);
      const followed = await followWithView(env, client, started.id, { rows: false });
      if (followed.interrupted) {
        if (env.out.json) env.out.result({ jobId: started.id, status: followed.job?.status ?? null, interrupted: true }, () => "");
        return EXIT.interrupted;
      }
      const job = followed.job;
      const result = job.result?.kind === "drift" ? job.result : null;
      env.out.result({ jobId: job.id, status: job.status, request: job.request, result, error: job.error }, () =>
        result ? formatDrift(job, result) : job.error ? formatJobError(job.error) : `job ${job.id}: ${job.status}`,
      );
      return exitCodeOf(job.status);
    }),
  );
}

/** The per-feature table, drifted features first, and a summary line. */
export function formatDrift(job: Job, r: DriftResult): string {
  const table = formatTable(
    [
      { header: "COLUMN" },
      { header: "ROLE" },
      { header: "TYPE" },
      { header: "PSI", right: true },
      { header: "KS", right: true },
      { header: "KS P", right: true },
      { header: "MISSING REF/CUR", right: true },
      { header: "DRIFT" },
    ],
    r.features.map((f) => [
      f.column,
      f.role,
      f.type,
      formatMetric(f.psi),
      formatMetric(f.ks_statistic),
      f.ks_p_value === null ? "-" : f.ks_p_value < 1e-4 ? f.ks_p_value.toExponential(1) : f.ks_p_value.toFixed(4),
      `${pct(f.reference_missing)}/${pct(f.current_missing)}`,
      f.drifted ? "DRIFT" : f.note ? `(${f.note})` : "",
    ]),
  );
  const features = r.features.filter((f) => f.role === "feature").length;
  const prediction = r.prediction_drift === null ? "" : `; prediction drift: ${r.prediction_drift ? "yes" : "no"}`;
  const summary = `${r.drifted.length} of ${features} features drifted (${r.current_rows} current rows against ${r.reference_rows} reference rows; PSI ≥ ${r.thresholds.psi} or KS p < ${r.thresholds.ks_p_value} with KS ≥ ${r.thresholds.ks_statistic})${prediction}`;
  return `${table}\n\n${summary}${job.status === "succeeded" ? "" : `\njob ${job.id}: ${job.status}`}`;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
