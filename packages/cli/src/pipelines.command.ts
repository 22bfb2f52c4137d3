import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  type PipelineError,
  type PipelineRun,
  PipelineRunStatus,
  PipelineTriggerKind,
  StepId,
  userError,
  validatePipeline,
} from "@caretflow/contracts";
import { type Command, Option } from "commander";
import type { ApiClient } from "./client.ts";
import { action, type CommandEnv, type CommonOptions, EXIT, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { codeFiles, paramArg, typedParams } from "./pipelines.flags.ts";
import { followRun } from "./pipelines.follow.ts";
import { formatPipelines, formatRun, formatRuns, runErrors, runLine } from "./pipelines.view.ts";

/** `caretflow pipelines ...`: pipeline specs kept in git, stored on the server and run there. */
export function registerPipelines(program: Command, ctx: CliContext, exit: ExitState): void {
  const pipelines = program.command("pipelines").description("pipelines: YAML specs of steps run in order (see docs/pipelines.md)");

  withCommon(
    pipelines
      .command("validate")
      .description("check a pipeline file (YAML syntax, fields, step types and inputs, needs, references); no server needed")
      .argument("<file>", "the pipeline's YAML file"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [file]) => {
      const text = await readPipelineFile(ctx, file!);
      const r = validatePipeline(text);
      if (r.ok) {
        const stages = r.order.length;
        env.out.result({ valid: true, errors: [], order: r.order }, () =>
          [
            `${file} is a valid pipeline: ${r.spec.steps.length} step${r.spec.steps.length === 1 ? "" : "s"} in ${stages} stage${stages === 1 ? "" : "s"}`,
            ...r.order.map((layer, i) => `  ${i + 1}. ${layer.join(", ")}`),
          ].join("\n"),
        );
        return EXIT.ok;
      }
      reportInvalid(env, file!, r.errors);
      return EXIT.error;
    }),
  );

  withCommon(
    pipelines
      .command("apply")
      .description("store a pipeline file on the server (with the code files its custom steps name): creates it or makes its next revision")
      .argument("<file>", "the pipeline's YAML file"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [file]) => {
      const text = await readPipelineFile(ctx, file!);
      const r = validatePipeline(text);
      if (!r.ok) {
        reportInvalid(env, file!, r.errors);
        return EXIT.error;
      }
      const folder = dirname(resolve(ctx.cwd, file!));
      const files: Record<string, string> = {};
      for (const code of codeFiles(r.spec, folder, file!)) {
        files[code.path] = await readCodeFile(code.absolute, code.path, code.step);
      }
      const client = await env.client();
      const applied = await client.PUT("/api/pipelines", { body: { yaml: text, files } });
      const p = applied.pipeline;
      env.out.result(applied, () => `${applied.change} pipeline ${p.name} (revision ${p.revision})`);
      return EXIT.ok;
    }),
  );

  withCommon(pipelines.command("list").description("the project's pipelines with their schedule and last run")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const client = await env.client();
      const { pipelines: list } = await client.GET("/api/pipelines");
      env.out.result({ pipelines: list }, () => formatPipelines(list));
      return EXIT.ok;
    }),
  );

  withCommon(
    pipelines
      .command("run")
      .description("start a run of a stored pipeline")
      .argument("<name>", "the pipeline's name")
      .option("--param <name=value>", "a param's value, typed as the pipeline declares it (repeatable)", paramArg)
      .option("--force", "run every step even when an unchanged earlier result could be reused")
      .option("--wait", "follow the run until it finishes, one line per step change (Ctrl-C stops waiting, not the run)")
      .addHelpText("after", "\nExit status with --wait: 0 succeeded, 1 failed or cancelled, 130 stopped waiting (Ctrl-C)."),
  ).action(
    action<CommonOptions & { param?: [string, string][]; force?: boolean; wait?: boolean }>(ctx, exit, async (env, opts, [name]) => {
      const client = await env.client();
      const params = opts.param?.length ? typedParams(opts.param, await declaredParams(client, name!), name!) : {};
      const run = await client.POST("/api/pipelines/{name}/runs", {
        params: { path: { name: name! } },
        body: { params, force: opts.force === true },
      });
      if (!opts.wait) {
        env.out.result(
          run,
          () =>
            `started run ${run.id} of ${run.pipeline} (revision ${run.revision}); follow it with \`caretflow pipelines show ${run.id}\``,
        );
        return EXIT.ok;
      }
      env.out.note(`run ${run.id} of ${run.pipeline} (revision ${run.revision}) started`);
      return finish(env, client, run);
    }),
  );

  withCommon(
    pipelines
      .command("runs")
      .description("runs of a pipeline (of every pipeline when NAME is left out), newest first")
      .argument("[name]", "the pipeline's name")
      .addOption(new Option("--status <status>", "only runs in this state").choices(PipelineRunStatus.options))
      .addOption(new Option("--trigger <kind>", "only runs started this way").choices(PipelineTriggerKind.options))
      .option("--limit <n>", "runs to show (1-500, default 20)", intArg("--limit", 1, 500), 20),
  ).action(
    action<CommonOptions & { status?: PipelineRunStatus; trigger?: PipelineTriggerKind; limit: number }>(
      ctx,
      exit,
      async (env, opts, [name]) => {
        const client = await env.client();
        const query = {
          limit: opts.limit,
          ...(name ? { pipeline: name } : {}),
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.trigger ? { trigger: opts.trigger } : {}),
        };
        const { runs } = await client.GET("/api/pipeline-runs", { params: { query } });
        env.out.result({ runs }, () => {
          if (runs.length > 0) return formatRuns(runs, ctx.now(), name === undefined);
          const filtered = opts.status || opts.trigger ? " that match" : "";
          return name ? `no runs of ${name}${filtered}; start one with \`caretflow pipelines run ${name}\`` : `no pipeline runs${filtered}`;
        });
        return EXIT.ok;
      },
    ),
  );

  withCommon(
    pipelines.command("show").description("a run: its params, trigger, and each step's state").argument("<run-id>", "the run's id"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [id]) => {
      const client = await env.client();
      const run = await client.GET("/api/pipeline-runs/{id}", { params: { path: { id: id! } } });
      env.out.result(run, () => formatRun(run, ctx.now()));
      return EXIT.ok;
    }),
  );

  withCommon(
    pipelines
      .command("logs")
      .description("a run's log, or one step's")
      .argument("<run-id>", "the run's id")
      .option("--step <id>", "only this step's log"),
  ).action(
    action<CommonOptions & { step?: string }>(ctx, exit, async (env, opts, [id]) => {
      const step = opts.step === undefined ? undefined : parseFlags(StepId, opts.step, { "": "--step" });
      const client = await env.client();
      const res = await client.raw("get", "/api/pipeline-runs/{id}/logs", {
        params: { path: { id: id! }, query: step ? { step } : {} },
        headers: { accept: "text/plain" },
      });
      const log = await res.text();
      env.out.result({ runId: id, step: step ?? null, log }, () => log);
      return EXIT.ok;
    }),
  );

  withCommon(
    pipelines
      .command("cancel")
      .description("cancel a queued or running run: running steps stop, pending ones never start")
      .argument("<run-id>", "the run's id"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [id]) => {
      const client = await env.client();
      const run = await client.POST("/api/pipeline-runs/{id}/cancel", { params: { path: { id: id! } } });
      env.out.result(run, () => runLine(run, ctx.now()));
      return EXIT.ok;
    }),
  );

  withCommon(
    pipelines
      .command("resume")
      .description("start a new run of a failed or cancelled run: its succeeded steps are reused, the rest run")
      .argument("<run-id>", "the failed or cancelled run")
      .option("--wait", "follow the new run until it finishes (Ctrl-C stops waiting, not the run)")
      .addHelpText("after", "\nExit status with --wait: 0 succeeded, 1 failed or cancelled, 130 stopped waiting (Ctrl-C)."),
  ).action(
    action<CommonOptions & { wait?: boolean }>(ctx, exit, async (env, opts, [id]) => {
      const client = await env.client();
      const run = await client.POST("/api/pipeline-runs/{id}/resume", { params: { path: { id: id! } } });
      const started = `resumed run ${id} as run ${run.id} of ${run.pipeline} (revision ${run.revision})`;
      if (!opts.wait) {
        env.out.result(run, () => `${started}; follow it with \`caretflow pipelines show ${run.id}\``);
        return EXIT.ok;
      }
      env.out.note(started);
      return finish(env, client, run);
    }),
  );
}

/** Follow a run until it finishes; the exit code says how it ended. */
async function finish(env: CommandEnv, client: ApiClient, first: PipelineRun): Promise<number> {
  const followed = await followRun(env, client, first);
  const run = followed.run;
  if (followed.interrupted) {
    if (env.out.json) env.out.result({ ...run, interrupted: true }, () => "");
    return EXIT.interrupted;
  }
  env.out.result(run, () => runLine(run, env.ctx.now()));
  if (run.status === "succeeded") return EXIT.ok;
  const errors = runErrors(run);
  if (errors.length > 0) env.out.note(errors.join("\n"));
  if (run.status === "failed")
    env.out.note(`hint: fix the cause, then run the failed steps again with \`caretflow pipelines resume ${run.id}\``);
  return EXIT.error;
}

/** The params the stored pipeline declares, read from its YAML. */
async function declaredParams(client: ApiClient, name: string) {
  const stored = await client.GET("/api/pipelines/{name}", { params: { path: { name } } });
  const r = validatePipeline(stored.yaml);
  if (!r.ok) {
    throw userError(
      "stored_pipeline_invalid",
      `the stored pipeline ${name} (revision ${stored.revision}) does not pass this CLI's checks: ${r.errors[0]?.message ?? "invalid"}`,
      "use the CLI from the same version as the server, or apply the pipeline again",
    );
  }
  return r.spec.params ?? {};
}

/** Each error as the validate command prints it, or as the one JSON document `{ valid: false, errors }`. */
function reportInvalid(env: CommandEnv, file: string, errors: PipelineError[]): void {
  env.out.result({ valid: false, errors, order: [] }, () => "");
  if (env.out.json) return;
  env.out.note(errors.map((e) => formatPipelineError(file, e)).join(""));
  env.out.note(`${file}: ${errors.length} error${errors.length === 1 ? "" : "s"}`);
}

/** `FILE:LINE:COL  code  message`, then the hint indented. */
export function formatPipelineError(file: string, e: PipelineError): string {
  const where = e.line === undefined ? file : `${file}:${e.line}:${e.column ?? 1}`;
  return `${where}  ${e.code}  ${e.message}\n${e.hint ? `    hint: ${e.hint}\n` : ""}`;
}

async function readPipelineFile(ctx: CliContext, file: string): Promise<string> {
  try {
    return await readFile(resolve(ctx.cwd, file), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw userError("file_not_found", `${file} does not exist`, "give the path of a pipeline's YAML file");
    if (code === "EISDIR") throw userError("not_a_file", `${file} is a folder, not a file`, "give the path of a pipeline's YAML file");
    throw userError("file_unreadable", `cannot read ${file}: ${(err as Error).message}`, "check the file's permissions");
  }
}

async function readCodeFile(absolute: string, path: string, step: string): Promise<string> {
  try {
    return await readFile(absolute, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw userError(
        "code_file_not_found",
        `step ${step}: file '${path}' does not exist (looked for ${absolute})`,
        "the path is relative to the pipeline file's folder",
      );
    }
    if (code === "EISDIR")
      throw userError("not_a_file", `step ${step}: '${path}' is a folder, not a file`, "name the file holding the step's code");
    throw userError("file_unreadable", `step ${step}: cannot read ${path}: ${(err as Error).message}`, "check the file's permissions");
  }
}
