import type { Job, OnlinePredictResponse, RegisteredModel, TaskCatalog } from "@caretflow/contracts";
import { ModelRef } from "@caretflow/contracts";
import { type FormEvent, useId, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import type { ApiClient } from "../../api/client.ts";
import { useApi, useResource } from "../../api/context.tsx";
import { formatCell, formatNumber } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card, PageHeader, Tabs } from "../../ui/layout.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { ProgressCard, useJobElapsed } from "../jobs/JobProgress.tsx";
import type { JobView } from "../jobs/job.state.ts";
import { PredictPanel } from "../jobs/PredictPanel.tsx";
import { type StreamState, useJobEvents } from "../jobs/useJobEvents.ts";
import { useJobRecord } from "../jobs/useJobRecord.ts";
import { parseDatasetRef } from "../runs/runs.helpers.ts";
import { ExplanationView } from "./ExplanationView.tsx";
import { parseRowsJson, predictionTable, refOptions, resolveModelRef, rowsForPrediction } from "./models.helpers.ts";

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
          {mode === "batch" ? <BatchPredict modelRef={ref} /> : <OnlinePredict key={ref} modelRef={ref} models={list} />}
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

function BatchPredict({ modelRef }: { modelRef: string }) {
  const api = useApi();
  const datasets = useResource((a) => a.listDatasets(), "datasets");
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
    setBusy(true);
    setError(null);
    try {
      const job = await api.startPredict({
        model: ref.data,
        dataset: chosen,
        ...(version ? { version: Number(version) } : {}),
        ...(output.trim() ? { output: output.trim() } : {}),
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

/**
 * The model's task (from its run) and example input: a few rows of its training data without the target,
 * or none for a model that needs no rows (a forecaster takes a horizon instead).
 */
async function modelExample(api: ApiClient, models: RegisteredModel[], ref: string): Promise<{ task: string | null; text: string }> {
  const version = resolveModelRef(models, ref);
  if (!version?.runId) return { task: null, text: "[\n  {}\n]" };
  let run = await api.getRun(version.runId);
  if ((!run.dataset || !run.task) && run.parentRunId) run = await api.getRun(run.parentRunId);
  const catalog = await api.catalog();
  const task = catalog.tasks.find((t) => t.task === run.task);
  if (task && takesHorizon(task)) return { task: run.task, text: "[]" };
  const ds = parseDatasetRef(run.dataset);
  if (!ds) return { task: run.task, text: "[\n  {}\n]" };
  const detail = ds.version ? null : await api.getDataset(ds.name);
  const page = await api.preview(ds.name, ds.version ?? detail?.latestVersion ?? 1, 0, 3);
  return { task: run.task, text: JSON.stringify(rowsForPrediction(page, run.target, 3), null, 2) };
}

/** A task whose requests take a horizon (forecasting) predicts periods ahead, not rows. */
function takesHorizon(task: TaskCatalog): boolean {
  return task.fields.some((f) => f.name === "horizon" && f.scope === "spec");
}

function OnlinePredict({ modelRef, models }: { modelRef: string; models: RegisteredModel[] }) {
  const api = useApi();
  const example = useResource((a) => modelExample(a, models, modelRef), `example:${modelRef}`);
  const catalog = useResource((a) => a.catalog(), "catalog");
  const task = catalog.data?.tasks.find((t) => t.task === example.data?.task);
  const horizonField = task?.fields.find((f) => f.name === "horizon" && f.scope === "spec");
  const [text, setText] = useState<string | null>(null);
  const [horizon, setHorizon] = useState<string | null>(null);
  const [explain, setExplain] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ rows: Record<string, unknown>[]; res: OnlinePredictResponse } | null>(null);
  const value = text ?? example.data?.text ?? "";
  const horizonValue = horizon ?? (horizonField?.default === undefined ? "" : String(horizonField.default));
  const helpId = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const parsed = parseRowsJson(value, { allowEmpty: horizonField !== undefined });
    if (!parsed.ok) return setError(new Error(parsed.error));
    const ref = ModelRef.safeParse(modelRef);
    if (!ref.success) return setError(new Error("Choose a model alias or version."));
    const h = Number(horizonValue);
    if (horizonField && (!Number.isInteger(h) || h < 1)) return setError(new Error("The horizon is a whole number of periods, 1 or more."));
    setBusy(true);
    setError(null);
    try {
      const res = await api.predict({
        model: ref.data,
        rows: parsed.rows,
        ...(horizonField ? { horizon: h } : {}),
        ...(explain ? { explain: true } : {}),
      });
      setResult({ rows: parsed.rows, res });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const table = useMemo(() => (result ? predictionTable(result.rows, result.res) : null), [result]);
  const predCols = new Set(result?.res.columns ?? []);
  return (
    <Card title={horizonField ? "Periods to forecast" : "Rows to score"}>
      <form onSubmit={submit} data-testid="online-form">
        {horizonField ? (
          <div className="form-row">
            <label className="field">
              <span className="field-label">Horizon (periods ahead)</span>
              <input name="horizon" inputMode="numeric" value={horizonValue} onChange={(e) => setHorizon(e.target.value)} />
            </label>
          </div>
        ) : null}
        <p className="muted small" id={helpId}>
          {horizonField
            ? "Optional: future values of the exogenous columns, as a JSON list with one row per period; leave [] for a model without them."
            : "A JSON list of rows (column name → value). Prefilled with rows of the training data, without the target."}
        </p>
        {example.loading && text === null ? (
          <Skeleton lines={6} />
        ) : (
          <textarea
            className="json-input"
            name="rows"
            aria-label={horizonField ? "Future rows, as JSON" : "Rows to score, as JSON"}
            aria-describedby={helpId}
            rows={horizonField ? 4 : 12}
            spellCheck={false}
            value={value}
            onChange={(e) => setText(e.target.value)}
          />
        )}
        <div className="button-row">
          {horizonField ? null : (
            <label className="check">
              <input
                type="checkbox"
                name="explain"
                checked={explain}
                onChange={(e) => setExplain(e.target.checked)}
                data-testid="explain"
              />
              Explain each prediction (SHAP)
            </label>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="online-predict">
            {busy ? <Spinner label="Predicting" /> : null} Predict
          </button>
          {result ? (
            <span className="muted small">
              {result.res.model.name} v{result.res.model.version} answered in {formatNumber(result.res.elapsedMs, 0)} ms
            </span>
          ) : null}
        </div>
      </form>
      {error ? <ErrorBox error={error} title="Prediction failed" /> : null}
      {table ? (
        <ScrollRegion className="table-wrap" label="Predictions">
          <table className="table table-compact" data-testid="online-result">
            <caption className="sr-only">Predictions</caption>
            <thead>
              <tr>
                {table.columns.map((c) => (
                  <th key={c} className={predCols.has(c) ? "col-pred" : ""}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((r, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity beyond their order
                <tr key={i}>
                  {table.columns.map((c) => (
                    <td key={c} className={predCols.has(c) ? "col-pred" : ""}>
                      {formatCell(r[c])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      ) : null}
      {result?.res.explanations ? (
        <div className="stack" data-testid="explanations">
          {result.res.explanations.map((x, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: one explanation per row, in order
            <ExplanationView key={i} row={i + 1} explanation={x} />
          ))}
        </div>
      ) : null}
    </Card>
  );
}
