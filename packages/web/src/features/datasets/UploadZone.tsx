import type { ImportResult } from "@caretflow/contracts";
import { type DragEvent, useRef, useState } from "react";
import { useApi } from "../../api/context.tsx";
import { uploadDataset } from "../../api/upload.ts";
import { acceptedExtensions, datasetNameFromFile, isAcceptedFile } from "../../lib/dataset-name.ts";
import { formatBytes, formatPercent } from "../../lib/format.ts";
import { xlsxSheetNames } from "../../lib/xlsx-sheets.ts";
import { ErrorBox, ProgressBar } from "../../ui/feedback.tsx";
import { useAuth } from "../auth/auth.context.tsx";

type UploadState =
  | { type: "idle" }
  | { type: "choosing"; file: File; sheets: string[] }
  | { type: "uploading"; file: File; loaded: number; total: number; abort: () => void }
  | { type: "processing"; file: File }
  | { type: "done"; result: ImportResult }
  | { type: "error"; error: unknown; file: File | null };

/**
 * Drop a file (or pick one) to import it as a dataset version. Progress is the upload itself;
 * after the last byte the server still ingests the file, which the "Importing…" state covers.
 * A workbook with several sheets asks which one to import first (the first is preselected).
 */
export function UploadZone({ onImported, large = false }: { onImported: (r: ImportResult) => void; large?: boolean }) {
  const api = useApi();
  const { signedOut } = useAuth();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [name, setName] = useState("");
  const [state, setState] = useState<UploadState>({ type: "idle" });

  async function start(file: File) {
    if (!isAcceptedFile(file.name)) {
      setState({
        type: "error",
        file,
        error: new Error(`${file.name} is not a supported file type. Use CSV, TSV, Parquet, JSON, NDJSON or Excel (.xlsx).`),
      });
      return;
    }
    if (/\.xlsx$/i.test(file.name)) {
      const sheets = await xlsxSheetNames(file);
      if (sheets.length > 1) {
        setState({ type: "choosing", file, sheets });
        return;
      }
    }
    send(file);
  }

  function send(file: File, sheet?: string) {
    const datasetName = name.trim() || datasetNameFromFile(file.name);
    const handle = uploadDataset({
      url: api.uploadUrl(),
      file,
      name: datasetName,
      ...(sheet !== undefined ? { sheet } : {}),
      onUnauthorized: signedOut,
      onProgress: (loaded, total) =>
        setState((s) => (s.type === "uploading" ? (loaded >= total ? { type: "processing", file } : { ...s, loaded, total }) : s)),
    });
    setState({ type: "uploading", file, loaded: 0, total: file.size, abort: handle.abort });
    handle.done.then(
      (result) => {
        setState({ type: "done", result });
        setName("");
        onImported(result);
      },
      (error: unknown) => setState({ type: "error", error, file }),
    );
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files[0];
    if (file) start(file);
  }

  const busy = state.type === "uploading" || state.type === "processing";
  return (
    <div className="upload">
      <section
        aria-label="Upload a file"
        className={`dropzone ${over ? "dropzone-over" : ""} ${large ? "dropzone-large" : ""} ${busy ? "dropzone-busy" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <svg viewBox="0 0 24 24" className="dropzone-icon" aria-hidden="true">
          <path
            d="M12 16V4m0 0l-4 4m4-4l4 4M4 16v2a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-2"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.6"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
        <div className="dropzone-text">
          <strong>Drop a file here</strong> or{" "}
          <button type="button" className="link-button" onClick={() => input.current?.click()} disabled={busy}>
            choose one
          </button>
          <div className="muted small">CSV, TSV, Parquet, JSON, NDJSON or Excel (.xlsx)</div>
        </div>
        {/* Keyboard and pointer users reach it through "choose one"; it stays out of the tab order, where focus on it would be invisible. */}
        <input
          ref={input}
          type="file"
          accept={acceptedExtensions}
          className="sr-only"
          aria-label="Choose a file to import"
          tabIndex={-1}
          data-testid="upload-input"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) start(f);
            e.target.value = "";
          }}
        />
        <label className="dropzone-name">
          <span className="muted small">Dataset name (optional)</span>
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="from the file name" disabled={busy} />
        </label>
      </section>
      {state.type === "choosing" ? (
        <SheetChoice
          file={state.file}
          sheets={state.sheets}
          onImport={(sheet) => send(state.file, sheet)}
          onCancel={() => setState({ type: "idle" })}
        />
      ) : (
        <UploadStatus state={state} />
      )}
    </div>
  );
}

/** Which sheet of a workbook with several to import. */
function SheetChoice(props: { file: File; sheets: string[]; onImport: (sheet: string) => void; onCancel: () => void }) {
  const [sheet, setSheet] = useState(props.sheets[0] ?? "");
  return (
    <div className="upload-status" data-testid="sheet-choice">
      <div className="upload-status-row">
        <label>
          <strong>{props.file.name}</strong> has {props.sheets.length} sheets; import{" "}
          <select value={sheet} onChange={(e) => setSheet(e.target.value)} aria-label="Sheet to import" data-testid="sheet-select">
            {props.sheets.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn btn-small" onClick={() => props.onImport(sheet)}>
          Import
        </button>
        <button type="button" className="btn btn-small btn-ghost" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

function UploadStatus({ state }: { state: UploadState }) {
  switch (state.type) {
    case "idle":
    case "choosing":
      return null;
    case "uploading":
      return (
        <div className="upload-status" data-testid="upload-status">
          <div className="upload-status-row">
            <span>
              Uploading <strong>{state.file.name}</strong> · {formatBytes(state.loaded)} of {formatBytes(state.total)}
            </span>
            <span className="muted">{formatPercent(state.total ? state.loaded / state.total : 0, 0)}</span>
            <button type="button" className="btn btn-small btn-ghost" onClick={state.abort}>
              Cancel
            </button>
          </div>
          <ProgressBar fraction={state.total ? state.loaded / state.total : 0} label="Upload progress" />
        </div>
      );
    case "processing":
      return (
        <div className="upload-status" data-testid="upload-status">
          <div className="upload-status-row">
            <span>
              Importing <strong>{state.file.name}</strong>: reading, inferring types, profiling…
            </span>
          </div>
          <ProgressBar fraction={null} label="Import progress" />
        </div>
      );
    case "done": {
      const v = state.result.version;
      return (
        <div className="upload-status upload-done" data-testid="upload-status">
          {state.result.created
            ? `Imported ${v.dataset} version ${v.version}: ${v.rowCount.toLocaleString()} rows, ${v.columnCount} columns.`
            : `${v.dataset} already has this exact content as version ${v.version}; no new version was made.`}
        </div>
      );
    }
    case "error":
      return <ErrorBox error={state.error} title={state.file ? `Could not import ${state.file.name}` : "Could not import the file"} />;
    default: {
      const never: never = state;
      return never;
    }
  }
}
