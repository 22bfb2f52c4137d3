import type { Job, RegisteredModel } from "@caretflow/contracts";
import { ModelRef } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { useApi, useResource } from "../../api/context.tsx";
import { horizonField } from "../../lib/catalog.ts";
import { formatNumber } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card, PageHeader, Tabs } from "../../ui/layout.tsx";
import { ProgressCard, useJobElapsed } from "../jobs/JobProgress.tsx";
import type { JobView } from "../jobs/job.state.ts";
import { PredictPanel } from "../jobs/PredictPanel.tsx";
import { type StreamState, useJobEvents } from "../jobs/useJobEvents.ts";
import { useJobRecord } from "../jobs/useJobRecord.ts";
import { refOptions, resolveModelRef } from "./models.helpers.ts";
import { modelRun, OnlinePredict } from "./OnlinePredict.tsx";

type Mode = "batch" | "online";

export function PredictPage() {
  const [params, setParams] = useSearchParams();
  const models = useResource((api) => api.listModels(), "models");
  const mode: Mode = params.get("mode") === "online" ? "online" : "batch";
  const list = models.data ?? [];
  const ref = params.get("model") ?? (list[0] ? (refOptions(list[0])[0]?.ref ?? "") : "");
  const setParam = (k: string, v: string) => setParams((p) => ({ ...Object.fromEntries(p), [k]: v }), { replace: true });

  return (
    <div className="page">
      <PageHeader
        crumbs={<Link to="/models">Models</Link>}
        title="Predict"
        subtitle="Score a whole dataset in a job, or send a few rows and get answers right away."
      />
      {models.error ? <ErrorBox error={models.error} onRetry={models.reload} /> : null}
      {!models.data && !models.error ? <Skeleton lines={4} /> : null}
      {models.data && list.length === 0 ? (
        <EmptyState
          title="No registered models yet"
          action={
            <Link className="btn btn-primary" to="/experiments">
              Go to experiments
            </Link>
          }
        >
          Register a model from a finished training first.
        </EmptyState>
      ) : null}
      {list.length > 0 ? (
        <>
          <Card title="Model">
            <ModelPicker models={list} value={ref} onChange={(r) => setParam("model", r)} />
          </Card>
          <Tabs<Mode>
            tabs={[
              { key: "batch", label: "Batch: a dataset" },
              { key: "online", label: "Online: JSON rows" },
            ]}
            active={mode}
            onChange={(m) => setParam("mode", m)}
          />
          {mode === "batch" ? (
            <BatchPredict key={ref} modelRef={ref} models={list} />
          ) : (
            <OnlinePredict key={ref} modelRef={ref} models={list} />
          )}
        </>
      ) : null}
    </div>
  );
}

function ModelPicker({ models, value, onChange }: { models: RegisteredModel[]; value: string; onChange: (ref: string) => void }) {
  const current = resolveModelRef(models, value);
  const name = current?.name ?? models.find((m) => value.startsWith(m.name))?.name ?? models[0]?.name ?? "";
  const model = models.find((m) => m.name === name);
  return (
    <div className="form-row">
      <label className="field">
        <span className="field-label">Registered model</span>
        <select
          name="modelName"
          value={name}
          onChange={(e) => {
            const m = models.find((x) => x.name === e.target.value);
            if (m) onChange(refOptions(m)[0]?.ref ?? m.name);
          }}
        >
          {models.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span className="field-label">Alias or version</span>
        <select name="modelRef" value={value} onChange={(e) => onChange(e.target.value)}>
          {(model ? refOptions(model) : []).map((o) => (
            <option key={o.ref} value={o.ref}>
              {o.label}
            </option>
          ))}
        </select>
      </label>
      <div className="field">
        <span className="field-label">Reference</span>
        <code className="ref-code" data-testid="model-ref">
          {value}
        </code>
        {current?.modelName ? <span className="muted small">{current.modelName}</span> : null}
      </div>
    </div>
  );
}

function BatchPredict({ modelRef, models }: { modelRef: string; models: RegisteredModel[] }) {
  const api = useApi();
  const datasets = useResource((a) => a.listDatasets(), "datasets");
  // A forecaster forecasts a horizon of periods; the dataset's rows are then its future exogenous values.
  const task = useResource(async (a) => {
    const [run, catalog] = await Promise.all([modelRun(a, models, modelRef), a.catalog()]);
    return catalog.tasks.find((t) => t.task === run?.task) ?? null;
  }, `model-task:${modelRef}`);
  const horizonSpec = horizonField(task.data ?? undefined);
  const [horizon, setHorizon] = useState<string | null>(null);
  const horizonValue = horizon ?? (horizonSpec?.default === undefined ? "" : String(horizonSpec.default));
  const [dataset, setDataset] = useState("");
  /** "" scores the latest version. */
  const [version, setVersion] = useState("");
  const [output, setOutput] = useState("");
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const chosen = dataset || datasets.data?.[0]?.name || "";
  const latest = datasets.data?.find((d) => d.name === chosen)?.latestVersion ?? 1;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const ref = ModelRef.safeParse(modelRef);
    if (!ref.success) return setError(new Error(`Choose a model alias or version (${ref.error.issues[0]?.message}).`));
    const h = Number(horizonValue);
    if (horizonSpec && (!Number.isInteger(h) || h < 1)) return setError(new Error("The horizon is a whole number of periods, 1 or more."));
    setBusy(true);
    setError(null);
    try {
      const job = await api.startPredict({
        model: ref.data,
        dataset: chosen,
        ...(version ? { version: Number(version) } : {}),
        ...(output.trim() ? { output: output.trim() } : {}),
        ...(horizonSpec ? { horizon: h } : {}),
      });
      setJobId(job.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <Card title="Score a dataset">
        <form className="inline-form" onSubmit={submit} data-testid="batch-form">
          <label className="field">
            <span className="field-label">Dataset</span>
            <select
              name="dataset"
              value={chosen}
              onChange={(e) => {
                setDataset(e.target.value);
                setVersion("");
              }}
            >
              {(datasets.data ?? []).map((d) => (
                <option key={d.name} value={d.name}>
                  {d.name} · {formatNumber(d.rowCount)} rows
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="field-label">Version</span>
            <select name="version" value={version} onChange={(e) => setVersion(e.target.value)}>
              <option value="">latest (v{latest})</option>
              {Array.from({ length: latest }, (_, i) => latest - i).map((v) => (
                <option key={v} value={String(v)}>
                  v{v}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="field-label">Output dataset (optional)</span>
            <input
              name="output"
              value={output}
              onChange={(e) => setOutput(e.target.value)}
              placeholder={chosen ? `${chosen}-predictions` : ""}
            />
          </label>
          {horizonSpec ? (
            <label className="field field-narrow">
              <span className="field-label">Horizon (periods ahead)</span>
              <input name="horizon" inputMode="numeric" value={horizonValue} onChange={(e) => setHorizon(e.target.value)} />
            </label>
          ) : null}
          <button type="submit" className="btn btn-primary" disabled={busy || !chosen} data-testid="start-batch">
            {busy ? <Spinner label="Starting" /> : null} Run batch prediction
          </button>
        </form>
        {error ? <ErrorBox error={error} title="The prediction did not start" /> : null}
      </Card>
      {jobId ? <InlineJob key={jobId} jobId={jobId} /> : null}
    </>
  );
}

/** A batch job followed in place: progress, then the output dataset and its CSV. */
function InlineJob({ jobId }: { jobId: string }) {
  const { view, stream } = useJobEvents(jobId);
  const job = useJobRecord(jobId, view);
  if (!job.data) return <Skeleton lines={2} />;
  return <InlineJobView job={job.data} view={view} stream={stream} />;
}

function InlineJobView({ job, view, stream }: { job: Job; view: JobView; stream: StreamState }) {
  const status = view.status ?? job.status;
  const error = view.error ?? job.error;
  const elapsed = useJobElapsed(job, view);
  const jobId = job.id;
  return (
    <div data-testid="batch-job" className="stack">
      <ProgressCard view={view} status={status} elapsed={elapsed} stream={stream} />
      {status === "failed" ? (
        <ErrorBox error={{ message: error?.message ?? "The prediction job failed.", hint: error?.hint }} title="Prediction failed" />
      ) : null}
      <PredictPanel job={job} status={status} />
      <p className="small">
        <Link to={`/jobs/${encodeURIComponent(jobId)}`}>Open the job page</Link>
      </p>
    </div>
  );
}
