import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { basicAuthorization, MlflowClient, MlflowSupervisor } from "@caretflow/tracking";
import { expect } from "vitest";

const repo = resolve(fileURLToPath(import.meta.url), "../../../..");

/**
 * One real MLflow for a test file, locked with caretflow's credential and served under /mlflow (as
 * `caretflow up` runs it), with the writes a test makes as caretflow's engine does: straight to MLflow
 * with the credential. Call `start()` before `appOptions()` (the credential exists once it starts).
 * @example const m = lockedMlflow("scope"); const started = m.start(); f = await appFixture(m.appOptions()); const mlflow = await started;
 */
export function lockedMlflow(label: string) {
  const home = mkdtempSync(join(tmpdir(), `caretflow-${label}-`));
  const sup = new MlflowSupervisor({ mlflowBin: join(repo, "engine/.venv/bin/mlflow"), home, staticPrefix: "/mlflow", log: () => {} });
  const authorization = () => basicAuthorization(sup.credentials);
  return {
    sup,
    /** Starts MLflow; resolves to a client of it that carries caretflow's credential. */
    async start(): Promise<MlflowClient> {
      await sup.start();
      return new MlflowClient({ baseUrl: sup.url!, credentials: sup.credentials });
    },
    /** The app options that point caretflow's /mlflow proxy at this MLflow. */
    appOptions: () => ({ mlflowUiUpstream: () => sup.url, mlflowProxy: { authorization: authorization() } }),
    /** POST to MLflow's REST API with the credential; expects 200. */
    async post(path: string, body: unknown): Promise<Record<string, unknown>> {
      const res = await fetch(`${sup.url}/api/2.0/mlflow/${path}`, {
        method: "POST",
        headers: { authorization: authorization(), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status, path).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    },
    /** Writes one artifact of a run into MLflow's artifact store; expects 200. */
    async putArtifact(expId: string, runId: string, path: string, body: string): Promise<void> {
      const put = await fetch(`${sup.url}/ajax-api/2.0/mlflow-artifacts/artifacts/${expId}/${runId}/artifacts/${path}`, {
        method: "PUT",
        headers: { authorization: authorization() },
        body,
      });
      expect(put.status).toBe(200);
    },
    async stop(): Promise<void> {
      await sup.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
