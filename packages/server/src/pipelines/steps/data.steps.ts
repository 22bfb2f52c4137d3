import { realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { StepFailure, type StepHandler } from "@caretflow/orchestrator";
import type { ConnectionDatasets, ConnectionService } from "../../connections/connection.service.ts";
import type { DatasetsPort } from "../../ports.ts";
import type { ProjectService } from "../../projects/project.service.ts";
import type { QualityService } from "../../quality/quality.service.ts";
import type { TransformService } from "../../transforms/transform.service.ts";

/**
 * Steps on datasets that run in the server itself (DuckDB work, no PyCaret): import, transform and
 * quality_check. Each acts in the run's project only.
 */

export interface DataStepDeps {
  datasets: Pick<DatasetsPort, "getVersion" | "importFile" | "list"> & ConnectionDatasets;
  projects: Pick<ProjectService, "projectOf" | "claim" | "release">;
  connections: Pick<ConnectionService, "get" | "importInto">;
  transforms: Pick<TransformService, "save">;
  quality: Pick<QualityService, "check">;
  /** The folder `import` steps' `file` paths are read from (<home>/files); nothing outside it is read. */
  filesRoot: string;
}

async function requireDataset(deps: DataStepDeps, dataset: string, project: string): Promise<void> {
  const owner = await deps.projects.projectOf("dataset", dataset).catch(() => null);
  if (owner !== project) {
    throw new StepFailure("dataset_not_found", `dataset '${dataset}' does not exist in project ${project}`, {
      hint: "list the project's datasets with `caretflow datasets list`",
    });
  }
}

/** The file an import step names, inside filesRoot (after links are followed), or a clear refusal. */
export async function importFilePath(root: string, file: string): Promise<string> {
  const refuse = (why: string) =>
    new StepFailure("bad_file", `import file '${file}' ${why}`, {
      hint: `give a path relative to ${root}, the folder import steps read files from; put the file there first`,
    });
  if (isAbsolute(file)) throw refuse("is an absolute path");
  const base = await realpath(root).catch(() => {
    throw refuse("cannot be read: the files folder does not exist");
  });
  const path = await realpath(resolve(base, file)).catch(() => {
    throw refuse("does not exist");
  });
  const rel = relative(base, path);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) throw refuse("is outside the files folder");
  return path;
}

export function importStep(deps: DataStepDeps): StepHandler {
  return {
    // The source changes between runs; an import always reads it again.
    cacheable: false,
    async run(ctx) {
      const w = ctx.inputs as {
        dataset: string;
        connection?: string;
        table?: string;
        query?: string;
        object?: string;
        file?: string;
        incremental?: string;
      };
      const project = ctx.run.project;
      const claimed = await deps.projects.claim("dataset", w.dataset, project);
      const owner = ctx.run.createdBy ?? undefined;
      try {
        if (w.file !== undefined) {
          const path = await importFilePath(deps.filesRoot, w.file);
          ctx.log(`importing ${w.file} into ${w.dataset}`);
          const r = await deps.datasets.importFile({
            path,
            name: w.dataset,
            filename: w.file,
            source: { kind: "file" },
            ...(owner ? { owner } : {}),
          });
          ctx.log(`${r.created ? "stored" : "unchanged:"} ${w.dataset} v${r.version.version} (${r.version.rowCount} rows)`);
          return { dataset: w.dataset, version: r.version.version };
        }
        await deps.connections.get(project, w.connection!);
        const source = w.table !== undefined ? { table: w.table } : w.query !== undefined ? { query: w.query } : { object: w.object! };
        ctx.log(`importing ${Object.entries(source)[0]!.join(" ")} from connection ${w.connection} into ${w.dataset}`);
        const r = await deps.connections.importInto(
          project,
          w.connection!,
          { ...source, name: w.dataset, ...(w.incremental ? { incremental: w.incremental } : {}) } as never,
          deps.datasets,
          { dataset: w.dataset, signal: ctx.signal, ...(owner ? { owner } : {}) },
        );
        ctx.log(
          `${r.created ? "stored" : "unchanged:"} ${w.dataset} v${r.version.version} (${r.rowsRead} rows read, ${r.version.rowCount} rows)`,
        );
        return { dataset: w.dataset, version: r.version.version };
      } catch (err) {
        if (claimed && !(await deps.datasets.list()).some((d) => d.name === w.dataset))
          await deps.projects.release("dataset", w.dataset, project);
        throw err;
      }
    },
  };
}

export function transformStep(deps: DataStepDeps): StepHandler {
  return {
    // The SQL reads the latest versions of its datasets, which change; it runs every time.
    cacheable: false,
    async run(ctx) {
      const w = ctx.inputs as { sql: string; output: string };
      ctx.log(`running the SQL into ${w.output}`);
      const r = await deps.transforms.save(ctx.run.project, ctx.run.createdBy, w.output, w.sql, ctx.signal);
      const v = r.result.version;
      ctx.log(
        `${r.result.created ? "stored" : "unchanged:"} ${w.output} v${v.version} (${v.rowCount} rows; read ${(v.source.inputs ?? []).map((i) => `${i.dataset} v${i.version}`).join(", ")})`,
      );
      return { dataset: w.output, version: v.version };
    },
  };
}

export function qualityCheckStep(deps: DataStepDeps): StepHandler {
  return {
    cacheable: false,
    async run(ctx) {
      const w = ctx.inputs as { dataset: string; version?: number };
      await requireDataset(deps, w.dataset, ctx.run.project);
      const v = await deps.datasets.getVersion(w.dataset, w.version);
      const report = await deps.quality.check(w.dataset, v.version, "on_demand");
      const failing = report.results.filter((r) => !r.passed);
      ctx.log(
        `${w.dataset} v${v.version}: ${report.results.length} rule(s), ${report.passed ? "passed" : "failed"}` +
          (failing.length ? `; failing: ${failing.map((r) => r.name).join(", ")}` : ""),
      );
      return {
        passed: report.passed,
        report: {
          dataset: report.dataset,
          version: report.version,
          blockingFailures: report.blockingFailures,
          warnings: report.warnings,
          failing: failing.map((r) => r.name),
        },
      };
    },
  };
}
