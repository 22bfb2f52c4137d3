import { CaretflowError, type Catalog, type RunDetail, userError } from "@caretflow/contracts";
import type { Command } from "commander";
import type { ApiClient } from "./client.ts";
import { action, type CommonOptions, type ExitState, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { checkOutFile, downloadArtifact } from "./download.ts";
import { formatBytes, formatMetric, formatTable } from "./table.ts";
import { followTrainJob } from "./train.command.ts";

const REPORT = "report/report.html";

interface ReportOptions extends CommonOptions {
  out: string;
}

/** The run that holds the model: a training's parent run points at its best (final) run. */
async function modelRun(client: ApiClient, runId: string): Promise<RunDetail> {
  const run = await client.GET("/api/runs/{runId}", { params: { path: { runId } } });
  if (run.tags["caretflow.role"] === "parent" && run.bestRunId) {
    return await client.GET("/api/runs/{runId}", { params: { path: { runId: run.bestRunId } } });
  }
  return run;
}

/** `caretflow runs report|evaluate|compare`: the report, a fresh evaluation, runs side by side. */
export function registerRunReports(runs: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    runs
      .command("report")
      .description("download a run's HTML report (data, setup, leaderboard, plots, interpretation)")
      .argument("<runId>", "the training's run (parent) or a model's run")
      .requiredOption("--out <file.html>", "where to write the report"),
  ).action(
    action<ReportOptions>(ctx, exit, async (env, opts, [runId]) => {
      const file = await checkOutFile(ctx.cwd, opts.out);
      const client = await env.client();
      const run = await modelRun(client, runId!);
      if (!run.artifacts.some((a) => a.path === "report" || a.path === REPORT)) {
        throw new CaretflowError({
          code: "report_not_ready",
          kind: "user",
          status: 404,
          message: `run ${run.runId} has no report yet`,
          hint: `its evaluation job may still be running (caretflow jobs list); or write one now: caretflow runs evaluate ${run.runId}`,
        });
      }
      const bytes = await downloadArtifact(client, run.runId, REPORT, file);
      env.out.result({ runId: run.runId, file, bytes }, () => `report of run ${run.runId} written to ${file} (${formatBytes(bytes)})`);
      return undefined;
    }),
  );

  withCommon(
    runs
      .command("evaluate")
      .description("evaluate a run's model again: chart data, plots, SHAP and the HTML report")
      .argument("<runId>", "the training's run (parent) or a model's run")
      .option("--detach", "start the job and return at once"),
  ).action(
    action<CommonOptions & { detach?: boolean }>(ctx, exit, async (env, opts, [runId]) => {
      const client = await env.client();
      const job = await client.POST("/api/runs/{runId}/evaluate", { params: { path: { runId: runId! } } });
      return await followTrainJob(env, client, job, opts.detach === true);
    }),
  );

  withCommon(
    runs
      .command("compare")
      .description("two or more runs side by side: task, dataset, model and every metric (best marked)")
      .argument("<runIds...>", "runs to compare (training parent runs or model runs)"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, args) => {
      const ids = (args[0] as unknown as string[]) ?? [];
      if (ids.length < 2) throw userError("usage", "give at least two run ids", "caretflow runs list shows them");
      const client = await env.client();
      const [runs, catalog] = await Promise.all([Promise.all(ids.map((id) => modelRun(client, id))), client.GET("/api/catalog")]);
      env.out.result({ runs }, () => formatComparison(runs, lowerIsBetter(catalog)));
      return undefined;
    }),
  );
}

/** MLflow metric keys (as the engine writes them: "TT (Sec)" → "TT_Sec") whose smaller values are better, from the catalog. */
export function lowerIsBetter(catalog: Catalog): Set<string> {
  const key = (name: string) =>
    name
      .replace(/[^A-Za-z0-9_\-./ ]/g, "")
      .trim()
      .replace(/\s+/g, "_");
  const lower = new Set(["TT_Sec", "fit_seconds", "wall_seconds"]);
  for (const task of catalog.tasks) for (const m of task.metrics) if (!m.greaterIsBetter) lower.add(key(m.name));
  for (const k of [...lower]) lower.add(`holdout_${k}`);
  return lower;
}

/** Runs as columns, metrics as rows; the best value of each row (by its direction) gets a *. */
export function formatComparison(runs: RunDetail[], lower: Set<string>): string {
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))]
    .filter((m) => !m.startsWith("cv_fold_") && !m.endsWith("_std"))
    .sort();
  const head = [{ header: "" }, ...runs.map((r) => ({ header: r.runId.slice(0, 12), right: true }))];
  const facts = [
    ["task", ...runs.map((r) => r.task ?? "-")],
    ["dataset", ...runs.map((r) => r.dataset ?? "-")],
    ["model", ...runs.map((r) => r.tags["caretflow.model_name"] ?? r.name)],
  ];
  const rows = metrics.map((m) => {
    const values = runs.map((r) => r.metrics[m]);
    const present = values.filter((v): v is number => v !== undefined);
    const best = present.length > 1 ? (lower.has(m) ? Math.min(...present) : Math.max(...present)) : undefined;
    return [m, ...values.map((v) => (v === undefined ? "-" : `${formatMetric(v)}${v === best ? " *" : ""}`))];
  });
  return formatTable(head, [...facts, ...rows]);
}
