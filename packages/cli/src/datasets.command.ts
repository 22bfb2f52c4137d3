import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { DatasetName, datasetNameFromFilename, describeSource, userError } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import { importFromConnection } from "./connections.command.ts";
import type { CliContext } from "./context.ts";
import { registerDatasetCatalog } from "./datasets.catalog.command.ts";
import { checkOutFile, downloadCsv } from "./download.ts";
import { registerQuality } from "./quality.command.ts";
import { formatBytes, formatFields, formatTable, formatTime, formatValue } from "./table.ts";
import { registerTransformCommands } from "./transform.command.ts";
import { fileToUpload } from "./upload.ts";

export function registerDatasets(program: Command, ctx: CliContext, exit: ExitState): void {
  const datasets = program.command("datasets").description("import, list and inspect datasets");
  registerQuality(datasets, ctx, exit);

  withCommon(
    datasets
      .command("import")
      .description(
        "import a CSV, TSV, Parquet, JSON, NDJSON or .xlsx file as a new dataset version, or a table, query or object (key or glob) of a connection (--connection)",
      )
      .argument("[path]", "the file to import")
      .option("--name <name>", "dataset name (default: the file name without extension, or the table's name)")
      .option("--encoding <label>", "a text file's encoding when it is not UTF-8, e.g. windows-1252 (also latin1), utf-16, shift_jis")
      .option("--sheet <name>", "an Excel workbook's sheet to import (default: the first)")
      .option("--connection <name>", "read from this connection instead of a file (see `caretflow connections`)")
      .option("--table <table>", "with --connection: the table to read (schema.table)")
      .option("--query <sql>", "with --connection: one read-only SELECT statement to read")
      .option(
        "--object <key-or-glob>",
        "with an S3, Azure or GCS connection: an object key or a glob (sales/2024-*.csv, logs/**/*.parquet) read as one version",
      )
      .option("--incremental <column>", "with --connection: append only rows whose COLUMN is above the last value imported"),
  ).action(
    action<
      CommonOptions & {
        name?: string;
        encoding?: string;
        sheet?: string;
        connection?: string;
        table?: string;
        query?: string;
        object?: string;
        incremental?: string;
      }
    >(ctx, exit, async (env, opts, [path]) => {
      if (opts.connection !== undefined) {
        if (path !== undefined)
          throw userError("path_and_connection", "give a file path or --connection, not both", "drop the path to read from the connection");
        await importFromConnection(env, { ...opts, connection: opts.connection });
        return undefined;
      }
      if (path === undefined)
        throw userError(
          "path_missing",
          "give the file to import (or --connection NAME --table T)",
          "e.g. caretflow datasets import sales.csv",
        );
      const file = resolve(env.ctx.cwd, path);
      const info = await stat(file).catch(() => null);
      if (!info)
        throw userError("file_not_found", `file '${path}' does not exist`, "check the path (it is relative to the current folder)");
      if (!info.isFile())
        throw userError("not_a_file", `'${path}' is not a file`, "give the path of a CSV, TSV, Parquet, JSON, NDJSON or .xlsx file");
      const name = opts.name === undefined ? undefined : parseFlags(DatasetName, opts.name, { "": "--name" });
      env.out.note(`uploading ${basename(file)} (${formatBytes(info.size)})...`);
      const client = await env.client();
      // The file is the request's whole body (no multipart framing to build or parse).
      const result = await client.PUT("/api/datasets/{name}/file", {
        params: {
          path: { name: name ?? datasetNameFromFilename(basename(file)) },
          query: {
            filename: basename(file),
            ...(opts.encoding ? { encoding: opts.encoding } : {}),
            ...(opts.sheet !== undefined ? { sheet: opts.sheet } : {}),
          },
        },
        body: fileToUpload(file, info.size),
      });
      const v = result.version;
      env.out.result(result, () =>
        result.created
          ? `${v.dataset}: created version ${v.version} (${v.rowCount} rows, ${v.columnCount} columns)`
          : `${v.dataset}: unchanged (identical to version ${v.version})`,
      );
      return undefined;
    }),
  );

  registerDatasetCatalog(datasets, ctx, exit);

  withCommon(
    datasets
      .command("download")
      .description("download a dataset version as CSV")
      .argument("<name>", "dataset name")
      .requiredOption("--out <file>", "file to write")
      .option("--version <n>", "version (default: the latest)", intArg("--version", 1)),
  ).action(
    action<CommonOptions & { out: string; version?: number }>(ctx, exit, async (env, opts, [name]) => {
      const file = await checkOutFile(env.ctx.cwd, opts.out);
      const client = await env.client();
      const version = opts.version ?? (await client.GET("/api/datasets/{name}", { params: { path: { name: name! } } })).latestVersion;
      const bytes = await downloadCsv(client, name!, version, file);
      env.out.result(
        { dataset: name, version, out: file, bytes },
        () => `saved ${name} version ${version} to ${file} (${formatBytes(bytes)})`,
      );
      return undefined;
    }),
  );

  withCommon(
    datasets
      .command("show")
      .description("a dataset's versions, the schema of one version and a few of its rows")
      .argument("<name>", "dataset name")
      .option("--version <n>", "version to show (default: the latest)", intArg("--version", 1))
      .option("--rows <n>", "preview rows to show", intArg("--rows", 0), 5),
  ).action(
    action<CommonOptions & { version?: number; rows: number }>(ctx, exit, async (env, opts, [name]) => {
      const client = await env.client();
      const detail = await client.GET("/api/datasets/{name}", { params: { path: { name: name! } } });
      const versionNo = opts.version ?? detail.latestVersion;
      const version = detail.versions.find((v) => v.version === versionNo);
      if (!version) {
        throw userError(
          "dataset_version_not_found",
          `dataset '${detail.name}' has no version ${versionNo}`,
          `its versions are ${detail.versions.map((v) => v.version).join(", ")}`,
          404,
        );
      }
      const preview =
        opts.rows > 0
          ? await client.GET("/api/datasets/{name}/versions/{version}/preview", {
              params: { path: { name: detail.name, version: String(versionNo) }, query: { limit: opts.rows } },
            })
          : null;
      env.out.result({ dataset: detail, version: versionNo, preview }, () => {
        const parts = [
          formatFields([
            ["dataset", detail.name],
            ["latest version", String(detail.latestVersion)],
            ["created", formatTime(detail.createdAt)],
            ["updated", formatTime(detail.updatedAt)],
          ]),
          "",
          "versions:",
          formatTable(
            [
              { header: "VERSION", right: true },
              { header: "ROWS", right: true },
              { header: "COLUMNS", right: true },
              { header: "SIZE", right: true },
              { header: "HASH" },
              { header: "SOURCE" },
              { header: "CREATED" },
            ],
            detail.versions.map((v) => [
              String(v.version),
              String(v.rowCount),
              String(v.columnCount),
              formatBytes(v.sizeBytes),
              v.contentHash.slice(0, 12),
              describeSource(v.source),
              formatTime(v.createdAt),
            ]),
          ),
          "",
          `schema of version ${versionNo}:`,
          formatTable(
            [{ header: "COLUMN" }, { header: "KIND" }, { header: "TYPE" }, { header: "NULLABLE" }],
            version.columns.map((c) => [c.name, c.kind, c.duckdbType, c.nullable ? "yes" : "no"]),
          ),
        ];
        if (preview) {
          parts.push(
            "",
            `first ${preview.rows.length} of ${preview.total} rows:`,
            formatTable(
              preview.columns.map((c) => ({ header: c.name, right: c.kind === "integer" || c.kind === "float", maxWidth: 20 })),
              preview.rows.map((r) => r.map(formatValue)),
            ),
          );
        }
        return parts.join("\n");
      });
      return undefined;
    }),
  );
  registerTransformCommands(datasets, ctx, exit);
}
