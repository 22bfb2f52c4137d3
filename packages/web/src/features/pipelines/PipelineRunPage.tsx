import type { PipelineRun, PipelineStepRun } from "@caretflow/contracts";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useNow, useReloadWhile, useResource } from "../../api/context.tsx";
import { formatDateTime, formatDuration } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, Stats, StatusBadge, Tabs } from "../../ui/layout.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { PipelineCanvas } from "./PipelineCanvas.tsx";
import { stepId } from "./pipeline.model.ts";
import { isRunActive, runGraph, stepDurationMs } from "./pipeline.runs.ts";
import { RunActions } from "./RunControls.tsx";
import { YamlPanel } from "./YamlPanel.tsx";
import "./pipelines.css";

/** How often a run under way is read again. */
const POLL_MS = 1000;

/**
 * One run on the pipeline's graph: each step's state, time and attempt on its node, refreshed every
 * second while the run is under way; a step's inputs, outputs, error and log beside it; cancel and resume.
 */
export function PipelineRunPage() {
  const { id = "" } = useParams();
  const run = useResource((a) => a.getPipelineRun(id), `pipeline-run:${id}`);
  const active = run.data ? isRunActive(run.data.status) : false;
  useReloadWhile(active, run.reload, POLL_MS);

  if (run.error && !run.data) return <ErrorBox error={run.error} onRetry={run.reload} title={`Run ${id} could not be loaded`} />;
  if (!run.data)
    return (
      <div className="page">
        <Skeleton lines={8} />
      </div>
    );
  return <RunView run={run.data} onChanged={run.reload} />;
}

type Tab = "graph" | "yaml";

function RunView({ run, onChanged }: { run: PipelineRun; onChanged: () => void }) {
  // The revision the run followed, kept after the pipeline changes or is deleted.
  const revision = useResource(
    async (a) => a.getPipelineRevision(run.pipeline, run.revision).catch(() => null),
    `pipeline-revision:${run.pipeline}:${run.revision}`,
  );
  const yaml = revision.data?.yaml ?? null;
  const stepIds = run.steps.map((s) => `${s.id}:${s.type}`).join(",");
  // biome-ignore lint/correctness/useExhaustiveDependencies: the graph depends on the run's step ids only, not its changing states
  const model = useMemo(() => runGraph(yaml, run), [yaml, stepIds]);
  const runSteps = useMemo(() => new Map(run.steps.map((s) => [s.id, s])), [run.steps]);
  const [selected, setSelected] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>("graph");
  const now = useNow(isRunActive(run.status));
  const selectedNode = model.steps.find((s) => s.key === selected);
  const selectedStep = selectedNode ? runSteps.get(stepId(selectedNode)) : undefined;

  return (
    <div className="page page-wide">
      <PageHeader
        crumbs={
          <>
            <Link to="/pipelines">Pipelines</Link> <Link to={`/pipelines/${encodeURIComponent(run.pipeline)}`}>{run.pipeline}</Link>{" "}
            <Link to={`/pipeline-runs?pipeline=${encodeURIComponent(run.pipeline)}`}>runs</Link>
          </>
        }
        title={
          <>
            Run {run.id.slice(0, 8)}{" "}
            <span data-testid="run-status" data-status={run.status}>
              <StatusBadge status={run.status} />
            </span>
          </>
        }
        actions={<RunActions id={run.id} status={run.status} onDone={onChanged} />}
      />
      <Card>
        <Stats
          items={[
            { label: "Pipeline", value: `${run.pipeline} (revision ${run.revision})` },
            { label: "Started by", value: run.trigger.detail ? `${run.trigger.kind}: ${run.trigger.detail}` : run.trigger.kind },
            { label: "Started", value: formatDateTime(run.startedAt ?? run.createdAt) },
            { label: "Duration", value: formatDuration(stepDurationMs(run, now)) },
            {
              label: "Params",
              value: Object.keys(run.params).length
                ? Object.entries(run.params)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(", ")
                : "none",
            },
          ]}
        />
        {run.resumedFrom ? (
          <p className="small">
            Resumes <Link to={`/pipeline-runs/${encodeURIComponent(run.resumedFrom)}`}>run {run.resumedFrom.slice(0, 8)}</Link>: its
            succeeded steps are reused.
          </p>
        ) : null}
        {run.error ? <ErrorBox error={run.error} title="The run failed" /> : null}
      </Card>
      <Tabs<Tab>
        tabs={[
          { key: "graph", label: "Steps" },
          { key: "yaml", label: "YAML" },
        ]}
        active={tab}
        onChange={setTab}
      />
      {tab === "yaml" ? (
        <Card>
          {yaml === null ? (
            <p className="muted">Revision {run.revision} of the pipeline could not be read.</p>
          ) : (
            <>
              <p className="muted">Revision {run.revision}, the one this run followed.</p>
              <YamlPanel text={yaml} errors={[]} fileName={`${run.pipeline}.yaml`} />
            </>
          )}
        </Card>
      ) : (
        <div className="pl-run-layout">
          <PipelineCanvas model={model} selected={selected} onSelect={setSelected} runSteps={runSteps} />
          <aside className="card pl-side" aria-label="Step">
            {selectedStep ? (
              <StepDetails run={run} step={selectedStep} now={now} />
            ) : (
              <EmptyState title="Select a step">Its inputs, outputs, attempts and log show here.</EmptyState>
            )}
          </aside>
        </div>
      )}
    </div>
  );
}

const json = (v: unknown) => JSON.stringify(v, null, 2);

function StepDetails({ run, step, now }: { run: PipelineRun; step: PipelineStepRun; now: number }) {
  return (
    <div className="pl-step-details" data-testid="step-details" data-step={step.id}>
      <h2 className="card-title">
        {step.id} <StatusBadge status={step.status} />
      </h2>
      <p className="muted small">
        {step.type} · {formatDuration(stepDurationMs(step, now))}
        {step.reusedFrom ? (
          <>
            {" "}
            · reused from <Link to={`/pipeline-runs/${encodeURIComponent(step.reusedFrom)}`}>run {step.reusedFrom.slice(0, 8)}</Link>
          </>
        ) : null}
        {step.jobId ? (
          <>
            {" "}
            · <Link to={`/jobs/${encodeURIComponent(step.jobId)}`}>its job</Link>
          </>
        ) : null}
      </p>
      {step.error ? <ErrorBox error={step.error} title={`${step.id} ${step.status === "skipped" ? "was skipped" : "failed"}`} /> : null}
      {step.attempts.length > 0 ? (
        <>
          <h3 className="pl-form-section">Attempts</h3>
          <ol className="pl-attempts">
            {step.attempts.map((a) => (
              <li key={a.attempt}>
                <StatusBadge status={a.status} /> {formatDuration(stepDurationMs(a, now))}
                {a.error ? <span className="muted small"> {a.error.message}</span> : null}
              </li>
            ))}
          </ol>
        </>
      ) : null}
      <h3 className="pl-form-section">Inputs</h3>
      {step.inputs ? (
        <ScrollRegion as="pre" className="pl-json" label={`Inputs of ${step.id}`}>
          {json(step.inputs)}
        </ScrollRegion>
      ) : (
        <p className="muted small">Resolved when the step starts.</p>
      )}
      <h3 className="pl-form-section">Outputs</h3>
      {Object.keys(step.outputs).length ? (
        <ScrollRegion as="pre" className="pl-json" label={`Outputs of ${step.id}`}>
          <span data-testid="step-outputs">{json(step.outputs)}</span>
        </ScrollRegion>
      ) : (
        <p className="muted small">None yet.</p>
      )}
      <StepLog runId={run.id} step={step} />
    </div>
  );
}

/** The step's log, read again every second while the step runs (and once more when it ends). */
function StepLog({ runId, step }: { runId: string; step: PipelineStepRun }) {
  const log = useResource((a) => a.pipelineRunLog(runId, step.id), `pipeline-log:${runId}:${step.id}:${step.status}`);
  const running = step.status === "running";
  useReloadWhile(running, log.reload, POLL_MS);
  return (
    <>
      <h3 className="pl-form-section">Log</h3>
      {log.data !== undefined ? (
        <ScrollRegion as="pre" className="log" label={`Log of ${step.id}`}>
          <span data-testid="step-log">{log.data || "(the log is empty)"}</span>
        </ScrollRegion>
      ) : log.error ? (
        <p className="muted small">The log could not be loaded.</p>
      ) : (
        <Skeleton lines={3} />
      )}
    </>
  );
}
