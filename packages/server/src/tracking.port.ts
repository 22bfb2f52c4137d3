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
} from "@caretflow/tracking";
import type { TrackingPort } from "./ports.ts";

/** The server's view of tracking, over one MLflow client. */
export function trackingPort(client: MlflowClient, trackingUri: string): TrackingPort {
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
    resolveModelRef: (ref) => resolveModelRef(client, ref),
    killRunIfRunning: async (runId) => {
      const run = await client.getRun(runId);
      if (run.info.status !== "RUNNING" && run.info.status !== "SCHEDULED") return false;
      await client.updateRun(runId, { status: "KILLED" });
      return true;
    },
  };
}
