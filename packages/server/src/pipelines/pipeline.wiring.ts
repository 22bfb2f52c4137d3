import { join } from "node:path";
import type { AddressPolicy } from "@caretflow/connectors";
import type { StepHandlers } from "@caretflow/orchestrator";
import type { Kysely } from "kysely";
import type { AuditLog } from "../audit/audit.log.ts";
import type { AuthService } from "../auth/auth.service.ts";
import type { ConnectionService } from "../connections/connection.service.ts";
import type { ServerTables } from "../db/server.tables.ts";
import type { JobService } from "../jobs/job.service.ts";
import { ModelLifecycle } from "../models/model.lifecycle.ts";
import { ModelLifecycleRepository } from "../models/model-lifecycle.repository.ts";
import type { CatalogPort, DatasetsPort, Logger, TrackingPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import type { QualityService } from "../quality/quality.service.ts";
import type { TransformService } from "../transforms/transform.service.ts";
import { PipelineRepository } from "./pipeline.repository.ts";
import { PipelineService } from "./pipeline.service.ts";
import { customStep } from "./steps/custom.step.ts";
import { importStep, qualityCheckStep, transformStep } from "./steps/data.steps.ts";
import { batchPredictStep, trainStep, tuneStep } from "./steps/job.steps.ts";
import { evaluateChampionStep, registerStep, setAliasStep } from "./steps/model.steps.ts";
import { notifyStep } from "./steps/notify.step.ts";

export interface PipelineWiring {
  db: Kysely<ServerTables>;
  /** caretflow's home: runs keep their logs under <home>/pipelines, import steps read files from <home>/files. */
  home: string;
  jobs: JobService;
  datasets: DatasetsPort;
  projects: ProjectService;
  connections: ConnectionService;
  transforms: TransformService;
  quality: QualityService;
  log: Logger;
  /** MLflow (register, set_alias, evaluate_champion). */
  tracking: TrackingPort;
  catalog: CatalogPort;
  audit: AuditLog;
  auth: AuthService;
  /** Where notify steps may send (the same policy as connections). */
  addressPolicy: () => AddressPolicy;
  /** The Python interpreter custom Python steps run with (the engine's). */
  python: string;
  /** Handlers replacing or adding to the built-in ones (tests). */
  handlers?: StepHandlers;
  maxParallel?: number;
}

/** The pipeline service with a handler for every step type this server runs. */
export function createPipelines(w: PipelineWiring): PipelineService {
  const data = {
    datasets: w.datasets,
    projects: w.projects,
    connections: w.connections,
    transforms: w.transforms,
    quality: w.quality,
    filesRoot: join(w.home, "files"),
  };
  const jobs = { jobs: w.jobs, datasets: w.datasets };
  const repo = new PipelineRepository(w.db);
  const lifecycle = new ModelLifecycle({ repo: new ModelLifecycleRepository(w.db), tracking: w.tracking, audit: w.audit });
  const models = { tracking: w.tracking, projects: w.projects, audit: w.audit, users: w.auth, catalog: w.catalog, lifecycle };
  const handlers: StepHandlers = {
    import: importStep(data),
    transform: transformStep(data),
    quality_check: qualityCheckStep(data),
    train: trainStep(jobs),
    tune: tuneStep(jobs),
    batch_predict: batchPredictStep(jobs),
    register: registerStep(models),
    set_alias: setAliasStep(models),
    evaluate_champion: evaluateChampionStep(models),
    notify: notifyStep({
      addressPolicy: w.addressPolicy,
      runSteps: async (runId) => (await repo.run(runId))?.steps ?? null,
    }),
    custom: customStep({ python: w.python, readFile: (run, path) => repo.runFile(run.id, path) }),
    ...w.handlers,
  };
  return new PipelineService({
    repo,
    handlers,
    dir: join(w.home, "pipelines"),
    log: w.log,
    ...(w.maxParallel ? { maxParallel: w.maxParallel } : {}),
  });
}
