import type { PipelineError } from "@caretflow/contracts";

/**
 * The pipeline file itself. In the builder it can be edited: the canvas and forms follow as soon as the
 * text reads as a pipeline, and the errors are listed with their lines. Read-only in a run.
 */
export function YamlPanel({
  text,
  errors,
  fileName,
  onEdit,
}: {
  text: string;
  errors: PipelineError[];
  fileName: string;
  onEdit?: (text: string) => void;
}) {
  return (
    <div className="pl-yaml">
      <div className="pl-yaml-head">
        <span className="muted small">
          {onEdit ? "The file the builder saves; edit it here or on the canvas." : "The pipeline file (read-only)."}
        </span>
        <code className="small">{fileName}</code>
      </div>
      <textarea
        className="pl-code pl-yaml-text"
        aria-label="Pipeline YAML"
        data-testid="pipeline-yaml"
        spellCheck={false}
        autoCapitalize="off"
        autoCorrect="off"
        rows={24}
        value={text}
        readOnly={!onEdit}
        onChange={(e) => onEdit?.(e.target.value)}
      />
      {errors.length > 0 ? (
        <ul className="pl-problems" data-testid="yaml-errors">
          {errors.map((e, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: errors are listed in file order
            <li key={i}>
              {e.line ? <span className="muted">line {e.line}: </span> : null}
              <code>{e.code}</code> {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
