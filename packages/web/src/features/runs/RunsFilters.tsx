import type { Catalog } from "@caretflow/contracts";
import { type FormEvent, useEffect, useState } from "react";
import { taskLabel } from "../../lib/catalog.ts";
import { FILTER_OPS, type FilterField, filterClause, type RunsView } from "./runs.view.ts";

const STATUSES = ["FINISHED", "RUNNING", "FAILED", "KILLED", "SCHEDULED"] as const;

/** The runs list's filters: text, status, task, dataset, the param columns, and clauses on metrics, params and tags (each removable). */
export function RunsFilters({
  view,
  catalog,
  metricNames,
  paramKeys,
  datasets,
  onChange,
}: {
  view: RunsView;
  catalog: Catalog | undefined;
  /** suggested keys for a metric clause */
  metricNames: readonly string[];
  /** the param keys of the runs matching: suggested for a param clause, offered as columns */
  paramKeys: readonly string[];
  /** the project's dataset names */
  datasets: readonly string[];
  onChange: (change: Partial<Omit<RunsView, "page">>) => void;
}) {
  const [q, setQ] = useState(view.q);
  useEffect(() => setQ(view.q), [view.q]);
  const [field, setField] = useState<FilterField>("metrics");
  const [key, setKey] = useState("");
  const [op, setOp] = useState<string>(">");
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);

  const addClause = (e: FormEvent) => {
    e.preventDefault();
    const made = filterClause(field, key, op, value, [...metricNames, ...paramKeys]);
    if ("error" in made) return setError(made.error);
    setError(null);
    setKey("");
    setValue("");
    if (!view.filters.includes(made.clause)) onChange({ filters: [...view.filters, made.clause] });
  };
  // Tags compare only as text; a parameter also with > >= < <= against a number.
  const ops = field === "tags" ? (["=", "!="] as const) : FILTER_OPS;

  return (
    <div className="runs-filters">
      <form
        className="runs-filter-row"
        aria-label="Find runs"
        onSubmit={(e) => {
          e.preventDefault();
          onChange({ q: q.trim() });
        }}
      >
        <input
          className="filter-input"
          type="search"
          placeholder="Name, id, dataset or experiment"
          aria-label="Search runs"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          onBlur={() => q.trim() !== view.q && onChange({ q: q.trim() })}
        />
        <select aria-label="Status" value={view.status} onChange={(e) => onChange({ status: e.target.value })}>
          <option value="">any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        <select aria-label="Task" value={view.task} onChange={(e) => onChange({ task: e.target.value })}>
          <option value="">any task</option>
          {(catalog?.tasks ?? []).map((t) => (
            <option key={t.task} value={t.task}>
              {taskLabel(catalog, t.task)}
            </option>
          ))}
        </select>
        <select aria-label="Dataset" value={view.dataset} onChange={(e) => onChange({ dataset: e.target.value })}>
          <option value="">any dataset</option>
          {[...new Set([...datasets, ...(view.dataset ? [view.dataset] : [])])].sort().map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
        <details className="runs-cols">
          <summary>Parameter columns{view.cols.length > 0 ? ` (${view.cols.length})` : ""}</summary>
          {paramKeys.length === 0 && view.cols.length === 0 ? <p className="muted small">These runs logged no parameters.</p> : null}
          <fieldset aria-label="Parameter columns">
            {[...new Set([...view.cols, ...paramKeys])].map((k) => (
              <label key={k} className="runs-col-pick">
                <input
                  type="checkbox"
                  checked={view.cols.includes(k)}
                  onChange={() => onChange({ cols: view.cols.includes(k) ? view.cols.filter((c) => c !== k) : [...view.cols, k] })}
                />
                {k}
              </label>
            ))}
          </fieldset>
        </details>
      </form>
      <form className="runs-filter-row" aria-label="Add a filter" onSubmit={addClause}>
        <select
          aria-label="Filter on"
          value={field}
          onChange={(e) => {
            const f = e.target.value as FilterField;
            setField(f);
            if (f !== "metrics") setOp("=");
          }}
        >
          <option value="metrics">metric</option>
          <option value="params">parameter</option>
          <option value="tags">tag</option>
        </select>
        <input
          aria-label="Filter key"
          placeholder="name, e.g. AUC"
          list="runs-metric-names"
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        <datalist id="runs-metric-names">
          {(field === "metrics" ? metricNames : field === "params" ? paramKeys : []).map((m) => (
            <option key={m} value={m} />
          ))}
        </datalist>
        <select aria-label="Operator" value={op} onChange={(e) => setOp(e.target.value)}>
          {ops.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
        <input aria-label="Filter value" placeholder="value" value={value} onChange={(e) => setValue(e.target.value)} />
        <button type="submit" className="btn btn-small">
          Add filter
        </button>
        {error ? (
          <span className="field-error" role="alert">
            {error}
          </span>
        ) : null}
      </form>
      {view.filters.length > 0 ? (
        <ul className="chips runs-clauses" aria-label="Active filters">
          {view.filters.map((f) => (
            <li key={f} className="chip chip-on" data-testid="runs-filter">
              <code>{f}</code>
              <button
                type="button"
                className="runs-clause-remove"
                aria-label={`Remove filter ${f}`}
                onClick={() => onChange({ filters: view.filters.filter((x) => x !== f) })}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
