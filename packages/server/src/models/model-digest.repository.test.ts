import { dataMigrations } from "@caretflow/data";
import type { Kysely, Migration } from "kysely";
import { describe, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import { migrateToLatest } from "../db/database.ts";
import { serverMigrations } from "../db/server.migrations.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { folderOfRunsUri, ModelDigestRepository } from "./model-digest.repository.ts";

const RUN = "0123456789abcdef0123456789abcdef";
const D1 = "a".repeat(64);
const D2 = "b".repeat(64);
const MIGRATION = "20261202_10_server_model_digests";

let db: Kysely<ServerTables>;

const backfillMark = async () =>
  (await db.selectFrom("server_meta").select("value").where("key", "=", "model_digests_backfill").executeTakeFirst())?.value ?? null;

forEachDatabase("model digests", (dbs) => {
  describe("ModelDigestRepository", () => {
    it("records a folder's digest once (the first stays) and looks it up by run and artifact path", async () => {
      ({ db } = await dbs.fresh<ServerTables>());
      const repo = new ModelDigestRepository(db);
      const folder = { runId: RUN, artifactPath: "model" };
      expect(await repo.lookup(folder)).toBeNull();
      expect(await repo.record(folder, D1, "job", "job_1")).toBe(true);
      expect(await repo.record(folder, D2, "first_use")).toBe(false);
      expect(await repo.lookup(folder)).toBe(D1);
      expect(await repo.lookup({ runId: RUN, artifactPath: "other" })).toBeNull();
      await expect(repo.record({ runId: RUN, artifactPath: "x" }, "not-a-digest", "job")).rejects.toThrow(/sha256/);
    });
  });

  describe(`migration ${MIGRATION}`, () => {
    it("marks an installation that already has jobs for the one-time recording of its models", async () => {
      // An installation from before this migration: every server and data migration named earlier.
      const earlier = (set: Record<string, Migration>) => Object.fromEntries(Object.entries(set).filter(([name]) => name < MIGRATION));
      ({ db } = await dbs.fresh<ServerTables>({ migrations: [earlier(serverMigrations), earlier(dataMigrations)] }));
      await db
        .insertInto("jobs")
        .values({
          id: "job_1",
          project: "default",
          kind: "train",
          status: "succeeded",
          request_json: "{}",
          stage: null,
          progress_json: null,
          leaderboard_json: "[]",
          result_json: null,
          error_json: null,
          output_dataset_json: null,
          output_datasets_json: null,
          log_path: "/tmp/x.log",
          last_seq: 0,
          created_at: new Date().toISOString(),
          started_at: null,
          finished_at: null,
        })
        .execute();
      expect((await migrateToLatest(db as unknown as Kysely<unknown>, serverMigrations, dataMigrations))[0]).toBe(MIGRATION);
      expect(await backfillMark()).toBe("pending");
    });

    it("leaves a new installation unmarked", async () => {
      ({ db } = await dbs.fresh<ServerTables>());
      expect(await backfillMark()).toBeNull();
    });
  });
});

describe("folderOfRunsUri", () => {
  it.each([
    [`runs:/${RUN}/model`, { runId: RUN, artifactPath: "model" }],
    [`runs:/${RUN}/a/b/`, { runId: RUN, artifactPath: "a/b" }],
    [`runs:/${RUN}/../x`, null],
    ["models:/churn/3", null],
    ["runs:/short/model", null],
  ])("%s -> %o", (uri, expected) => {
    expect(folderOfRunsUri(uri)).toEqual(expected);
  });
});
