import { open, stat } from "node:fs/promises";
import { type Job, OperateRequest, type OperateResult, TrainRequest, type TrainResult } from "@caretflow/contracts";
import { isServerStopping, isTerminal, StepFailure, type StepHandler, type StepRunContext } from "@caretflow/orchestrator";
import type { JobService } from "../../jobs/job.service.ts";
import type { DatasetsPort } from "../../ports.ts";

/**
 * Steps that run as jobs (train, tune, batch_predict): the step submits a job through the JobService, so it
 * runs wherever jobs run (in process or on a Redis worker), saves the job's id as its state, and follows
 * the job to its end. A restarted server follows the same job again instead of starting another one.
 * The step's `resources` become the job's limits: `memory` its memory limit (the worker's own applies
 * when lower), `cores` its estimators' threads.
 */

export interface JobStepDeps {
  jobs: JobService;
  datasets: Pick<DatasetsPort, "getVersion">;
  /** How often a followed job is looked at besides its status events, ms. */
  pollMs?: number;
}

/** Lines of a finished job's log copied to the step log. */
const LOG_TAIL_LINES = 40;

/** Follows the job until it ends; cancelling the step cancels the job. */
async function followJob(deps: JobStepDeps, ctx: StepRunContext, id: string): Promise<Job> {
  const { jobs } = deps;
  const project = ctx.run.project;
  return await new Promise<Job>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      unsubscribe();
      ctx.signal.removeEventListener("abort", onAbort);
      fn();
    };
    const look = () =>
      jobs.get(id, project).then(
        (job) => {
          if (isTerminal(job.status)) finish(() => resolve(job));
        },
        (err: unknown) => finish(() => reject(err)),
      );
    const onAbort = () => {
      finish(() => reject(ctx.signal.reason));
      // A stopping server leaves the job to run on; the next server follows it again.
      if (!isServerStopping(ctx.signal.reason)) jobs.cancel(id, project).catch(() => {});
    };
    const unsubscribe = jobs.subscribe(id, (e) => {
      if (e.type === "status") void look();
      // The job's worker stopped and another one runs it from the start: the step says so and goes on waiting.
      if (e.type === "attempt") ctx.log(`job ${id}: ${e.message} (job attempt ${e.attempt}, ${e.reason})`);
    });
    const timer = setInterval(() => void look(), deps.pollMs ?? 2000);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    void look();
  });
}

/** Starts the job (or takes the one an earlier attempt started), follows it, and answers it once it succeeded. */
async function runAsJob(deps: JobStepDeps, ctx: StepRunContext, start: () => Promise<Job>): Promise<Job> {
  const saved = typeof ctx.state?.jobId === "string" ? ctx.state.jobId : null;
  let id: string;
  if (saved) {
    id = saved;
    ctx.log(`following job ${id} again (started before the server restarted)`);
  } else {
    const job = await start();
    id = job.id;
    await ctx.saveState({ jobId: id });
    const { memoryMb, cores } = ctx.step.resources;
    const limits = [memoryMb ? `memory ≤ ${memoryMb} MB` : null, cores ? `${cores} core${cores === 1 ? "" : "s"}` : null].filter(Boolean);
    ctx.log(`started job ${id}${limits.length > 0 ? ` (${limits.join(", ")})` : ""} (its progress: caretflow jobs show ${id})`);
  }
  const job = await followJob(deps, ctx, id);
  await copyLogTail(deps, ctx, job);
  if (job.status === "succeeded") return job;
  const e = job.error;
  throw new StepFailure(e?.name ?? "job_failed", `job ${id} ${job.status}: ${e?.message ?? "no reason given"}`, {
    hint: e?.hint ?? `see its log: caretflow jobs logs ${id}`,
    transient: e?.transient ?? false,
  });
}

async function copyLogTail(deps: JobStepDeps, ctx: StepRunContext, job: Job): Promise<void> {
  const path = await deps.jobs.logPath(job.id, ctx.run.project).catch(() => null);
  if (!path) return;
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0) return;
  const fh = await open(path, "r");
  try {
    const length = Math.min(size, 64 * 1024);
    const { buffer } = await fh.read(Buffer.alloc(length), 0, length, size - length);
    const lines = buffer.toString("utf8").split("\n").filter(Boolean).slice(-LOG_TAIL_LINES);
    ctx.log(`last ${lines.length} lines of job ${job.id}'s log:`);
    for (const l of lines) ctx.log(`  ${l}`);
  } finally {
    await fh.close();
  }
}

/** The best model's score on the comparison's sort metric, or null. */
function bestMetric(r: TrainResult | OperateResult): number | null {
  const row = r.leaderboard[0];
  if (!row) return null;
  const key = r.sort_metric ?? Object.keys(row.metrics)[0];
  return key === undefined ? null : (row.metrics[key] ?? null);
}

function badInput(step: string, message: string, hint: string): StepFailure {
  return new StepFailure("bad_input", `${step}: ${message}`, { hint });
}

/** Facts of the dataset version a step reads: the named version, else the latest, by content hash. */
async function datasetFingerprint(deps: JobStepDeps, dataset: unknown, version: unknown): Promise<unknown> {
  const v = await deps.datasets.getVersion(String(dataset), typeof version === "number" ? version : undefined).catch(() => null);
  return v ? { version: v.version, contentHash: v.contentHash } : null;
}

export function trainStep(deps: JobStepDeps): StepHandler {
  return {
    cacheable: true,
    fingerprint: (inputs) => datasetFingerprint(deps, inputs.dataset, inputs.version),
    async run(ctx) {
      const w = ctx.inputs as {
        dataset: string;
        version?: number;
        task: string;
        target?: string;
        include?: string[];
        options?: Record<string, unknown>;
      };
      const parsed = TrainRequest.safeParse({
        ...(w.options ?? {}),
        dataset: w.dataset,
        ...(w.version !== undefined ? { version: w.version } : {}),
        task: w.task,
        ...(w.target !== undefined ? { target: w.target } : {}),
        ...(w.include !== undefined ? { include: w.include } : {}),
      });
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw badInput(
          "train",
          `${issue.path.join(".") || "with"}: ${issue.message}`,
          "check the step's task, target and options (caretflow catalog lists each task's options)",
        );
      }
      const job = await runAsJob(deps, ctx, () => deps.jobs.startTrain(parsed.data, ctx.run.project, ctx.step.resources));
      const r = job.result as TrainResult;
      return { run_id: r.parent_run_id, best_run_id: r.best_run_id, metric: bestMetric(r) };
    },
  };
}

export function tuneStep(deps: JobStepDeps): StepHandler {
  return {
    cacheable: true,
    async run(ctx) {
      const w = ctx.inputs as { run_id: string; n_iter?: number; optimize?: string };
      const request = OperateRequest.parse({
        operation: { op: "tune", ...(w.n_iter !== undefined ? { n_iter: w.n_iter } : {}), ...(w.optimize ? { optimize: w.optimize } : {}) },
      });
      const job = await runAsJob(deps, ctx, () => deps.jobs.startOperate(w.run_id, request, ctx.run.project, ctx.step.resources));
      const r = job.result as OperateResult;
      return { run_id: r.best_run_id, metric: bestMetric(r) };
    },
  };
}

export function batchPredictStep(deps: JobStepDeps): StepHandler {
  return {
    // The model behind an alias changes, so equal inputs do not promise an equal result.
    cacheable: false,
    async run(ctx) {
      const w = ctx.inputs as { model: string; dataset: string; version?: number; output?: string };
      const job = await runAsJob(deps, ctx, () =>
        deps.jobs.startPredict(
          {
            model: w.model,
            dataset: w.dataset,
            ...(w.version !== undefined ? { version: w.version } : {}),
            ...(w.output ? { output: w.output } : {}),
          },
          ctx.run.project,
          ctx.step.resources,
        ),
      );
      const out = job.outputDataset;
      if (!out)
        throw new StepFailure("no_output", `job ${job.id} stored no predictions`, { hint: `see its log: caretflow jobs logs ${job.id}` });
      return { dataset: out.name, version: out.version };
    },
  };
}
