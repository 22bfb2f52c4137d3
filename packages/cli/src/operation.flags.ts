import { Operation } from "@caretflow/contracts";
import { InvalidArgumentError, Option } from "commander";
import type { z } from "zod";
import { floatArg, intArg, listArg } from "./common.ts";

/**
 * `caretflow runs <operation>` flags, read from the zod `Operation` union of the contracts: one
 * subcommand per member, one flag per field, typed, with the field's description as help. A field
 * added to an operation in the contracts becomes a flag here without touching the CLI.
 */
export type OperationId = Operation["op"];

/** Command names people type, where the operation id is long. */
const COMMAND_NAMES: Partial<Record<OperationId, string>> = { optimize_threshold: "threshold" };
/** Flag names that read better than the field's (a record is given one entry per flag). */
const FLAG_NAMES: Record<string, string> = { custom_grid: "grid", params: "param" };

type FieldKind =
  | { kind: "string" }
  | { kind: "enum"; values: string[] }
  | { kind: "integer"; min: number; max: number }
  | { kind: "number" }
  | { kind: "boolean" }
  /** a list of run ids, sent as [{run_id}] */
  | { kind: "runs"; key: string }
  /** NAME=VALUE, repeatable; VALUE is JSON when it parses as JSON */
  | { kind: "entries" }
  /** NAME=V1,V2,..., repeatable; each value is JSON when it parses as JSON */
  | { kind: "lists" };

export interface OperationFlag {
  /** the field of the operation */
  name: string;
  /** the flag as typed, without dashes */
  flag: string;
  /** commander's attribute name for it */
  attribute: string;
  help: string;
  required: boolean;
  default: unknown;
  type: FieldKind;
}

export interface OperationCommand {
  op: OperationId;
  command: string;
  flags: OperationFlag[];
}

// The zod 4 introspection this file needs (def.type, wrappers' innerType, enum options, number bounds).
interface Inspectable {
  def: { type: string; innerType?: Inspectable; defaultValue?: unknown; element?: Inspectable; valueType?: Inspectable };
  description?: string;
  options?: unknown[];
  shape?: Record<string, Inspectable>;
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
}

/** Every operation as a command with its flags, in the contract's order. */
export function operationCommands(): OperationCommand[] {
  return Operation.options.map((member) => {
    const shape = (member as unknown as Inspectable).shape ?? {};
    const op = (member.shape.op as z.ZodLiteral<OperationId>).value;
    const flags = Object.entries(shape)
      .filter(([name]) => name !== "op")
      .map(([name, schema]) => flagFor(op, name, schema));
    return { op, command: COMMAND_NAMES[op] ?? op, flags };
  });
}

function flagFor(op: string, name: string, schema: Inspectable): OperationFlag {
  let inner = schema;
  let required = true;
  let dflt: unknown;
  let help = schema.description;
  while (inner.def.type === "default" || inner.def.type === "optional") {
    required = false;
    if (inner.def.type === "default") dflt = inner.def.defaultValue;
    inner = inner.def.innerType as Inspectable;
    help ??= inner.description;
  }
  const flag = FLAG_NAMES[name] ?? name.replaceAll("_", "-");
  return {
    name,
    flag,
    attribute: flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
    help: help ?? name.replaceAll("_", " "),
    required,
    default: dflt,
    type: kindOf(op, name, inner),
  };
}

function kindOf(op: string, name: string, s: Inspectable): FieldKind {
  switch (s.def.type) {
    case "string":
      return { kind: "string" };
    case "enum":
      return { kind: "enum", values: (s.options ?? []).map(String) };
    case "number":
      return s.isInt
        ? { kind: "integer", min: s.minValue ?? Number.MIN_SAFE_INTEGER, max: s.maxValue ?? Number.MAX_SAFE_INTEGER }
        : { kind: "number" };
    case "boolean":
      return { kind: "boolean" };
    case "array": {
      const keys = Object.keys(s.def.element?.shape ?? {});
      if (keys.length === 1) return { kind: "runs", key: keys[0] as string };
      break;
    }
    case "record":
      return s.def.valueType?.def.type === "array" ? { kind: "lists" } : { kind: "entries" };
  }
  // A new field shape in the contracts needs a way to be typed on a command line: fail loudly in tests.
  throw new Error(`caretflow runs ${op}: no flag type for field '${name}' (${s.def.type})`);
}

/** The commander option of a flag. */
export function operationOption(f: OperationFlag): Option {
  const placeholder = placeholderOf(f.type);
  const shown = f.default !== undefined && !isEmpty(f.default) ? ` (default ${String(f.default)})` : "";
  const option = new Option(`--${f.flag}${placeholder ? ` ${placeholder}` : ""}`, `${f.help}${shown}`);
  switch (f.type.kind) {
    case "enum":
      option.choices(f.type.values);
      break;
    case "integer":
      option.argParser(intArg(`--${f.flag}`, f.type.min, f.type.max));
      break;
    case "number":
      option.argParser(floatArg(`--${f.flag}`));
      break;
    case "runs":
      option.argParser((v: string, prev: string[] | undefined) => listArg(v, prev));
      break;
    case "entries":
      option.argParser((v: string, prev: Record<string, unknown> | undefined) => entryArg(`--${f.flag}`, v, prev, false));
      break;
    case "lists":
      option.argParser((v: string, prev: Record<string, unknown> | undefined) => entryArg(`--${f.flag}`, v, prev, true));
      break;
    case "string":
    case "boolean":
      break;
    default: {
      const never: never = f.type;
      throw new Error(`unhandled flag type ${JSON.stringify(never)}`);
    }
  }
  if (f.required) option.makeOptionMandatory();
  return option;
}

function placeholderOf(t: FieldKind): string {
  switch (t.kind) {
    case "boolean":
      return "";
    case "integer":
      return "<n>";
    case "number":
      return "<x>";
    case "runs":
      return "<runIds>";
    case "entries":
      return "<name=value>";
    case "lists":
      return "<name=v1,v2>";
    case "enum":
    case "string":
      return "<value>";
    default: {
      const never: never = t;
      return String(never);
    }
  }
}

/** The operation object from parsed options (to be checked against the contract by the caller). */
export function operationFrom(cmd: OperationCommand, opts: Record<string, unknown>): Record<string, unknown> {
  const operation: Record<string, unknown> = { op: cmd.op };
  for (const f of cmd.flags) {
    const value = opts[f.attribute];
    if (value === undefined) continue;
    operation[f.name] = f.type.kind === "runs" ? (value as string[]).map((id) => ({ [(f.type as { key: string }).key]: id })) : value;
  }
  return operation;
}

/** `--param max_depth=3`, `--grid C=0.1,1,10`: values are JSON when they parse as JSON, else text. */
export function entryArg(
  flag: string,
  value: string,
  previous: Record<string, unknown> | undefined,
  list: boolean,
): Record<string, unknown> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`${flag} takes NAME=${list ? "V1,V2,..." : "VALUE"}, got '${value}'.`);
  const key = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1).trim();
  if (list && raw === "") throw new InvalidArgumentError(`${flag} ${key}= needs at least one value.`);
  const parsed = list ? raw.split(",").map((v) => jsonOrText(v.trim())) : jsonOrText(raw);
  return { ...(previous ?? {}), [key]: parsed };
}

function jsonOrText(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function isEmpty(v: unknown): boolean {
  return typeof v === "object" && v !== null && Object.keys(v).length === 0;
}

/** The flag a contract field is typed with, for naming it in errors. */
export function flagNames(cmd: OperationCommand): Record<string, string> {
  return Object.fromEntries(cmd.flags.map((f) => [f.name, `--${f.flag}`]));
}
