import { Job, type JobStatus, TrainRequest } from "@caretflow/contracts";
import type { Command } from "commander";
import { apiPath } from "./client.ts";
import { action, type CommonOptions, EXIT, type ExitState, floatArg, intArg, listArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { followWithView, formatJobError } from "./follow.ts";
import { formatLeaderboard } from "./leaderboard.ts";
import { formatFields } from "./table.ts";

interface TrainOptions extends CommonOptions {
  dataset: string;
  task: string;
  target: string;
  version?: number;
  ignore?: string[];
  trainSize?: number;
  folds?: number;
  seed?: number;
  include?: string[];
  exclude?: string[];
  sort?: string;
  experiment?: string;
  detach?: boolean;
}

/** Which flag set which TrainRequest field, so a validation error names the flag a person typed. */
const FLAG_OF: Record<string, string> = {
  dataset: "--dataset",
  version: "--version",
  task: "--task",
  target: "--target",
  ignoreColumns: "--ignore",
  trainSize: "--train-size",
  folds: "--folds",
  seed: "--seed",
  include: "--include",
  exclude: "--exclude",
  sort: "--sort",
  experiment: "--experiment",
};

/** The train command's --json document (and the shape scripts rely on). */
export interface TrainOutput {
  jobId: string;
  status: JobStatus;
  parentRunId: string | null;
  bestRunId: string | null;
  bestModel: string | null;
  bestModelId: string | null;
  modelUri: string | null;
  sortMetric: string | null;
  leaderboard: Job["leaderboard"];
  error: Job["error"];
}

export function trainOutput(job: Job): TrainOutput {
  const result = job.result?.kind === "train" ? job.result : null;
  return {
    jobId: job.id,
    status: job.status,
    parentRunId: result?.parent_run_id ?? null,
    bestRunId: result?.best_run_id ?? null,
    bestModel: result?.best_model_name ?? null,
    bestModelId: result?.best_model_id ?? null,
    modelUri: result?.model_uri ?? null,
    sortMetric: result?.sort_metric ?? null,
    leaderboard: result?.leaderboard ?? job.leaderboard,
    error: job.error,
  };
}

/** Exit code for a finished job: 0 succeeded, 1 failed, 2 cancelled. */
export function exitCodeOf(status: JobStatus): number {
  switch (status) {
    case "succeeded":
      return EXIT.ok;
    case "failed":
      return EXIT.error;
    case "cancelled":
      return EXIT.cancelled;
    case "queued":
    case "running":
      return EXIT.error;
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

export function registerTrain(program: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    program
      .command("train")
      .description("train and compare models with PyCaret (setup, compare_models, finalize), tracked in MLflow")
      .requiredOption("--dataset <name>", "dataset to train on")
      .requiredOption("--task <task>", "classification or regression")
      .requiredOption("--target <column>", "the column to predict")
      .option("--version <n>", "dataset version (default: the latest)", intArg("--version", 1))
      .option("--ignore <columns>", "columns to leave out, comma separated", listArg)
      .option("--train-size <fraction>", "fraction of rows used for training (default 0.7)", floatArg("--train-size"))
      .option("--folds <n>", "cross-validation folds (default 5)", intArg("--folds", 2))
      .option("--seed <n>", "random seed (default 123)", intArg("--seed", 0))
      .option("--include <models>", "PyCaret model ids to compare, e.g. lr,rf,lightgbm (default: all)", listArg)
      .option("--exclude <models>", "PyCaret model ids to leave out", listArg)
      .option("--sort <metric>", "metric that ranks the models, e.g. Accuracy, AUC, R2, RMSE")
      .option("--experiment <name>", "MLflow experiment (default: caretflow/<dataset>)")
      .option("--detach", "start the job and return at once")
      .addHelpText(
        "after",
        "\nExit status: 0 succeeded, 1 failed, 2 cancelled, 130 interrupted (the job is cancelled).\n" +
          "Example:\n  caretflow train --dataset juice --task classification --target Purchase --include lr,dt,rf",
      ),
  ).action(
    action<TrainOptions>(ctx, exit, async (env, opts) => {
      const request = parseFlags(
        TrainRequest,
        {
          dataset: opts.dataset,
          task: opts.task,
          target: opts.target,
          ...(opts.version !== undefined ? { version: opts.version } : {}),
          ...(opts.ignore ? { ignoreColumns: opts.ignore } : {}),
          ...(opts.trainSize !== undefined ? { trainSize: opts.trainSize } : {}),
          ...(opts.folds !== undefined ? { folds: opts.folds } : {}),
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          ...(opts.include ? { include: opts.include } : {}),
          ...(opts.exclude ? { exclude: opts.exclude } : {}),
          ...(opts.sort !== undefined ? { sort: opts.sort } : {}),
          ...(opts.experiment !== undefined ? { experiment: opts.experiment } : {}),
        },
        FLAG_OF,
      );
      const client = await env.client();
      const job = await client.json("post", apiPath("/api/jobs/train"), Job, { body: request });
      if (opts.detach) {
        env.out.result(job, () => `started training job ${job.id}\nfollow it with \`caretflow jobs watch ${job.id}\``);
        return undefined;
      }
      env.out.note(`training job ${job.id} started (Ctrl-C cancels it)`);
      const followed = await followWithView(env, client, job.id, { rows: true });
      if (followed.interrupted) {
        if (env.out.json)
          env.out.result({ ...(followed.job ? trainOutput(followed.job) : { jobId: job.id }), interrupted: true }, () => "");
        return EXIT.interrupted;
      }
      const final = followed.job;
      const doc = trainOutput(final);
      env.out.result(doc, () => humanTrainResult(doc));
      if (final.error) env.out.note(formatJobError(final.error));
      else if (final.status === "cancelled") env.out.note(`job ${final.id} was cancelled`);
      return exitCodeOf(final.status);
    }),
  );
}

export function humanTrainResult(doc: TrainOutput): string {
  const parts: string[] = [];
  if (doc.status === "succeeded") {
    parts.push(
      formatFields([
        ["job", doc.jobId],
        ["status", doc.status],
        ["best model", doc.bestModel ? `${doc.bestModel} (${doc.bestModelId})` : "-"],
        ["sorted by", doc.sortMetric ?? "-"],
        ["parent run", doc.parentRunId ?? "-"],
        ["best run", doc.bestRunId ?? "-"],
      ]),
    );
  } else {
    parts.push(
      formatFields([
        ["job", doc.jobId],
        ["status", doc.status],
      ]),
    );
  }
  if (doc.leaderboard.length > 0) parts.push("", formatLeaderboard(doc.leaderboard));
  if (doc.status === "succeeded" && doc.bestRunId) {
    parts.push("", `register it: caretflow models register --run ${doc.bestRunId} --name NAME --alias champion`);
  }
  return parts.join("\n");
}
