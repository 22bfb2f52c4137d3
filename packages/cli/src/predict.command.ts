import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { BatchPredictRequest, OnlinePredictRequest, type OnlinePredictResponse, userError } from "@caretflow/contracts";
import type { Command } from "commander";
import type { ApiClient } from "./client.ts";
import { action, type CommandEnv, type CommonOptions, EXIT, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { checkOutFile, downloadCsv } from "./download.ts";
import { followWithView, formatJobError } from "./follow.ts";
import { formatTable, formatValue } from "./table.ts";
import { exitCodeOf } from "./train.command.ts";

interface PredictOptions extends CommonOptions {
  model: string;
  dataset?: string;
  version?: number;
  outputDataset?: string;
  out?: string;
  rows?: string;
  horizon?: number;
}

export function registerPredict(program: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    program
      .command("predict")
      .description("score a dataset version with a registered model (batch), or JSON rows (online)")
      .requiredOption("--model <ref>", "NAME@ALIAS or NAME/VERSION of a registered model")
      .option("--dataset <name>", "batch: dataset to score")
      .option("--version <n>", "batch: dataset version (default: the latest)", intArg("--version", 1))
      .option("--output-dataset <name>", "batch: dataset that receives the predictions (default: <dataset>-predictions)")
      .option("--out <file>", "batch: also download the predictions as CSV to this file")
      .option("--rows <file>", 'online: a JSON file holding an array of rows (objects), or {"rows": [...]}')
      .option(
        "--horizon <n>",
        "time series: periods to forecast (default: the model's); without --dataset or --rows, forecasts online from no rows",
        intArg("--horizon", 1, 10_000),
      )
      .addHelpText(
        "after",
        "\nExamples:\n" +
          "  caretflow predict --model juice-clf@champion --dataset juice --out predictions.csv\n" +
          "  caretflow predict --model juice-clf/1 --rows rows.json\n" +
          "  caretflow predict --model downloads-forecast@champion --horizon 30",
      ),
  ).action(
    action<PredictOptions>(ctx, exit, async (env, opts) => {
      const online = opts.rows !== undefined || (opts.dataset === undefined && opts.horizon !== undefined);
      if ((opts.dataset === undefined) === !online) {
        throw userError(
          "invalid_arguments",
          "give either --dataset (batch prediction) or --rows (online prediction; a forecaster needs only --horizon)",
          "see `caretflow predict --help`",
        );
      }
      const client = await env.client();
      if (online) {
        if (opts.out || opts.outputDataset || opts.version !== undefined) {
          throw userError(
            "invalid_arguments",
            "--out, --output-dataset and --version apply to batch prediction (--dataset), not to --rows",
            "use --json to get the predictions as JSON",
          );
        }
        return predictOnline(env, client, opts.model, opts.rows, opts.horizon);
      }
      return predictBatch(env, client, opts);
    }),
  );
}

async function predictBatch(env: CommandEnv, client: ApiClient, opts: PredictOptions): Promise<number> {
  const body = parseFlags(
    BatchPredictRequest,
    { model: opts.model, dataset: opts.dataset, version: opts.version, output: opts.outputDataset, horizon: opts.horizon },
    { model: "--model", dataset: "--dataset", version: "--version", output: "--output-dataset", horizon: "--horizon" },
  );
  const outFile = opts.out === undefined ? undefined : await checkOutFile(env.ctx.cwd, opts.out);
  const started = await client.POST("/api/jobs/predict", { body });
  env.out.note(`prediction job ${started.id} started (Ctrl-C cancels it)`);
  const followed = await followWithView(env, client, started.id, { rows: false });
  if (followed.interrupted) {
    if (env.out.json) env.out.result({ jobId: started.id, status: followed.job?.status ?? null, interrupted: true }, () => "");
    return EXIT.interrupted;
  }
  const job = followed.job;
  const result = job.result?.kind === "predict" ? job.result : null;
  if (job.status === "succeeded" && job.outputDataset && outFile) {
    await downloadCsv(client, job.outputDataset.name, job.outputDataset.version, outFile);
  }
  const doc = {
    jobId: job.id,
    status: job.status,
    model: body.model,
    input: { dataset: body.dataset, version: body.version ?? null },
    outputDataset: job.outputDataset,
    rows: result?.rows ?? null,
    predictionColumns: result?.prediction_columns ?? [],
    out: job.status === "succeeded" && outFile ? outFile : null,
    error: job.error,
  };
  env.out.result(doc, () => {
    if (job.status !== "succeeded" || !job.outputDataset) return `job ${job.id}: ${job.status}`;
    const lines = [
      `wrote dataset ${job.outputDataset.name} version ${job.outputDataset.version}` +
        (result ? ` (${result.rows} rows; prediction columns: ${result.prediction_columns.join(", ")})` : ""),
    ];
    if (doc.out) lines.push(`saved CSV to ${doc.out}`);
    else
      lines.push(
        `download it: caretflow datasets download ${job.outputDataset.name} --version ${job.outputDataset.version} --out FILE.csv`,
      );
    return lines.join("\n");
  });
  if (job.error) env.out.note(formatJobError(job.error));
  return exitCodeOf(job.status);
}

async function predictOnline(
  env: CommandEnv,
  client: ApiClient,
  model: string,
  rowsFile: string | undefined,
  horizon: number | undefined,
): Promise<number> {
  const rows = rowsFile === undefined ? [] : await readRows(env, rowsFile);
  const body = parseFlags(OnlinePredictRequest, { model, rows, horizon }, { model: "--model", rows: "--rows", horizon: "--horizon" });
  const res = await client.POST("/api/predict", { body });
  const head = `${res.model.name} version ${res.model.version}: ${res.predictions.length} predictions in ${res.elapsedMs.toFixed(0)} ms`;
  env.out.result(res, () => [head, predictionTable(res)].join("\n"));
  return EXIT.ok;
}

/** Labels and scores for row models; every column for others (a forecast's period, y_pred, lower, upper). */
function predictionTable(res: OnlinePredictResponse): string {
  if (!res.columns.includes("prediction_label")) {
    return formatTable(
      res.columns.map((c) => ({ header: c.toUpperCase(), right: c !== "period" })),
      res.predictions.map((p) => res.columns.map((c) => (p[c] == null ? "-" : formatValue(p[c])))),
    );
  }
  return formatTable(
    [{ header: "ROW", right: true }, { header: "PREDICTION" }, { header: "SCORE", right: true }],
    res.predictions.map((p, i) => [
      String(i + 1),
      formatValue(p.prediction_label),
      p.prediction_score == null ? "-" : formatValue(p.prediction_score),
    ]),
  );
}

async function readRows(env: CommandEnv, rowsFile: string): Promise<unknown> {
  const file = resolve(env.ctx.cwd, rowsFile);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw userError(
      "rows_unreadable",
      code === "ENOENT" ? `file '${rowsFile}' does not exist` : `cannot read rows from '${rowsFile}': ${(err as Error).message}`,
      'give a JSON file holding an array of objects, e.g. [{"Price": 1.99, "Store": 1}]',
    );
  }
  return Array.isArray(parsed) ? parsed : (parsed as { rows?: unknown })?.rows;
}
