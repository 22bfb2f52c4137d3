import { Link } from "react-router-dom";
import { ErrorBox, Spinner } from "../../ui/feedback.tsx";
import { stageWord } from "../jobs/JobProgress.tsx";
import { isTerminal, progressLabel } from "../jobs/job.state.ts";
import { formatSeconds } from "../jobs/jobs.helpers.ts";
import "./evaluate.css";
import { evaluationSummary, totalSeconds } from "./evaluate.helpers.ts";
import type { Evaluation } from "./useEvaluation.ts";

/**
 * Where a model's evaluation stands (looking for it, queued, running, done, failed), with a button to evaluate
 * the model (again). `hasResults` says the run already holds charts or a report, from an earlier evaluation.
 */
export function EvaluationStatus({ evaluation, canStart, hasResults }: { evaluation: Evaluation; canStart: boolean; hasResults: boolean }) {
  const { job, view, status, result, looking } = evaluation;
  const state = looking ? "looking" : !job ? (evaluation.known ? "none" : "loading") : (status ?? "queued");
  const jobLink = job ? (
    <Link to={`/jobs/${encodeURIComponent(job.id)}`} data-testid="evaluation-job">
      evaluate job
    </Link>
  ) : null;
  const startButton =
    canStart && state !== "loading" && state !== "looking" && (!job || isTerminal(status)) ? (
      <button
        type="button"
        className={`btn btn-small ${hasResults ? "" : "btn-primary"}`}
        disabled={evaluation.starting}
        onClick={() => void evaluation.start()}
        data-testid="evaluate-run"
      >
        {evaluation.starting ? "Starting…" : hasResults || job ? "Evaluate again" : "Evaluate this model"}
      </button>
    ) : null;

  return (
    <div className="evaluation-status" data-testid="evaluation-status" data-state={state}>
      <div className="evaluation-line">
        {state === "loading" ? (
          <span className="muted">Looking for the model's evaluation…</span>
        ) : state === "looking" ? (
          <span>
            <Spinner label="Evaluating" /> The model's charts and report come from its evaluation, queued after the training…
          </span>
        ) : state === "none" ? (
          <span className="muted">
            {hasResults
              ? "Charts and report from an earlier evaluation of this model."
              : "This model has not been evaluated: no chart data or report yet. The evaluation draws its charts, PyCaret's plots, SHAP and the HTML report."}
          </span>
        ) : state === "queued" ? (
          <span>
            <Spinner label="Evaluation queued" /> Evaluation queued: it starts when a worker is free ({jobLink}).
          </span>
        ) : state === "running" ? (
          <span>
            <Spinner label="Evaluating" /> Evaluating the model: {view.stage ? stageWord(view.stage).toLowerCase() : "starting"}
            {progressLabel(view) && view.progress ? ` (${progressLabel(view)})` : ""}… ({jobLink})
          </span>
        ) : state === "succeeded" ? (
          <span className="muted">
            Evaluated: {result ? evaluationSummary(result) : "done"}
            {result && totalSeconds(result.timings) > 0 ? ` in ${formatSeconds(totalSeconds(result.timings))}` : ""} ({jobLink}).
          </span>
        ) : (
          <span className="muted">
            The evaluation {state === "cancelled" ? "was cancelled" : "failed"} ({jobLink}).
          </span>
        )}
        {startButton}
      </div>
      {state === "failed" ? (
        <ErrorBox
          error={{ message: (view.error ?? job?.error)?.message ?? "It ended without saying why.", hint: (view.error ?? job?.error)?.hint }}
          title={(view.error ?? job?.error)?.name ?? "Evaluation failed"}
        />
      ) : null}
      {evaluation.startError ? <ErrorBox error={evaluation.startError} title="Could not start the evaluation" /> : null}
    </div>
  );
}
