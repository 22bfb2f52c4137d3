import type { EngineEvent, JobEvent, Stage } from "@caretflow/contracts";
import { formatElapsed } from "./table.ts";

/** What the CLI knows about a running job, folded from its events. */
export interface ProgressState {
  status: string;
  stage: Stage | null;
  message: string | null;
  done: number;
  total: number;
}

const STAGE_LABEL: Record<Stage, string> = {
  loading: "loading data",
  preparing: "preparing data",
  setup: "setup",
  compare: "comparing models",
  operation: "running the operation",
  finalize: "finalizing best model",
  evaluate: "evaluating",
  explain: "explaining the model",
  report: "writing the report",
  logging: "logging to MLflow",
  assign: "assigning labels",
  scoring: "scoring",
  writing: "writing output",
  drift: "comparing distributions",
};

/**
 * One status line: stage, a bar when the total is known, "model i of n" and elapsed time (unless null).
 * @example renderProgress({ status: "running", stage: "compare", message: null, done: 2, total: 4 }, 42_000, 20)
 * // "comparing models [##########----------] model 3 of 4  00:42"
 */
export function renderProgress(state: ProgressState, elapsedMs: number | null, barWidth = 24): string {
  const label = state.stage ? STAGE_LABEL[state.stage] : state.status;
  const parts = [label];
  if (state.total > 0) {
    const frac = Math.min(1, state.done / state.total);
    const filled = Math.round(frac * barWidth);
    parts.push(`[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`);
    // While comparing, "done" models are finished, so the one being fitted is done + 1.
    if (state.stage === "compare") {
      parts.push(state.done < state.total ? `model ${state.done + 1} of ${state.total}` : `${state.total} of ${state.total} models`);
    } else {
      parts.push(`${state.done}/${state.total}`);
    }
  }
  if (elapsedMs !== null) parts.push(` ${formatElapsed(elapsedMs)}`);
  return parts.join(" ");
}

export function initialProgress(status = "queued"): ProgressState {
  return { status, stage: null, message: null, done: 0, total: 0 };
}

/** Fold one job event into the progress state. Pure. */
export function applyEvent(state: ProgressState, ev: JobEvent): ProgressState {
  switch (ev.type) {
    case "status":
      return { ...state, status: ev.status };
    case "engine":
      return applyEngineEvent(state, ev.event);
    case "attempt":
      // Started over on another worker: the engine's progress starts again.
      return { ...initialProgress(state.status) };
    default: {
      const unreachable: never = ev;
      return unreachable;
    }
  }
}

function applyEngineEvent(state: ProgressState, ev: EngineEvent): ProgressState {
  switch (ev.type) {
    case "stage":
      // A new stage starts its own count.
      return { ...state, stage: ev.stage, message: ev.message, done: 0, total: 0 };
    case "progress":
      return { ...state, done: ev.done, total: ev.total, message: ev.message ?? state.message };
    case "started":
      return { ...state, status: "running" };
    case "leaderboard_row":
    case "metric":
    case "artifact":
    case "run":
    case "log":
    case "warning":
    case "error":
    case "finished":
      return state;
    default: {
      const unreachable: never = ev;
      return unreachable;
    }
  }
}
