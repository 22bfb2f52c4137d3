import type { Job } from "@caretflow/contracts";
import { expect } from "vitest";
import { type TestClient, until } from "./http.client.ts";

/**
 * Trains one model on a juice-like demo dataset through the API (two folds), waits for the job and
 * registers its best run under `name`; the new version's number.
 * @example const v = await trainAndRegister(api, { model: "lr", name: "juice-deployed" });
 */
export async function trainAndRegister(
  api: TestClient,
  o: { model: string; name: string; dataset?: string; task?: string; target?: string },
): Promise<number> {
  const started = await api.post<Job>("/api/jobs/train", {
    dataset: o.dataset ?? "juice",
    task: o.task ?? "classification",
    target: o.target ?? "Purchase",
    include: [o.model],
    folds: 2,
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const job = await until(
    `training ${o.model}`,
    async () => {
      const j = (await api.get<Job>(`/api/jobs/${started.body.id}`)).body;
      return ["succeeded", "failed", "cancelled"].includes(j.status) ? j : null;
    },
    600_000,
  );
  expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
  if (job.result?.kind !== "train") throw new Error("not a training result");
  const reg = await api.post<{ version: number }>("/api/models", { runId: job.result.best_run_id, name: o.name });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  return reg.body.version;
}
