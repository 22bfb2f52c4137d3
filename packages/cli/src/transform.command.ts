import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { DatasetName, type TransformRun, userError } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommandEnv, type CommonOptions, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTable, formatTime, formatValue } from "./table.ts";

/**
 * `caretflow datasets transform --sql FILE --name N [--preview]` (a SQL transform: preview it, or save
 * and run it into a new version of N; `--sql -` reads standard input), `datasets transform --name N`
 * (re-run N's saved transform over the latest inputs) and `datasets transforms` (the saved ones).
 */
export function registerTransformCommands(datasets: Command, ctx: CliContext, exit: ExitState): void {
  withCommon(
    datasets
      .command("transform")
      .description(
        'make a new version of dataset N with a DuckDB SQL query over datasets (FROM sales = its latest version, FROM "sales@3" = version 3); the query is saved, so `--name N` alone re-runs it',
      )
      .option("--sql <file>", "a file holding one SELECT statement, or - to read it from standard input")
      .option("--name <name>", "the dataset to make a version of (and the saved transform's name)")
      .option("--preview", "show the first rows and the output schema; store nothing")
      .option("--rows <n>", "with --preview: rows to show", intArg("--rows", 1, 1000), 10),
  ).action(
    action<CommonOptions & { sql?: string; name?: string; preview?: boolean; rows: number }>(ctx, exit, async (env, opts) => {
      const sql = opts.sql === undefined ? undefined : await readSql(env, opts.sql);
      if (opts.preview) {
        if (sql === undefined) throw userError("sql_missing", "--preview needs the query", "give --sql FILE (or --sql - to read stdin)");
        await preview(env, sql, opts.rows);
        return undefined;
      }
      if (opts.name === undefined)
        throw userError(
          "name_missing",
          "give the dataset to make a version of with --name",
          "e.g. caretflow datasets transform --sql totals.sql --name totals",
        );
      const name = parseFlags(DatasetName, opts.name, { "": "--name" });
      const client = await env.client();
      let run: TransformRun;
      if (sql === undefined) {
        env.out.note(`running the saved transform of ${name}...`);
        run = await client.POST("/api/transforms/{name}/run", { params: { path: { name } } });
      } else {
        env.out.note(`running the query into ${name}...`);
        run = await client.POST("/api/transforms", { body: { name, sql } });
      }
      const v = run.result.version;
      const inputs = (v.source.inputs ?? []).map((i) => `${i.dataset} v${i.version}`).join(", ");
      env.out.result(run, () =>
        run.result.created
          ? `${v.dataset}: created version ${v.version} (${v.rowCount} rows, ${v.columnCount} columns) from ${inputs || "no dataset"}`
          : `${v.dataset}: unchanged (the query's result equals version ${v.version})`,
      );
      return undefined;
    }),
  );

  withCommon(datasets.command("transforms").description("list the project's saved SQL transforms")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const { transforms } = await (await env.client()).GET("/api/transforms");
      env.out.result({ transforms }, () =>
        transforms.length === 0
          ? "no saved transforms; make one with `caretflow datasets transform --sql FILE --name N`"
          : formatTable(
              [{ header: "DATASET" }, { header: "UPDATED" }, { header: "BY" }, { header: "SQL", maxWidth: 60 }],
              transforms.map((t) => [t.name, formatTime(t.updatedAt), t.updatedBy ?? "", t.sql.replace(/\s+/g, " ").trim()]),
            ),
      );
      return undefined;
    }),
  );
}

async function readSql(env: CommandEnv, from: string): Promise<string> {
  if (from === "-") {
    const text = env.ctx.readStdin ? await env.ctx.readStdin() : "";
    if (text.trim() === "")
      throw userError(
        "sql_empty",
        "standard input held no query",
        "pipe one SELECT statement, e.g. echo 'SELECT ...' | caretflow datasets transform --sql - --name N",
      );
    return text;
  }
  const file = resolve(env.ctx.cwd, from);
  const text = await readFile(file, "utf8").catch(() => {
    throw userError(
      "file_not_found",
      `cannot read the query file '${from}'`,
      "check the path (it is relative to the current folder), or use --sql - for stdin",
    );
  });
  if (text.trim() === "") throw userError("sql_empty", `the query file '${from}' is empty`, "write one SELECT statement in it");
  return text;
}

async function preview(env: CommandEnv, sql: string, rows: number): Promise<void> {
  const answer = await (await env.client()).POST("/api/transforms/preview", { body: { sql, limit: rows } });
  env.out.result(answer, () => {
    const inputs = answer.inputs.map((i) => `${i.dataset} v${i.version}`).join(", ") || "no dataset";
    return [
      `reads ${inputs}; nothing stored`,
      "",
      "schema:",
      formatTable(
        [{ header: "COLUMN" }, { header: "KIND" }, { header: "TYPE" }],
        answer.columns.map((c) => [c.name, c.kind, c.duckdbType]),
      ),
      "",
      `first ${answer.rows.length} rows:`,
      formatTable(
        answer.columns.map((c) => ({ header: c.name, right: c.kind === "integer" || c.kind === "float", maxWidth: 20 })),
        answer.rows.map((r) => r.map(formatValue)),
      ),
    ].join("\n");
  });
}
