import { notFound, type Transform, type TransformPreview, type TransformRun } from "@caretflow/contracts";
import type { Kysely, Selectable } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import type { DatasetsPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";

type Row = Selectable<ServerTables["transforms"]>;

/** The limits every transform runs under (defaults: 60 s, "1GB"). */
export interface TransformLimits {
  timeoutMs?: number;
  memoryLimit?: string;
}

/**
 * SQL transforms of a project: preview a query, save it as the transform of a target dataset and
 * run it (a new version when the output changed), re-run a saved one over the latest inputs. A query
 * may read only the project's datasets; another project's are reported exactly as missing ones.
 */
export class TransformService {
  readonly #db: Kysely<ServerTables>;
  readonly #datasets: Pick<DatasetsPort, "previewTransform" | "runTransform" | "list">;
  readonly #projects: ProjectService;
  readonly #limits: TransformLimits;
  readonly #now: () => Date;

  constructor(deps: {
    db: Kysely<ServerTables>;
    datasets: Pick<DatasetsPort, "previewTransform" | "runTransform" | "list">;
    projects: ProjectService;
    limits?: TransformLimits;
    now?: () => Date;
  }) {
    this.#db = deps.db;
    this.#datasets = deps.datasets;
    this.#projects = deps.projects;
    this.#limits = deps.limits ?? {};
    this.#now = deps.now ?? (() => new Date());
  }

  async list(project: string): Promise<Transform[]> {
    const rows = await this.#db.selectFrom("transforms").selectAll().where("project", "=", project).orderBy("name").execute();
    return rows.map(fromRow);
  }

  async get(project: string, name: string): Promise<Transform> {
    return fromRow(await this.#row(project, name));
  }

  /** The query's first rows and output schema; nothing is stored. */
  async preview(project: string, sql: string, limit: number, signal?: AbortSignal): Promise<TransformPreview> {
    return this.#datasets.previewTransform({ ...this.#options(project, sql, signal), limit });
  }

  /**
   * Run `sql` into a new version of `name` (claimed for the project when new) and, once it ran, keep
   * it as that dataset's saved transform. A failed run stores nothing and saves nothing.
   * `changed`: whether the saved SQL is new or different.
   */
  async save(
    project: string,
    user: string | null,
    name: string,
    sql: string,
    signal?: AbortSignal,
  ): Promise<TransformRun & { changed: boolean }> {
    const claimed = await this.#projects.claim("dataset", name, project);
    const result = await this.#datasets
      .runTransform({ ...this.#options(project, sql, signal), name, ...(user ? { owner: user } : {}) })
      .catch(async (err: unknown) => {
        // A failed first run leaves the name free, as if it had never been tried.
        if (claimed && !(await this.#datasets.list()).some((d) => d.name === name)) await this.#projects.release("dataset", name, project);
        throw err;
      });
    const now = this.#now().toISOString();
    const before = await this.#db.selectFrom("transforms").selectAll().where("name", "=", name).executeTakeFirst();
    const changed = before?.sql !== sql;
    if (!before) {
      await this.#db.insertInto("transforms").values({ name, project, sql, updated_by: user, created_at: now, updated_at: now }).execute();
    } else if (changed) {
      await this.#db.updateTable("transforms").set({ sql, project, updated_by: user, updated_at: now }).where("name", "=", name).execute();
    }
    return { transform: await this.get(project, name), result, changed };
  }

  /** Run a saved transform over the latest versions of its inputs (pinned ones stay pinned). */
  async run(project: string, name: string, signal?: AbortSignal): Promise<TransformRun> {
    const row = await this.#row(project, name);
    const result = await this.#datasets.runTransform({ ...this.#options(project, row.sql, signal), name });
    return { transform: fromRow(row), result };
  }

  /** Forget a saved transform; the versions it made stay. */
  async delete(project: string, name: string): Promise<Transform> {
    const row = await this.#row(project, name);
    await this.#db.deleteFrom("transforms").where("name", "=", name).execute();
    return fromRow(row);
  }

  #options(project: string, sql: string, signal?: AbortSignal) {
    return {
      sql,
      canRead: async (dataset: string) => (await this.#projects.projectOf("dataset", dataset)) === project,
      ...(this.#limits.timeoutMs ? { timeoutMs: this.#limits.timeoutMs } : {}),
      ...(this.#limits.memoryLimit ? { memoryLimit: this.#limits.memoryLimit } : {}),
      ...(signal ? { signal } : {}),
    };
  }

  async #row(project: string, name: string): Promise<Row> {
    const row = await this.#db
      .selectFrom("transforms")
      .selectAll()
      .where("name", "=", name)
      .where("project", "=", project)
      .executeTakeFirst();
    if (!row)
      throw notFound(
        "transform",
        name,
        "List this project's saved transforms with GET /api/transforms; save one with POST /api/transforms {name, sql}.",
      );
    return row;
  }
}

function fromRow(row: Row): Transform {
  return {
    name: row.name,
    sql: row.sql,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.updated_by ? { updatedBy: row.updated_by } : {}),
  };
}
