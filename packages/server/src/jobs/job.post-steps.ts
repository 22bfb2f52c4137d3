import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type ExecutionOutcome, outputDatasetName, type PostStep, type PostStepRunner, type StoredOutput } from "@caretflow/orchestrator";
import { type AuditLog, SYSTEM_ACTOR } from "../audit/audit.log.ts";
import { folderOfRunsUri, type ModelDigestRepository } from "../models/model-digest.repository.ts";
import type { DatasetsPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";

/**
 * The code of the steps that run after a job's engine run, where the job ran (see PostStep): recording
 * the logged model's digest and storing the job's output tables as datasets.
 */
export class JobPostSteps implements PostStepRunner {
  constructor(
    private readonly o: {
      datasets: DatasetsPort;
      projects: ProjectService;
      digests: ModelDigestRepository;
      /** Where the engine leaves tables for caretflow to import: <datasets root>/.outbox/<job id>/. */
      outboxDir: string;
      audit?: AuditLog;
    },
  ) {}

  async run(jobId: string, step: PostStep, outcome: ExecutionOutcome): Promise<{ outputs?: StoredOutput[] }> {
    switch (step.step) {
      case "record_model":
        await this.#recordModel(jobId, outcome);
        return {};
      case "store_outputs":
        return { outputs: await this.#storeOutputs(jobId, step, outcome) };
      default: {
        const never: never = step;
        throw new Error(`unknown post-step ${JSON.stringify(never)}`);
      }
    }
  }

  /** The digest the engine reported for the model it logged, recorded before anything may load the model. */
  async #recordModel(jobId: string, outcome: ExecutionOutcome): Promise<void> {
    const r = outcome.result;
    if (r?.kind !== "train" && r?.kind !== "operate") return;
    const folder = folderOfRunsUri(r.model_uri);
    if (!folder) throw new Error(`job ${jobId} reported a model URI caretflow cannot record: ${r.model_uri.slice(0, 200)}`);
    await this.o.digests.record(folder, r.model_sha256, "job", jobId);
  }

  /**
   * Stores every table the job left in its outbox as a dataset version (labels as a new version of the
   * input dataset; predictions, topic weights, rules... as datasets of their own), then empties the
   * outbox. A job is done only when its outputs are stored.
   */
  async #storeOutputs(
    jobId: string,
    step: Extract<PostStep, { step: "store_outputs" }>,
    outcome: ExecutionOutcome,
  ): Promise<StoredOutput[]> {
    const outbox = join(this.o.outboxDir, jobId);
    try {
      if (outcome.status !== "succeeded" || !outcome.result) return [];
      const r = outcome.result;
      const outputs = r.kind === "predict" ? [r.output] : r.kind === "train" || r.kind === "operate" ? r.outputs : [];
      const runId = r.kind === "train" || r.kind === "operate" ? r.best_run_id : undefined;
      const { input, project, names = {}, model } = step;
      const stored: StoredOutput[] = [];
      for (const output of outputs) {
        const name = outputDatasetName(output.role, input.dataset, names[output.role]);
        // Outputs belong to the job's project; a name another project owns is refused before anything is written.
        await this.o.projects.claim("dataset", name, project);
        const imported = await this.o.datasets.importFile({
          path: join(outbox, output.file),
          name,
          format: "parquet",
          filename: `${name}.parquet`,
          source: {
            kind: output.role === "predictions" ? "prediction" : "derived",
            parent: { dataset: input.dataset, version: input.version },
            jobId,
            role: output.role,
            ...(model ? { model } : {}),
            ...(runId ? { runId } : {}),
          },
        });
        stored.push({ role: output.role, name, version: imported.version.version });
        if (imported.created) {
          const v = imported.version;
          await this.o.audit?.record({
            actor: SYSTEM_ACTOR,
            action: "dataset.import",
            target: { kind: "dataset", id: `${v.dataset}/${v.version}` },
            project,
            after: { dataset: v.dataset, version: v.version, rows: v.rowCount, contentHash: v.contentHash, jobId, role: output.role },
          });
        }
      }
      return stored;
    } finally {
      await rm(outbox, { recursive: true, force: true });
    }
  }
}
