import type { RunDetail } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, type ExitState, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { registerOperations } from "./operate.command.ts";
import { registerRunReports } from "./runs.report.command.ts";
import { formatBytes, formatFields, formatMetric, formatTable, formatTime } from "./table.ts";

/** The metrics worth a column in a list: the usual PyCaret headline metric of each task, when present. */
const HEADLINE = ["Accuracy", "AUC", "F1", "R2", "RMSE", "MAE"];

export function headlineMetrics(metrics: Record<string, number>): string {
  const shown = HEADLINE.filter((m) => m in metrics).map((m) => `${m} ${formatMetric(metrics[m])}`);
  return shown.length > 0 ? shown.join("  ") : "-";
}

export interface RunsListFlags {
  filter?: string;
  dataset?: string;
  params?: string;
  sort: string;
  order: string;
  limit: string;
  offset: string;
}

/** The query of GET /api/runs for `runs list`'s flags. */
export function runsListQuery(opts: RunsListFlags) {
  return {
    sort: opts.sort,
    order: opts.order as "asc" | "desc",
    limit: Number(opts.limit),
    offset: Number(opts.offset),
    ...(opts.filter ? { filter: opts.filter } : {}),
    ...(opts.dataset ? { dataset: opts.dataset } : {}),
    ...(opts.params ? { params: opts.params } : {}),
  };
}

/** The asked params of a run, `KEY=VALUE` separated by spaces, in the order asked. */
export function paramCell(params: Record<string, string> | undefined, asked: string | undefined): string {
  const keys = asked === "*" ? Object.keys(params ?? {}).sort() : (asked ?? "").split(",").filter((k) => k !== "");
  const shown = keys.filter((k) => params?.[k] !== undefined).map((k) => `${k}=${params?.[k]}`);
  return shown.length > 0 ? shown.join(" ") : "-";
}

export function registerRuns(program: Command, ctx: CliContext, exit: ExitState): void {
  const runs = program
    .command("runs")
    .description("training runs tracked in MLflow, and operations on their models (tune, ensemble, blend, stack...)");
  registerRunReports(runs, ctx, exit);

  withCommon(
    runs
      .command("list")
      .description("training runs (MLflow parent runs), newest first unless sorted; a page at a time")
      .option(
        "--filter <expr>",
        'e.g. "metrics.AUC > 0.8 and params.model = lr and params.max_depth <= 5" (metrics, params, tags, status); a key with spaces between backticks: "metrics.`F1 score` > 0.5"',
      )
      .option("--dataset <name>", "only runs on this dataset (NAME or NAME@vVERSION)")
      .option("--params <keys>", "param keys, comma-separated (or *), shown in a PARAMS column")
      .option("--sort <key>", "start_time, end_time, name, metrics.KEY or params.KEY (a KEY with spaces between backticks)", "start_time")
      .option("--order <order>", "desc or asc", "desc")
      .option("--limit <n>", "runs per page", "100")
      .option("--offset <n>", "runs to skip", "0"),
  ).action(
    action<CommonOptions & RunsListFlags>(ctx, exit, async (env, opts) => {
      const client = await env.client();
      const query = runsListQuery(opts);
      const { runs: list, total } = await client.GET("/api/runs", { params: { query } });
      const shown = (table: string) =>
        list.length < total ? `${table}\nruns ${query.offset + 1}-${query.offset + list.length} of ${total} (--offset to see more)` : table;
      env.out.result({ runs: list, total }, () =>
        list.length === 0
          ? total > 0 || opts.filter || opts.dataset
            ? `no runs on this page (${total} match)`
            : "no runs yet; train with `caretflow train --dataset NAME --task classification|regression --target COLUMN`"
          : shown(
              formatTable(
                [
                  { header: "RUN ID" },
                  { header: "STATUS" },
                  { header: "DATASET" },
                  { header: "TASK" },
                  { header: "TARGET" },
                  { header: "BEST MODEL" },
                  { header: "METRICS" },
                  ...(opts.params ? [{ header: "PARAMS" }] : []),
                  { header: "STARTED" },
                ],
                list.map((r) => [
                  r.runId,
                  r.status,
                  r.dataset ?? "-",
                  r.task ?? "-",
                  r.target ?? "-",
                  r.bestModel ?? "-",
                  headlineMetrics(r.metrics),
                  ...(opts.params ? [paramCell(r.params, opts.params)] : []),
                  formatTime(r.startTime),
                ]),
              ),
            ),
      );
      return undefined;
    }),
  );

  withCommon(
    runs
      .command("show")
      .description("a run: its models (child runs) with metrics, parameters and artifacts")
      .argument("<runId>", "MLflow run id"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [runId]) => {
      const client = await env.client();
      const run = await client.GET("/api/runs/{runId}", { params: { path: { runId: runId! } } });
      env.out.result(run, () => humanRun(run));
      return undefined;
    }),
  );
  registerOperations(runs, ctx, exit);
}

export function humanRun(run: RunDetail): string {
  const parts = [
    formatFields([
      ["run", run.runId],
      ["name", run.name],
      ["experiment", `${run.experimentName} (${run.experimentId})`],
      ["status", run.status],
      ["dataset", run.dataset ?? "-"],
      ["task", run.task ?? "-"],
      ["target", run.target ?? "-"],
      ["job", run.jobId ?? "-"],
      ["parent run", run.parentRunId ?? "-"],
      ["best model", run.bestModel ? `${run.bestModel} (run ${run.bestRunId ?? "-"})` : "-"],
      ["started", formatTime(run.startTime)],
      ["ended", formatTime(run.endTime)],
    ]),
  ];
  if (run.children.length > 0) {
    const all: string[] = [];
    for (const c of run.children) for (const k of Object.keys(c.metrics)) if (!all.includes(k)) all.push(k);
    // Children also log per-fold, std and holdout metrics; the parent's metric names are the comparison's headline.
    const headline = Object.keys(run.metrics).filter((k) => all.includes(k));
    const names = headline.length > 0 ? headline : all.slice(0, 10);
    parts.push(
      "",
      "models:",
      formatTable(
        [{ header: "RUN ID" }, { header: "MODEL" }, { header: "STATUS" }, ...names.map((n) => ({ header: n, right: true }))],
        run.children.map((c) => [c.runId, c.name, c.status, ...names.map((n) => formatMetric(c.metrics[n]))]),
      ),
    );
  }
  const metrics = Object.entries(run.metrics);
  if (metrics.length > 0) {
    parts.push(
      "",
      "metrics:",
      formatTable(
        [{ header: "METRIC" }, { header: "VALUE", right: true }],
        metrics.map(([k, v]) => [k, formatMetric(v)]),
      ),
    );
  }
  const params = Object.entries(run.params);
  if (params.length > 0) parts.push("", "parameters:", formatTable([{ header: "PARAM" }, { header: "VALUE", maxWidth: 80 }], params));
  if (run.datasetInputs.length > 0) {
    parts.push(
      "",
      "dataset inputs:",
      formatTable(
        [{ header: "NAME" }, { header: "DIGEST" }, { header: "SOURCE", maxWidth: 80 }],
        run.datasetInputs.map((d) => [d.name, d.digest, d.source ?? "-"]),
      ),
    );
  }
  if (run.artifacts.length > 0) {
    parts.push(
      "",
      "artifacts:",
      formatTable(
        [
          { header: "PATH", maxWidth: 100 },
          { header: "SIZE", right: true },
        ],
        run.artifacts.map((a) => [a.isDir ? `${a.path}/` : a.path, a.size === null ? "-" : formatBytes(a.size)]),
      ),
    );
  }
  return parts.join("\n");
}
