import { CaretflowError, type ProjectRole } from "@caretflow/contracts";

/** Editors and owners of the project (and site admins) preview, run and forget transforms; viewers read them. */
export function canRunTransforms(role: ProjectRole | null | undefined, siteAdmin: boolean): boolean {
  return siteAdmin || role === "editor" || role === "owner";
}

/** The line of the query an API error names (DuckDB's "LINE n", an unknown dataset's mention), if any. */
export function errorLine(err: unknown): number | null {
  if (!(err instanceof CaretflowError)) return null;
  const line = (err.details as { line?: unknown } | undefined)?.line;
  return typeof line === "number" && Number.isInteger(line) && line > 0 ? line : null;
}

/**
 * How a dataset is named in a transform's SQL: bare when it is a plain identifier, double-quoted when
 * it has '-' or '.' or starts with a digit; `version` pins one version ("sales@3").
 */
export function tableRef(dataset: string, version?: number): string {
  const name = version === undefined ? dataset : `${dataset}@${version}`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** How a column is named in SQL: bare when it is a plain lower-case identifier, else double-quoted. */
export function columnRef(column: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(column) ? column : `"${column.replaceAll('"', '""')}"`;
}

/** `text` with `insert` put in place of the selection [start, end); answers the new text and caret. */
export function insertAt(text: string, start: number, end: number, insert: string): { text: string; caret: number } {
  return { text: text.slice(0, start) + insert + text.slice(end), caret: start + insert.length };
}
