import { DatasetName, type QualityReport, type QualityRule, QualityRuleInput, userError } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, type ExitState, floatArg, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTable, formatTime } from "./table.ts";

interface AddFlags extends CommonOptions {
  type: string;
  column?: string;
  min?: number;
  max?: number;
  values?: string;
  pattern?: string;
  maxAgeHours?: number;
  maxAgeDays?: number;
  sql?: string;
  name?: string;
  blocking?: boolean;
}

/**
 * `caretflow datasets rules NAME`, `rules add|remove|suggest` and `datasets check NAME`: a dataset's
 * quality rules and their reports. `check` exits 1 when a blocking rule fails.
 */
export function registerQuality(datasets: Command, ctx: CliContext, exit: ExitState): void {
  const rules = withCommon(
    datasets
      .command("rules")
      .description("list a dataset's quality rules (subcommands: add, remove, suggest)")
      .argument("[name]", "dataset name"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name]) => {
      if (!name) throw userError("dataset_missing", "name the dataset whose rules to list", "e.g. caretflow datasets rules sales");
      const client = await env.client();
      const { rules: list } = await client.GET("/api/datasets/{name}/quality/rules", { params: { path: { name: datasetArg(name) } } });
      env.out.result({ rules: list }, () =>
        list.length === 0
          ? `${name} has no quality rules; add one with \`caretflow datasets rules add ${name} --type ...\``
          : rulesTable(list),
      );
      return undefined;
    }),
  );

  // `rules` and its subcommands share --json, --home and --project: given after a subcommand, commander
  // hands them to `rules`, so they are copied down before the subcommand runs.
  rules.hook("preAction", (parent, sub) => {
    if (sub === parent) return;
    for (const [key, value] of Object.entries(parent.opts())) if (sub.getOptionValue(key) === undefined) sub.setOptionValue(key, value);
  });

  withCommon(
    rules
      .command("add")
      .description("add a quality rule (warning unless --blocking)")
      .argument("<name>", "dataset name")
      .requiredOption("--type <type>", "not_null, unique, range, allowed_values, regex, row_count, freshness or sql")
      .option("--column <column>", "the column the rule checks (freshness: a date or timestamp column; leave out for the version's age)")
      .option("--min <n>", "range / row_count: the smallest allowed", floatArg("--min"))
      .option("--max <n>", "range / row_count: the largest allowed", floatArg("--max"))
      .option("--values <list>", "allowed_values: the allowed values, comma-separated")
      .option("--pattern <regex>", "regex: a pattern every value must match in full")
      .option("--max-age-hours <n>", "freshness: how old the newest value may be, in hours", floatArg("--max-age-hours"))
      .option("--max-age-days <n>", "freshness: the same in days", floatArg("--max-age-days"))
      .option("--sql <query>", "sql: one SELECT over the view `data` returning the failing rows")
      .option("--name <text>", "a short name shown in reports (default: a description of the check)")
      .option("--blocking", "a failure stops training on the version (default: warning)"),
  ).action(
    action<AddFlags>(ctx, exit, async (env, opts, [name]) => {
      const input = parseFlags(QualityRuleInput, ruleFromFlags(opts), {
        check: "--type",
        severity: "--blocking",
        name: "--name",
      });
      const client = await env.client();
      const rule = await client.POST("/api/datasets/{name}/quality/rules", { params: { path: { name: datasetArg(name!) } }, body: input });
      env.out.result(rule, () => `added rule ${rule.id} to ${rule.dataset}: ${rule.name} (${rule.severity})`);
      return undefined;
    }),
  );

  withCommon(
    rules.command("remove").description("remove a quality rule").argument("<name>", "dataset name").argument("<id>", "the rule's id"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name, id]) => {
      const client = await env.client();
      await client.DELETE("/api/datasets/{name}/quality/rules/{id}", { params: { path: { name: datasetArg(name!), id: id! } } });
      env.out.result({ ok: true }, () => `removed rule ${id} from ${name}`);
      return undefined;
    }),
  );

  withCommon(
    rules
      .command("suggest")
      .description("rules the latest version's profile suggests (not null, unique ids, ranges, allowed values)")
      .argument("<name>", "dataset name")
      .option("--accept", "add every suggested rule (as warnings)"),
  ).action(
    action<CommonOptions & { accept?: boolean }>(ctx, exit, async (env, opts, [name]) => {
      const client = await env.client();
      const path = { name: datasetArg(name!) };
      const { version, suggestions } = await client.GET("/api/datasets/{name}/quality/suggestions", { params: { path } });
      const added: QualityRule[] = [];
      if (opts.accept) {
        for (const s of suggestions) added.push(await client.POST("/api/datasets/{name}/quality/rules", { params: { path }, body: s }));
      }
      env.out.result({ version, suggestions, added }, () => {
        if (suggestions.length === 0) return `no new rules to suggest for ${name} v${version}`;
        const lines = suggestions.map((s) => `  ${s.name}`);
        return opts.accept
          ? `added ${added.length} rules to ${name} (from the profile of v${version}):\n${lines.join("\n")}`
          : `suggested for ${name} (from the profile of v${version}); add them with --accept:\n${lines.join("\n")}`;
      });
      return undefined;
    }),
  );

  withCommon(
    datasets
      .command("check")
      .description("run a dataset's quality rules on a version and print the report (exit code 1 when a blocking rule fails)")
      .argument("<name>", "dataset name")
      .option("--version <n>", "version (default: the latest)", intArg("--version", 1)),
  ).action(
    action<CommonOptions & { version?: number }>(ctx, exit, async (env, opts, [name]) => {
      const client = await env.client();
      const dataset = datasetArg(name!);
      const version = opts.version ?? (await client.GET("/api/datasets/{name}", { params: { path: { name: dataset } } })).latestVersion;
      const report = await client.POST("/api/datasets/{name}/versions/{version}/quality/check", {
        params: { path: { name: dataset, version: String(version) } },
      });
      env.out.result(report, () => reportText(report));
      return report.blockingFailures > 0 ? 1 : undefined;
    }),
  );
}

function datasetArg(name: string): string {
  return parseFlags(DatasetName, name, { "": "NAME" });
}

/** The rule body the flags describe; the shared schema then says what is missing or wrong. */
function ruleFromFlags(o: AddFlags): unknown {
  const col = o.column === undefined ? {} : { column: o.column };
  const range = { ...(o.min === undefined ? {} : { min: o.min }), ...(o.max === undefined ? {} : { max: o.max }) };
  const check = (() => {
    switch (o.type) {
      case "not_null":
      case "unique":
        return { type: o.type, ...col };
      case "range":
      case "row_count":
        return { type: o.type, ...(o.type === "range" ? col : {}), ...range };
      case "allowed_values":
        return {
          type: o.type,
          ...col,
          values: (o.values ?? "")
            .split(",")
            .map((v) => v.trim())
            .filter((v) => v !== ""),
        };
      case "regex":
        return { type: o.type, ...col, pattern: o.pattern };
      case "freshness":
        return { type: o.type, ...col, maxAgeHours: o.maxAgeHours ?? (o.maxAgeDays === undefined ? undefined : o.maxAgeDays * 24) };
      case "sql":
        return { type: o.type, sql: o.sql };
      default:
        throw userError(
          "invalid_arguments",
          `--type: '${o.type}' is not a rule type`,
          "use not_null, unique, range, allowed_values, regex, row_count, freshness or sql",
        );
    }
  })();
  return { check, severity: o.blocking ? "blocking" : "warning", ...(o.name ? { name: o.name } : {}) };
}

function rulesTable(rules: QualityRule[]): string {
  return formatTable(
    [{ header: "ID" }, { header: "RULE" }, { header: "TYPE" }, { header: "SEVERITY" }, { header: "UPDATED" }],
    rules.map((r) => [r.id, r.name, r.check.type, r.severity, formatTime(r.updatedAt)]),
  );
}

function reportText(report: QualityReport): string {
  if (report.results.length === 0) return `${report.dataset} v${report.version}: no quality rules to run`;
  const table = formatTable(
    [
      { header: "RESULT" },
      { header: "SEVERITY" },
      { header: "RULE" },
      { header: "FAILING", right: true },
      { header: "MESSAGE", maxWidth: 80 },
    ],
    report.results.map((r) => [r.passed ? "pass" : "FAIL", r.severity, r.name, String(r.failing), r.message]),
  );
  const examples = report.results
    .filter((r) => !r.passed && r.examples.length > 0)
    .map((r) => `examples failing '${r.name}':\n${r.examples.map((e) => `  ${JSON.stringify(e)}`).join("\n")}`);
  const summary =
    report.blockingFailures > 0
      ? `${report.dataset} v${report.version}: ${report.blockingFailures} blocking ${report.blockingFailures === 1 ? "rule fails" : "rules fail"}; training on this version is refused`
      : report.warnings > 0
        ? `${report.dataset} v${report.version}: passed with ${report.warnings} ${report.warnings === 1 ? "warning" : "warnings"}`
        : `${report.dataset} v${report.version}: every rule passed`;
  return [table, ...examples, summary].join("\n\n");
}
