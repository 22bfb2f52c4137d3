import { Catalog, type Job } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import catalogJson from "../../lib/fixtures/catalog.json" with { type: "json" };
import { emptyJobView, type JobView } from "./job.state.ts";
import { describeJob, formatSeconds, jobSortMetric, jobTask, reportArtifact, timingRows } from "./jobs.helpers.ts";

const catalog = Catalog.parse(catalogJson);
const base = {
  id: "j1",
  status: "running" as const,
  stage: null,
  progress: null,
  leaderboard: [],
  result: null,
  error: null,
  outputDataset: null,
  outputDatasets: [],
  createdAt: "2026-01-01T00:00:00Z",
  startedAt: null,
  finishedAt: null,
};
const train = (extra: Record<string, unknown> = {}): Job =>
  ({ ...base, kind: "train", request: { task: "regression", dataset: "insurance", target: "charges", ...extra } }) as unknown as Job;
const operate = {
  ...base,
  kind: "operate",
  request: { operation: { op: "optimize_threshold", optimize: "F1" }, use_gpu: "off", run: "a".repeat(32) },
} as unknown as Job;
const predict = { ...base, kind: "predict", request: { model: "m@champion", dataset: "juice" } } as unknown as Job;

describe("jobs helpers", () => {
  it("describes every kind of job, with the task's label from the catalog", () => {
    expect(describeJob(train(), catalog)).toBe(`${catalog.tasks.find((t) => t.task === "regression")?.label} on insurance → charges`);
    expect(describeJob(train({ task: "clustering", target: undefined }))).toBe("clustering on insurance");
    expect(describeJob(operate)).toBe("optimize threshold of run aaaaaaaa");
    expect(describeJob(predict)).toBe("m@champion on juice");
  });

  it("ranks by the request's metric, else the task's default; an operation's task comes with its result", () => {
    expect(jobSortMetric(train({ sort: "MAE" }), emptyJobView, catalog)).toBe("MAE");
    expect(jobSortMetric(train(), emptyJobView, catalog)).toBe("R2");
    expect(jobTask(operate, emptyJobView)).toBeNull();
  });

  it("finds the report among the logged artifacts", () => {
    const view: JobView = {
      ...emptyJobView,
      artifacts: [
        { runId: "r", path: "charts/roc.json", kind: "chart", name: "roc" },
        { runId: "f", path: "report/report.html", kind: "report", name: "report" },
      ],
    };
    expect(reportArtifact(view)).toEqual({ runId: "f", path: "report/report.html" });
    expect(reportArtifact(emptyJobView)).toBeNull();
  });

  it("lists timings largest first, total last", () => {
    expect(timingRows({ total: 10, setup: 2, compare: 7, bad: Number.NaN })).toEqual([
      { stage: "compare", seconds: 7 },
      { stage: "setup", seconds: 2 },
      { stage: "total", seconds: 10 },
    ]);
    expect([formatSeconds(0.25), formatSeconds(3.21), formatSeconds(125)]).toEqual(["250 ms", "3.2 s", "2 min 05 s"]);
  });
});
