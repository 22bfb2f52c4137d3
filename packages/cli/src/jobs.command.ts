import type { Job } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, EXIT, type ExitState, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { followWithView, formatJobError } from "./follow.ts";
import { formatLeaderboard } from "./leaderboard.ts";
import { formatFields, formatTable, formatTime } from "./table.ts";
import { exitCodeOf } from "./train.command.ts";

/** "juice → Purchase (classification)", "jewellery (clustering)", "tune run 1a2b…" or "lr@champion on juice". */
export function describeRequest(job: Job): string {
  const r = job.request;
  if ("task" in r) {
    const at = `${r.dataset}${r.version ? `@v${r.version}` : ""}`;
    return "target" in r ? `${at} → ${r.target} (${r.task})` : `${at} (${r.task})`;
  }
  if ("operation" in r) return `${r.operation.op} run ${r.run.slice(0, 12)}…`;
  if ("after" in r) return `evaluate run ${r.run.slice(0, 12)}…`;
  if ("deployment" in r)
    return `drift of deployment ${r.deployment} (${r.model}/${r.version}) against ${r.reference.dataset}@v${r.reference.version}`;
  if ("reference" in r) return `drift of ${r.current.dataset}@v${r.current.version} against ${r.reference.dataset}@v${r.reference.version}`;
  return `${r.model} on ${r.dataset}${r.version ? `@v${r.version}` : ""}`;
}

export function registerJobs(program: Command, ctx: CliContext, exit: ExitState): void {
  const jobs = program.command("jobs").description("list, inspect, follow and cancel jobs");

  withCommon(jobs.command("list").description("jobs, newest first")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const client = await env.client();
      const { jobs: list } = await client.GET("/api/jobs");
      env.out.result({ jobs: list }, () =>
        list.length === 0
          ? "no jobs yet; start one with `caretflow train`"
          : formatTable(
              [{ header: "ID" }, { header: "KIND" }, { header: "STATUS" }, { header: "STAGE" }, { header: "WHAT" }, { header: "CREATED" }],
              list.map((j) => [j.id, j.kind, j.status, j.stage ?? "-", describeRequest(j), formatTime(j.createdAt)]),
            ),
      );
      return undefined;
    }),
  );

  withCommon(jobs.command("show").description("one job: status, progress, result").argument("<id>", "job id")).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [id]) => {
      const client = await env.client();
      const job = await client.GET("/api/jobs/{id}", { params: { path: { id: id! } } });
      env.out.result(job, () => humanJob(job));
      return undefined;
    }),
  );

  withCommon(jobs.command("cancel").description("cancel a queued or running job").argument("<id>", "job id")).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [id]) => {
      const client = await env.client();
      const job = await client.POST("/api/jobs/{id}/cancel", { params: { path: { id: id! } } });
      env.out.result(job, () => `job ${job.id}: ${job.status}`);
      return undefined;
    }),
  );

  withCommon(jobs.command("logs").description("the engine's output (stdout and stderr) of a job").argument("<id>", "job id")).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [id]) => {
      const client = await env.client();
      const res = await client.raw("get", "/api/jobs/{id}/log", { params: { path: { id: id! } }, headers: { accept: "text/plain" } });
      const text = await res.text();
      env.out.result({ jobId: id, log: text }, () => text);
      return undefined;
    }),
  );

  withCommon(
    jobs
      .command("watch")
      .description("follow a job until it ends, with progress (Ctrl-C cancels it)")
      .argument("<id>", "job id")
      .addHelpText("after", "\nExit status: 0 succeeded, 1 failed, 2 cancelled, 130 interrupted."),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [id]) => {
      const client = await env.client();
      const followed = await followWithView(env, client, id!, { rows: true });
      if (followed.interrupted) {
        if (env.out.json) env.out.result({ ...(followed.job ?? { id }), interrupted: true }, () => "");
        return EXIT.interrupted;
      }
      env.out.result(followed.job, () => humanJob(followed.job));
      return exitCodeOf(followed.job.status);
    }),
  );
}

export function humanJob(job: Job): string {
  const fields: [string, string][] = [
    ["job", job.id],
    ["kind", job.kind],
    ["status", job.status],
    ["what", describeRequest(job)],
    ["stage", job.stage ?? "-"],
    ["progress", job.progress ? `${job.progress.done}/${job.progress.total}` : "-"],
    ["created", formatTime(job.createdAt)],
    ["started", formatTime(job.startedAt)],
    ["finished", formatTime(job.finishedAt)],
  ];
  const r = job.result;
  if (r?.kind === "train") {
    fields.push(["best model", `${r.best_model_name} (${r.best_model_id})`], ["parent run", r.parent_run_id], ["best run", r.best_run_id]);
  } else if (r?.kind === "predict") {
    fields.push(["rows scored", String(r.rows)], ["prediction columns", r.prediction_columns.join(", ")]);
  }
  if (job.outputDataset) fields.push(["output dataset", `${job.outputDataset.name} version ${job.outputDataset.version}`]);
  const parts = [formatFields(fields)];
  const board = r?.kind === "train" ? r.leaderboard : job.leaderboard;
  if (board.length > 0) parts.push("", formatLeaderboard(board));
  if (job.error) parts.push("", formatJobError(job.error));
  return parts.join("\n");
}
