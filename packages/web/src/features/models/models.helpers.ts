import type { Explanation, ModelVersion, OnlinePredictResponse, PreviewPage, RegisteredModel } from "@caretflow/contracts";

/** NAME@ALIAS or NAME/VERSION -> the model version it points at today, or null. */
export function resolveModelRef(models: readonly RegisteredModel[], ref: string): ModelVersion | null {
  const at = ref.lastIndexOf("@");
  const slash = ref.lastIndexOf("/");
  const name = at > 0 ? ref.slice(0, at) : slash > 0 ? ref.slice(0, slash) : ref;
  const model = models.find((m) => m.name === name);
  if (!model) return null;
  let version: number | undefined;
  if (at > 0) version = model.aliases[ref.slice(at + 1)];
  else if (slash > 0) version = Number(ref.slice(slash + 1));
  else version = Math.max(0, ...model.versions.map((v) => v.version));
  return model.versions.find((v) => v.version === version) ?? null;
}

/** The references a person can pick for one model: its aliases first (they move), then fixed versions, newest first. */
export function refOptions(model: RegisteredModel): { ref: string; label: string }[] {
  const aliases = Object.entries(model.aliases)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([alias, v]) => ({ ref: `${model.name}@${alias}`, label: `@${alias} (version ${v})` }));
  const versions = [...model.versions]
    .sort((a, b) => b.version - a.version)
    .map((v) => ({ ref: `${model.name}/${v.version}`, label: `version ${v.version}${v.modelName ? ` · ${v.modelName}` : ""}` }));
  return [...aliases, ...versions];
}

/** Preview rows as JSON objects without the target column: the online form's example input. */
export function rowsForPrediction(page: PreviewPage, target: string | null, n = 3): Record<string, unknown>[] {
  return page.rows
    .slice(0, n)
    .map((row) => Object.fromEntries(page.columns.map((c, i) => [c.name, row[i] ?? null]).filter(([name]) => name !== target)));
}

/** Parses the textarea: one object or an array of objects (empty only where allowed). Errors say what shape is expected. */
export function parseRowsJson(
  text: string,
  opts: { allowEmpty?: boolean } = {},
): { ok: true; rows: Record<string, unknown>[] } | { ok: false; error: string } {
  if (opts.allowEmpty && text.trim() === "") return { ok: true, rows: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `This is not valid JSON: ${(err as Error).message}` };
  }
  const rows = Array.isArray(value) ? value : [value];
  if (rows.length === 0 && !opts.allowEmpty) return { ok: false, error: 'Give at least one row, e.g. [{"column": 1}].' };
  if (!rows.every((r) => typeof r === "object" && r !== null && !Array.isArray(r)))
    return { ok: false, error: 'Each row must be an object of column names to values, e.g. [{"age": 31, "sex": "female"}].' };
  return { ok: true, rows: rows as Record<string, unknown>[] };
}

/**
 * The online result as one table: the prediction columns first (in the server's order, e.g. prediction_label and a
 * probability per class), then the input columns. A forecast has no input rows: its rows are the predictions alone.
 */
export function predictionTable(
  inputs: readonly Record<string, unknown>[],
  res: Pick<OnlinePredictResponse, "columns" | "predictions">,
): { columns: string[]; rows: Record<string, unknown>[] } {
  const inputColumns: string[] = [];
  for (const r of inputs) for (const k of Object.keys(r)) if (!inputColumns.includes(k) && !res.columns.includes(k)) inputColumns.push(k);
  const rows = res.predictions.map((p, i) => ({ ...(inputs[i] ?? {}), ...p }));
  const extra = [...new Set(res.predictions.flatMap((p) => Object.keys(p)))].filter(
    (k) => !res.columns.includes(k) && !inputColumns.includes(k),
  );
  return { columns: [...res.columns, ...extra, ...inputColumns], rows };
}

export interface ContributionBar {
  label: string;
  shap: number;
  /** bar length relative to the largest contribution, 0–1 */
  size: number;
}

/** The largest contributions of one explanation, largest first; the rest summed into one bar so the total still adds up. */
export function explanationBars(x: Explanation, top = 10): { bars: ContributionBar[]; total: number } {
  const sorted = [...x.contributions].sort((a, b) => Math.abs(b.shap) - Math.abs(a.shap));
  const shown = sorted.slice(0, top).map((c) => ({ label: `${c.feature} = ${c.value === null ? "—" : String(c.value)}`, shap: c.shap }));
  const rest = sorted.slice(top);
  if (rest.length > 0) shown.push({ label: `${rest.length} other features`, shap: rest.reduce((s, c) => s + c.shap, 0) });
  const max = Math.max(...shown.map((b) => Math.abs(b.shap)), 0);
  const total = x.base + x.contributions.reduce((s, c) => s + c.shap, 0);
  return { bars: shown.map((b) => ({ ...b, size: max > 0 ? Math.abs(b.shap) / max : 0 })), total };
}

/** A model name suggested from the dataset and target, valid for the registry: "juice-Purchase". */
export function suggestModelName(dataset: string | null | undefined, target: string | null | undefined): string {
  const raw = [dataset?.replace(/@v\d+$/, ""), target].filter(Boolean).join("-") || "model";
  const cleaned = raw
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 100);
  return cleaned || "model";
}

/** One row per parameter any version's run set (sorted), one value per version, and whether the values differ. */
export function paramRows(
  versions: readonly { params: Record<string, string> }[],
): { param: string; values: (string | null)[]; differs: boolean }[] {
  const names = [...new Set(versions.flatMap((v) => Object.keys(v.params)))].sort();
  return names.map((param) => {
    const values = versions.map((v) => v.params[param] ?? null);
    return { param, values, differs: new Set(values).size > 1 };
  });
}

/** "1,2,3" from the address -> distinct positive version numbers, in order. */
export function parseVersionList(text: string | null): number[] {
  const out: number[] = [];
  for (const part of (text ?? "").split(",")) {
    const n = Number(part.trim());
    if (/^\d+$/.test(part.trim()) && n > 0 && !out.includes(n)) out.push(n);
  }
  return out;
}
