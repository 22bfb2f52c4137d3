import type { ModelVersion, PreviewPage, RegisteredModel } from "@caretflow/contracts";

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

/** Parses the textarea: one object or an array of objects. Errors say what shape is expected. */
export function parseRowsJson(text: string): { ok: true; rows: Record<string, unknown>[] } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `This is not valid JSON: ${(err as Error).message}` };
  }
  const rows = Array.isArray(value) ? value : [value];
  if (rows.length === 0) return { ok: false, error: 'Give at least one row, e.g. [{"column": 1}].' };
  if (!rows.every((r) => typeof r === "object" && r !== null && !Array.isArray(r)))
    return { ok: false, error: 'Each row must be an object of column names to values, e.g. [{"age": 31, "sex": "female"}].' };
  return { ok: true, rows: rows as Record<string, unknown>[] };
}

/** Table columns for the online result: every input column, then the prediction columns. */
export function resultColumns(rows: readonly Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
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
