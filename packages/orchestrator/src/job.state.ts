import {
  type EngineEvent,
  type ErrorInfo,
  isTerminalStatus,
  type JobResult,
  type JobStatus,
  type LeaderboardRow,
  type Stage,
} from "@caretflow/contracts";

/**
 * The job life cycle: queued -> running -> succeeded | failed | cancelled.
 * A queued job may also be cancelled or failed (server restart) without running.
 * Terminal states never change again.
 */
export type JobCommand =
  | { type: "start" }
  | { type: "finish"; status: "succeeded" | "failed" | "cancelled" }
  | { type: "cancel" }
  | { type: "abandon" };

export const isTerminal = isTerminalStatus;

/** The status after a command, or null when the command is not allowed from `current`. */
export function nextStatus(current: JobStatus, command: JobCommand): JobStatus | null {
  if (isTerminal(current)) return null;
  switch (command.type) {
    case "start":
      return current === "queued" ? "running" : null;
    case "finish":
      return current === "running" ? command.status : null;
    case "cancel":
      // A running job is cancelled only when the engine confirms (finish: cancelled).
      return current === "queued" ? "cancelled" : null;
    case "abandon":
      return "failed";
    default: {
      const never: never = command;
      throw new Error(`unknown job command ${JSON.stringify(never)}`);
    }
  }
}

/** The parts of a job that engine events change. */
export interface JobProgressView {
  stage: Stage | null;
  progress: { done: number; total: number } | null;
  leaderboard: LeaderboardRow[];
  result: JobResult | null;
  error: ErrorInfo | null;
}

export const EMPTY_PROGRESS: JobProgressView = { stage: null, progress: null, leaderboard: [], result: null, error: null };

/** Folds one engine event into the job's visible state (pure). */
export function applyEngineEvent(view: JobProgressView, e: EngineEvent): JobProgressView {
  switch (e.type) {
    case "stage":
      return { ...view, stage: e.stage };
    case "progress":
      return { ...view, progress: { done: e.done, total: e.total } };
    case "leaderboard_row": {
      const others = view.leaderboard.filter((r) => r.model_id !== e.row.model_id);
      return { ...view, leaderboard: [...others, e.row] };
    }
    case "error":
      return { ...view, error: e.error };
    case "finished": {
      const result = e.result ?? view.result;
      const leaderboard = result?.kind === "train" || result?.kind === "operate" ? result.leaderboard : view.leaderboard;
      return { ...view, result, leaderboard };
    }
    case "started":
    case "metric":
    case "artifact":
    case "run":
    case "log":
    case "warning":
      return view;
    default: {
      const never: never = e;
      throw new Error(`unknown engine event ${JSON.stringify(never)}`);
    }
  }
}
