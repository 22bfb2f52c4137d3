import type { ColumnSchema, SetupPreview, TaskCatalog } from "@caretflow/contracts";
import { useState } from "react";
import { useApi } from "../../api/context.tsx";
import { formatCell } from "../../lib/format.ts";
import { ErrorBox, Spinner } from "../../ui/feedback.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { type FormErrors, type TrainForm, toSetupPreviewRequest } from "./train.form.ts";

/**
 * What the chosen setup options do to the data: PyCaret's preprocessing run on a few sample rows by the server,
 * shown as the steps, the columns added and removed, and the rows before and after.
 */
export function SetupPreviewPanel({
  form,
  task,
  columns,
  version,
  onErrors,
}: {
  form: TrainForm;
  task: TaskCatalog;
  columns: readonly ColumnSchema[];
  version: number;
  onErrors: (errors: FormErrors) => void;
}) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<SetupPreview | null>(null);

  async function run() {
    const r = toSetupPreviewRequest(form, task, columns);
    if (!r.ok) return onErrors(r.errors);
    setBusy(true);
    setError(null);
    try {
      setPreview(await api.setupPreview(form.dataset, version, r.request));
    } catch (err) {
      setError(err);
      setPreview(null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="setup-preview" data-testid="setup-preview">
      <div className="button-row">
        <button type="button" className="btn" onClick={() => void run()} disabled={busy} data-testid="run-setup-preview">
          {busy ? <Spinner label="Previewing" /> : null} Preview what these options do
        </button>
        <span className="muted small">Runs the preprocessing on a few sample rows; nothing is trained.</span>
      </div>
      {error ? <ErrorBox error={error} title="The preview did not run" /> : null}
      {preview ? <SetupPreviewView preview={preview} /> : null}
    </div>
  );
}

export function SetupPreviewView({ preview }: { preview: SetupPreview }) {
  return (
    <div className="stack" data-testid="setup-preview-result">
      {preview.steps.length > 0 ? (
        <div>
          <h3 className="subhead">Steps, in order</h3>
          <ol className="plain-list steps-list">
            {preview.steps.map((s, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: steps may repeat and keep their order
              <li key={i}>{s}</li>
            ))}
          </ol>
        </div>
      ) : null}
      <div className="column-diff">
        <ColumnList title="Columns added" names={preview.added} tone="good" />
        <ColumnList title="Columns removed or replaced" names={preview.removed} tone="bad" />
      </div>
      <SampleTable title="Before" table={preview.before} highlight={new Set(preview.removed)} tone="bad" />
      <SampleTable title="After" table={preview.after} highlight={new Set(preview.added)} tone="good" />
    </div>
  );
}

function ColumnList({ title, names, tone }: { title: string; names: string[]; tone: "good" | "bad" }) {
  return (
    <div>
      <h3 className="subhead">
        {title} ({names.length})
      </h3>
      {names.length === 0 ? (
        <p className="muted small">None.</p>
      ) : (
        <div className="chips">
          {names.map((n) => (
            <span key={n} className={`badge badge-${tone}`}>
              {n}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}

function SampleTable({
  title,
  table,
  highlight,
  tone,
}: {
  title: string;
  table: SetupPreview["before"];
  highlight: ReadonlySet<string>;
  tone: "good" | "bad";
}) {
  return (
    <div>
      <h3 className="subhead">
        {title} ({table.columns.length} columns)
      </h3>
      <ScrollRegion className="table-wrap" label={`Sample rows ${title.toLowerCase()} preprocessing`}>
        <table className="table table-compact">
          <caption className="sr-only">Sample rows {title.toLowerCase()} preprocessing</caption>
          <thead>
            <tr>
              {table.columns.map((c) => (
                <th key={c} className={highlight.has(c) ? `col-${tone}` : ""}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: sample rows have no identity beyond their order
              <tr key={i}>
                {table.columns.map((c, j) => (
                  <td key={c} className={highlight.has(c) ? `col-${tone}` : ""}>
                    {formatCell(row[j])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </div>
  );
}
