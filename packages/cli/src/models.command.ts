import { RegisterModelRequest, SetAliasRequest } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTable, formatTime } from "./table.ts";

/** "champion→3, staging→4" */
export function formatAliases(aliases: Record<string, number>): string {
  const entries = Object.entries(aliases);
  return entries.length === 0 ? "-" : entries.map(([a, v]) => `${a}→${v}`).join(", ");
}

export function registerModels(program: Command, ctx: CliContext, exit: ExitState): void {
  const models = program.command("models").description("the model registry: register, list, set aliases");

  withCommon(
    models
      .command("register")
      .description("register a run's model as a new version of a named model")
      .requiredOption("--run <runId>", "MLflow run id holding the model (the best run of a training job)")
      .requiredOption("--name <name>", "registered model name")
      .option("--alias <alias>", "point this alias (e.g. champion) at the new version")
      .option("--description <text>", "a note stored with the version"),
  ).action(
    action<CommonOptions & { run: string; name: string; alias?: string; description?: string }>(ctx, exit, async (env, opts) => {
      const body = parseFlags(
        RegisterModelRequest,
        { runId: opts.run, name: opts.name, alias: opts.alias, description: opts.description },
        { runId: "--run", name: "--name", alias: "--alias", description: "--description" },
      );
      const client = await env.client();
      const version = await client.POST("/api/models", { body });
      env.out.result(version, () => {
        const alias = version.aliases.length > 0 ? ` (alias ${version.aliases.join(", ")})` : "";
        return `registered ${version.name} version ${version.version}${alias}\nuse it: caretflow predict --model ${version.name}${
          body.alias ? `@${body.alias}` : `/${version.version}`
        } --dataset NAME`;
      });
      return undefined;
    }),
  );

  withCommon(models.command("list").description("registered models with their versions and aliases")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const client = await env.client();
      const { models: list } = await client.GET("/api/models");
      env.out.result({ models: list }, () => {
        if (list.length === 0) return "no registered models yet; register one with `caretflow models register --run RUN_ID --name NAME`";
        const rows = list.flatMap((m) =>
          m.versions.map((v) => [
            m.name,
            String(v.version),
            v.aliases.join(", ") || "-",
            v.modelName ?? "-",
            v.runId ?? "-",
            v.status,
            formatTime(v.createdAt),
          ]),
        );
        const empty = list
          .filter((m) => m.versions.length === 0)
          .map((m) => [m.name, "-", formatAliases(m.aliases), "-", "-", "-", formatTime(m.createdAt)]);
        return formatTable(
          [
            { header: "MODEL" },
            { header: "VERSION", right: true },
            { header: "ALIASES" },
            { header: "ESTIMATOR" },
            { header: "RUN ID" },
            { header: "STATUS" },
            { header: "CREATED" },
          ],
          [...rows, ...empty],
        );
      });
      return undefined;
    }),
  );

  withCommon(
    models
      .command("alias")
      .description("point an alias at a version of a registered model")
      .argument("<name>", "registered model name")
      .argument("<alias>", "alias, e.g. champion")
      .argument("<version>", "version number", intArg("VERSION", 1)),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, args) => {
      const [name, alias, version] = args as unknown as [string, string, number];
      const body = parseFlags(SetAliasRequest, { alias, version }, { alias: "ALIAS", version: "VERSION" });
      const client = await env.client();
      const model = await client.POST("/api/models/{name}/aliases", { params: { path: { name } }, body });
      env.out.result(
        model,
        () => `${model.name}@${body.alias} now points at version ${body.version} (aliases: ${formatAliases(model.aliases)})`,
      );
      return undefined;
    }),
  );
}
