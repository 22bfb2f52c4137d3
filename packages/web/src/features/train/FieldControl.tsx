import type { CatalogField, ColumnSchema, TaskCatalog } from "@caretflow/contracts";
import { useId } from "react";
import { columnsFor, defaultText, type FieldInput, isListField } from "./train.form.ts";

interface Props {
  field: CatalogField;
  task: TaskCatalog;
  input: FieldInput | undefined;
  onChange: (input: FieldInput) => void;
  /** the dataset version's columns */
  columns: readonly ColumnSchema[];
  /** columns picked by single-column fields, not offered again in multi-column ones */
  taken: ReadonlySet<string>;
  error: string | undefined;
}

/** One catalog field as a form control chosen by its type, with its label, help, default and error. */
export function FieldControl(props: Props) {
  const { field, error } = props;
  const id = useId();
  const helpId = `${id}-help`;
  const wide = field.type === "columns" || field.type === "json" || (field.type === "models" && isListField(props.task.task, field));
  const help = (
    <span className="field-hint" id={helpId}>
      {field.help}
      {defaultText(field) ? <span className="field-default"> ({defaultText(field)})</span> : null}
    </span>
  );
  if (field.type === "columns" || (field.type === "models" && isListField(props.task.task, field))) {
    return (
      <fieldset className={`field field-wide ${error ? "field-invalid" : ""}`} aria-describedby={helpId} data-field={field.name}>
        <legend className="field-label">{field.label}</legend>
        {help}
        {field.type === "columns" ? <ColumnChips {...props} /> : <ModelChips {...props} />}
        {error ? <span className="field-error">{error}</span> : null}
      </fieldset>
    );
  }
  if (field.type === "boolean") {
    return (
      <div className={`field ${error ? "field-invalid" : ""}`} data-field={field.name}>
        <label className="check">
          <input
            type="checkbox"
            checked={props.input === true}
            onChange={(e) => props.onChange(e.target.checked)}
            aria-describedby={helpId}
          />
          <span className="field-label">{field.label}</span>
        </label>
        {help}
        {error ? <span className="field-error">{error}</span> : null}
      </div>
    );
  }
  return (
    <div className={`field ${wide ? "field-wide" : ""} ${error ? "field-invalid" : ""}`} data-field={field.name}>
      <label className="field-label" htmlFor={id}>
        {field.label}
        {field.required ? <span className="field-required"> (required)</span> : null}
      </label>
      <Control {...props} id={id} helpId={helpId} />
      {help}
      {error ? <span className="field-error">{error}</span> : null}
    </div>
  );
}

function Control({ field, task, input, onChange, columns, taken, id, helpId }: Props & { id: string; helpId: string }) {
  const value = typeof input === "string" ? input : "";
  const common = { id, name: field.name, "aria-describedby": helpId };
  switch (field.type) {
    case "enum":
      return (
        <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
          {field.default === undefined || field.default === null ? <option value="">—</option> : null}
          {(field.values ?? []).map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      );
    case "column": {
      const choices = columnsFor(field, columns).filter((c) => c.name === value || !taken.has(c.name));
      return (
        <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">{field.required ? "Choose a column…" : "—"}</option>
          {choices.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name} ({c.kind})
            </option>
          ))}
        </select>
      );
    }
    case "models":
      return (
        <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">Choose a model…</option>
          {task.models.map((m) => (
            <option key={m.id} value={m.id} disabled={!m.installed}>
              {m.name} ({m.id}){m.installed ? "" : " · not installed"}
            </option>
          ))}
        </select>
      );
    case "metric":
      return (
        <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">{task.defaultSort ? `Default (${task.defaultSort})` : "Default"}</option>
          {task.metrics.map((m) => (
            <option key={m.id} value={m.name}>
              {m.name} ({m.greaterIsBetter ? "higher is better" : "lower is better"})
            </option>
          ))}
        </select>
      );
    case "json":
      return (
        <textarea
          {...common}
          className="json-input"
          rows={4}
          spellCheck={false}
          value={value}
          placeholder="[]"
          onChange={(e) => onChange(e.target.value)}
        />
      );
    default:
      return (
        <input
          {...common}
          value={value}
          inputMode={field.type === "integer" ? "numeric" : field.type === "number" ? "decimal" : undefined}
          placeholder={field.type === "strings" ? "a, b, c" : field.default === undefined || field.default === null ? "—" : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      );
  }
}

function toggle(list: readonly string[], item: string): string[] {
  return list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
}

function ColumnChips({ field, input, onChange, columns, taken }: Props) {
  const chosen = Array.isArray(input) ? input : [];
  const choices = columnsFor(field, columns).filter((c) => !taken.has(c.name));
  if (choices.length === 0) return <p className="muted small">No column of this version fits.</p>;
  return (
    <div className="chips" data-testid={`columns-${field.name}`}>
      {choices.map((c) => {
        const on = chosen.includes(c.name);
        return (
          <label key={c.name} className={`chip ${on ? "chip-on" : ""}`}>
            <input type="checkbox" value={c.name} checked={on} onChange={() => onChange(toggle(chosen, c.name))} className="sr-only" />
            {c.name}
          </label>
        );
      })}
    </div>
  );
}

/** Model ids of the task; the fast (turbo) ones are the default set a comparison uses when none is picked. */
function ModelChips({ field, task, input, onChange }: Props) {
  const chosen = Array.isArray(input) ? input : [];
  const turbo = task.models.filter((m) => m.turbo && m.installed).map((m) => m.id);
  return (
    <>
      <div className="button-row model-chip-actions">
        <span className="muted small">
          {chosen.length === 0 ? `None picked: the default set (${turbo.length} fast models) is used.` : `${chosen.length} picked.`}
        </span>
        <button type="button" className="btn btn-small" onClick={() => onChange(turbo)}>
          Pick the default set
        </button>
        <button type="button" className="btn btn-small" onClick={() => onChange([])} disabled={chosen.length === 0}>
          Clear
        </button>
      </div>
      <div className="chips" data-testid={`models-${field.name}`}>
        {task.models.map((m) => {
          const on = chosen.includes(m.id);
          return (
            <label
              key={m.id}
              className={`chip ${on ? "chip-on" : ""} ${m.installed ? "" : "chip-disabled"}`}
              title={`${m.reference}${m.installed ? "" : " (not installed in the engine)"}`}
            >
              <input
                type="checkbox"
                name={field.name}
                value={m.id}
                checked={on}
                disabled={!m.installed}
                onChange={() => onChange(toggle(chosen, m.id))}
                className="sr-only"
              />
              <span className="mono">{m.id}</span> <span className="chip-sub">{m.name}</span>
              {m.turbo ? null : <span className="chip-tag">slow</span>}
              {m.gpu ? <span className="chip-tag">GPU</span> : null}
            </label>
          );
        })}
      </div>
    </>
  );
}
