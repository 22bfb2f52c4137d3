import type { Catalog, CatalogField, TaskCatalog } from "@caretflow/contracts";
import { type FormEvent, type ReactNode, useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useApi, useResource } from "../../api/context.tsx";
import { formatNumber } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card, PageHeader } from "../../ui/layout.tsx";
import { FieldControl } from "./FieldControl.tsx";
import { SetupPreviewPanel } from "./SetupPreviewPanel.tsx";
import "./train.css";
import {
  type FormErrors,
  fieldApplies,
  fieldKey,
  formSections,
  hasSetupOptions,
  initialTrainForm,
  type TrainForm,
  takenColumns,
  toTrainRequest,
  withInput,
  withTask,
} from "./train.form.ts";

export function TrainPage() {
  const [params] = useSearchParams();
  const datasets = useResource((api) => api.listDatasets(), "datasets");
  const catalog = useResource((api) => api.catalog(), "catalog");

  const error = datasets.error ?? catalog.error;
  if (error) return <ErrorBox error={error} onRetry={datasets.error ? datasets.reload : catalog.reload} />;
  if (!datasets.data || !catalog.data)
    return (
      <div className="page">
        <PageHeader title="Train a model" />
        <Skeleton lines={8} />
      </div>
    );
  if (datasets.data.length === 0)
    return (
      <div className="page">
        <PageHeader title="Train a model" />
        <EmptyState
          title="No datasets to train on yet"
          action={
            <Link className="btn btn-primary" to="/data">
              Import a dataset
            </Link>
          }
        >
          Import a CSV or another file on the Data page, then come back here.
        </EmptyState>
      </div>
    );
  const dataset = params.get("dataset") ?? datasets.data[0]?.name ?? "";
  return (
    <div className="page">
      <PageHeader
        title="Train a model"
        subtitle="Pick a dataset and a task; caretflow prepares the data with PyCaret, trains and ranks the models, and keeps the best one in MLflow."
      />
      <TrainFormView
        key={`${dataset}:${params.get("task") ?? ""}`}
        catalog={catalog.data}
        datasetNames={datasets.data.map((d) => d.name)}
        initial={initialTrainForm(catalog.data, dataset, Number(params.get("version")) || null, params.get("task") ?? undefined)}
      />
    </div>
  );
}

function TrainFormView({ catalog, datasetNames, initial }: { catalog: Catalog; datasetNames: string[]; initial: TrainForm }) {
  const api = useApi();
  const navigate = useNavigate();
  const [form, setForm] = useState(initial);
  const detail = useResource((a) => a.getDataset(form.dataset), `dataset:${form.dataset}`);
  const version = detail.data?.versions.find((v) => v.version === (form.version ?? detail.data?.latestVersion));
  const columns = version?.columns ?? [];
  const task = catalog.tasks.find((t) => t.task === form.task) ?? catalog.tasks[0];
  const [errors, setErrors] = useState<FormErrors>({});
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const taken = useMemo(() => (task ? takenColumns(task, form.values) : new Set<string>()), [task, form.values]);

  if (!task) return <EmptyState title="The engine offers no task">Its catalog lists no task; check the engine's log.</EmptyState>;

  const update = (f: TrainForm) => {
    setForm(f);
    setErrors({});
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!task) return;
    const r = toTrainRequest(form, task, columns);
    if (!r.ok) return setErrors(r.errors);
    setBusy(true);
    setSubmitError(null);
    try {
      const job = await api.startTrain(r.request);
      navigate(`/jobs/${encodeURIComponent(job.id)}`);
    } catch (err) {
      setSubmitError(err);
      setBusy(false);
    }
  }

  const sections = formSections(task);
  const field = (f: CatalogField) =>
    fieldApplies(task, f, form.values) ? (
      <FieldControl
        key={fieldKey(f)}
        field={f}
        task={task}
        input={form.values[fieldKey(f)]}
        onChange={(v) => update(withInput(form, task, fieldKey(f), v))}
        columns={columns}
        taken={taken}
        error={errors[fieldKey(f)]}
      />
    ) : null;
  const errorList = Object.entries(errors).map(([k, msg]) => {
    const f = task.fields.find((x) => fieldKey(x) === k);
    return `${f?.label ?? k}: ${msg}`;
  });

  return (
    <form className="train-form" onSubmit={submit} noValidate data-testid="train-form">
      <Card title="Dataset">
        <div className="form-row">
          <div className={`field ${errors.dataset ? "field-invalid" : ""}`}>
            <label className="field-label" htmlFor="train-dataset">
              Dataset
            </label>
            <select
              id="train-dataset"
              name="dataset"
              value={form.dataset}
              onChange={(e) => update({ ...initialTrainForm(catalog, e.target.value, null, form.task) })}
            >
              {datasetNames.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
            {errors.dataset ? <span className="field-error">{errors.dataset}</span> : null}
          </div>
          <div className="field">
            <label className="field-label" htmlFor="train-version">
              Version
            </label>
            <select
              id="train-version"
              name="version"
              value={version?.version ?? ""}
              onChange={(e) => update({ ...initialTrainForm(catalog, form.dataset, Number(e.target.value), form.task) })}
              disabled={!detail.data}
            >
              {(detail.data?.versions ?? []).map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version} · {formatNumber(v.rowCount)} rows{v.version === detail.data?.latestVersion ? " (latest)" : ""}
                </option>
              ))}
            </select>
          </div>
        </div>
        {detail.error ? <ErrorBox error={detail.error} /> : null}
      </Card>

      <Card title="Task">
        <TaskPicker tasks={catalog.tasks} value={task.task} onChange={(t) => update(withTask(form, t, task))} />
      </Card>

      {!version ? (
        <Skeleton lines={4} />
      ) : (
        <>
          {sections[0]?.groups.map((g) => (
            <Card key={g.name} title={g.name}>
              <FieldGroup basic={g.basic.map(field)} advanced={g.advanced.map(field)} />
            </Card>
          ))}
          {hasSetupOptions(task) ? (
            <Card title="Data preparation (PyCaret setup)" className="setup-card">
              <p className="muted small">
                How PyCaret prepares the data before any model sees it. Each option says what it does; the preview shows it on sample rows.
              </p>
              {sections[1]?.groups.map((g) => (
                <section key={g.name} className="setup-group" aria-label={g.name}>
                  <h3 className="subhead">{g.name}</h3>
                  <FieldGroup basic={g.basic.map(field)} advanced={g.advanced.map(field)} />
                </section>
              ))}
              <SetupPreviewPanel form={form} task={task} columns={columns} version={version.version} onErrors={setErrors} />
            </Card>
          ) : null}
        </>
      )}

      {submitError ? <ErrorBox error={submitError} title="Training did not start" /> : null}
      {errorList.length > 0 ? (
        <div className="field-error" data-testid="form-errors">
          Fix these fields first:
          <ul>
            {errorList.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary btn-large" disabled={busy || !version} data-testid="start-training">
          {busy ? <Spinner label="Starting" /> : null} Start training
        </button>
      </div>
    </form>
  );
}

function FieldGroup({ basic, advanced }: { basic: ReactNode[]; advanced: ReactNode[] }) {
  const shownAdvanced = advanced.filter(Boolean);
  return (
    <>
      {basic.some(Boolean) ? <div className="form-row field-grid">{basic}</div> : null}
      {shownAdvanced.length > 0 ? (
        <details className="more-options">
          <summary>More options ({shownAdvanced.length})</summary>
          <div className="form-row field-grid">{shownAdvanced}</div>
        </details>
      ) : null}
    </>
  );
}

/** The catalog's tasks as radio cards: label and what the task does. */
function TaskPicker({ tasks, value, onChange }: { tasks: TaskCatalog[]; value: string; onChange: (t: TaskCatalog) => void }) {
  return (
    <fieldset className="task-picker" data-testid="task-picker">
      <legend className="sr-only">Task</legend>
      {tasks.map((t) => (
        <label key={t.task} className={`task-card ${t.task === value ? "task-card-active" : ""}`}>
          <input type="radio" name="task" value={t.task} checked={t.task === value} onChange={() => onChange(t)} className="sr-only" />
          <span className="task-card-title">{t.label}</span>
          <span className="task-card-text">{t.description}</span>
        </label>
      ))}
    </fieldset>
  );
}
