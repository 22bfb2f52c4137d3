import type { User } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import { AuthService } from "../auth/auth.service.ts";
import { type DatabaseTarget, openDatabase } from "../db/database.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { ProjectService } from "./project.service.ts";

let db: Kysely<ServerTables>;
let target: DatabaseTarget;
let projects: ProjectService;
let alice: User;
let bob: User;

const user = async (auth: AuthService, username: string): Promise<User> => {
  await auth.createUser({ username, password: "pw-long-enough-1" });
  const row = await db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirstOrThrow();
  return { id: row.id, username, role: "user" } as User;
};

forEachDatabase("ProjectService", (dbs) => {
  /**
   * On PostgreSQL a second pool, as another process would have, connected before the race starts so
   * both sides really overlap. Two SQLite connections in one thread cannot stand for two processes
   * (one would wait synchronously for a lock the other never gets to release): there, the one connection.
   */
  const secondConnection = async (): Promise<Kysely<ServerTables>> => {
    if (dbs.kind !== "postgres") return db;
    const other = await openDatabase<ServerTables>(target);
    await Promise.all([1, 2, 3].map(() => other.selectFrom("projects").select("name").execute()));
    return other;
  };

  beforeEach(async () => {
    ({ db, target } = await dbs.fresh<ServerTables>());
    projects = new ProjectService({ db });
    const auth = new AuthService({ db });
    alice = await user(auth, "alice");
    bob = await user(auth, "bob");
  });

  it("creates a project with its creator as owner and refuses the name twice", async () => {
    expect(await projects.create(alice, "churn", "customers")).toMatchObject({ name: "churn", role: "owner" });
    await expect(projects.create(bob, "churn", null)).rejects.toMatchObject({ code: "project_exists", status: 409 });
    expect(await projects.roleOf(alice.id, "churn")).toBe("owner");
    expect(await projects.roleOf(bob.id, "churn")).toBeNull();
    expect((await projects.list(alice)).map((p) => p.name)).toEqual(["churn"]);
    // The default project every installation has, from the migration.
    expect((await projects.list({ ...alice, role: "admin" })).map((p) => [p.name, p.role])).toEqual([
      ["churn", "owner"],
      ["default", null],
    ]);
  });

  it("refuses the same new name from two connections at once with a 409, keeping one project", async () => {
    const other = await secondConnection();
    try {
      const results = await Promise.allSettled([
        projects.create(alice, "race", null),
        new ProjectService({ db: other }).create(bob, "race", null),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: "project_exists" });
    } finally {
      if (other !== db) await other.destroy();
    }
    expect(await projects.members("race")).toHaveLength(1);
  });

  it("manages members and keeps a last owner, also when two owners step down at once", async () => {
    await projects.create(alice, "p", null);
    expect(await projects.setMember("p", "bob", "viewer")).toMatchObject({ username: "bob", role: "viewer" });
    await expect(projects.setMember("p", "alice", "editor")).rejects.toMatchObject({ code: "last_owner" });
    await projects.setMember("p", "bob", "owner");
    expect((await projects.members("p")).map((m) => [m.username, m.role])).toEqual([
      ["alice", "owner"],
      ["bob", "owner"],
    ]);
    const other = await secondConnection();
    try {
      // The race is a matter of timing: run it a few times.
      for (let round = 0; round < 6; round++) {
        await projects.setMember("p", "alice", "owner");
        await projects.setMember("p", "bob", "owner");
        const results = await Promise.allSettled([
          projects.setMember("p", "alice", "viewer"),
          new ProjectService({ db: other }).removeMember("p", "bob"),
        ]);
        expect(results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(["last_owner"]);
        expect((await projects.members("p")).filter((m) => m.role === "owner")).toHaveLength(1);
      }
    } finally {
      if (other !== db) await other.destroy();
    }
    await expect(projects.removeMember("p", "nobody")).rejects.toMatchObject({ status: 404 });
    expect(await projects.memberOf(alice.id)).toEqual(["p"]);
  });

  it("records which project owns a name, once, even when two projects claim it at once", async () => {
    await projects.create(alice, "a", null);
    await projects.create(alice, "b", null);
    expect(await projects.claim("dataset", "sales", "a")).toBe(true);
    expect(await projects.claim("dataset", "sales", "a")).toBe(false);
    await expect(projects.claim("dataset", "sales", "b")).rejects.toMatchObject({ code: "dataset_name_taken", status: 409 });
    expect(await projects.projectOf("dataset", "sales")).toBe("a");
    expect(await projects.projectOf("dataset", "unknown")).toBe("default");
    const other = await secondConnection();
    try {
      const results = await Promise.allSettled([
        projects.claim("model", "m", "a"),
        new ProjectService({ db: other }).claim("model", "m", "b"),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    } finally {
      if (other !== db) await other.destroy();
    }
    const owner = await projects.projectOf("model", "m");
    expect((await projects.ownedFilter("model", owner))("m")).toBe(true);
    await projects.release("dataset", "sales", "a");
    expect([...(await projects.owners("dataset")).keys()]).toEqual([]);
  });
});
