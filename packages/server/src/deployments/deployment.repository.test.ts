import type { Kysely } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { DeploymentRepository } from "./deployment.repository.ts";

let db: Kysely<ServerTables>;
let repo: DeploymentRepository;
let clock = new Date("2026-12-03T10:00:00.000Z");

forEachDatabase("DeploymentRepository", (dbs) => {
  beforeEach(async () => {
    ({ db } = await dbs.fresh<ServerTables>());
    clock = new Date("2026-12-03T10:00:00.000Z");
    repo = new DeploymentRepository(db, () => clock);
  });

  it("stores a deployment with its target and policy, and refuses a second of the same name", async () => {
    const d = await repo.create({
      name: "churn",
      project: "p1",
      model: "churn-model",
      target: { alias: "production" },
      policy: { kind: "ab", splits: [{ target: { version: 2 }, weight: 10 }] },
      by: "ann",
    });
    expect(d).toMatchObject({
      name: "churn",
      project: "p1",
      status: "active",
      target: { alias: "production" },
      policy: { kind: "ab", splits: [{ target: { version: 2 }, weight: 10 }] },
      createdBy: "ann",
      policySince: "2026-12-03T10:00:00.000Z",
    });
    await expect(
      repo.create({ name: "churn", project: "p2", model: "m", target: { version: 1 }, policy: { kind: "single" }, by: "bob" }),
    ).rejects.toMatchObject({ code: "deployment_exists", status: 409 });
  });

  it("lists by project, hides other projects' deployments, updates and deletes", async () => {
    for (const [name, project] of [
      ["b", "p1"],
      ["a", "p1"],
      ["c", "p2"],
    ] as const) {
      await repo.create({ name, project, model: "m", target: { version: 1 }, policy: { kind: "single" }, by: "ann" });
    }
    expect((await repo.list("p1")).map((d) => d.name)).toEqual(["a", "b"]);
    expect((await repo.list()).map((d) => d.name)).toEqual(["a", "b", "c"]);
    await expect(repo.get("c", "p1")).rejects.toMatchObject({ status: 404 });

    clock = new Date("2026-12-03T11:00:00.000Z");
    const moved = await repo.update("a", { target: { alias: "staging" }, by: "bob" });
    expect(moved).toMatchObject({ target: { alias: "staging" }, updatedBy: "bob", policySince: "2026-12-03T10:00:00.000Z" });
    clock = new Date("2026-12-03T12:00:00.000Z");
    const canary = await repo.update("a", {
      policy: { kind: "canary", canary: { version: 3 }, startPercent: 5, stepPercent: 5, intervalSeconds: 60, maxPercent: 50 },
      status: "paused",
      by: "bob",
    });
    expect(canary).toMatchObject({ status: "paused", policy: { kind: "canary" }, policySince: "2026-12-03T12:00:00.000Z" });

    expect(await repo.delete("a")).toBe(true);
    expect(await repo.delete("a")).toBe(false);
    expect(await repo.find("a")).toBeNull();
  });
});
