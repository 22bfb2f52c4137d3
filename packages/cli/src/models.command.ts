import {
  PromotionCreateRequest,
  type PromotionResult,
  RegisterModelRequest,
  RollbackRequest,
  SetAliasRequest,
  type StageTransition,
} from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { registerModelEdits } from "./models.edit.command.ts";
import { formatTable, formatTime } from "./table.ts";

/** "champion→3, staging→4" */
export function formatAliases(aliases: Record<string, number>): string {
  const entries = Object.entries(aliases);
  return entries.length === 0 ? "-" : entries.map(([a, v]) => `${a}→${v}`).join(", ");
}

/** "production: version 3 (replaced 2) by alice at ..., promotion: why" */
export function formatTransition(t: StageTransition): string {
  if (t.kind === "alias_removed") return `${t.model} ${t.stage}: version ${t.version} removed by ${t.actor}`;
  const replaced = t.replaced === null ? "" : ` (replaced ${t.replaced})`;
  return `${t.model} ${t.stage}: version ${t.version}${replaced} by ${t.actor}, ${t.kind}${t.reason ? `: ${t.reason}` : ""}`;
}

function formatPromotion(name: string, r: PromotionResult): string {
  if (r.transition) return formatTransition(r.transition);
  const p = r.request!;
  return `requested ${name} version ${p.version} -> ${p.to} (request ${p.id}); an owner approves it with \`caretflow models approve ${name} ${p.id}\``;
}

export function registerModels(program: Command, ctx: CliContext, exit: ExitState): void {
  const models = program
    .command("models")
    .description("the model registry: register, list, set aliases, promote, approve, roll back, history, describe, tag, compare");

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

  registerLifecycle(models, ctx, exit);
  registerModelEdits(models, ctx, exit);
}

/** promote, approve, reject, rollback, history: the stages of a registered model. */
function registerLifecycle(models: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    models
      .command("promote")
      .description("move a version to staging, production or archived (a request when an owner's approval is needed)")
      .argument("<name>", "registered model name")
      .argument("<version>", "version number", intArg("VERSION", 1))
      .requiredOption("--to <stage>", "staging, production or archived")
      .option("--reason <text>", "why (kept in the model's history)"),
  ).action(
    action<CommonOptions & { to: string; reason?: string }>(ctx, exit, async (env, opts, args) => {
      const [name, version] = args as unknown as [string, number];
      const body = parseFlags(
        PromotionCreateRequest,
        { version, to: opts.to, reason: opts.reason },
        { version: "VERSION", to: "--to", reason: "--reason" },
      );
      const client = await env.client();
      const result = await client.POST("/api/models/{name}/promotions", { params: { path: { name } }, body });
      env.out.result(result, () => formatPromotion(name, result));
      return undefined;
    }),
  );

  for (const decision of ["approve", "reject"] as const) {
    withCommon(
      models
        .command(decision)
        .description(
          decision === "approve"
            ? "approve a pending promotion (another owner than the requester): the version moves"
            : "reject a pending promotion",
        )
        .argument("<name>", "registered model name")
        .argument("<request>", "the request id (see `caretflow models promotions NAME`)")
        .option("--reason <text>", "why"),
    ).action(
      action<CommonOptions & { reason?: string }>(ctx, exit, async (env, opts, args) => {
        const [name, id] = args as [string, string];
        const client = await env.client();
        const params = { path: { name, id } };
        const body = opts.reason ? { reason: opts.reason } : {};
        if (decision === "approve") {
          const result = await client.POST("/api/models/{name}/promotions/{id}/approve", { params, body });
          env.out.result(result, () => `approved request ${id}\n${formatPromotion(name, result)}`);
        } else {
          const request = await client.POST("/api/models/{name}/promotions/{id}/reject", { params, body });
          env.out.result(request, () => `rejected request ${id} (${name} version ${request.version} -> ${request.to})`);
        }
        return undefined;
      }),
    );
  }

  withCommon(
    models.command("promotions").description("a model's promotion requests, newest first").argument("<name>", "registered model name"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, args) => {
      const [name] = args as [string];
      const client = await env.client();
      const list = await client.GET("/api/models/{name}/promotions", { params: { path: { name } } });
      env.out.result(list, () =>
        list.promotions.length === 0
          ? `${name} has no promotion requests`
          : formatTable(
              [
                { header: "ID" },
                { header: "VERSION", right: true },
                { header: "TO" },
                { header: "STATUS" },
                { header: "BY" },
                { header: "DECIDED BY" },
                { header: "REASON" },
              ],
              list.promotions.map((p) => [p.id, String(p.version), p.to, p.status, p.requestedBy, p.decidedBy ?? "-", p.reason ?? "-"]),
            ),
      );
      return undefined;
    }),
  );

  withCommon(
    models
      .command("rollback")
      .description("move production back to the version it replaced")
      .argument("<name>", "registered model name")
      .requiredOption("--reason <text>", "why (kept in the model's history)"),
  ).action(
    action<CommonOptions & { reason: string }>(ctx, exit, async (env, opts, args) => {
      const [name] = args as [string];
      const body = parseFlags(RollbackRequest, { reason: opts.reason }, { reason: "--reason" });
      const client = await env.client();
      const t = await client.POST("/api/models/{name}/rollback", { params: { path: { name } }, body });
      env.out.result(t, () => `rolled back: ${formatTransition(t)}`);
      return undefined;
    }),
  );

  withCommon(
    models
      .command("history")
      .description("every stage move of a model: who, when, why, which version it replaced")
      .argument("<name>", "registered model name"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, args) => {
      const [name] = args as [string];
      const client = await env.client();
      const history = await client.GET("/api/models/{name}/history", { params: { path: { name } } });
      env.out.result(history, () =>
        history.transitions.length === 0
          ? `${name} has no stage moves yet; promote a version with \`caretflow models promote ${name} VERSION --to staging\``
          : formatTable(
              [
                { header: "WHEN" },
                { header: "STAGE" },
                { header: "VERSION", right: true },
                { header: "REPLACED", right: true },
                { header: "BY" },
                { header: "HOW" },
                { header: "REASON" },
              ],
              history.transitions.map((t) => [
                formatTime(t.at),
                t.stage,
                String(t.version),
                t.replaced === null ? "-" : String(t.replaced),
                t.actor,
                t.kind,
                t.reason ?? "-",
              ]),
            ),
      );
      return undefined;
    }),
  );
}
