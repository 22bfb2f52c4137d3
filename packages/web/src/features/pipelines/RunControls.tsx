import type { PipelineParam, PipelineRunStatus } from "@caretflow/contracts";
import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useApi, useNow, useReloadWhile, useResource } from "../../api/context.tsx";
import { elapsedMs, formatDuration, formatRelative } from "../../lib/format.ts";
import { ErrorBox, Spinner } from "../../ui/feedback.tsx";
import { Card, StatusBadge } from "../../ui/layout.tsx";
import { initialParamTexts, isRunActive, runParams, stepCountsText } from "./pipeline.runs.ts";

/**
 * Starts a run of a saved pipeline and opens it. A pipeline with params first asks for their values
 * (each prefilled with its default); "ignore cached results" runs every step again.
 */
export function RunButton({
  name,
  params,
  disabled,
  disabledWhy,
}: {
  name: string;
  params: Record<string, PipelineParam>;
  disabled?: boolean;
  disabledWhy?: string;
}) {
  const api = useApi();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [problems, setProblems] = useState<Record<string, string>>({});
  const hasParams = Object.keys(params).length > 0;

  async function start() {
    const p = runParams(params, texts);
    if (!p.ok) {
      setProblems(p.problems);
      return;
    }
    setProblems({});
    setBusy(true);
    setError(null);
    try {
      const run = await api.startPipelineRun(name, { params: p.params, force });
      navigate(`/pipeline-runs/${encodeURIComponent(run.id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="pl-run-button">
      <button
        type="button"
        className="btn"
        data-testid="pipeline-run"
        disabled={disabled || busy}
        title={disabled ? disabledWhy : undefined}
        aria-expanded={open}
        onClick={() => {
          if (!open) setTexts(initialParamTexts(params));
          setOpen(!open);
        }}
      >
        Run…
      </button>
      {open ? (
        <form
          className="pl-run-form card"
          aria-label="Run the pipeline"
          data-testid="run-form"
          onSubmit={(e) => {
            e.preventDefault();
            void start();
          }}
        >
          {hasParams ? <h3 className="pl-form-section">Params</h3> : <p className="muted small">This pipeline has no params.</p>}
          {Object.entries(params).map(([k, p]) => (
            <div key={k} className={`field ${problems[k] ? "field-invalid" : ""}`}>
              <label className="field-label" htmlFor={`run-param-${k}`}>
                {k}{" "}
                <span className="field-help">
                  {p.type}
                  {p.description ? `: ${p.description}` : ""}
                </span>
              </label>
              {p.type === "boolean" ? (
                <select
                  id={`run-param-${k}`}
                  name={`param.${k}`}
                  value={texts[k] ?? ""}
                  onChange={(e) => setTexts({ ...texts, [k]: e.target.value })}
                >
                  <option value="">(default)</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : (
                <input
                  id={`run-param-${k}`}
                  name={`param.${k}`}
                  value={texts[k] ?? ""}
                  inputMode={p.type === "number" ? "decimal" : undefined}
                  onChange={(e) => setTexts({ ...texts, [k]: e.target.value })}
                />
              )}
              {problems[k] ? <span className="field-error">{problems[k]}</span> : null}
            </div>
          ))}
          <label className="check">
            <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Ignore cached results
          </label>
          {error ? <ErrorBox error={error} title="The run did not start" /> : null}
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" data-testid="run-start" disabled={busy}>
              {busy ? <Spinner label="Starting" /> : null} Start run
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}

/** Cancel a queued or running run; resume a failed or cancelled one (a new run reusing its succeeded steps). */
export function RunActions({ id, status, onDone }: { id: string; status: PipelineRunStatus; onDone?: () => void }) {
  const api = useApi();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const act = async (what: "cancel" | "resume") => {
    setBusy(true);
    setError(null);
    try {
      if (what === "cancel") {
        await api.cancelPipelineRun(id);
        onDone?.();
      } else {
        const run = await api.resumePipelineRun(id);
        navigate(`/pipeline-runs/${encodeURIComponent(run.id)}`);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="pl-run-actions">
      {isRunActive(status) ? (
        <button
          type="button"
          className="btn btn-small btn-danger"
          disabled={busy}
          onClick={() => void act("cancel")}
          data-testid="run-cancel"
        >
          Cancel
        </button>
      ) : null}
      {status === "failed" || status === "cancelled" ? (
        <button type="button" className="btn btn-small" disabled={busy} onClick={() => void act("resume")} data-testid="run-resume">
          Resume
        </button>
      ) : null}
      {error ? <ErrorBox error={error} title="That did not work" /> : null}
    </span>
  );
}

/** The pipeline's latest runs, refreshed while one is under way. */
export function RecentRuns({ pipeline }: { pipeline: string }) {
  const runs = useResource((a) => a.listPipelineRuns({ pipeline, limit: 5 }), `pipeline-runs:${pipeline}`);
  const active = (runs.data ?? []).some((r) => isRunActive(r.status));
  const now = useNow(active);
  useReloadWhile(active, runs.reload, 2000);
  return (
    <Card
      title="Latest runs"
      actions={
        <Link className="small" to={`/pipeline-runs?pipeline=${encodeURIComponent(pipeline)}`}>
          All runs
        </Link>
      }
    >
      {runs.error ? <ErrorBox error={runs.error} onRetry={runs.reload} /> : null}
      {runs.data && runs.data.length === 0 ? <p className="muted small">No runs yet: save the pipeline, then Run.</p> : null}
      <ul className="pl-recent" data-testid="recent-runs">
        {(runs.data ?? []).map((r) => (
          <li key={r.id}>
            <StatusBadge status={r.status} /> <Link to={`/pipeline-runs/${encodeURIComponent(r.id)}`}>run {r.id.slice(0, 8)}</Link>{" "}
            <span className="muted small">
              revision {r.revision} · {r.trigger.kind} · {formatRelative(r.createdAt, now)} ·{" "}
              {formatDuration(elapsedMs(r.startedAt, r.finishedAt, now))}
              {stepCountsText(r.stepCounts) ? ` · ${stepCountsText(r.stepCounts)}` : ""}
            </span>
          </li>
        ))}
      </ul>
    </Card>
  );
}
