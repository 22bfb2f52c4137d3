import { FILE_EXTENSIONS, fileFormatOf } from "@caretflow/contracts";

/** A dataset name (letters, digits, '_', '-', '.', starting with a letter or digit; at most 64) suggested from a file name. */
export function datasetNameFromFile(filename: string): string {
  const base = filename.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, (ext) => (fileFormatOf(ext) ? "" : ext));
  const cleaned = base
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .replace(/[-.]+$/, "")
    .slice(0, 64);
  return cleaned || "dataset";
}

/** The upload zone's `accept` attribute and the check before a drop is sent. */
export const acceptedExtensions = FILE_EXTENSIONS.join(",");

export function isAcceptedFile(filename: string): boolean {
  return fileFormatOf(filename) !== null;
}
