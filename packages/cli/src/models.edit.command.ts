import { type ModelComparison, ModelUpdateRequest, userError } from "@caretflow/contracts";
import { type Command, InvalidArgumentError } from "commander";
import { action, type CommonOptions, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTable } from "./table.ts";

/** `key=value` arguments and --remove keys as a tag change: a value sets a tag, null removes it. */
export function tagChange(pairs: readonly string[], remove: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw userError("invalid_tag", `'${pair}' is not a tag`, "write KEY=VALUE, e.g. team=fraud");
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  for (const key of remove) out[key] = null;
  return out;
}

/**
 * The comparison as rows: one per field, one column per version. Parameters whose values differ are
 * marked with `*` in the first column.
 */
export function comparisonRows(c: ModelComparison): string[][] {
  const vs = c.versions;
  const cell = (v: string | number | null | undefined) => (v === null || v === undefined ? "-" : String(v));
  const rows: string[][] = [
    ["estimator", ...vs.map((v) => cell(v.modelName))],
    ["aliases", ...vs.map((v) => v.aliases.join(", ") || "-")],
    ["dataset", ...vs.map((v) => cell(v.dataset))],
    ["run", ...vs.map((v) => cell(v.runId))],
  ];
  const keys = (pick: (v: (typeof vs)[number]) => Record<string, unknown>) => [...new Set(vs.flatMap((v) => Object.keys(pick(v))))].sort();
  for (const m of keys((v) => v.metrics)) rows.push([m, ...vs.map((v) => cell(v.metrics[m]))]);
  for (const p of keys((v) => v.params)) {
    const values = vs.map((v) => cell(v.params[p]));
    rows.push([`${new Set(values).size > 1 ? "* " : ""}param ${p}`, ...values]);
  }
  return rows;
}

/** describe, tag, compare and settings: a registered model's descriptions, tags, versions side by side and lifecycle settings. */
export function registerModelEdits(models: Command, ctx: CliContext, exit: ExitState): void {
  const versionOption = ["--version <version>", "a version of the model (default: the model itself)", intArg("--version", 1)] as const;

  /** PUT the change to the model or to one version; prints what it now holds. */
  const update = async (
    env: Parameters<Parameters<typeof action>[2]>[0],
    name: string,
    version: number | undefined,
    body: ModelUpdateRequest,
  ) => {
    const client = await env.client();
    const what = version === undefined ? name : `${name} version ${version}`;
    const after =
      version === undefined
        ? await client.PUT("/api/models/{name}", { params: { path: { name } }, body })
        : await client.PUT("/api/models/{name}/versions/{version}", { params: { path: { name, version: String(version) } }, body });
    const tags = Object.entries(after.tags);
    env.out.result(
      after,
      () =>
        `${what}\n  description: ${after.description ?? "-"}\n  tags: ${tags.length === 0 ? "-" : tags.map(([k, v]) => `${k}=${v}`).join(", ")}`,
    );
  };

  withCommon(
    models
      .command("describe")
      .description('set the description of a registered model or of one version ("" clears it)')
      .argument("<name>", "registered model name")
      .requiredOption("--text <text>", "the description")
      .option(...versionOption),
  ).action(
    action<CommonOptions & { text: string; version?: number }>(ctx, exit, async (env, opts, args) => {
      const [name] = args as [string];
      const body = parseFlags(ModelUpdateRequest, { description: opts.text }, { description: "--text" });
      await update(env, name, opts.version, body);
      return undefined;
    }),
  );

  withCommon(
    models
      .command("tag")
      .description("set tags (KEY=VALUE) and remove tags (--remove KEY) of a registered model or of one version")
      .argument("<name>", "registered model name")
      .argument("[tags...]", "tags to set, KEY=VALUE")
      .option("--remove <key...>", "tags to remove")
      .option(...versionOption),
  ).action(
    action<CommonOptions & { remove?: string[]; version?: number }>(ctx, exit, async (env, opts, args) => {
      const [name, pairs = []] = args as unknown as [string, string[]];
      const tags = tagChange(pairs, opts.remove ?? []);
      if (Object.keys(tags).length === 0)
        throw userError("no_tags", "no tags to change", "name tags to set (KEY=VALUE) or to remove (--remove KEY)");
      const body = parseFlags(ModelUpdateRequest, { tags }, { tags: "TAGS" });
      await update(env, name, opts.version, body);
      return undefined;
    }),
  );

  withCommon(
    models
      .command("compare")
      .description("versions of a model side by side: metrics, parameters (differences marked *), training dataset version")
      .argument("<name>", "registered model name")
      .argument("<versions...>", "two to ten version numbers"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, args) => {
      const [name, versions] = args as unknown as [string, string[]];
      const numbers = versions.map((v) => intArg("VERSION", 1)(v));
      const client = await env.client();
      const c = await client.GET("/api/models/{name}/compare", { params: { path: { name }, query: { versions: numbers.join(",") } } });
      env.out.result(c, () =>
        formatTable([{ header: "FIELD" }, ...c.versions.map((v) => ({ header: `VERSION ${v.version}`, maxWidth: 40 }))], comparisonRows(c)),
      );
      return undefined;
    }),
  );

  withCommon(
    models
      .command("settings")
      .description("show or change a model's lifecycle settings")
      .argument("<name>", "registered model name")
      .option("--require-approval <bool>", "true: a move to production needs a second owner's approval", (v: string) => {
        if (v !== "true" && v !== "false") throw new InvalidArgumentError(`--require-approval takes true or false, got '${v}'`);
        return v === "true";
      }),
  ).action(
    action<CommonOptions & { requireApproval?: boolean }>(ctx, exit, async (env, opts, args) => {
      const [name] = args as [string];
      const client = await env.client();
      const params = { path: { name } };
      const settings =
        opts.requireApproval === undefined
          ? await client.GET("/api/models/{name}/settings", { params })
          : await client.PUT("/api/models/{name}/settings", { params, body: { productionNeedsApproval: opts.requireApproval } });
      env.out.result(
        settings,
        () => `${name}: a move to production ${settings.productionNeedsApproval ? "needs a second owner's approval" : "needs no approval"}`,
      );
      return undefined;
    }),
  );
}
