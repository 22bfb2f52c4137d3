import {
  DatasetListQuery,
  DatasetTag,
  type LineageGraph,
  type LineageNode,
  SourceKind,
  userError,
  type VersionComparison,
} from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatBytes, formatTable, formatTime } from "./table.ts";

/** `datasets list` with the catalog's search and filters, `datasets tag`, `datasets lineage` and `datasets compare`. */
export function registerDatasetCatalog(datasets: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    datasets
      .command("list")
      .description("list the project's datasets; search and filter the catalog")
      .option("--search <text>", "words found in the name, description, column names or tags")
      .option("--tag <tag>", "only datasets with this tag")
      .option("--owner <username>", "only datasets this user created")
      .option("--source <kind>", `only datasets with a version from this kind of source (${SourceKind.options.join(", ")})`)
      .option("--connection <name>", "only datasets imported from this connection")
      .option("--limit <n>", "at most this many (default 500)", intArg("--limit", 1, 1000))
      .option("--offset <n>", "skip this many first", intArg("--offset", 0)),
  ).action(
    action<
      CommonOptions & {
        search?: string;
        tag?: string;
        owner?: string;
        source?: string;
        connection?: string;
        limit?: number;
        offset?: number;
      }
    >(ctx, exit, async (env, opts) => {
      const query = parseFlags(
        DatasetListQuery,
        {
          ...(opts.search !== undefined ? { search: opts.search } : {}),
          ...(opts.tag !== undefined ? { tag: opts.tag } : {}),
          ...(opts.owner !== undefined ? { owner: opts.owner } : {}),
          ...(opts.source !== undefined ? { source: opts.source } : {}),
          ...(opts.connection !== undefined ? { connection: opts.connection } : {}),
          ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
          ...(opts.offset !== undefined ? { offset: opts.offset } : {}),
        },
        { search: "--search", tag: "--tag", owner: "--owner", source: "--source", connection: "--connection" },
      );
      const client = await env.client();
      const page = await client.GET("/api/datasets", { params: { query } });
      const list = page.datasets;
      const filtered = [opts.search, opts.tag, opts.owner, opts.source, opts.connection].some((x) => x !== undefined);
      env.out.result(page, () => {
        if (list.length === 0)
          return filtered ? "no dataset matches these filters" : "no datasets yet; import one with `caretflow datasets import FILE`";
        const table = formatTable(
          [
            { header: "NAME" },
            { header: "LATEST", right: true },
            { header: "VERSIONS", right: true },
            { header: "ROWS", right: true },
            { header: "COLUMNS", right: true },
            { header: "SIZE", right: true },
            { header: "SOURCE" },
            { header: "OWNER" },
            { header: "TAGS" },
            { header: "UPDATED" },
          ],
          list.map((d) => [
            d.name,
            `v${d.latestVersion}`,
            String(d.versionCount),
            String(d.rowCount),
            String(d.columnCount),
            d.sizeBytes === undefined ? "" : formatBytes(d.sizeBytes),
            d.source?.kind ?? "",
            d.owner ?? "unknown",
            (d.tags ?? []).join(","),
            formatTime(d.updatedAt),
          ]),
        );
        const total = page.total ?? list.length;
        const shown = (page.offset ?? 0) + list.length;
        return shown < total ? `${table}\n${shown} of ${total}; more: --offset ${shown}` : table;
      });
      return undefined;
    }),
  );

  withCommon(
    datasets
      .command("tag")
      .description("add tags to a dataset (or remove them with --remove); editors of the project")
      .argument("<name>", "dataset name")
      .argument("<tags...>", "tags: lower-case letters, digits, '_', '-', '.', ':'")
      .option("--remove", "remove these tags instead of adding them"),
  ).action(
    action<CommonOptions & { remove?: boolean }>(ctx, exit, async (env, opts, args) => {
      const [name, ...raw] = args as [string, ...string[]];
      const tags = raw.flat().map((t, i) => parseFlags(DatasetTag, t, { "": `tag ${i + 1} ('${t}')` }));
      const client = await env.client();
      const answer = await client.POST("/api/datasets/{name}/tags", {
        params: { path: { name } },
        body: opts.remove ? { remove: tags } : { add: tags },
      });
      env.out.result(answer, () => `${answer.dataset}: ${answer.tags.length > 0 ? answer.tags.join(", ") : "no tags"}`);
      return undefined;
    }),
  );

  withCommon(
    datasets
      .command("describe")
      .description('set the description the catalog shows and searches ("" removes it); editors of the project')
      .argument("<name>", "dataset name")
      .argument("<text>", "the description"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name, text]) => {
      const client = await env.client();
      const answer = await client.PUT("/api/datasets/{name}/description", {
        params: { path: { name: name! } },
        body: { description: text ?? "" },
      });
      env.out.result(answer, () => `${answer.dataset}: ${answer.description ?? "no description"}`);
      return undefined;
    }),
  );

  withCommon(
    datasets
      .command("lineage")
      .description("where a dataset's versions came from and what was made from them, as a tree")
      .argument("<name>", "dataset name"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name]) => {
      const client = await env.client();
      const graph = await client.GET("/api/datasets/{name}/lineage", { params: { path: { name: name! } } });
      env.out.result(graph, () => formatLineageTree(graph));
      return undefined;
    }),
  );

  withCommon(
    datasets
      .command("compare")
      .description("compare two versions of a dataset: schema changes, row counts, per-column statistics")
      .argument("<name>", "dataset name")
      .argument("<from>", "the older version", intArg("version", 1))
      .argument("<to>", "the newer version", intArg("version", 1))
      .option("--all", "show every column, not only those that changed"),
  ).action(
    action<CommonOptions & { all?: boolean }>(ctx, exit, async (env, opts, args) => {
      const [name, from, to] = args as unknown as [string, number, number];
      if (from === to) throw userError("same_version", `both versions are ${from}`, "give two different versions, e.g. 1 2");
      const client = await env.client();
      const c = await client.GET("/api/datasets/{name}/compare", {
        params: { path: { name }, query: { from, to } },
      });
      env.out.result(c, () => formatComparison(c, opts.all === true));
      return undefined;
    }),
  );
}

/**
 * A lineage graph as an indented tree from its roots (nodes nothing points to): each child under its
 * parent with the edge's type; a node reached a second time is printed once more with "(above)".
 */
export function formatLineageTree(g: LineageGraph): string {
  if (g.nodes.length === 0) return `${g.dataset}: no lineage`;
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const out = new Map<string, LineageGraph["edges"]>();
  const hasParent = new Set<string>();
  for (const e of g.edges) {
    out.set(e.from, [...(out.get(e.from) ?? []), e]);
    hasParent.add(e.to);
  }
  const roots = g.nodes.filter((n) => !hasParent.has(n.id));
  const lines: string[] = [];
  const printed = new Set<string>();
  const walk = (id: string, prefix: string, via: string | null, last: boolean, depth: number) => {
    const node = byId.get(id);
    if (!node) return;
    const branch = depth === 0 ? "" : last ? "└─ " : "├─ ";
    const seen = printed.has(id);
    lines.push(`${prefix}${branch}${via ? `${via}: ` : ""}${describeNode(node)}${seen ? " (above)" : ""}`);
    if (seen) return;
    printed.add(id);
    const kids = out.get(id) ?? [];
    const next = depth === 0 ? "" : `${prefix}${last ? "   " : "│  "}`;
    for (const [i, e] of kids.entries()) walk(e.to, next, e.type, i === kids.length - 1, depth + 1);
  };
  // A graph with a cycle has no root; start from the asked dataset's versions then.
  for (const r of roots.length > 0 ? roots : g.nodes.filter((n) => n.current)) walk(r.id, "", null, true, 0);
  return lines.join("\n");
}

function describeNode(n: LineageNode): string {
  switch (n.type) {
    case "source":
      return `[source] ${n.label}`;
    case "version":
      return `${n.current ? "* " : ""}${n.label}${n.kind ? ` (${n.kind})` : ""}`;
    case "job":
      return `[job] ${n.label}${n.status ? ` ${n.status}` : ""}${n.runId ? ` run ${n.runId}` : ""}`;
    case "hidden":
      return "[hidden] another project's dataset";
    default: {
      const never: never = n.type;
      return String(never);
    }
  }
}

/** A comparison as text: the versions, schema changes, then a statistics table (changed columns only unless `all`). */
export function formatComparison(c: VersionComparison, all: boolean): string {
  const delta = c.rowDelta === 0 ? "same" : `${c.rowDelta > 0 ? "+" : ""}${c.rowDelta}`;
  const lines = [
    `${c.dataset}: v${c.from.version} -> v${c.to.version}`,
    `rows: ${c.from.rowCount} -> ${c.to.rowCount} (${delta})`,
    `columns: ${c.from.columnCount} -> ${c.to.columnCount}`,
    `added: ${c.added.join(", ") || "none"}`,
    `removed: ${c.removed.join(", ") || "none"}`,
    `type changed: ${c.typeChanged.join(", ") || "none"}`,
  ];
  const shown = c.columns.filter((col) => all || col.changed);
  if (shown.length === 0) return [...lines, "", "no column statistics changed"].join("\n");
  const pair = (a: unknown, b: unknown) => `${fmt(a)} -> ${fmt(b)}`;
  lines.push(
    "",
    formatTable(
      [
        { header: "COLUMN" },
        { header: "CHANGE" },
        { header: "TYPE" },
        { header: "NULLS" },
        { header: "DISTINCT" },
        { header: "MEAN" },
        { header: "MIN" },
        { header: "MAX" },
      ],
      shown.map((col) => [
        col.name,
        col.change === "unchanged" ? "stats" : col.change.replace("_", " "),
        pair(col.from?.kind, col.to?.kind),
        pair(col.from?.nulls, col.to?.nulls),
        pair(col.from?.distinct, col.to?.distinct),
        pair(col.from?.mean, col.to?.mean),
        pair(col.from?.min, col.to?.min),
        pair(col.from?.max, col.to?.max),
      ]),
    ),
  );
  return lines.join("\n");
}

function fmt(v: unknown): string {
  if (v === undefined || v === null) return "-";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return String(v).slice(0, 16);
}
