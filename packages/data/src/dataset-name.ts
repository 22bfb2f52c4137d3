import { DatasetName } from "@caretflow/contracts";

/**
 * A valid dataset name derived from a file name, e.g. "Juice Sales.csv" -> "juice-sales",
 * "Crème brûlée (2024).xlsx" -> "creme-brulee-2024". Falls back to "dataset".
 */
export function datasetNameFromFilename(filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? "";
  const stem = base.includes(".") && !base.startsWith(".") ? base.slice(0, base.lastIndexOf(".")) : base;
  const slug = stem
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // drop the accents NFKD split off
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64)
    .replace(/[-_]+$/, "");
  return DatasetName.safeParse(slug).success ? slug : "dataset";
}
