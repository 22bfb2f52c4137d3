import {
  type CaretflowError,
  DEFAULT_PROJECT,
  notFound,
  PROJECT_ROLES,
  type ProjectInfo,
  type ProjectMember,
  type ProjectRole,
  type User,
  userError,
} from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { isUniqueViolation } from "../db/database.ts";
import type { ServerTables } from "../db/server.tables.ts";

/**
 * Kinds of object whose project is recorded in `project_objects` (jobs carry theirs in their own row).
 * An experiment is recorded by its MLflow name.
 */
export type OwnedKind = "dataset" | "model" | "experiment";

/** True when `held` is at least `needed` (viewer < editor < owner). */
export function roleAtLeast(held: ProjectRole, needed: ProjectRole): boolean {
  return PROJECT_ROLES.indexOf(held) >= PROJECT_ROLES.indexOf(needed);
}

/**
 * Projects, their members and which project owns each dataset and registered model.
 * Ownership flows from datasets: a job belongs to the project of the dataset it reads, a run to the
 * project of its training dataset, a job's output datasets to the job's project.
 */
export class ProjectService {
  readonly #db: Kysely<ServerTables>;
  readonly #now: () => Date;
  readonly #objectsChanged = new Set<() => void>();

  constructor(opts: { db: Kysely<ServerTables>; now?: () => Date }) {
    this.#db = opts.db;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The user's role on the project; null when they are not a member (site admins are handled by the caller). */
  async roleOf(userId: string, project: string): Promise<ProjectRole | null> {
    const row = await this.#db
      .selectFrom("project_members")
      .select("role")
      .where("project", "=", project)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row ? (row.role as ProjectRole) : null;
  }

  async exists(project: string): Promise<boolean> {
    return (await this.#db.selectFrom("projects").select("name").where("name", "=", project).executeTakeFirst()) !== undefined;
  }

  /** The projects a user belongs to with their role; a site admin sees every project. */
  async list(user: User): Promise<ProjectInfo[]> {
    const rows = await this.#db
      .selectFrom("projects")
      .leftJoin("project_members", (j) =>
        j.onRef("project_members.project", "=", "projects.name").on("project_members.user_id", "=", user.id),
      )
      .select(["projects.name", "projects.description", "projects.created_at", "project_members.role"])
      .orderBy("projects.name")
      .execute();
    return rows
      .filter((r) => user.role === "admin" || r.role !== null)
      .map((r) => ({ name: r.name, description: r.description, createdAt: r.created_at, role: (r.role as ProjectRole | null) ?? null }));
  }

  /** A new project with its creator as owner. */
  async create(user: User, name: string, description: string | null): Promise<ProjectInfo> {
    const createdAt = this.#iso();
    const exists = () => userError("project_exists", `A project named '${name}' already exists`, "Choose another name.", 409);
    try {
      await this.#db.transaction().execute(async (trx) => {
        const taken = await trx.selectFrom("projects").select("name").where("name", "=", name).executeTakeFirst();
        if (taken) throw exists();
        await trx.insertInto("projects").values({ name, description, created_at: createdAt }).execute();
        await trx.insertInto("project_members").values({ project: name, user_id: user.id, role: "owner", added_at: createdAt }).execute();
      });
    } catch (err) {
      // Created by another request between the check and the insert (PostgreSQL lets both read first).
      if (isUniqueViolation(err)) throw exists();
      throw err;
    }
    return { name, description, createdAt, role: "owner" };
  }

  async members(project: string): Promise<ProjectMember[]> {
    const rows = await this.#db
      .selectFrom("project_members")
      .innerJoin("users", "users.id", "project_members.user_id")
      .select(["users.username", "project_members.role", "project_members.added_at"])
      .where("project_members.project", "=", project)
      .orderBy("users.username")
      .execute();
    return rows.map((r) => ({ username: r.username, role: r.role as ProjectRole, addedAt: r.added_at }));
  }

  /** Adds a member or changes their role; the last owner cannot step down. */
  async setMember(project: string, username: string, role: ProjectRole): Promise<ProjectMember> {
    return await this.#db.transaction().execute(async (trx) => {
      await lockProject(trx, project);
      const user = await trx.selectFrom("users").select("id").where("username", "=", username).executeTakeFirst();
      if (!user) throw notFound("user", username, "List users with `caretflow users list` (site admins).");
      const current = await trx
        .selectFrom("project_members")
        .select(["role", "added_at"])
        .where("project", "=", project)
        .where("user_id", "=", user.id)
        .executeTakeFirst();
      if (current?.role === "owner" && role !== "owner") await this.#keepAnOwner(trx, project, username);
      const addedAt = current?.added_at ?? this.#iso();
      if (current) {
        await trx.updateTable("project_members").set({ role }).where("project", "=", project).where("user_id", "=", user.id).execute();
      } else {
        await trx.insertInto("project_members").values({ project, user_id: user.id, role, added_at: addedAt }).execute();
      }
      return { username, role, addedAt };
    });
  }

  async removeMember(project: string, username: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await lockProject(trx, project);
      const user = await trx.selectFrom("users").select("id").where("username", "=", username).executeTakeFirst();
      const member = user
        ? await trx
            .selectFrom("project_members")
            .select("role")
            .where("project", "=", project)
            .where("user_id", "=", user.id)
            .executeTakeFirst()
        : undefined;
      if (!user || !member)
        throw notFound("member", `${username} of project ${project}`, "List members with `caretflow projects members PROJECT`.");
      if (member.role === "owner") await this.#keepAnOwner(trx, project, username);
      await trx.deleteFrom("project_members").where("project", "=", project).where("user_id", "=", user.id).execute();
    });
  }

  async #keepAnOwner(trx: Kysely<ServerTables>, project: string, leaving: string): Promise<void> {
    const owners = await trx
      .selectFrom("project_members")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("project", "=", project)
      .where("role", "=", "owner")
      .executeTakeFirstOrThrow();
    if (Number(owners.n) <= 1) {
      throw userError(
        "last_owner",
        `${leaving} is the last owner of project ${project}`,
        "Make another member an owner first, so the project keeps someone who can manage it.",
        409,
      );
    }
  }

  /** The project that owns a dataset or model; objects made before projects existed (or by no one) are the default project's. */
  async projectOf(kind: OwnedKind, name: string): Promise<string> {
    const row = await this.#db
      .selectFrom("project_objects")
      .select("project")
      .where("kind", "=", kind)
      .where("name", "=", name)
      .executeTakeFirst();
    return row?.project ?? DEFAULT_PROJECT;
  }

  /** Every recorded owner of objects of a kind: name -> project (names not in it are the default project's). */
  async owners(kind: OwnedKind): Promise<Map<string, string>> {
    const rows = await this.#db.selectFrom("project_objects").select(["name", "project"]).where("kind", "=", kind).execute();
    return new Map(rows.map((r) => [r.name, r.project]));
  }

  /** The names of the projects the user is a member of (a site admin's too: only those they joined). */
  async memberOf(userId: string): Promise<string[]> {
    const rows = await this.#db.selectFrom("project_members").select("project").where("user_id", "=", userId).orderBy("project").execute();
    return rows.map((r) => r.project);
  }

  /** A filter for lists: keeps the names the project owns. */
  async ownedFilter(kind: OwnedKind, project: string): Promise<(name: string) => boolean> {
    const rows = await this.#db.selectFrom("project_objects").select(["name", "project"]).where("kind", "=", kind).execute();
    const owner = new Map(rows.map((r) => [r.name, r.project]));
    return (name) => (owner.get(name) ?? DEFAULT_PROJECT) === project;
  }

  /** Calls `listener` after this service records or forgets which project owns an object; returns the unsubscribe. */
  onObjectsChanged(listener: () => void): () => void {
    this.#objectsChanged.add(listener);
    return () => this.#objectsChanged.delete(listener);
  }

  #announceObjects(): void {
    for (const listener of this.#objectsChanged) listener();
  }

  /**
   * Records that `project` owns the object, or checks it already does. A name another project owns is
   * refused: names are unique across projects (they name files and MLflow objects). True when this call
   * recorded the name (it was new), so a caller whose first use then failed can `release` it.
   */
  async claim(kind: OwnedKind, name: string, project: string): Promise<boolean> {
    const owner = await this.#db
      .selectFrom("project_objects")
      .select("project")
      .where("kind", "=", kind)
      .where("name", "=", name)
      .executeTakeFirst();
    if (owner && owner.project !== project) throw takenElsewhere(kind, name);
    if (!owner) {
      await this.#db
        .insertInto("project_objects")
        .values({ kind, name, project, created_at: this.#iso() })
        .onConflict((oc) => oc.columns(["kind", "name"]).doNothing())
        .execute();
      this.#announceObjects();
      if ((await this.projectOf(kind, name)) !== project) throw takenElsewhere(kind, name);
      return true;
    }
    return false;
  }

  /** Forgets a name `claim` recorded for `project` whose first object was never made (a failed first import). */
  async release(kind: OwnedKind, name: string, project: string): Promise<void> {
    await this.#db.deleteFrom("project_objects").where("kind", "=", kind).where("name", "=", name).where("project", "=", project).execute();
    this.#announceObjects();
  }

  /** A run's project: its training dataset's (runs made outside caretflow's jobs are the default project's). */
  async projectOfRun(run: { dataset: string | null }): Promise<string> {
    const dataset = runDatasetName(run);
    return dataset ? await this.projectOf("dataset", dataset) : DEFAULT_PROJECT;
  }

  /** Throws the same 404 a missing object gets when the object belongs to another project. */
  async requireIn(kind: OwnedKind, name: string, project: string): Promise<void> {
    if ((await this.projectOf(kind, name)) !== project) throw notFound(kind, `${name} in project ${project}`, hintFor(kind));
  }

  #iso(): string {
    return this.#now().toISOString();
  }
}

/**
 * Serialises changes to one project's members until the transaction ends: a no-op update takes the
 * project row's lock on PostgreSQL (the write lock on SQLite), so two owners stepping down at once
 * cannot both see the other one still there.
 */
async function lockProject(trx: Kysely<ServerTables>, project: string): Promise<void> {
  await trx
    .updateTable("projects")
    .set((eb) => ({ description: eb.ref("description") }))
    .where("name", "=", project)
    .execute();
}

function takenElsewhere(kind: OwnedKind, name: string): CaretflowError {
  return userError(
    `${kind}_name_taken`,
    `A ${kind} named '${name}' belongs to another project`,
    kind === "experiment"
      ? "An MLflow experiment holds the runs of one project; name another experiment in the train request's `experiment` field."
      : `Names of ${kind}s are unique across projects; choose another name.`,
    409,
  );
}

function hintFor(kind: OwnedKind): string {
  if (kind === "dataset") return "List this project's datasets with GET /api/datasets (or pick the project it belongs to with --project).";
  if (kind === "model") return "List this project's models with GET /api/models (or pick the project it belongs to with --project).";
  return "List this project's runs with GET /api/runs (or pick the project it belongs to with --project).";
}

/** The dataset name of a run's `NAME@vVERSION` reference; a run belongs to its training dataset's project. */
export function runDatasetName(run: { dataset: string | null }): string | null {
  return run.dataset ? run.dataset.replace(/@v\d+$/, "") : null;
}
