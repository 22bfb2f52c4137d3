import { type Catalog, TaskId } from "@caretflow/contracts";
import { type Command, Option } from "commander";
import { action, type CommonOptions, type ExitState, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTable } from "./table.ts";

interface CatalogOptions extends CommonOptions {
  task?: TaskId;
}

const show = (v: unknown) => (v === undefined || v === null ? "" : Array.isArray(v) ? v.join(",") : String(v));

/** `caretflow catalog [--task T]`: what the engine offers per task, straight from the engine. */
export function registerCatalog(program: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    program
      .command("catalog")
      .description("the engine's tasks, with their options, models, metrics and plots")
      .addOption(new Option("--task <task>", "one task in detail").choices([...TaskId.options])),
  ).action(
    action<CatalogOptions>(ctx, exit, async (env, opts) => {
      const client = await env.client();
      const catalog = await client.GET("/api/catalog", { params: { query: { task: opts.task } } });
      env.out.result(catalog, () => (opts.task ? formatTask(catalog, opts.task) : formatTasks(catalog)));
      return undefined;
    }),
  );
}

function formatTasks(catalog: Catalog): string {
  const table = formatTable(
    [{ header: "TASK" }, { header: "FAMILY" }, { header: "MODELS", right: true }, { header: "OPERATIONS" }, { header: "WHAT" }],
    catalog.tasks.map((t) => [t.task, t.family, String(t.models.length), t.operations.join(","), t.description]),
  );
  return `${table}\n\nGPU: ${catalog.gpu.available ? "available" : "none"} (${catalog.gpu.detail})\nDetails: caretflow catalog --task TASK`;
}

function formatTask(catalog: Catalog, name: string): string {
  const t = catalog.tasks.find((x) => x.task === name);
  if (!t) return `the engine has no task ${name}`;
  const fields = (scope: "spec" | "setup") =>
    formatTable(
      [
        { header: scope === "spec" ? "FLAG" : "SETUP OPTION (--set NAME=VALUE)" },
        { header: "TYPE" },
        { header: "DEFAULT" },
        { header: "HELP" },
      ],
      t.fields
        .filter((f) => f.scope === scope)
        .map((f) => [
          scope === "spec" ? `--${f.flag ?? f.name.replaceAll("_", "-")}${f.required ? " (required)" : ""}` : f.name,
          f.type === "enum" ? (f.values ?? []).join("|") : f.type,
          show(f.default),
          f.help,
        ]),
    );
  const models = formatTable(
    [{ header: "MODEL" }, { header: "NAME" }, { header: "DEFAULT SET" }, { header: "GPU" }, { header: "INSTALLED" }],
    t.models.map((m) => [m.id, m.name, m.turbo ? "yes" : "no", m.gpu ? "yes" : "no", m.installed ? "yes" : "no"]),
  );
  const metrics = t.metrics.map((m) => `${m.name} (${m.greaterIsBetter ? "higher" : "lower"} is better)`).join(", ");
  return [
    `${t.label} (${t.task}, ${t.family} family): ${t.description}`,
    `operations: ${t.operations.join(", ")}`,
    "",
    fields("spec"),
    "",
    fields("setup"),
    "",
    models,
    "",
    `metrics: ${metrics || "none"}${t.defaultSort ? `; ranked by ${t.defaultSort} by default` : ""}`,
    `plots: ${t.plots.map((p) => p.id).join(", ")}`,
    `predictions: ${t.predictionColumns.map((c) => c.name).join(", ")}`,
  ].join("\n");
}
