import type { JobEvent } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { applyEvent, initialProgress, type ProgressState, renderProgress } from "./progress.ts";

const base = { v: 1 as const, ts: "2024-01-01T00:00:00Z", job_id: "j1" };
let seq = 0;
const engine = (event: Record<string, unknown>): JobEvent =>
  ({ seq: ++seq, ts: base.ts, type: "engine", event: { ...base, seq, ...event } }) as JobEvent;
const status = (s: string): JobEvent => ({ seq: ++seq, ts: base.ts, type: "status", status: s }) as JobEvent;

describe("applyEvent", () => {
  it("folds status, stage and progress; a new stage resets the count", () => {
    const events: JobEvent[] = [
      status("running"),
      engine({ type: "stage", stage: "setup", message: "setting up" }),
      engine({ type: "stage", stage: "compare", message: "comparing" }),
      engine({ type: "progress", done: 2, total: 3 }),
      engine({
        type: "leaderboard_row",
        row: { model_id: "lr", model_name: "Logistic Regression", metrics: { Accuracy: 0.8 }, fit_seconds: 1 },
      }),
    ];
    const state = events.reduce(applyEvent, initialProgress());
    expect(state).toEqual({ status: "running", stage: "compare", message: "comparing", done: 2, total: 3 });
    const next = applyEvent(state, engine({ type: "stage", stage: "finalize", message: "finalizing" }));
    expect(next).toMatchObject({ stage: "finalize", done: 0, total: 0 });
    const retried = applyEvent(state, { seq: ++seq, ts: base.ts, type: "attempt", attempt: 2, reason: "worker_lost", message: "lost" });
    expect(retried).toEqual({ status: "running", stage: null, message: null, done: 0, total: 0 });
  });
});

describe("renderProgress", () => {
  const s = (over: Partial<ProgressState>): ProgressState => ({ ...initialProgress("running"), ...over });
  it.each<[string, ProgressState, number | null, string]>([
    ["queued, no stage", s({ status: "queued" }), 0, "queued  00:00"],
    ["stage without a count", s({ stage: "setup" }), 5_000, "setup  00:05"],
    [
      "compare shows the model being fitted",
      s({ stage: "compare", done: 2, total: 4 }),
      42_000,
      "comparing models [#####-----] model 3 of 4  00:42",
    ],
    ["compare complete", s({ stage: "compare", done: 4, total: 4 }), 60_000, "comparing models [##########] 4 of 4 models  01:00"],
    ["other stages show done/total", s({ stage: "scoring", done: 1, total: 4 }), null, "scoring [###-------] 1/4"],
  ])("%s", (_n, state, elapsed, expected) => {
    expect(renderProgress(state, elapsed, 10)).toBe(expected);
  });
});
