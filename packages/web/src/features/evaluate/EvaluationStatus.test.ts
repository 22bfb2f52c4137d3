import type { Job } from "@caretflow/contracts";
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";
import { emptyJobView, type JobView } from "../jobs/job.state.ts";
import { EvaluationStatus } from "./EvaluationStatus.tsx";
import type { Evaluation } from "./useEvaluation.ts";

// Rendered without a DOM: what a person reads in each state of a model's evaluation, and which button they get.
const job = { id: "job_e1", kind: "evaluate", request: { run: "a".repeat(32), after: "job_t1" }, error: null } as unknown as Job;
const base: Evaluation = {
  job: null,
  view: emptyJobView,
  status: null,
  result: null,
  looking: false,
  known: true,
  start: async () => {},
  starting: false,
  startError: null,
};
const running: JobView = { ...emptyJobView, status: "running", stage: "setup" };
const failed: JobView = {
  ...emptyJobView,
  status: "failed",
  error: { name: "OutOfMemory", message: "the job used 9 GB at stage evaluate", hint: "Give jobs more memory.", transient: false },
};
const result = {
  kind: "evaluate" as const,
  run_id: "a",
  charts: ["roc", "pr"],
  plots: ["auc"],
  report: "report/report.html",
  timings: { evaluate: 4, report: 1.5 },
};

const cases: [string, Partial<Evaluation>, { canStart?: boolean; hasResults?: boolean }, string, RegExp[], RegExp | null][] = [
  ["loading", { known: false }, { canStart: true }, "loading", [/Looking for the model.{1,6}s evaluation/], null],
  ["looking", { looking: true }, { canStart: true }, "looking", [/queued after the training/], null],
  ["never evaluated", {}, { canStart: true }, "none", [/has not been evaluated/], />Evaluate this model</],
  ["evaluated before caretflow followed it", {}, { canStart: true, hasResults: true }, "none", [/earlier evaluation/], />Evaluate again</],
  ["not caretflow's run", {}, { canStart: false }, "none", [/has not been evaluated/], null],
  ["queued", { job, status: "queued" }, { canStart: true }, "queued", [/Evaluation queued/, /href="\/jobs\/job_e1"/], null],
  [
    "running",
    { job, view: running, status: "running" },
    { canStart: true },
    "running",
    [/Evaluating the model: preparing the data \(setup\)/],
    null,
  ],
  [
    "succeeded",
    { job, status: "succeeded", result },
    { canStart: true, hasResults: true },
    "succeeded",
    [/Evaluated: 2 charts, 1 plot and the report in 5.5 s/],
    />Evaluate again</,
  ],
  [
    "failed",
    { job, view: failed, status: "failed" },
    { canStart: true },
    "failed",
    [/OutOfMemory/, /9 GB at stage evaluate/, /Give jobs more memory/],
    />Evaluate again</,
  ],
  ["cancelled", { job, status: "cancelled" }, { canStart: true }, "cancelled", [/was cancelled/], />Evaluate again</],
];

describe("EvaluationStatus", () => {
  it.each(cases)("%s", (_, change, props, state, texts, button) => {
    const html = renderToStaticMarkup(
      createElement(
        MemoryRouter,
        null,
        createElement(EvaluationStatus, {
          evaluation: { ...base, ...change },
          canStart: props.canStart ?? false,
          hasResults: props.hasResults ?? false,
        }),
      ),
    );
    expect(html).toContain(`data-state="${state}"`);
    for (const t of texts) expect(html).toMatch(t);
    if (button) expect(html).toMatch(button);
    else expect(html).not.toContain('data-testid="evaluate-run"');
  });
});
