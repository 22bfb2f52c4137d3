import type { EngineEvent } from "@caretflow/contracts";
import type { EngineRunner } from "../packages/orchestrator/src/index.ts";

/** A no-op job for the overhead benchmarks: two events (log lines), then success, at once. */
export const noopEngine: EngineRunner = {
  run: async (spec, opts) => {
    const event = (seq: number): EngineEvent => ({
      v: 1,
      seq,
      ts: new Date().toISOString(),
      job_id: spec.job_id,
      type: "log",
      level: "info",
      message: "no-op",
    });
    opts.onEvent(event(0));
    opts.onEvent(event(1));
    return { status: "succeeded" };
  },
};
