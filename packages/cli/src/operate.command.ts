import { type OperateRequest, Operation, UseGpu } from "@caretflow/contracts";
import { type Command, Option } from "commander";
import { z } from "zod";
import { action, type CommonOptions, type ExitState, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { flagNames, type OperationCommand, operationCommands, operationFrom, operationOption } from "./operation.flags.ts";
import { followTrainJob } from "./train.command.ts";

const RunId = z.string().regex(/^[a-f0-9]{32}$/, "an MLflow run id is 32 hex characters");

const ABOUT: Record<OperationCommand["op"], string> = {
  create: "train one model (any model id, with hyperparameters) in the run's setup",
  tune: "tune the run's model's hyperparameters (random, grid or Optuna search)",
  ensemble: "bag or boost the run's model",
  blend: "a voting ensemble of the run's model and other runs' models",
  stack: "a stacked ensemble of the run's model and other runs' models",
  calibrate: "calibrate the run's model's probabilities (classification)",
  optimize_threshold: "the probability threshold that maximizes a metric (binary classification)",
  finalize: "fit a leaderboard row's model on all data, ready to register",
};

const EXAMPLES: Partial<Record<OperationCommand["op"], string>> = {
  tune: "caretflow runs tune RUN_ID --search optuna --n-iter 50 --time-budget-minutes 5 --grid max_depth=3,5,8",
  blend: "caretflow runs blend RUN_ID --with RUN_ID2,RUN_ID3 --method soft",
  create: "caretflow runs create RUN_ID --model rf --param n_estimators=300 --param max_depth=8",
  optimize_threshold: "caretflow runs threshold RUN_ID --optimize Recall",
};

interface OperateOptions extends CommonOptions {
  useGpu?: string;
  detach?: boolean;
  [flag: string]: unknown;
}

/**
 * `caretflow runs tune|ensemble|blend|stack|calibrate|threshold|finalize|create RUN_ID`: one
 * subcommand per operation of the contracts (flags from its fields), each POSTing
 * /api/runs/{runId}/operations and following the job like `caretflow train`.
 */
export function registerOperations(runs: Command, ctx: CliContext, exit: ExitState): void {
  for (const op of operationCommands()) {
    const cmd = runs
      .command(op.command)
      .description(`${ABOUT[op.op]}; logged as a new run under the training's parent run`)
      .argument("<runId>", "the model's run: a leaderboard row, a final or operation run, or a parent run (its best model)")
      .addOption(new Option("--use-gpu <mode>", UseGpu.description ?? "GPU use").choices(UseGpu.options))
      .option("--detach", "start the job and return at once");
    for (const f of op.flags) cmd.addOption(operationOption(f));
    const example = EXAMPLES[op.op];
    cmd.addHelpText(
      "after",
      "\nExit status: 0 succeeded, 1 failed, 2 cancelled, 130 interrupted (the job is cancelled)." +
        (example ? `\nExample:\n  ${example}` : ""),
    );
    withCommon(cmd).action(
      action<OperateOptions>(ctx, exit, async (env, opts, [runId]) => {
        const id = parseFlags(RunId, runId, { "": "RUN_ID" });
        const operation = parseFlags(Operation, operationFrom(op, opts), flagNames(op));
        const request: OperateRequest = { operation, use_gpu: (opts.useGpu as OperateRequest["use_gpu"] | undefined) ?? "off" };
        const client = await env.client();
        const job = await client.POST("/api/runs/{runId}/operations", { params: { path: { runId: id } }, body: request });
        return await followTrainJob(env, client, job, opts.detach === true);
      }),
    );
  }
}
