import { type Catalog, type Job, type JobStatus, type OperateResult, TaskId, TrainRequest, type TrainResult } from "@caretflow/contracts";
import { type Command, Option } from "commander";
import { catalogFlags, flagOption, requestFields, setArg, tasksHelp } from "./catalog.flags.ts";
import type { ApiClient } from "./client.ts";
import { action, type CommandEnv, type CommonOptions, EXIT, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatDetails } from "./details.ts";
import { followWithView, formatJobError } from "./follow.ts";
import { formatLeaderboard } from "./leaderboard.ts";
import { formatOperation } from "./operation.view.ts";
import { formatFields } from "./table.ts";

interface TrainOptions extends CommonOptions {
  dataset: string;
  task: string;
  version?: number;
  experiment?: string;
  set?: Record<string, unknown>;
  seed?: number;
  useGpu?: string;
  detach?: boolean;
  [flag: string]: unknown;
}

const ENVELOPE_FLAGS: Record<string, string> = {
  dataset: "--dataset",
  version: "--version",
  task: "--task",
  experiment: "--experiment",
  setup: "--set",
};

/** The train command's --json document (and the shape scripts rely on). */
export interface TrainOutput {
  jobId: string;
  status: JobStatus;
  task: string | null;
  parentRunId: string | null;
  bestRunId: string | null;
  bestModel: string | null;
  bestModelId: string | null;
  modelUri: string | null;
  sortMetric: string | null;
  leaderboard: Job["leaderboard"];
  /** What the task adds: classes and per-class metrics, clusters, forecast, topics, rules... */
  details: TrainResult["details"] | null;
  /** Dataset versions the job wrote (labels, topic weights, rules...). */
  outputDatasets: Job["outputDatasets"];
  timings: Record<string, number>;
  /** Operation jobs: what ran on which run, and what it chose (tuned parameters, threshold...). */
  operation: { op: OperateResult["op"]; sourceRunId: string; summary: OperateResult["summary"] | null } | null;
  error: Job["error"];
}

export function trainOutput(job: Job): TrainOutput {
  const result = job.result?.kind === "train" || job.result?.kind === "operate" ? job.result : null;
  const request = job.request as { task?: string };
  return {
    jobId: job.id,
    status: job.status,
    task: result?.task ?? request.task ?? null,
    parentRunId: result?.parent_run_id ?? null,
    bestRunId: result?.best_run_id ?? null,
    bestModel: result?.best_model_name ?? null,
    bestModelId: result?.best_model_id ?? null,
    modelUri: result?.model_uri ?? null,
    sortMetric: result?.sort_metric ?? null,
    leaderboard: result?.leaderboard ?? job.leaderboard,
    details: result?.details ?? null,
    outputDatasets: job.outputDatasets,
    timings: result?.timings ?? {},
    operation: result?.kind === "operate" ? { op: result.op, sourceRunId: result.source_run_id, summary: result.summary ?? null } : null,
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

/**
 * `caretflow train`: its task options come from the engine's catalog (fetched from the server),
 * so every task, field, default and help text is the engine's own. Without a catalog (no server
 * reachable) only the common flags are known and `--help` says where the rest come from.
 */
export function registerTrain(program: Command, ctx: CliContext, exit: ExitState, catalog: Catalog | null): void {
  const flags = catalog ? catalogFlags(catalog) : [];
  const tasks = catalog ? catalog.tasks.map((t) => t.task) : [...TaskId.options];
  const cmd = program
    .command("train")
    .description("train models for any task (compare or create), tracked in MLflow; the best is finalized and logged")
    .requiredOption("--dataset <name>", "dataset to train on")
    .addOption(new Option("--task <task>", "the ML task").choices(tasks).makeOptionMandatory())
    .option("--version <n>", "dataset version (default: the latest)", intArg("--version", 1))
    .option("--experiment <name>", "MLflow experiment (default: caretflow-<dataset>)")
    .option(
      "--set <name=value>",
      "a PyCaret setup option, repeatable (e.g. --set normalize=true); see `caretflow catalog --task TASK`",
      setArg,
    )
    .option("--detach", "start the job and return at once");
  for (const f of flags) cmd.addOption(flagOption(f, tasks.length));
  cmd.addHelpText(
    "after",
    (catalog
      ? tasksHelp(catalog)
      : "\nTask options (target, date, text, clusters, horizon...) come from the engine's catalog: start caretflow\n" +
        "(`caretflow up`) and run `caretflow train --help` again, or read docs/cli.md.") +
      "\n\nExit status: 0 succeeded, 1 failed, 2 cancelled, 130 interrupted (the job is cancelled).\n" +
      "Examples:\n" +
      "  caretflow train --dataset juice --task classification --target Purchase --include lr,dt,rf\n" +
      "  caretflow train --dataset jewellery --task clustering --clusters 4\n" +
      "  caretflow train --dataset pycaret_downloads --task time_series --date Date --target Total --horizon 30",
  );
  withCommon(cmd).action(
    action<TrainOptions>(ctx, exit, async (env, opts) => {
      if (!catalog) {
        // Reached only when the catalog could not be fetched; say why the task options are missing.
        await env.client().then((c) => c.GET("/api/catalog"));
      }
      const fields = requestFields(flags, opts, opts.task);
      const request = parseFlags(
        TrainRequest,
        {
          dataset: opts.dataset,
          task: opts.task,
          ...(opts.version !== undefined ? { version: opts.version } : {}),
          ...(opts.experiment !== undefined ? { experiment: opts.experiment } : {}),
          ...fields,
          ...(opts.set ? { setup: opts.set } : {}),
        },
        { ...ENVELOPE_FLAGS, ...Object.fromEntries(flags.map((f) => [f.name, `--${f.flag}`])) },
      );
      const client = await env.client();
      const job = await client.POST("/api/jobs/train", { body: request });
      return await followTrainJob(env, client, job, opts.detach === true);
    }),
  );
}

/** Follows a training or operation job to its end, printing its leaderboard and result; the exit code. */
export async function followTrainJob(env: CommandEnv, client: ApiClient, job: Job, detach: boolean): Promise<number> {
  if (detach) {
    env.out.result(job, () => `started ${job.kind} job ${job.id}\nfollow it with \`caretflow jobs watch ${job.id}\``);
    return EXIT.ok;
  }
  env.out.note(`${job.kind === "train" ? "training" : "operation"} job ${job.id} started (Ctrl-C cancels it)`);
  const followed = await followWithView(env, client, job.id, { rows: true });
  if (followed.interrupted) {
    if (env.out.json) env.out.result({ ...(followed.job ? trainOutput(followed.job) : { jobId: job.id }), interrupted: true }, () => "");
    return EXIT.interrupted;
  }
  const final = followed.job;
  const doc = trainOutput(final);
  env.out.result(doc, () => humanTrainResult(doc));
  if (final.error) env.out.note(formatJobError(final.error));
  else if (final.status === "cancelled") env.out.note(`job ${final.id} was cancelled`);
  return exitCodeOf(final.status);
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
  if (doc.operation) parts.push("", formatOperation(doc.operation));
  if (doc.leaderboard.length > 0) parts.push("", formatLeaderboard(doc.leaderboard));
  if (doc.details) parts.push("", formatDetails(doc.details));
  for (const o of doc.outputDatasets) parts.push(`${o.role} stored as dataset ${o.name} v${o.version}`);
  if (doc.status === "succeeded" && doc.bestRunId) {
    parts.push("", `register it: caretflow models register --run ${doc.bestRunId} --name NAME --alias champion`);
  }
  return parts.join("\n");
}
