import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type PipelineError, userError, validatePipeline } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, EXIT, type ExitState, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";

/** `caretflow pipelines ...`: pipeline specs kept in git. */
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
      env.out.result({ valid: false, errors: r.errors, order: [] }, () => "");
      if (!env.out.json) {
        env.out.note(r.errors.map((e) => formatPipelineError(file!, e)).join(""));
        env.out.note(`${file}: ${r.errors.length} error${r.errors.length === 1 ? "" : "s"}`);
      }
      return EXIT.error;
    }),
  );
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
