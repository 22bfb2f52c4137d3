import type { Kysely } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";

/** Where a model's files are: an MLflow run and the artifact path of its folder (e.g. "model"). */
export interface ModelFolderRef {
  runId: string;
  artifactPath: string;
}

/** How a digest came to be recorded: by the job that logged the model, or once at the upgrade. */
export type DigestOrigin = "job" | "first_use";

/**
 * The digests of the model folders caretflow made, in its own database: the only source of the
 * digest the engine checks before it loads a model (MLflow tags can be rewritten by anyone who can
 * write to MLflow). A recorded digest is never replaced.
 */
export class ModelDigestRepository {
  readonly #db: Kysely<ServerTables>;
  readonly #now: () => Date;

  constructor(db: Kysely<ServerTables>, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  /** Records a folder's digest; false when one was recorded already (the first stays). */
  async record(ref: ModelFolderRef, digest: string, origin: DigestOrigin, jobId: string | null = null): Promise<boolean> {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 digest: '${digest.slice(0, 80)}'`);
    const r = await this.#db
      .insertInto("model_digests")
      .values({
        run_id: ref.runId,
        artifact_path: ref.artifactPath,
        digest,
        origin,
        job_id: jobId,
        recorded_at: this.#now().toISOString(),
      })
      .onConflict((oc) => oc.columns(["run_id", "artifact_path"]).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** The recorded digest of a model folder, or null when caretflow has none. */
  async lookup(ref: ModelFolderRef): Promise<string | null> {
    const row = await this.#db
      .selectFrom("model_digests")
      .select("digest")
      .where("run_id", "=", ref.runId)
      .where("artifact_path", "=", ref.artifactPath)
      .executeTakeFirst();
    return row?.digest ?? null;
  }
}

/** runs:/RUN_ID/PATH -> its run and artifact path; null for any other URI. Pure. */
export function folderOfRunsUri(uri: string): ModelFolderRef | null {
  const m = /^runs:\/([0-9a-f]{32})\/(.+)$/.exec(uri);
  if (!m) return null;
  const artifactPath = (m[2] as string).replace(/^\/+|\/+$/g, "");
  return artifactPath && !artifactPath.split("/").includes("..") ? { runId: m[1] as string, artifactPath } : null;
}
