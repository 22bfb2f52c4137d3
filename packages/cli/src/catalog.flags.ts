import { type Catalog, type CatalogField, userError } from "@caretflow/contracts";
import { InvalidArgumentError, Option } from "commander";
import { floatArg, intArg, listArg } from "./common.ts";

/**
 * `caretflow train` flags generated from the engine's catalog: one flag per spec field of any task
 * (a field several tasks share is one flag), typed by the field, with its help and the tasks it
 * applies to. Setup options go through `--set NAME=VALUE`.
 */
export interface CatalogFlag {
  /** the request key */
  name: string;
  /** the flag as typed, without dashes: date, ignore, train-size */
  flag: string;
  /** commander's attribute name for it (camelCase of flag) */
  attribute: string;
  field: CatalogField;
  tasks: string[];
}

/** Keys the command handles itself (the request envelope). */
const RESERVED = new Set(["dataset", "version", "experiment", "task"]);

export function catalogFlags(catalog: Catalog): CatalogFlag[] {
  const byName = new Map<string, CatalogFlag>();
  for (const task of catalog.tasks) {
    for (const field of task.fields) {
      if (field.scope !== "spec" || RESERVED.has(field.name)) continue;
      const existing = byName.get(field.name);
      if (existing) {
        existing.tasks.push(task.task);
        continue;
      }
      const flag = field.flag ?? field.name.replaceAll("_", "-");
      byName.set(field.name, { name: field.name, flag, attribute: camel(flag), field, tasks: [task.task] });
    }
  }
  return [...byName.values()];
}

export function flagOption(f: CatalogFlag, allTasks: number): Option {
  const placeholder = valuePlaceholder(f.field);
  const where = f.tasks.length === allTasks ? "" : ` [${f.tasks.join(", ")}]`;
  const dflt =
    f.field.default !== undefined && f.field.default !== null && !isEmptyList(f.field.default) ? ` (default ${show(f.field.default)})` : "";
  const option = new Option(`--${f.flag} ${placeholder}`, `${f.field.help}${dflt}${where}`);
  const parse = parserFor(f);
  if (parse) option.argParser(parse);
  if (f.field.type === "enum" && f.field.values) option.choices(f.field.values);
  return option;
}

function parserFor(f: CatalogFlag): ((value: string, previous: unknown) => unknown) | null {
  const name = `--${f.flag}`;
  switch (f.field.type) {
    case "integer":
      return intArg(name, f.field.min ?? Number.MIN_SAFE_INTEGER, f.field.max ?? Number.MAX_SAFE_INTEGER);
    case "number":
      return floatArg(name);
    case "boolean":
      return (v) => boolArg(name, v);
    case "columns":
    case "strings":
      return (v, prev) => listArg(v, prev as string[] | undefined);
    case "models":
      return f.name === "model" ? null : (v, prev) => listArg(v, prev as string[] | undefined);
    case "json":
      return (v) => jsonArg(name, v);
    default:
      return null;
  }
}

/** The request's task fields from the parsed options; a flag of another task is a usage error. */
export function requestFields(flags: CatalogFlag[], opts: Record<string, unknown>, task: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of flags) {
    const value = opts[f.attribute];
    if (value === undefined) continue;
    if (!f.tasks.includes(task)) {
      throw userError("invalid_arguments", `--${f.flag} does not apply to --task ${task}`, `--${f.flag} is for: ${f.tasks.join(", ")}.`);
    }
    out[f.name] = value;
  }
  return out;
}

/** `--set normalize=true --set pca_components=0.9`: values are JSON when they parse as JSON, else text. */
export function setArg(value: string, previous: Record<string, unknown> | undefined): Record<string, unknown> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`--set takes NAME=VALUE, got '${value}'.`);
  const key = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1).trim();
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = raw;
  }
  return { ...(previous ?? {}), [key]: parsed };
}

/** `--help` text after the options: each task with its required fields, from the catalog. */
export function tasksHelp(catalog: Catalog): string {
  const lines = ["", "Tasks (from the engine's catalog; `caretflow catalog --task TASK` lists models, metrics and setup options):"];
  for (const t of catalog.tasks) {
    const required = t.fields.filter((f) => f.required).map((f) => `--${f.flag ?? f.name.replaceAll("_", "-")} ${valuePlaceholder(f)}`);
    lines.push(`  ${t.task.padEnd(18)} ${t.description}${required.length ? `\n  ${"".padEnd(18)} needs ${required.join(" ")}` : ""}`);
  }
  return lines.join("\n");
}

function valuePlaceholder(field: CatalogField): string {
  switch (field.type) {
    case "column":
      return "<column>";
    case "columns":
      return "<columns>";
    case "models":
      return field.name === "model" ? "<model>" : "<models>";
    case "metric":
      return "<metric>";
    case "integer":
      return "<n>";
    case "number":
      return "<x>";
    case "boolean":
      return "<true|false>";
    case "json":
      return "<json>";
    default:
      return "<value>";
  }
}

function boolArg(name: string, v: string): boolean {
  if (/^(true|yes|1)$/i.test(v)) return true;
  if (/^(false|no|0)$/i.test(v)) return false;
  throw new InvalidArgumentError(`${name} must be true or false, got '${v}'.`);
}

function jsonArg(name: string, v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    throw new InvalidArgumentError(`${name} must be JSON, e.g. '[{"name": "mae", "expression": "mean(abs(y_true - y_pred))"}]'.`);
  }
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function isEmptyList(v: unknown): boolean {
  return Array.isArray(v) && v.length === 0;
}

function show(v: unknown): string {
  return Array.isArray(v) ? v.join(",") : String(v);
}
