import {
  type Catalog,
  type CatalogField,
  type ColumnSchema,
  type SetupPreviewRequest,
  type TaskCatalog,
  TrainFields,
  TrainRequest,
} from "@caretflow/contracts";
import type { z } from "zod";
import type { TrainRequestInput } from "../../api/client.ts";

/**
 * The train form as data: every field comes from the engine's catalog (type, default, `when`, column kinds),
 * so the form needs no list of tasks, models or options of its own. Inputs stay what the person typed
 * (strings for numbers, so a half-typed "0." does not jump); they become typed values only in `toTrainRequest`.
 */

/** Text for numbers, enums, columns, metrics, a single model and JSON; true/false for booleans; a list for columns and models. */
export type FieldInput = string | boolean | string[];

export interface TrainForm {
  dataset: string;
  version: number | null;
  task: string;
  /** Keyed by `fieldKey`: a spec field by its name, a setup option as `setup.NAME`. */
  values: Record<string, FieldInput>;
}

export type FormErrors = Record<string, string>;

export function fieldKey(field: Pick<CatalogField, "name" | "scope">): string {
  return field.scope === "setup" ? `setup.${field.name}` : field.name;
}

/** zod's wrappers around a field's own type (default, optional...), peeled off to see whether it is a list. */
function innerType(schema: z.ZodType | undefined): z.ZodType | undefined {
  let s = schema as { def?: { type?: string; innerType?: z.ZodType } } | undefined;
  while (s?.def && ["default", "optional", "nullable", "prefault"].includes(s.def.type ?? "")) s = s.def.innerType as typeof s;
  return s as z.ZodType | undefined;
}

/**
 * Whether a field holds several values. `columns` always does; a `models` field does when the request schema
 * says it is an array (include, exclude) and not when it names one model (the model to create).
 */
export function isListField(task: string, field: CatalogField): boolean {
  if (field.type === "columns") return true;
  if (field.type !== "models") return false;
  if (Array.isArray(field.default)) return true;
  if (field.scope === "setup") return false;
  const member = TrainFields.options.find((o) => o.shape.task.safeParse(task).success);
  const shape = member?.shape as Record<string, z.ZodType> | undefined;
  const inner = innerType(shape?.[field.name]) as { def?: { type?: string } } | undefined;
  return inner?.def?.type === "array";
}

/** What an untouched field shows: its default, in the field's input form. */
export function initialInput(task: string, field: CatalogField): FieldInput {
  const d = field.default;
  switch (field.type) {
    case "boolean":
      return d === true;
    case "columns":
      return Array.isArray(d) ? d.map(String) : [];
    case "models":
      if (isListField(task, field)) return Array.isArray(d) ? d.map(String) : [];
      return d === undefined || d === null ? "" : String(d);
    case "strings":
      return Array.isArray(d) ? d.join(", ") : "";
    case "json":
      return d === undefined || d === null || (Array.isArray(d) && d.length === 0) ? "" : JSON.stringify(d, null, 2);
    default:
      return d === undefined || d === null ? "" : String(d);
  }
}

export function initialValues(task: TaskCatalog): Record<string, FieldInput> {
  return Object.fromEntries(task.fields.map((f) => [fieldKey(f), initialInput(task.task, f)]));
}

export function initialTrainForm(catalog: Catalog, dataset = "", version: number | null = null, task?: string): TrainForm {
  const t = catalog.tasks.find((x) => x.task === task) ?? catalog.tasks[0];
  return { dataset, version, task: t?.task ?? "", values: t ? initialValues(t) : {} };
}

type Parsed = { value: unknown } | { error: string };

/** One input as the request's typed value; `value: undefined` means left empty (the engine's default applies). */
export function parseInput(task: string, field: CatalogField, input: FieldInput | undefined): Parsed {
  if (input === undefined) return { value: undefined };
  switch (field.type) {
    case "boolean":
      return { value: input === true };
    case "integer":
    case "number": {
      const text = String(input).trim();
      if (text === "") return { value: undefined };
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: "Use a number." };
      if (field.type === "integer" && !Number.isInteger(n)) return { error: "Use a whole number." };
      const { min, max } = field;
      if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
        return {
          error:
            min !== undefined && max !== undefined
              ? `Use a number from ${min} to ${max}.`
              : `Use ${min !== undefined ? `${min} or more` : `${max} or less`}.`,
        };
      }
      return { value: n };
    }
    case "columns":
      return { value: Array.isArray(input) && input.length > 0 ? input : undefined };
    case "models":
      if (isListField(task, field)) return { value: Array.isArray(input) && input.length > 0 ? input : undefined };
      return { value: String(input) === "" ? undefined : String(input) };
    case "strings": {
      const items = String(input)
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      return { value: items.length > 0 ? items : undefined };
    }
    case "json": {
      const text = String(input).trim();
      if (text === "") return { value: undefined };
      try {
        return { value: JSON.parse(text) };
      } catch (err) {
        return { error: `This is not valid JSON: ${(err as Error).message}` };
      }
    }
    case "enum": {
      const v = String(input);
      if (v === "") return { value: undefined };
      return field.values && !field.values.includes(v) ? { error: `Use one of ${field.values.join(", ")}.` } : { value: v };
    }
    default: {
      const v = String(input);
      return { value: v === "" ? undefined : v };
    }
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The value a field has now: what was typed, else its default (for `when` conditions). */
function currentValue(task: TaskCatalog, field: CatalogField, values: Record<string, FieldInput>): unknown {
  const p = parseInput(task.task, field, values[fieldKey(field)]);
  return "value" in p && p.value !== undefined ? p.value : field.default;
}

/** Whether a field is shown and sent: each of its `when` conditions names another field and the value it needs. */
export function fieldApplies(task: TaskCatalog, field: CatalogField, values: Record<string, FieldInput>): boolean {
  if (!field.when) return true;
  return Object.entries(field.when).every(([name, wanted]) => {
    const other = task.fields.find((f) => f.name === name && f.scope === field.scope) ?? task.fields.find((f) => f.name === name);
    return other ? sameValue(currentValue(task, other, values), wanted) : false;
  });
}

/** The dataset's columns a column field may pick: those of the kinds the field takes. */
export function columnsFor(field: CatalogField, columns: readonly ColumnSchema[]): ColumnSchema[] {
  const kinds = field.columnKinds;
  return kinds && kinds.length > 0 ? columns.filter((c) => kinds.includes(c.kind)) : [...columns];
}

/** Columns chosen in single-column fields (the target, a date column): a multi-column field does not offer them again. */
export function takenColumns(task: TaskCatalog, values: Record<string, FieldInput>): Set<string> {
  const taken = new Set<string>();
  for (const f of task.fields) {
    const v = values[fieldKey(f)];
    if (f.type === "column" && f.scope === "spec" && typeof v === "string" && v !== "" && fieldApplies(task, f, values)) taken.add(v);
  }
  return taken;
}

/** Sets one input; picking a column in a single-column field takes it out of every multi-column field. */
export function withInput(form: TrainForm, task: TaskCatalog, key: string, input: FieldInput): TrainForm {
  const values = { ...form.values, [key]: input };
  const field = task.fields.find((f) => fieldKey(f) === key);
  if (field?.type === "column" && field.scope === "spec" && typeof input === "string" && input !== "") {
    for (const f of task.fields) {
      const v = values[fieldKey(f)];
      if (f.type === "columns" && Array.isArray(v) && v.includes(input)) values[fieldKey(f)] = v.filter((c) => c !== input);
    }
  }
  return { ...form, values };
}

/** Switching the task starts from the new task's defaults, keeping what was typed in fields both tasks share. */
export function withTask(form: TrainForm, next: TaskCatalog, previous: TaskCatalog | undefined): TrainForm {
  if (next.task === form.task) return form;
  const values = initialValues(next);
  for (const f of next.fields) {
    const key = fieldKey(f);
    const old = previous?.fields.find((p) => fieldKey(p) === key);
    const typed = form.values[key];
    // model ids and metric names belong to one task; columns and numbers carry over
    if (old && old.type === f.type && typed !== undefined && f.type !== "models" && f.type !== "metric") values[key] = typed;
  }
  return { ...form, task: next.task, values };
}

export interface FormSection {
  scope: "spec" | "setup";
  groups: { name: string; basic: CatalogField[]; advanced: CatalogField[] }[];
}

/** Fields by scope, then group (in the catalog's order), basic ones apart from those behind "more options". */
export function formSections(task: TaskCatalog, skip: ReadonlySet<string> = new Set()): FormSection[] {
  return (["spec", "setup"] as const).map((scope) => {
    const groups: FormSection["groups"] = [];
    for (const f of task.fields) {
      if (f.scope !== scope || skip.has(f.name)) continue;
      let g = groups.find((x) => x.name === f.group);
      if (!g) {
        g = { name: f.group, basic: [], advanced: [] };
        groups.push(g);
      }
      (f.advanced ? g.advanced : g.basic).push(f);
    }
    return { scope, groups };
  });
}

/** Parsed spec fields and setup options of a form, or what to fix, keyed like the inputs. */
export function collectValues(
  form: TrainForm,
  task: TaskCatalog,
  columns: readonly ColumnSchema[],
): { spec: Record<string, unknown>; setup: Record<string, unknown>; errors: FormErrors } {
  const spec: Record<string, unknown> = {};
  const setup: Record<string, unknown> = {};
  const errors: FormErrors = {};
  const names = new Set(columns.map((c) => c.name));
  for (const f of task.fields) {
    if (!fieldApplies(task, f, form.values)) continue;
    const key = fieldKey(f);
    const parsed = parseInput(task.task, f, form.values[key]);
    if ("error" in parsed) {
      errors[key] = parsed.error;
      continue;
    }
    const value = parsed.value;
    if (value === undefined) {
      if (f.required) errors[key] = f.type === "column" ? "Choose a column." : `${f.label} is required.`;
      continue;
    }
    if ((f.type === "column" || f.type === "columns") && names.size > 0) {
      const missing = (Array.isArray(value) ? value : [value]).filter((c) => !names.has(String(c)));
      if (missing.length > 0) {
        errors[key] = `${missing.join(", ")} ${missing.length === 1 ? "is not a column" : "are not columns"} of this version.`;
        continue;
      }
    }
    // Defaults are the engine's business: a request carries what differs (and what is required).
    if (!f.required && sameValue(value, f.default)) continue;
    if (f.scope === "setup") setup[f.name] = value;
    else spec[f.name] = value;
  }
  return { spec, setup, errors };
}

/** The request to POST, or what to fix, field by field, before anything is sent. */
export function toTrainRequest(
  form: TrainForm,
  task: TaskCatalog,
  columns: readonly ColumnSchema[],
): { ok: true; request: TrainRequestInput } | { ok: false; errors: FormErrors } {
  const { spec, setup, errors } = collectValues(form, task, columns);
  if (!form.dataset) errors.dataset = "Choose a dataset.";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const request = {
    dataset: form.dataset,
    ...(form.version ? { version: form.version } : {}),
    ...spec,
    task: task.task,
    ...(Object.keys(setup).length > 0 ? { setup } : {}),
  } as TrainRequestInput;
  // The contracts' schema has the last word: whatever it refuses, the server would refuse too.
  const parsed = TrainRequest.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const [first, second] = issue?.path ?? [];
    const key = first === "setup" && second !== undefined ? `setup.${String(second)}` : String(first ?? "dataset");
    return { ok: false, errors: { [key]: issue?.message ?? "Invalid value." } };
  }
  return { ok: true, request };
}

/** What the setup preview is asked for: the target and ignored columns the form holds, and its setup options. */
export function toSetupPreviewRequest(
  form: TrainForm,
  task: TaskCatalog,
  columns: readonly ColumnSchema[],
): { ok: true; request: z.input<typeof SetupPreviewRequest> } | { ok: false; errors: FormErrors } {
  const { spec, setup, errors } = collectValues(form, task, columns);
  const setupErrors = Object.fromEntries(Object.entries(errors).filter(([k]) => k.startsWith("setup.")));
  if (Object.keys(setupErrors).length > 0) return { ok: false, errors: setupErrors };
  const target = typeof spec.target === "string" ? spec.target : undefined;
  const ignore = Array.isArray(spec.ignore_columns) ? (spec.ignore_columns as string[]) : [];
  return {
    ok: true,
    request: { task: task.task as SetupPreviewRequest["task"], ...(target ? { target } : {}), ignore_columns: ignore, setup, rows: 8 },
  };
}

/** Whether a task takes setup options at all (topic models and association rules do not). */
export function hasSetupOptions(task: TaskCatalog): boolean {
  return task.fields.some((f) => f.scope === "setup");
}

/** "default 0.7" for the help line; nothing for empty defaults. */
export function defaultText(field: CatalogField): string | null {
  const d = field.default;
  if (d === undefined || d === null || d === "" || (Array.isArray(d) && d.length === 0)) return null;
  if (typeof d === "boolean") return d ? "on by default" : null;
  return `default ${Array.isArray(d) ? d.join(", ") : typeof d === "object" ? JSON.stringify(d) : String(d)}`;
}
