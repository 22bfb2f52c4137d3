import { createHash } from "node:crypto";
import type { MlflowClient } from "./mlflow.client.ts";

/** First line of a model folder's manifest; the engine writes the same (engine/caretflow_engine/model_store.py). */
export const MANIFEST_HEADER = "caretflow-model-manifest v1\n";

/**
 * The digest of a model folder from its files' relative paths and sha256s: sha256 (hex) of the
 * manifest (header, then `<sha256>  <path>` per file, sorted by path). Pure; the engine computes
 * the same over a local folder.
 * @example manifestDigest([{ path: "MLmodel", sha256: "ab..." }, { path: "model.pkl", sha256: "cd..." }])
 */
export function manifestDigest(files: ReadonlyArray<{ path: string; sha256: string }>): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest = MANIFEST_HEADER + sorted.map((f) => `${f.sha256}  ${f.path}\n`).join("");
  return createHash("sha256").update(manifest, "utf8").digest("hex");
}

/**
 * Downloads every file of a run's model folder from MLflow and returns its digest (used once, to
 * record the digests of models made before caretflow recorded them itself).
 */
export async function modelFolderDigest(c: MlflowClient, runId: string, artifactPath: string): Promise<string> {
  const files: Array<{ path: string; sha256: string }> = [];
  const queue = [artifactPath];
  while (queue.length > 0) {
    const dir = queue.shift() as string;
    for (const f of await c.listArtifacts(runId, dir)) {
      if (f.is_dir) {
        queue.push(f.path);
        continue;
      }
      const res = await c.getArtifact(runId, f.path);
      const hash = createHash("sha256").update(Buffer.from(await res.arrayBuffer()));
      files.push({ path: f.path.slice(artifactPath.length + 1), sha256: hash.digest("hex") });
    }
  }
  if (files.length === 0) throw new Error(`run ${runId} has no files under ${artifactPath}`);
  return manifestDigest(files);
}
