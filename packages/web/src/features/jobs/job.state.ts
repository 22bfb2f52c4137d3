import {
  type EngineEvent,
  type ErrorInfo,
  isTerminalStatus,
  type JobEvent,
  type JobResult,
  type JobStatus,
  type LeaderboardRow,
  type Stage,
} from "@caretflow/contracts";

/** What the job page shows, folded from the job's event stream. */
export interface JobView {
  /** Highest `seq` applied; events at or below it are replays and are ignored. */
  lastSeq: number;
  status: JobStatus | null;
  stage: Stage | null;
  stageMessage: string | null;
  progress: { done: number; total: number; message: string | null } | null;
  /** In arrival order, one row per model id. */
  leaderboard: LeaderboardRow[];
  /** When the engine started (its `started` event, else the first `running` status). */
  startedAt: string | null;
  finishedAt: string | null;
  result: JobResult | null;
  error: ErrorInfo | null;
  warnings: string[];
  /** The last log lines, newest last. */
  logs: { level: string; message: string; ts: string }[];
  runs: { role: "parent" | "child" | "final" | "operation"; runId: string; name: string }[];
  /** Files the engine logged to MLflow runs (charts, plots, the report), in arrival order. */
  artifacts: { runId: string; path: string; kind: string; name: string }[];
  versions: Record<string, string> | null;
  /** The engine's final word; the job's `status` changes only with the server's status event. */
  engineFinished: "succeeded" | "failed" | "cancelled" | null;
}

export const emptyJobView: JobView = {
  lastSeq: 0,
  status: null,
  stage: null,
  stageMessage: null,
  progress: null,
  leaderboard: [],
  startedAt: null,
  finishedAt: null,
  result: null,
  error: null,
  warnings: [],
  logs: [],
  runs: [],
  artifacts: [],
  versions: null,
  engineFinished: null,
};

const MAX_LOGS = 50;

export const isTerminal = isTerminalStatus;

/**
 * Applies one server event. Pure and idempotent per `seq`, so a replay after a reconnect
 * (the server resends from Last-Event-ID, a page opened mid-job gets everything so far) never doubles a row.
 */
export function reduceJobEvent(view: JobView, event: JobEvent): JobView {
  if (event.seq <= view.lastSeq) return view;
  const next: JobView = { ...view, lastSeq: event.seq };
  switch (event.type) {
    case "status": {
      next.status = event.status;
      if (event.status === "running" && !next.startedAt) next.startedAt = event.ts;
      if (isTerminal(event.status)) next.finishedAt = next.finishedAt ?? event.ts;
      return next;
    }
    case "engine":
      return applyEngineEvent(next, event.event, event.ts);
    case "attempt":
      // The job starts over on another worker: what the lost attempt showed no longer holds.
      return {
        ...next,
        stage: null,
        stageMessage: null,
        progress: null,
        leaderboard: [],
        engineFinished: null,
        warnings: [...next.warnings, `attempt ${event.attempt}: ${event.message}`],
      };
    default: {
      const never: never = event;
      throw new Error(`unknown job event ${JSON.stringify(never)}`);
    }
  }
}

export function reduceJobEvents(view: JobView, events: readonly JobEvent[]): JobView {
  return events.reduce(reduceJobEvent, view);
}

function applyEngineEvent(view: JobView, e: EngineEvent, ts: string): JobView {
  switch (e.type) {
    case "started":
      return { ...view, startedAt: view.startedAt ?? ts, versions: e.versions, status: view.status ?? "running" };
    case "stage":
      return { ...view, stage: e.stage, stageMessage: e.message };
    case "progress":
      return { ...view, progress: { done: e.done, total: e.total, message: e.message ?? null } };
    case "leaderboard_row":
      return { ...view, leaderboard: upsertRow(view.leaderboard, e.row) };
    case "metric":
      return view;
    case "artifact":
      return {
        ...view,
        artifacts: [
          ...view.artifacts.filter((a) => !(a.runId === e.run_id && a.path === e.path)),
          { runId: e.run_id, path: e.path, kind: e.artifact_kind, name: e.name },
        ],
      };
    case "run":
      return { ...view, runs: [...view.runs.filter((r) => r.runId !== e.run_id), { role: e.role, runId: e.run_id, name: e.name }] };
    case "log":
      return { ...view, logs: [...view.logs, { level: e.level, message: e.message, ts: e.ts }].slice(-MAX_LOGS) };
    case "warning":
      return { ...view, warnings: [...view.warnings, e.message] };
    case "error":
      return { ...view, error: e.error };
    case "finished": {
      const r = e.result;
      const leaderboard = (r?.kind === "train" || r?.kind === "operate") && r.leaderboard.length > 0 ? r.leaderboard : view.leaderboard;
      return {
        ...view,
        result: e.result ?? view.result,
        leaderboard,
        // The job is not over yet: the server still has work after the engine (a prediction's output becomes
        // a dataset version), and its own status event says when it is done.
        engineFinished: e.status,
      };
    }
    default: {
      const never: never = e;
      throw new Error(`unknown engine event ${JSON.stringify(never)}`);
    }
  }
}

function upsertRow(rows: readonly LeaderboardRow[], row: LeaderboardRow): LeaderboardRow[] {
  const i = rows.findIndex((r) => r.model_id === row.model_id);
  if (i === -1) return [...rows, row];
  const copy = rows.slice();
  copy[i] = row;
  return copy;
}

/** "Training model 3 of 5" style line for the progress header. */
export function progressLabel(view: JobView): string {
  if (view.progress && view.progress.total > 0) {
    const { done, total, message } = view.progress;
    if (!message) return `${done} of ${total}`;
    // The engine usually says "Training Ridge Classifier (2 of 3)" itself; add the count only when it did not.
    return /\bof\s+\d+/.test(message) ? message : `${message} (${done} of ${total})`;
  }
  return view.stageMessage ?? "";
}

/** Fraction done for a progress bar, or null while the engine has not said how much there is. */
export function progressFraction(view: JobView): number | null {
  if (isTerminal(view.status)) return view.status === "succeeded" ? 1 : null;
  if (!view.progress || view.progress.total <= 0) return null;
  return Math.min(1, view.progress.done / view.progress.total);
}
