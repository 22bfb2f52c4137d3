import {
  type Deployment,
  DeploymentStatus,
  DeploymentTarget,
  DriftSchedule,
  notFound,
  TrafficPolicy,
  userError,
} from "@caretflow/contracts";
import type { Kysely, Selectable } from "kysely";
import { isUniqueViolation } from "../db/database.ts";
import type { ServerTables } from "../db/server.tables.ts";

/** A deployment as stored: everything but what the gateway knows at run time (versions, weights, health). */
export type StoredDeployment = Omit<Deployment, "serving" | "problem">;

function fromRow(r: Selectable<ServerTables["deployments"]>): StoredDeployment {
  return {
    name: r.name,
    project: r.project,
    model: r.model,
    target: DeploymentTarget.parse(JSON.parse(r.target_json)),
    policy: TrafficPolicy.parse(JSON.parse(r.policy_json)),
    status: DeploymentStatus.parse(r.status),
    policySince: r.policy_since,
    driftEvery: DriftSchedule.parse(r.drift_every ?? null),
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedBy: r.updated_by,
    updatedAt: r.updated_at,
  };
}

/** Deployments in caretflow's metadata database (SQLite or PostgreSQL). */
export class DeploymentRepository {
  constructor(
    private readonly db: Kysely<ServerTables>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(d: {
    name: string;
    project: string;
    model: string;
    target: DeploymentTarget;
    policy: TrafficPolicy;
    driftEvery?: DriftSchedule;
    by: string;
  }) {
    const at = this.now().toISOString();
    try {
      await this.db
        .insertInto("deployments")
        .values({
          name: d.name,
          project: d.project,
          model: d.model,
          target_json: JSON.stringify(d.target),
          policy_json: JSON.stringify(d.policy),
          policy_since: at,
          status: "active",
          drift_every: d.driftEvery ?? null,
          created_by: d.by,
          created_at: at,
          updated_by: d.by,
          updated_at: at,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err))
        throw userError(
          "deployment_exists",
          `A deployment named '${d.name}' already exists`,
          "Choose another name, or update that one.",
          409,
        );
      throw err;
    }
    return (await this.find(d.name))!;
  }

  async find(name: string): Promise<StoredDeployment | null> {
    const row = await this.db.selectFrom("deployments").selectAll().where("name", "=", name).executeTakeFirst();
    return row ? fromRow(row) : null;
  }

  /** The deployment, when it belongs to the project; else not found (names of other projects' deployments are not revealed). */
  async get(name: string, project: string): Promise<StoredDeployment> {
    const d = await this.find(name);
    if (!d || d.project !== project) throw notFound("deployment", name, "List the project's deployments with `caretflow deploy list`.");
    return d;
  }

  async list(project?: string): Promise<StoredDeployment[]> {
    let q = this.db.selectFrom("deployments").selectAll().orderBy("name");
    if (project !== undefined) q = q.where("project", "=", project);
    return (await q.execute()).map(fromRow);
  }

  /** Changes what is given; a new policy restarts a canary's ramp (policySince). */
  async update(
    name: string,
    change: { target?: DeploymentTarget; policy?: TrafficPolicy; status?: DeploymentStatus; driftEvery?: DriftSchedule; by: string },
  ): Promise<StoredDeployment> {
    const at = this.now().toISOString();
    await this.db
      .updateTable("deployments")
      .set({
        ...(change.target ? { target_json: JSON.stringify(change.target) } : {}),
        ...(change.policy ? { policy_json: JSON.stringify(change.policy), policy_since: at } : {}),
        ...(change.status ? { status: change.status } : {}),
        ...(change.driftEvery !== undefined ? { drift_every: change.driftEvery } : {}),
        updated_by: change.by,
        updated_at: at,
      })
      .where("name", "=", name)
      .execute();
    const d = await this.find(name);
    if (!d) throw notFound("deployment", name, "List the project's deployments with `caretflow deploy list`.");
    return d;
  }

  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom("deployments").where("name", "=", name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
