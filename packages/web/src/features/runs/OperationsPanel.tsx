import type { OperationId, TaskCatalog } from "@caretflow/contracts";
import { type FormEvent, type ReactNode, useId, useState } from "react";
import { useNavigate } from "react-router-dom";
import { useApi } from "../../api/context.tsx";
import { ErrorBox, Spinner } from "../../ui/feedback.tsx";
import {
  initialOpInputs,
  isRunOperation,
  type OpField,
  type OpInput,
  operationFields,
  operationLabel,
  opFieldLabel,
  toOperation,
} from "./operation.form.ts";

export interface RunChoice {
  runId: string;
  label: string;
}

/**
 * Starts an operation on this run's model: only those the run's task lists in the catalog, each with a form
 * derived from the contracts' Operation schema. The new job's page follows it.
 */
export function OperationsPanel({ runId, task, otherRuns }: { runId: string; task: TaskCatalog; otherRuns: RunChoice[] }) {
  const ops = task.operations.filter(isRunOperation);
  const [op, setOp] = useState<OperationId | null>(ops[0] ?? null);
  if (!op) return <p className="muted small">The {task.label.toLowerCase()} task offers no operation on a trained model.</p>;
  return (
    <div data-testid="operations">
      <div className="segmented" role="radiogroup" aria-label="Operation">
        {ops.map((o) => (
          <label key={o} className={`segment ${o === op ? "segment-active" : ""}`}>
            <input type="radio" name="operation" value={o} checked={o === op} onChange={() => setOp(o)} className="sr-only" />
            {operationLabel(o)}
          </label>
        ))}
      </div>
      <OperationForm key={op} op={op} runId={runId} task={task} otherRuns={otherRuns} />
    </div>
  );
}

function OperationForm({ op, runId, task, otherRuns }: { op: OperationId; runId: string; task: TaskCatalog; otherRuns: RunChoice[] }) {
  const api = useApi();
  const navigate = useNavigate();
  const fields = operationFields(op);
  const [inputs, setInputs] = useState<Record<string, OpInput>>(() => initialOpInputs(fields));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = toOperation(op, fields, inputs);
    if (!r.ok) return setErrors(r.errors);
    setBusy(true);
    setError(null);
    try {
      const job = await api.startOperation(runId, { operation: r.operation });
      navigate(`/jobs/${encodeURIComponent(job.id)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="operation-form" data-testid="operation-form" noValidate>
      {fields.length > 0 ? (
        <div className="form-row">
          {fields.map((f) => (
            <OpFieldControl
              key={f.name}
              field={f}
              task={task}
              otherRuns={otherRuns}
              input={inputs[f.name]}
              error={errors[f.name]}
              onChange={(v) => {
                setInputs((s) => ({ ...s, [f.name]: v }));
                setErrors({});
              }}
            />
          ))}
        </div>
      ) : (
        <p className="muted small">No options: {operationLabel(op).toLowerCase()} works on the model as it is.</p>
      )}
      {error ? <ErrorBox error={error} title={`${operationLabel(op)} did not start`} /> : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="start-operation">
          {busy ? <Spinner label="Starting" /> : null} Start {operationLabel(op).toLowerCase()}
        </button>
      </div>
    </form>
  );
}

function OpFieldControl({
  field,
  task,
  otherRuns,
  input,
  error,
  onChange,
}: {
  field: OpField;
  task: TaskCatalog;
  otherRuns: RunChoice[];
  input: OpInput | undefined;
  error: string | undefined;
  onChange: (v: OpInput) => void;
}) {
  const id = useId();
  const helpId = `${id}-help`;
  const value = typeof input === "string" ? input : "";
  const label = opFieldLabel(field);
  const help = (
    <span className="field-hint" id={helpId}>
      {field.help}
      {field.default !== undefined && field.kind !== "boolean" ? ` (default ${JSON.stringify(field.default)})` : ""}
    </span>
  );
  if (field.kind === "boolean")
    return (
      <div className="field">
        <label className="check">
          <input type="checkbox" checked={input === true} onChange={(e) => onChange(e.target.checked)} aria-describedby={helpId} />
          <span className="field-label">{label}</span>
        </label>
        {help}
      </div>
    );
  if (field.kind === "runs") {
    const chosen = Array.isArray(input) ? input : [];
    return (
      <fieldset className={`field field-wide ${error ? "field-invalid" : ""}`} aria-describedby={helpId}>
        <legend className="field-label">{label}</legend>
        {help}
        {otherRuns.length === 0 ? <p className="muted small">No other run of this training has a model to combine with.</p> : null}
        <div className="chips">
          {otherRuns.map((r) => {
            const on = chosen.includes(r.runId);
            return (
              <label key={r.runId} className={`chip ${on ? "chip-on" : ""}`}>
                <input
                  type="checkbox"
                  value={r.runId}
                  checked={on}
                  className="sr-only"
                  onChange={() => onChange(on ? chosen.filter((x) => x !== r.runId) : [...chosen, r.runId])}
                />
                {r.label}
              </label>
            );
          })}
        </div>
        {error ? <span className="field-error">{error}</span> : null}
      </fieldset>
    );
  }
  const common = {
    id,
    name: field.name,
    value,
    "aria-describedby": helpId,
    onChange: (e: { target: { value: string } }) => onChange(e.target.value),
  };
  let control: ReactNode;
  switch (field.kind) {
    case "enum":
      control = (
        <select {...common}>
          {field.required || field.default !== undefined ? null : <option value="">—</option>}
          {(field.values ?? []).map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      );
      break;
    case "metric":
      control = (
        <select {...common}>
          {field.default === undefined ? <option value="">Default</option> : null}
          {task.metrics.map((m) => (
            <option key={m.id} value={m.name}>
              {m.name}
            </option>
          ))}
        </select>
      );
      break;
    case "model":
      control = (
        <select {...common}>
          <option value="">{field.required ? "Choose a model…" : "Default"}</option>
          {task.models
            .filter((m) => m.installed)
            .map((m) => (
              <option key={m.id} value={m.id}>
                {m.name} ({m.id})
              </option>
            ))}
        </select>
      );
      break;
    case "json":
      control = <textarea {...common} className="json-input" rows={3} spellCheck={false} placeholder="{}" />;
      break;
    default:
      control = <input {...common} inputMode={field.kind === "integer" ? "numeric" : field.kind === "number" ? "decimal" : undefined} />;
  }
  return (
    <div className={`field ${field.kind === "json" ? "field-wide" : ""} ${error ? "field-invalid" : ""}`}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {control}
      {help}
      {error ? <span className="field-error">{error}</span> : null}
    </div>
  );
}
