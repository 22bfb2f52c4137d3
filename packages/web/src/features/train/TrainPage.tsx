import type { ColumnSchema, Task } from "@caretflow/contracts";
import { type FormEvent, type ReactNode, useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useApi, useResource } from "../../api/context.tsx";
import { formatNumber } from "../../lib/format.ts";
import { modelChoices, taskMetrics } from "../../lib/pycaret.ts";
import { EmptyState, ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card, PageHeader } from "../../ui/layout.tsx";
import {
  type FormErrors,
  initialTrainForm,
  type ModelMode,
  type TrainForm,
  taskWarning,
  toTrainRequest,
  withTarget,
  withTask,
} from "./train.form.ts";

export function TrainPage() {
  const [params] = useSearchParams();
  const datasets = useResource((api) => api.listDatasets(), "datasets");
  const [form, setForm] = useState<TrainForm>(() => initialTrainForm(params.get("dataset") ?? "", Number(params.get("version")) || null));

  if (datasets.error) return <ErrorBox error={datasets.error} onRetry={datasets.reload} />;
  if (!datasets.data)
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

  const dataset = form.dataset || datasets.data[0]?.name || "";
  return (
    <div className="page">
      <PageHeader
        title="Train a model"
        subtitle="caretflow runs PyCaret's setup and compare_models on your data, ranks the models by cross-validation and keeps the best one."
      />
      <TrainFormView key={dataset} form={{ ...form, dataset }} setForm={setForm} datasetNames={datasets.data.map((d) => d.name)} />
    </div>
  );
}

function TrainFormView({ form, setForm, datasetNames }: { form: TrainForm; setForm: (f: TrainForm) => void; datasetNames: string[] }) {
  const api = useApi();
  const navigate = useNavigate();
  const detail = useResource((a) => a.getDataset(form.dataset), `dataset:${form.dataset}`);
  const version = detail.data?.versions.find((v) => v.version === (form.version ?? detail.data?.latestVersion));
  const profile = useResource(
    (a) => (version ? a.profile(form.dataset, version.version) : Promise.resolve(null)),
    `profile:${form.dataset}:${version?.version ?? "-"}`,
  );
  const columns = version?.columns ?? [];
  const distinct = useMemo(() => new Map((profile.data?.columns ?? []).map((c) => [c.name, c.distinct])), [profile.data]);
  const [errors, setErrors] = useState<FormErrors>({});
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const update = (f: TrainForm) => {
    setForm(f);
    setErrors({});
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = toTrainRequest(form, columns);
    if (!r.ok) {
      setErrors(r.errors);
      return;
    }
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

  const features = columns.filter((c) => c.name !== form.target);
  const warning = taskWarning(
    form.task,
    columns.find((c) => c.name === form.target),
  );
  return (
    <form className="train-form" onSubmit={submit} noValidate data-testid="train-form">
      <Card title="1 · Data">
        <div className="form-row">
          <Field label="Dataset" error={errors.dataset}>
            <select name="dataset" value={form.dataset} onChange={(e) => update({ ...initialTrainForm(e.target.value), task: form.task })}>
              {datasetNames.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Version">
            <select
              name="version"
              value={version?.version ?? ""}
              onChange={(e) => update({ ...form, version: Number(e.target.value), target: "", ignoreColumns: [] })}
              disabled={!detail.data}
            >
              {(detail.data?.versions ?? []).map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version} · {formatNumber(v.rowCount)} rows{v.version === detail.data?.latestVersion ? " (latest)" : ""}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {detail.error ? <ErrorBox error={detail.error} /> : null}
      </Card>

      <Card title="2 · What to predict">
        {!version ? (
          <Skeleton lines={2} />
        ) : (
          <div className="form-row">
            <Field label="Target column" error={errors.target}>
              <select
                name="target"
                value={form.target}
                onChange={(e) => {
                  const c = columns.find((x) => x.name === e.target.value);
                  update(withTarget(form, e.target.value, c, distinct.get(e.target.value)));
                }}
              >
                <option value="">Choose a column…</option>
                {columns.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name} ({c.kind})
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Task">
              <Segmented<Task>
                name="task"
                value={form.task}
                options={[
                  { value: "classification", label: "Classification" },
                  { value: "regression", label: "Regression" },
                ]}
                onChange={(t) => update(withTask(form, t))}
              />
              {warning ? <span className="field-warning">{warning}</span> : null}
            </Field>
          </div>
        )}
      </Card>

      <Card
        title="3 · Features"
        actions={
          <span className="muted small">
            {features.length - form.ignoreColumns.length} of {features.length} columns used
          </span>
        }
      >
        <p className="muted small">Untick columns the model should not see, such as ids or values known only after the fact.</p>
        <ColumnChecks columns={features} ignored={form.ignoreColumns} onChange={(ignoreColumns) => update({ ...form, ignoreColumns })} />
        {errors.ignoreColumns ? <div className="field-error">{errors.ignoreColumns}</div> : null}
      </Card>

      <Card title="4 · Models">
        <ModelPicker form={form} update={update} error={errors.models} />
      </Card>

      <Card title="5 · Validation">
        <div className="form-row form-row-4">
          <Field label="Train fraction" error={errors.trainSize} help="the rest is held out">
            <input
              name="trainSize"
              inputMode="decimal"
              value={form.trainSize}
              onChange={(e) => update({ ...form, trainSize: e.target.value })}
            />
          </Field>
          <Field label="CV folds" error={errors.folds}>
            <input name="folds" inputMode="numeric" value={form.folds} onChange={(e) => update({ ...form, folds: e.target.value })} />
          </Field>
          <Field label="Seed" error={errors.seed} help="same seed, same split">
            <input name="seed" inputMode="numeric" value={form.seed} onChange={(e) => update({ ...form, seed: e.target.value })} />
          </Field>
          <Field label="Rank by" error={errors.sort}>
            <select name="sort" value={form.sort} onChange={(e) => update({ ...form, sort: e.target.value })}>
              {taskMetrics(form.task).map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </Card>

      {submitError ? <ErrorBox error={submitError} title="Training did not start" /> : null}
      {Object.keys(errors).length > 0 ? <div className="field-error">Fix the highlighted fields above.</div> : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary btn-large" disabled={busy || !version} data-testid="start-training">
          {busy ? <Spinner label="Starting" /> : null} Start training
        </button>
      </div>
    </form>
  );
}

function Field({ label, error, help, children }: { label: string; error?: string | undefined; help?: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is passed in as children
    <label className={`field ${error ? "field-invalid" : ""}`}>
      <span className="field-label">
        {label}
        {help ? <span className="field-help"> · {help}</span> : null}
      </span>
      {children}
      {error ? <span className="field-error">{error}</span> : null}
    </label>
  );
}

function Segmented<T extends string>({
  name,
  value,
  options,
  onChange,
}: {
  name: string;
  value: T;
  options: { value: T; label: string }[];
  onChange: (v: T) => void;
}) {
  return (
    <div className="segmented" role="radiogroup">
      {options.map((o) => (
        <label key={o.value} className={`segment ${o.value === value ? "segment-active" : ""}`}>
          <input
            type="radio"
            name={name}
            value={o.value}
            checked={o.value === value}
            onChange={() => onChange(o.value)}
            className="sr-only"
          />
          {o.label}
        </label>
      ))}
    </div>
  );
}

function ColumnChecks({
  columns,
  ignored,
  onChange,
}: {
  columns: ColumnSchema[];
  ignored: string[];
  onChange: (ignored: string[]) => void;
}) {
  if (columns.length === 0) return <p className="muted small">Choose a target first.</p>;
  return (
    <div className="chips" data-testid="feature-columns">
      {columns.map((c) => {
        const used = !ignored.includes(c.name);
        return (
          <label key={c.name} className={`chip ${used ? "chip-on" : ""}`}>
            <input
              type="checkbox"
              checked={used}
              onChange={() => onChange(used ? [...ignored, c.name] : ignored.filter((x) => x !== c.name))}
              className="sr-only"
            />
            {c.name}
          </label>
        );
      })}
    </div>
  );
}

function ModelPicker({ form, update, error }: { form: TrainForm; update: (f: TrainForm) => void; error: string | undefined }) {
  const choices = modelChoices(form.task);
  return (
    <>
      <Segmented<ModelMode>
        name="modelMode"
        value={form.modelMode}
        options={[
          { value: "all", label: "All fast models" },
          { value: "include", label: "Only these" },
          { value: "exclude", label: "All except these" },
        ]}
        onChange={(modelMode) => update({ ...form, modelMode })}
      />
      {form.modelMode === "all" ? (
        <p className="muted small">
          PyCaret compares every model of its turbo set ({choices.filter((c) => c.turbo).length} models). Pick a few to finish sooner.
        </p>
      ) : (
        <div className="chips" data-testid="model-choices">
          {choices.map((m) => {
            const on = form.models.includes(m.id);
            return (
              <label key={m.id} className={`chip ${on ? "chip-on" : ""}`} title={m.name}>
                <input
                  type="checkbox"
                  name="model"
                  value={m.id}
                  checked={on}
                  onChange={() => update({ ...form, models: on ? form.models.filter((x) => x !== m.id) : [...form.models, m.id] })}
                  className="sr-only"
                />
                <span className="mono">{m.id}</span> <span className="chip-sub">{m.name}</span>
              </label>
            );
          })}
        </div>
      )}
      {error ? <div className="field-error">{error}</div> : null}
    </>
  );
}
