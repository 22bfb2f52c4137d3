import type { Job } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { evaluateResult, evaluationArtifacts, evaluationSummary, findEvaluation, totalSeconds } from "./evaluate.helpers.ts";

const RUN = "a".repeat(32);
const OTHER = "b".repeat(32);
const job = (id: string, kind: Job["kind"], request: unknown, createdAt: string, extra: Partial<Job> = {}): Job =>
  ({
    id,
    kind,
    status: "succeeded",
    request,
    stage: null,
    progress: null,
    leaderboard: [],
    result: null,
    error: null,
    outputDataset: null,
    outputDatasets: [],
    createdAt,
    startedAt: null,
    finishedAt: null,
    ...extra,
  }) as Job;

const jobs = [
  job("t1", "train", { task: "classification", dataset: "juice", target: "Purchase" }, "2026-01-01T10:00:00Z"),
  job("e1", "evaluate", { run: RUN, after: "t1" }, "2026-01-01T10:01:00Z"),
  job("e2", "evaluate", { run: RUN, after: null }, "2026-01-01T11:00:00Z"),
  job("e3", "evaluate", { run: OTHER, after: "o1" }, "2026-01-01T12:00:00Z"),
  job("p1", "predict", { model: "m@champion", dataset: "juice" }, "2026-01-01T13:00:00Z"),
];

describe("evaluations", () => {
  it("finds the evaluation queued after a job, or the newest on a run, whatever the list's order", () => {
    expect(findEvaluation(jobs, { after: "t1" })?.id).toBe("e1");
    expect(findEvaluation(jobs, { after: "o1" })?.id).toBe("e3");
    expect(findEvaluation([...jobs].reverse(), { run: RUN })?.id).toBe("e2");
    expect(findEvaluation(jobs, { run: RUN })?.id).toBe("e2");
    expect(findEvaluation(jobs, { after: "p1" })).toBeNull();
    expect(findEvaluation(jobs, { run: "c".repeat(32) })).toBeNull();
  });

  it("reads what an evaluation left on a run: chart data and the report", () => {
    const artifacts = [
      { path: "charts", isDir: true, size: null },
      { path: "charts/roc.json", isDir: false, size: 10 },
      { path: "charts/confusion_matrix.json", isDir: false, size: 10 },
      { path: "plots/AUC.png", isDir: false, size: 10 },
      { path: "report/report.html", isDir: false, size: 10 },
    ];
    expect(evaluationArtifacts(artifacts)).toEqual({ charts: 2, report: "report/report.html" });
    expect(evaluationArtifacts(undefined)).toEqual({ charts: 0, report: null });
  });

  it("sums up an evaluation in words", () => {
    expect(evaluationSummary({ charts: ["roc", "pr"], plots: ["auc"], report: "report/report.html" })).toBe(
      "2 charts, 1 plot and the report",
    );
    expect(evaluationSummary({ charts: [], plots: [], report: "report/report.html" })).toBe("the report");
    expect(evaluationSummary({ charts: ["roc"], plots: [], report: null })).toBe("1 chart");
    expect(evaluationSummary({ charts: [], plots: [], report: null })).toBe("nothing to show");
  });

  it("takes the live result before the stored one, and only an evaluation's", () => {
    const stored = { kind: "evaluate" as const, run_id: RUN, charts: [], plots: [], report: null, timings: {} };
    const live = { ...stored, charts: ["roc"] };
    const e = job("e9", "evaluate", { run: RUN, after: null }, "2026-01-01T10:00:00Z", { result: stored });
    expect(evaluateResult(e, live)?.charts).toEqual(["roc"]);
    expect(evaluateResult(e, null)?.charts).toEqual([]);
    expect(evaluateResult(null, null)).toBeNull();
  });

  it("totals timings: the engine's total when given, else the stages", () => {
    expect(totalSeconds({ evaluate: 3, report: 1.5 })).toBe(4.5);
    expect(totalSeconds({ evaluate: 3, report: 1.5, total: 5 })).toBe(5);
    expect(totalSeconds({})).toBe(0);
  });
});
