import { JobResult } from "@caretflow/contracts";
import { artifactPathOf, type MlflowClient, modelFolderDigest } from "@caretflow/tracking";
import type { Kysely } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import type { Logger } from "../ports.ts";
import { folderOfRunsUri, type ModelDigestRepository, type ModelFolderRef } from "./model-digest.repository.ts";

const META_KEY = "model_digests_backfill";

/**
 * Once, after the upgrade that added caretflow's digest record: records the digests of the model
 * folders that existed before it (the models of finished training and operation jobs, and every
 * registered model version's source), as they are in MLflow's artifact store now: trust on first
 * use (docs/operations.md). Runs only while the migration's `pending` mark is set; a folder that
 * cannot be read is logged and left unrecorded, so loading it is refused.
 * @returns how many digests it recorded, or null when there was nothing to do
 */
export async function backfillModelDigests(deps: {
  db: Kysely<ServerTables>;
  digests: ModelDigestRepository;
  client: MlflowClient;
  log: Logger;
}): Promise<number | null> {
  const { db, digests, client, log } = deps;
  const mark = await db.selectFrom("server_meta").select("value").where("key", "=", META_KEY).executeTakeFirst();
  if (mark?.value !== "pending") return null;
  const folders = new Map<string, ModelFolderRef>();
  const add = (f: ModelFolderRef | null) => {
    if (f) folders.set(`${f.runId}/${f.artifactPath}`, f);
  };
  // Models caretflow's own jobs made (from caretflow's database, not MLflow's run list).
  const rows = await db
    .selectFrom("jobs")
    .select("result_json")
    .where("status", "=", "succeeded")
    .where("kind", "in", ["train", "operate"])
    .execute();
  for (const row of rows) {
    const parsed = row.result_json ? JobResult.safeParse(JSON.parse(row.result_json)) : null;
    const r = parsed?.success ? parsed.data : null;
    if (r && (r.kind === "train" || r.kind === "operate")) add(folderOfRunsUri(r.model_uri));
  }
  // Every registered version's source folder.
  let pageToken: string | undefined;
  do {
    const page = await client.searchModelVersions(pageToken ? { pageToken } : {});
    for (const v of page.items) {
      if (!v.run_id) continue;
      const run = await client.getRun(v.run_id).catch(() => null);
      const path = run ? artifactPathOf(v.source ?? "", run.info.artifact_uri ?? "", v.run_id) : null;
      add(path ? { runId: v.run_id, artifactPath: path } : null);
    }
    pageToken = page.nextPageToken ?? undefined;
  } while (pageToken);

  let recorded = 0;
  for (const f of folders.values()) {
    if (await digests.lookup(f)) continue;
    try {
      const digest = await modelFolderDigest(client, f.runId, f.artifactPath);
      if (await digests.record(f, digest, "first_use")) recorded++;
    } catch (err) {
      log(
        "warn",
        `could not record the digest of the model of run ${f.runId} (${f.artifactPath}): ${(err as Error).message}; it will not be loaded`,
      );
    }
  }
  await db.updateTable("server_meta").set({ value: "done" }).where("key", "=", META_KEY).execute();
  log("info", `recorded the digests of ${recorded} model folder(s) made before this version (trust on first use)`);
  return recorded;
}
