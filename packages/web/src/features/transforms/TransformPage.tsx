import type { DatasetSummary, Transform, TransformPreview, TransformRun } from "@caretflow/contracts";
import { type RefObject, type UIEvent, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useApi, useNow, useResource } from "../../api/context.tsx";
import { formatCell, formatRelative } from "../../lib/format.ts";
import { ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader } from "../../ui/layout.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { useAuth } from "../auth/auth.context.tsx";
import { useProject } from "../projects/project.context.tsx";
import { canRunTransforms, columnRef, errorLine, insertAt, tableRef } from "./transforms.helpers.ts";
import "./transforms.css";

/**
 * SQL transforms: write a DuckDB query over the project's datasets (listed with their columns beside
 * the editor; a click inserts a name), preview its first rows, and save it as a new version of a
 * dataset. Saved transforms re-run over the latest inputs in one click. `/transforms/:name` opens one.
 */
export function TransformPage() {
  const { name: opened } = useParams();
  const api = useApi();
  const datasets = useResource((a) => a.listDatasets(), "datasets");
  const transforms = useResource((a) => a.listTransforms(), "transforms");
  const [sql, setSql] = useState("");
  const [target, setTarget] = useState("");
  const [loadedFrom, setLoadedFrom] = useState<string | null>(null);
  const [busy, setBusy] = useState<"preview" | "save" | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<TransformPreview | null>(null);
  const [saved, setSaved] = useState<TransformRun | null>(null);
  const editor = useRef<HTMLTextAreaElement>(null);
  const { user } = useAuth();
  const { project } = useProject();
  const projects = useResource((a) => a.listProjects(), "projects");
  // While the role is loading the buttons stay enabled; the server refuses a viewer either way.
  const role = projects.data?.find((p) => p.name === project)?.role;
  const canRun = projects.data === undefined || canRunTransforms(role, user?.role === "admin");

  // A saved transform named in the address is loaded once into the editor.
  const savedOne = useResource(async (a) => (opened ? a.getTransform(opened) : null), `transform:${opened ?? ""}`);
  if (savedOne.data && loadedFrom !== savedOne.data.name) {
    setLoadedFrom(savedOne.data.name);
    setSql(savedOne.data.sql);
    setTarget(savedOne.data.name);
  }

  const line = errorLine(error);

  function insert(text: string) {
    const el = editor.current;
    const start = el?.selectionStart ?? sql.length;
    const end = el?.selectionEnd ?? sql.length;
    const next = insertAt(sql, start, end, text);
    setSql(next.text);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(next.caret, next.caret);
    });
  }

  async function runPreview() {
    setBusy("preview");
    setError(null);
    setSaved(null);
    try {
      setPreview(await api.previewTransform(sql, 50));
    } catch (err) {
      setError(err);
      setPreview(null);
    } finally {
      setBusy(null);
    }
  }

  async function save() {
    setBusy("save");
    setError(null);
    try {
      setSaved(await api.saveTransform(target.trim(), sql));
      transforms.reload();
      datasets.reload();
    } catch (err) {
      setError(err);
      setSaved(null);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="page">
      <PageHeader
        crumbs={<Link to="/data">Data</Link>}
        title="SQL transform"
        subtitle={
          <>
            A DuckDB query over this project's datasets makes a new dataset version, with the versions it read kept as its lineage. Name a
            dataset as a table: <code>sales</code> is its latest version, <code>"sales@3"</code> its version 3.
          </>
        }
      />
      <div className="transform-layout">
        <Card title="Datasets" className="transform-datasets">
          {datasets.error ? <ErrorBox error={datasets.error} onRetry={datasets.reload} /> : null}
          {!datasets.data ? (
            datasets.error ? null : (
              <Skeleton lines={4} />
            )
          ) : datasets.data.length === 0 ? (
            <p className="muted">No datasets yet: import one on the Data page first.</p>
          ) : (
            <ul className="transform-dataset-list" data-testid="transform-datasets">
              {datasets.data.map((d) => (
                <DatasetEntry key={d.name} dataset={d} onInsert={insert} />
              ))}
            </ul>
          )}
        </Card>
        <div className="transform-main">
          <Card title="Query">
            <SqlEditor value={sql} onChange={setSql} errorLine={line} textarea={editor} />
            <div className="transform-actions">
              <button
                type="button"
                className="btn"
                disabled={!canRun || busy !== null || sql.trim() === ""}
                onClick={() => void runPreview()}
                data-testid="transform-preview"
              >
                {busy === "preview" ? <Spinner label="Running" /> : null} Preview
              </button>
              <label className="field field-narrow transform-target">
                <span className="field-label">Save as dataset</span>
                <input
                  name="target"
                  value={target}
                  onChange={(e) => setTarget(e.target.value)}
                  placeholder="e.g. sales-by-region"
                  aria-label="Dataset to save as"
                />
              </label>
              <button
                type="button"
                className="btn btn-primary"
                disabled={!canRun || busy !== null || sql.trim() === "" || target.trim() === ""}
                onClick={() => void save()}
                data-testid="transform-save"
              >
                {busy === "save" ? <Spinner label="Saving" /> : null} Save as dataset
              </button>
            </div>
            {canRun ? null : <p className="muted small">Viewers read saved transforms; editors of the project preview and run them.</p>}
            {error ? (
              <div data-testid="transform-error">
                <ErrorBox error={error} title={line ? `The query failed at line ${line}` : "The query failed"} />
              </div>
            ) : null}
            {saved ? <SavedNotice run={saved} /> : null}
          </Card>
          {preview ? <PreviewCard preview={preview} /> : null}
          <SavedTransforms
            canRun={canRun}
            transforms={transforms.data}
            error={transforms.error}
            onReload={transforms.reload}
            onOpen={(t) => {
              setLoadedFrom(t.name);
              setSql(t.sql);
              setTarget(t.name);
              setError(null);
              setPreview(null);
              setSaved(null);
            }}
            onRan={(run) => {
              setSaved(run);
              setError(null);
              datasets.reload();
            }}
            onError={setError}
          />
        </div>
      </div>
    </div>
  );
}

/** A textarea with a line-number gutter; the line an error names is marked. */
function SqlEditor({
  value,
  onChange,
  errorLine,
  textarea,
}: {
  value: string;
  onChange: (v: string) => void;
  errorLine: number | null;
  textarea: RefObject<HTMLTextAreaElement | null>;
}) {
  const gutter = useRef<HTMLDivElement>(null);
  const lines = Math.max(1, value.split("\n").length);
  const onScroll = (e: UIEvent<HTMLTextAreaElement>) => {
    if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
  };
  return (
    <div className="sql-editor">
      <div className="sql-gutter" ref={gutter} aria-hidden="true">
        {Array.from({ length: lines }, (_, i) => i + 1).map((n) => (
          <div key={n} className={n === errorLine ? "sql-gutter-line sql-gutter-error" : "sql-gutter-line"} data-line={n}>
            {n}
          </div>
        ))}
      </div>
      <textarea
        ref={textarea}
        className="sql-input"
        name="sql"
        aria-label="SQL query"
        spellCheck={false}
        autoCapitalize="off"
        autoCorrect="off"
        rows={12}
        value={value}
        onScroll={onScroll}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          // Tab indents instead of leaving the editor.
          if (e.key === "Tab" && !e.shiftKey) {
            e.preventDefault();
            const el = e.currentTarget;
            const next = insertAt(value, el.selectionStart, el.selectionEnd, "  ");
            onChange(next.text);
            requestAnimationFrame(() => el.setSelectionRange(next.caret, next.caret));
          }
        }}
        placeholder={"SELECT region, sum(amount) AS total\nFROM sales\nGROUP BY region"}
        data-testid="sql-input"
      />
    </div>
  );
}

/** One dataset beside the editor: its name inserts it; opened, its columns (from the latest version) insert theirs. */
function DatasetEntry({ dataset, onInsert }: { dataset: DatasetSummary; onInsert: (text: string) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <li>
      <div className="transform-dataset-row">
        <button
          type="button"
          className="link-button transform-toggle"
          aria-expanded={open}
          aria-label={`${open ? "Hide" : "Show"} the columns of ${dataset.name}`}
          onClick={() => setOpen(!open)}
        >
          {open ? "▾" : "▸"}
        </button>
        <button
          type="button"
          className="link-button strong-link"
          title={`Insert ${tableRef(dataset.name)}`}
          onClick={() => onInsert(tableRef(dataset.name))}
        >
          {dataset.name}
        </button>
        <span className="muted small">v{dataset.latestVersion}</span>
      </div>
      {open ? <DatasetColumns name={dataset.name} onInsert={onInsert} /> : null}
    </li>
  );
}

function DatasetColumns({ name, onInsert }: { name: string; onInsert: (text: string) => void }) {
  const detail = useResource((a) => a.getDataset(name), `dataset:${name}`);
  if (detail.error) return <ErrorBox error={detail.error} onRetry={detail.reload} />;
  if (!detail.data) return <Skeleton lines={2} />;
  const latest = detail.data.versions.at(-1);
  return (
    <ul className="transform-columns">
      {(latest?.columns ?? []).map((c) => (
        <li key={c.name}>
          <button type="button" className="link-button" title={`Insert ${columnRef(c.name)}`} onClick={() => onInsert(columnRef(c.name))}>
            {c.name}
          </button>{" "}
          <span className="muted small">{c.duckdbType}</span>
        </li>
      ))}
    </ul>
  );
}

function PreviewCard({ preview }: { preview: TransformPreview }) {
  return (
    <Card title="Preview" actions={<span className="muted small">first {preview.rows.length} rows; nothing stored</span>}>
      <p className="small">
        Reads {preview.inputs.length ? preview.inputs.map((i) => `${i.dataset} v${i.version}`).join(", ") : "no dataset"}.
      </p>
      <ScrollRegion className="table-wrap" label="Preview rows">
        <table className="table table-compact" data-testid="transform-preview-table">
          <thead>
            <tr>
              {preview.columns.map((c) => (
                <th key={c.name} className={c.kind === "integer" || c.kind === "float" ? "num" : undefined}>
                  {c.name} <span className="muted small">{c.duckdbType}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: preview rows have no identity but their position
              <tr key={i}>
                {row.map((value, j) => (
                  <td key={preview.columns[j]?.name ?? j} className={typeof value === "number" ? "num" : undefined}>
                    {value === null ? <span className="null-cell">null</span> : formatCell(value)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </Card>
  );
}

function SavedNotice({ run }: { run: TransformRun }) {
  const v = run.result.version;
  return (
    <div className="success-box" role="status" data-testid="transform-saved">
      {run.result.created ? (
        <span>
          Saved <Link to={`/data/${encodeURIComponent(v.dataset)}`}>{v.dataset}</Link> version {v.version} ({v.rowCount} rows) from{" "}
          {(v.source.inputs ?? []).map((i) => `${i.dataset} v${i.version}`).join(", ")}.
        </span>
      ) : (
        <span>
          Unchanged: the result equals <Link to={`/data/${encodeURIComponent(v.dataset)}`}>{v.dataset}</Link> version {v.version}, so no
          version was added.
        </span>
      )}
    </div>
  );
}

function SavedTransforms({
  canRun,
  transforms,
  error,
  onReload,
  onOpen,
  onRan,
  onError,
}: {
  canRun: boolean;
  transforms: Transform[] | undefined;
  error: unknown;
  onReload: () => void;
  onOpen: (t: Transform) => void;
  onRan: (run: TransformRun) => void;
  onError: (err: unknown) => void;
}) {
  const api = useApi();
  const now = useNow(false);
  const [running, setRunning] = useState<string | null>(null);
  async function rerun(name: string) {
    setRunning(name);
    try {
      onRan(await api.runTransform(name));
      onReload();
    } catch (err) {
      onError(err);
    } finally {
      setRunning(null);
    }
  }
  async function forget(name: string) {
    if (!window.confirm(`Forget the saved transform of ${name}? The versions it made stay.`)) return;
    try {
      await api.deleteTransform(name);
      onReload();
    } catch (err) {
      onError(err);
    }
  }
  return (
    <Card title="Saved transforms">
      {error ? <ErrorBox error={error} onRetry={onReload} /> : null}
      {!transforms ? (
        error ? null : (
          <Skeleton lines={2} />
        )
      ) : transforms.length === 0 ? (
        <p className="muted">None yet. Save a query as a dataset and it is kept here, to run again over the latest inputs.</p>
      ) : (
        <ul className="plain-list transform-saved-list" data-testid="saved-transforms">
          {transforms.map((t) => (
            <li key={t.name}>
              <strong>{t.name}</strong> <span className="muted small">saved {formatRelative(t.updatedAt, now)}</span>{" "}
              {running === t.name ? <Badge tone="info">running</Badge> : null}
              <span className="row-actions">
                <button type="button" className="btn btn-small" onClick={() => onOpen(t)}>
                  Open
                </button>
                {canRun ? (
                  <>
                    <button type="button" className="btn btn-small" disabled={running !== null} onClick={() => void rerun(t.name)}>
                      Run again
                    </button>
                    <button type="button" className="btn btn-small btn-danger" onClick={() => void forget(t.name)}>
                      Forget
                    </button>
                  </>
                ) : null}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
