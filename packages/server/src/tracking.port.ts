import {
  deleteAlias,
  getModel,
  getRunDetail,
  listModels,
  listTrainingRuns,
  type MlflowClient,
  registerModel,
  resolveModelRef,
  setAlias,
  setVersionTag,
  updateModel,
  updateModelVersion,
} from "@caretflow/tracking";
import type { ModelDigestRepository } from "./models/model-digest.repository.ts";
import type { TrackingPort } from "./ports.ts";

/**
 * The server's view of tracking, over one MLflow client. A resolved model version carries the digest
 * caretflow recorded for its source run's model folder (null when none is recorded), never an MLflow tag.
 */
export function trackingPort(client: MlflowClient, trackingUri: string, digests: ModelDigestRepository): TrackingPort {
  return {
    trackingUri: () => trackingUri,
    listRuns: () => listTrainingRuns(client),
    getRun: (runId) => getRunDetail(client, runId),
    getArtifact: (runId, path) => client.getArtifact(runId, path),
    listModels: () => listModels(client),
    getModel: (name) => getModel(client, name),
    registerModel: (req) => registerModel(client, req),
    setAlias: (name, alias, version) => setAlias(client, name, alias, version),
    deleteAlias: (name, alias) => deleteAlias(client, name, alias),
    setVersionTag: (name, version, key, value) => setVersionTag(client, name, version, key, value),
    updateModel: (name, patch) => updateModel(client, name, patch),
    updateModelVersion: (name, version, patch) => updateModelVersion(client, name, version, patch),
    resolveModelRef: async (ref) => {
      const { artifactPath, ...model } = await resolveModelRef(client, ref);
      const sha256 = model.runId && artifactPath ? await digests.lookup({ runId: model.runId, artifactPath }) : null;
      return { ...model, sha256 };
    },
    killRunIfRunning: async (runId) => {
      const run = await client.getRun(runId);
      if (run.info.status !== "RUNNING" && run.info.status !== "SCHEDULED") return false;
      await client.updateRun(runId, { status: "KILLED" });
      return true;
    },
  };
}
