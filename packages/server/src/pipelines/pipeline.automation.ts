import type { DatasetVersion } from "@caretflow/contracts";
import { type PipelineEvent, PipelineScheduler, triggeredBy } from "@caretflow/orchestrator";
import type { Logger } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import type { PipelineRepository } from "./pipeline.repository.ts";
import type { PipelineService } from "./pipeline.service.ts";

export interface PipelineAutomationOptions {
  pipelines: PipelineService;
  repo: PipelineRepository;
  projects: Pick<ProjectService, "projectOf">;
  /** New dataset versions (the dataset store's listener). */
  onVersionCreated(listener: (v: DatasetVersion) => void): () => void;
  log: Logger;
  now?: () => Date;
  /** Missed runs one schedule catches up at most after downtime. */
  maxCatchUp?: number;
}

/**
 * What starts runs without a person: schedules (one PipelineScheduler over every stored pipeline's
 * `schedule`) and triggers (a dataset's new version, another pipeline's run ending). Applying or deleting
 * a pipeline reloads the schedules at once.
 */
export class PipelineAutomation {
  readonly #o: PipelineAutomationOptions;
  readonly #scheduler: PipelineScheduler;
  readonly #off: Array<() => void> = [];
  /** Trigger handling in flight, awaited by stop(). */
  readonly #pending = new Set<Promise<void>>();
  #stopped = false;
  /** Every stored pipeline's spec, read once and again only after an apply or delete (events come often). */
  #specs: ReturnType<PipelineService["specs"]> | null = null;

  constructor(o: PipelineAutomationOptions) {
    this.#o = o;
    const { pipelines, repo } = o;
    this.#scheduler = new PipelineScheduler({
      store: {
        schedules: async () =>
          (await this.#currentSpecs()).flatMap((p) =>
            p.spec.schedule ? [{ project: p.project, pipeline: p.name, schedule: p.spec.schedule, revisionSince: p.since }] : [],
          ),
        lastDue: (project, pipeline) => repo.lastDue(project, pipeline),
        claimDue: (project, pipeline, due) => repo.claimDue(project, pipeline, due),
      },
      runner: {
        activeRuns: (project, pipeline) => pipelines.activeRuns(project, pipeline),
        start: async (project, pipeline, trigger, opts) =>
          (await pipelines.startRun(project, pipeline, { params: {}, force: false }, null, trigger, opts)).id,
        cancel: async (runId, reason) => {
          const row = await repo.runRow(runId);
          if (row) await pipelines.cancel(runId, row.project, reason);
        },
      },
      log: o.log,
      ...(o.now ? { now: o.now } : {}),
      ...(o.maxCatchUp !== undefined ? { maxCatchUp: o.maxCatchUp } : {}),
    });
  }

  async start(): Promise<void> {
    const { pipelines } = this.#o;
    this.#off.push(
      pipelines.onPipelinesChanged(() => {
        this.#specs = null;
        void this.#scheduler.reload();
      }),
    );
    this.#off.push(
      this.#o.onVersionCreated((v) =>
        this.#track(async () => {
          const project = await this.#o.projects.projectOf("dataset", v.dataset);
          await this.#fire({ kind: "dataset_version", project, dataset: v.dataset, version: v.version });
        }),
      ),
    );
    this.#off.push(
      pipelines.onRunFinished((run) => {
        if (run.status === "queued" || run.status === "running") return;
        this.#track(() =>
          this.#fire({
            kind: "pipeline_finished",
            project: run.project,
            pipeline: run.pipeline,
            status: run.status as "succeeded",
            runId: run.id,
          }),
        );
      }),
    );
    await this.#scheduler.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const off of this.#off.splice(0)) off();
    await this.#scheduler.stop();
    await Promise.all(this.#pending);
  }

  /** The schedules' next due times (for the UI). */
  upcoming() {
    return this.#scheduler.upcoming();
  }

  /** The pipelines of the run and of the runs whose ends started it, newest first. */
  async #chain(runId: string): Promise<string[]> {
    const out: string[] = [];
    let id: string | undefined = runId;
    while (id && out.length < 100) {
      const row = await this.#o.repo.runRow(id);
      if (!row) break;
      out.push(row.pipeline);
      id = (JSON.parse(row.trigger_json) as { cause?: string }).cause;
    }
    return out;
  }

  #currentSpecs(): ReturnType<PipelineService["specs"]> {
    this.#specs ??= this.#o.pipelines.specs().catch((err: unknown) => {
      this.#specs = null;
      throw err;
    });
    return this.#specs;
  }

  #track(work: () => Promise<void>): void {
    if (this.#stopped) return;
    const p = work()
      .catch((err: unknown) => this.#o.log("warn", `a pipeline trigger failed: ${(err as Error).message}`))
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #fire(event: PipelineEvent): Promise<void> {
    const specs = await this.#currentSpecs();
    const runs = triggeredBy(
      event,
      specs.map((s) => ({ project: s.project, name: s.name, triggers: s.spec.triggers ?? [] })),
    );
    for (const r of runs) {
      if (event.kind === "pipeline_finished") {
        // Pipelines that start each other in a ring (A finishes → B, B finishes → A) would run forever:
        // a pipeline already in the chain of runs that led here is not started again.
        const chain = await this.#chain(event.runId);
        if (chain.includes(r.pipeline)) {
          this.#o.log(
            "warn",
            `pipeline ${r.pipeline}: ${r.trigger.detail} ignored, it would loop (${[...chain].reverse().join(" → ")} → ${r.pipeline})`,
          );
          continue;
        }
        const run = await this.#o.pipelines.startRun(r.project, r.pipeline, { params: {}, force: false }, null, {
          ...r.trigger,
          cause: event.runId,
        });
        this.#o.log("info", `pipeline ${r.pipeline}: run ${run.id} started by ${r.trigger.detail}`);
        continue;
      }
      // A run's own writes must not start it again: while a run of the pipeline is under way, a new
      // version of a dataset it watches is taken as its own doing and starts nothing.
      if (event.kind === "dataset_version" && (await this.#o.pipelines.activeRuns(r.project, r.pipeline)).length > 0) {
        this.#o.log("info", `pipeline ${r.pipeline}: ${r.trigger.detail} ignored, a run of it is under way`);
        continue;
      }
      const run = await this.#o.pipelines.startRun(r.project, r.pipeline, { params: {}, force: false }, null, r.trigger);
      this.#o.log("info", `pipeline ${r.pipeline}: run ${run.id} started by ${r.trigger.detail}`);
    }
  }
}
