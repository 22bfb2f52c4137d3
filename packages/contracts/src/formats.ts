import type { SourceFormat } from "./datasets.ts";

/**
 * The one list of file extensions caretflow imports, and the format each means. The server infers a
 * file's format from it; the web's upload zone accepts exactly these.
 */
export const FILE_FORMAT_BY_EXTENSION: Readonly<Record<string, SourceFormat>> = {
  ".csv": "csv",
  ".tsv": "tsv",
  ".tab": "tsv",
  ".parquet": "parquet",
  ".pq": "parquet",
  ".json": "json",
  ".ndjson": "ndjson",
  ".jsonl": "ndjson",
  ".xlsx": "xlsx",
};

/** Every importable extension, with its leading dot, lower case. */
export const FILE_EXTENSIONS: readonly string[] = Object.keys(FILE_FORMAT_BY_EXTENSION);

/** The format a file name's extension means (case-insensitive), or null when caretflow does not import it. */
export function fileFormatOf(filename: string): SourceFormat | null {
  const lower = filename.toLowerCase();
  const dot = lower.lastIndexOf(".");
  return dot >= 0 ? (FILE_FORMAT_BY_EXTENSION[lower.slice(dot)] ?? null) : null;
}
