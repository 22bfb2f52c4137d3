import type { RunDetail, RunSummary } from "@caretflow/contracts";
import { checkRunId } from "./ids.validate.ts";
import { filterQuote, type MlflowClient } from "./mlflow.client.ts";
import { type MlflowExperiment, type MlflowRun, tagsToRecord } from "./mlflow.types.ts";
import { TAG } from "./tags.ts";

/** MLflow accepts a bounded number of experiment ids per search; stay well under it. */
const EXPERIMENTS_PER_SEARCH = 50;
/** Artifact listings are recursive; a run with more files than this is cut short (the UI pages inside folders). */
const MAX_ARTIFACTS = 500;
const MAX_HISTORY_KEYS = 50;

export function msToIso(ms: number | undefined): string | null {
  return ms === undefined || !Number.isFinite(ms) || ms <= 0 ? null : new Date(ms).toISOString();
}

/** Latest value of each metric; NaN/inf are dropped since the contract carries finite numbers. */
export function latestMetrics(run: MlflowRun): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of run.data.metrics) if (Number.isFinite(m.value)) out[m.key] = m.value;
  return out;
}

/** Pure mapping from an MLflow run to caretflow's summary. */
export function toRunSummary(run: MlflowRun, experimentName: string): RunSummary {
  const tags = tagsToRecord(run.data.tags);
  return {
    runId: run.info.run_id,
    experimentId: run.info.experiment_id,
    experimentName,
    name: run.info.run_name ?? tags[TAG.mlflowRunName] ?? run.info.run_id,
    status: run.info.status,
    startTime: msToIso(run.info.start_time),
    endTime: msToIso(run.info.end_time),
    task: tags[TAG.task] ?? null,
    dataset: tags[TAG.dataset] ?? null,
    target: tags[TAG.target] ?? null,
    jobId: tags[TAG.jobId] ?? null,
    bestModel: tags[TAG.bestModel] ?? tags[TAG.modelName] ?? null,
    bestRunId: tags[TAG.bestRunId] ?? null,
    metrics: latestMetrics(run),
  };
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** caretflow training runs (parent runs) of every experiment, newest first. */
export async function listTrainingRuns(c: MlflowClient, opts: { limit?: number } = {}): Promise<RunSummary[]> {
  const experiments = await c.allExperiments();
  const names = new Map(experiments.map((e) => [e.experiment_id, e.name]));
  const runs: MlflowRun[] = [];
  for (const ids of chunks([...names.keys()], EXPERIMENTS_PER_SEARCH)) {
    runs.push(
      ...(await c.searchAllRuns(
        { experimentIds: ids, filter: `tags.\`${TAG.role}\` = 'parent'`, orderBy: ["attributes.start_time DESC"] },
        opts.limit ?? 5000,
      )),
    );
  }
  runs.sort((a, b) => (b.info.start_time ?? 0) - (a.info.start_time ?? 0));
  return runs.slice(0, opts.limit ?? 5000).map((r) => toRunSummary(r, names.get(r.info.experiment_id) ?? r.info.experiment_id));
}

/** Lists a run's artifacts recursively, breadth first, up to MAX_ARTIFACTS entries. */
export async function listArtifactsRecursive(c: MlflowClient, runId: string, limit = MAX_ARTIFACTS): Promise<RunDetail["artifacts"]> {
  const out: RunDetail["artifacts"] = [];
  const queue: Array<string | undefined> = [undefined];
  while (queue.length > 0 && out.length < limit) {
    const dir = queue.shift();
    for (const f of await c.listArtifacts(runId, dir)) {
      if (out.length >= limit) break;
      out.push({ path: f.path, isDir: f.is_dir, size: f.is_dir ? null : (f.file_size ?? null) });
      if (f.is_dir) queue.push(f.path);
    }
  }
  return out;
}

/** One run with its children (runs tagged mlflow.parentRunId = runId), artifacts and dataset inputs. */
export async function getRunDetail(c: MlflowClient, runId: string): Promise<RunDetail> {
  checkRunId(runId);
  const run = await c.getRun(runId);
  const [experiment, children, artifacts, metricHistory] = await Promise.all([
    c.getExperiment(run.info.experiment_id).catch((): MlflowExperiment | null => null),
    c.searchAllRuns(
      {
        experimentIds: [run.info.experiment_id],
        filter: `tags.\`${TAG.mlflowParentRunId}\` = ${filterQuote(runId)}`,
        orderBy: ["attributes.start_time ASC"],
      },
      1000,
    ),
    listArtifactsRecursive(c, runId),
    metricHistories(c, run),
  ]);
  const experimentName = experiment?.name ?? run.info.experiment_id;
  const tags = tagsToRecord(run.data.tags);
  return {
    ...toRunSummary(run, experimentName),
    params: tagsToRecord(run.data.params),
    tags,
    parentRunId: tags[TAG.mlflowParentRunId] ?? null,
    children: children.map((ch) => ({
      ...toRunSummary(ch, experimentName),
      params: tagsToRecord(ch.data.params),
      tags: tagsToRecord(ch.data.tags),
    })),
    artifacts,
    datasetInputs: run.inputs.dataset_inputs.map((d) => ({
      name: d.dataset.name,
      digest: d.dataset.digest,
      source: d.dataset.source ?? null,
    })),
    metricHistory,
  };
}

/** Histories of the metrics that have more than their latest point worth showing (per-fold values use steps). */
async function metricHistories(c: MlflowClient, run: MlflowRun): Promise<NonNullable<RunDetail["metricHistory"]>> {
  const keys = [...new Set(run.data.metrics.map((m) => m.key))].slice(0, MAX_HISTORY_KEYS);
  const entries = await Promise.all(
    keys.map(async (k) => [k, (await c.getMetricHistory(run.info.run_id, k)).filter((m) => Number.isFinite(m.value))] as const),
  );
  const out: NonNullable<RunDetail["metricHistory"]> = {};
  for (const [k, hist] of entries) {
    if (hist.length > 1) out[k] = hist.map((m) => ({ step: m.step, value: m.value })).sort((a, b) => a.step - b.step);
  }
  return out;
}
