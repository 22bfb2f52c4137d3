import { type PipelineError, STEP_TYPES, type StepType } from "@caretflow/contracts";
import { useId, useState } from "react";
import { useResource } from "../../api/context.tsx";
import {
  type BuilderModel,
  connect,
  disconnect,
  errorField,
  referencesFor,
  setStepField,
  setStepInput,
  stepId,
  stepNeeds,
  stepType,
} from "./pipeline.model.ts";
import { type FieldKind, type FieldSource, type FieldSpec, formatValue, parseNumber, parseValue, stepFields } from "./step.fields.ts";

/** The names the builder suggests for inputs that name a dataset, a connection or a model. */
export interface Suggestions {
  dataset: string[];
  connection: string[];
  model: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The selected step's form: its id, the steps it runs after, its inputs (generated from its type's schema,
 * with the project's datasets, connections, models and the dataset's columns offered, and any value may be
 * a `${{ ... }}` reference), `if`, timeout, retry and resources. Each error shows at the field it is about.
 */
export function StepForm({
  model,
  stepKey,
  errors,
  suggestions,
  onChange,
  onRemove,
}: {
  model: BuilderModel;
  stepKey: string;
  errors: PipelineError[];
  suggestions: Suggestions;
  onChange: (next: BuilderModel) => void;
  onRemove: () => void;
}) {
  const step = model.steps.find((s) => s.key === stepKey);
  if (!step) return null;
  const type = stepType(step);
  const info = STEP_TYPES[type as StepType];
  const withValues = isRecord(step.step.with) ? step.step.with : {};
  const refs = referencesFor(model, stepKey);
  const at = (field: string) => errors.filter((e) => errorField(e) === field);
  const fieldNames = new Set([
    "id",
    "type",
    "needs",
    "if",
    "timeout",
    ...(info ? stepFields(type as StepType).map((f) => `with.${f.name}`) : []),
  ]);
  const general = errors.filter(
    (e) => !fieldNames.has(errorField(e)) && !errorField(e).startsWith("retry") && !errorField(e).startsWith("resources"),
  );
  const retry = isRecord(step.step.retry) ? step.step.retry : undefined;
  const resources = isRecord(step.step.resources) ? step.step.resources : undefined;
  const others = model.steps.filter((s) => s.key !== stepKey);
  const set = (field: string, value: unknown) => onChange(setStepField(model, stepKey, field, value));
  const setIn = (obj: "retry" | "resources", current: Record<string, unknown> | undefined, key: string, value: unknown) => {
    const { [key]: _, ...rest } = current ?? {};
    const next = value === undefined ? rest : { ...rest, [key]: value };
    set(obj, Object.keys(next).length === 0 ? undefined : next);
  };

  return (
    <form className="pl-form" aria-label={`Step ${stepId(step)}`} data-testid="step-form" onSubmit={(e) => e.preventDefault()}>
      <div className="pl-form-head">
        <div>
          <div className="pl-node-type">{type}</div>
          <p className="muted small">{info?.description ?? "not a step type: change it in the YAML"}</p>
        </div>
        <button type="button" className="btn btn-small btn-danger" onClick={onRemove}>
          Delete step
        </button>
      </div>
      <FieldErrors errors={general} />
      <TextField
        label="Step id"
        name="id"
        value={stepId(step)}
        errors={at("id")}
        onChange={(v) => set("id", v.trim() === "" ? undefined : v.trim())}
      />

      <fieldset className="field pl-needs">
        <legend className="field-label">Runs after</legend>
        {others.length === 0 ? <span className="muted small">No other steps yet.</span> : null}
        {others.map((o) => (
          <label key={o.key} className="check">
            <input
              type="checkbox"
              checked={stepNeeds(step).includes(stepId(o))}
              onChange={(e) => onChange(e.target.checked ? connect(model, o.key, stepKey) : disconnect(model, o.key, stepKey))}
            />
            {stepId(o) || "(no id)"}
          </label>
        ))}
        <FieldErrors errors={at("needs").concat(errors.filter((e) => errorField(e).startsWith("needs.")))} />
      </fieldset>

      {info ? <h3 className="pl-form-section">Inputs</h3> : null}
      {info
        ? stepFields(type as StepType).map((f) => (
            <InputField
              key={`${stepKey}:${f.name}`}
              field={f}
              value={withValues[f.name]}
              errors={at(`with.${f.name}`)}
              refs={refs}
              suggestions={suggestions}
              dataset={typeof withValues.dataset === "string" ? withValues.dataset : ""}
              onChange={(v) => onChange(setStepInput(model, stepKey, f.name, v))}
            />
          ))
        : null}

      <details className="more-options">
        <summary>Condition, timeout and retry</summary>
        <TextField
          label="Run only if"
          name="if"
          help="true, false or a reference; always when empty"
          value={formatValue("text", step.step.if)}
          suggestions={["true", "false", ...refs]}
          errors={at("if")}
          onChange={(v) => set("if", parseValue("boolean", v))}
        />
        <TextField
          label="Timeout"
          name="timeout"
          help="e.g. 90s, 30m, 2h"
          value={formatValue("text", step.step.timeout)}
          errors={at("timeout")}
          onChange={(v) => set("timeout", v.trim() || undefined)}
        />
        <div className="form-row">
          <TextField
            label="Retries"
            name="retry.count"
            help="0 to 10"
            value={formatValue("number", retry?.count)}
            errors={at("retry.count")}
            onChange={(v) => setIn("retry", retry, "count", parseNumber(v))}
          />
          <TextField
            label="First wait (s)"
            name="retry.backoff_seconds"
            help="default 10"
            value={formatValue("number", retry?.backoff_seconds)}
            errors={at("retry.backoff_seconds")}
            onChange={(v) => setIn("retry", retry, "backoff_seconds", parseNumber(v))}
          />
          <TextField
            label="Wait factor"
            name="retry.factor"
            help="default 2"
            value={formatValue("number", retry?.factor)}
            errors={at("retry.factor")}
            onChange={(v) => setIn("retry", retry, "factor", parseNumber(v))}
          />
        </div>
        <label className="field">
          <span className="field-label">Retry on</span>
          <select
            name="retry.on"
            value={Array.isArray(retry?.on) && retry.on.includes("any") ? "any" : "transient"}
            onChange={(e) => setIn("retry", retry, "on", e.target.value === "any" ? ["any"] : undefined)}
          >
            <option value="transient">errors worth retrying (transient)</option>
            <option value="any">any failure</option>
          </select>
        </label>
        <FieldErrors errors={errors.filter((e) => errorField(e) === "retry" || errorField(e).startsWith("retry.on"))} />
        <div className="form-row">
          <TextField
            label="Memory"
            name="resources.memory"
            help="e.g. 512MB, 4GB"
            value={formatValue("text", resources?.memory)}
            errors={at("resources.memory")}
            onChange={(v) => setIn("resources", resources, "memory", v.trim() || undefined)}
          />
          <TextField
            label="Cores"
            name="resources.cores"
            value={formatValue("number", resources?.cores)}
            errors={at("resources.cores")}
            onChange={(v) => setIn("resources", resources, "cores", parseNumber(v))}
          />
        </div>
      </details>
    </form>
  );
}

function FieldErrors({ errors }: { errors: PipelineError[] }) {
  if (errors.length === 0) return null;
  return (
    <ul className="pl-field-errors" data-testid="field-errors">
      {errors.map((e, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: errors have no identity but their place in the list
        <li key={i} className="field-error">
          {e.message}
          {e.hint ? <span className="field-hint"> ({e.hint})</span> : null}
        </li>
      ))}
    </ul>
  );
}

/**
 * The text a field shows, kept while it is typed: the model holds the parsed value (a number, a list),
 * which reads back differently mid-typing ("1." or a trailing new line). It follows the model when the
 * value changes elsewhere (the YAML tab, a renamed step).
 */
function useFieldText(kind: FieldKind, value: unknown): [string, (text: string) => void] {
  const [text, setText] = useState(() => formatValue(kind, value));
  if (JSON.stringify(parseValue(kind, text)) !== JSON.stringify(value) && !(value === undefined && text.trim() === "")) {
    const shown = formatValue(kind, value);
    if (shown !== text) setText(shown);
  }
  return [text, setText];
}

function TextField({
  label,
  name,
  value,
  help,
  errors,
  suggestions,
  onChange,
}: {
  label: string;
  name: string;
  value: string;
  help?: string;
  errors: PipelineError[];
  suggestions?: string[];
  onChange: (text: string) => void;
}) {
  const listId = useId();
  const [text, setText] = useFieldText("text", value === "" ? undefined : value);
  return (
    <label className={`field ${errors.length ? "field-invalid" : ""}`}>
      <span className="field-label">
        {label} {help ? <span className="field-help">{help}</span> : null}
      </span>
      <input
        name={name}
        value={text}
        list={suggestions ? listId : undefined}
        aria-invalid={errors.length > 0}
        onChange={(e) => {
          setText(e.target.value);
          onChange(e.target.value);
        }}
      />
      {suggestions ? <Datalist id={listId} values={suggestions} /> : null}
      <FieldErrors errors={errors} />
    </label>
  );
}

function Datalist({ id, values }: { id: string; values: string[] }) {
  return (
    <datalist id={id}>
      {[...new Set(values)].map((v) => (
        <option key={v} value={v} />
      ))}
    </datalist>
  );
}

/** One input of the step's `with`, as its kind asks; a text input offers names from `source` and the references. */
function InputField({
  field,
  value,
  errors,
  refs,
  suggestions,
  dataset,
  onChange,
}: {
  field: FieldSpec;
  value: unknown;
  errors: PipelineError[];
  refs: string[];
  suggestions: Suggestions;
  dataset: string;
  onChange: (value: unknown) => void;
}) {
  const listId = useId();
  const [text, setText] = useFieldText(field.kind, value);
  const names = useSourceNames(field.source, suggestions, dataset);
  const change = (t: string) => {
    setText(t);
    onChange(parseValue(field.kind, t));
  };
  const common = {
    id: `${listId}-input`,
    name: `with.${field.name}`,
    value: text,
    "aria-invalid": errors.length > 0,
    "aria-describedby": `${listId}-help`,
    placeholder: field.defaultText ? `default: ${field.defaultText}` : undefined,
  };
  const multiline = field.kind === "multiline" || field.kind === "json" || field.kind === "list";
  return (
    <div className={`field ${errors.length ? "field-invalid" : ""}`} data-field={field.name}>
      <label className="field-label" htmlFor={common.id}>
        {field.name} {field.required ? <span className="field-required">required</span> : null}
      </label>
      {multiline ? (
        <textarea
          {...common}
          rows={field.kind === "list" ? 3 : 5}
          spellCheck={false}
          className="pl-code"
          onChange={(e) => change(e.target.value)}
        />
      ) : (
        <input {...common} list={listId} spellCheck={false} onChange={(e) => change(e.target.value)} />
      )}
      {multiline ? null : <Datalist id={listId} values={[...field.options, ...names, ...refs]} />}
      <span className="field-hint" id={`${listId}-help`}>
        {field.description}
        {field.kind === "list" ? " (one per line)" : field.kind === "json" ? " (JSON)" : ""}
      </span>
      <FieldErrors errors={errors} />
    </div>
  );
}

/** The names offered for an input: the project's datasets, connections or models, or the dataset's columns. */
function useSourceNames(source: FieldSource | null, suggestions: Suggestions, dataset: string): string[] {
  const plain = source === "column" && dataset !== "" && !dataset.includes("${{");
  const detail = useResource(async (a) => (plain ? a.getDataset(dataset) : null), `pipeline-columns:${plain ? dataset : ""}`);
  if (source === null) return [];
  if (source === "column") return detail.data?.versions.at(-1)?.columns.map((c) => c.name) ?? [];
  return suggestions[source];
}
