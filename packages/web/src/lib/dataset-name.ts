/** A dataset name (letters, digits, '_', '-', '.', starting with a letter or digit; at most 64) suggested from a file name. */
export function datasetNameFromFile(filename: string): string {
  const base = filename.replace(/^.*[\\/]/, "").replace(/\.(csv|tsv|txt|parquet|json|ndjson|jsonl|xlsx)$/i, "");
  const cleaned = base
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .replace(/[-.]+$/, "")
    .slice(0, 64);
  return cleaned || "dataset";
}

const accepted = [".csv", ".tsv", ".txt", ".parquet", ".json", ".ndjson", ".jsonl", ".xlsx"];

/** The upload zone's `accept` attribute and the check before a drop is sent. */
export const acceptedExtensions = accepted.join(",");

export function isAcceptedFile(filename: string): boolean {
  const lower = filename.toLowerCase();
  return accepted.some((ext) => lower.endsWith(ext));
}
