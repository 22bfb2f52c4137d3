import { Operation, type OperationId } from "@caretflow/contracts";

/**
 * Forms for operations on a run's model (tune, ensemble, blend...), derived from the contracts' `Operation`
 * schema: each key of an operation becomes a field typed by its zod type, with its default, bounds and
 * description. A few keys name a metric, a model or other runs; those get pickers instead of text boxes.
 */

export type OpFieldKind = "enum" | "integer" | "number" | "boolean" | "string" | "metric" | "model" | "runs" | "json";

export interface OpField {
  name: string;
  kind: OpFieldKind;
  required: boolean;
  default?: unknown;
  values?: string[];
  min?: number;
  max?: number;
  help: string;
}

interface ZodLike {
  def: { type: string; innerType?: ZodLike; defaultValue?: unknown; element?: ZodLike };
  description?: string;
  options?: string[];
  isInt?: boolean;
  minValue?: number | null;
  maxValue?: number | null;
  shape?: Record<string, ZodLike>;
}

/** Keys whose value is a metric name or a model id of the run's task, or other runs (ModelSource objects). */
const PICKERS: Record<string, OpFieldKind> = { optimize: "metric", model: "model", meta_model: "model" };

function member(op: OperationId): Record<string, ZodLike> | null {
  for (const o of Operation.options) if (o.shape.op.safeParse(op).success) return o.shape as unknown as Record<string, ZodLike>;
  return null;
}

/** Whether the contracts define this operation as a run operation (compare is a training mode, not one). */
export function isRunOperation(op: OperationId): boolean {
  return member(op) !== null;
}

export function operationFields(op: OperationId): OpField[] {
  const shape = member(op);
  if (!shape) return [];
  const out: OpField[] = [];
  for (const [name, schema] of Object.entries(shape)) {
    if (name === "op") continue;
    let inner = schema;
    let required = true;
    let dflt: unknown;
    while (inner.def.type === "default" || inner.def.type === "optional") {
      if (inner.def.type === "default") dflt = inner.def.defaultValue;
      required = false;
      inner = inner.def.innerType as ZodLike;
    }
    const help = schema.description ?? inner.description ?? "";
    const field: OpField = { name, kind: "string", required, help, ...(dflt === undefined ? {} : { default: dflt }) };
    switch (inner.def.type) {
      case "enum":
        field.kind = "enum";
        field.values = inner.options ?? [];
        break;
      case "number":
        field.kind = inner.isInt ? "integer" : "number";
        if (typeof inner.minValue === "number" && Number.isFinite(inner.minValue)) field.min = inner.minValue;
        if (typeof inner.maxValue === "number" && Number.isFinite(inner.maxValue)) field.max = inner.maxValue;
        break;
      case "boolean":
        field.kind = "boolean";
        break;
      case "array":
        field.kind = inner.def.element?.def.type === "object" && inner.def.element.shape?.run_id ? "runs" : "json";
        break;
      case "record":
        field.kind = "json";
        break;
      default:
        field.kind = PICKERS[name] ?? "string";
    }
    out.push(field);
  }
  return out;
}

export type OpInput = string | boolean | string[];

/** What an untouched operation field shows: its default, as the control holds it. */
export function initialOpInputs(fields: readonly OpField[]): Record<string, OpInput> {
  return Object.fromEntries(
    fields.map((f) => {
      if (f.kind === "boolean") return [f.name, f.default === true];
      if (f.kind === "runs") return [f.name, []];
      if (f.kind === "json")
        return [
          f.name,
          f.default === undefined || (typeof f.default === "object" && f.default !== null && Object.keys(f.default).length === 0)
            ? ""
            : JSON.stringify(f.default),
        ];
      return [f.name, f.default === undefined || f.default === null ? "" : String(f.default)];
    }),
  );
}

/** The Operation to POST, or what to fix per field; the contracts' schema has the last word. */
export function toOperation(
  op: OperationId,
  fields: readonly OpField[],
  inputs: Record<string, OpInput>,
): { ok: true; operation: Operation } | { ok: false; errors: Record<string, string> } {
  const body: Record<string, unknown> = { op };
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const input = inputs[f.name];
    if (f.kind === "boolean") {
      body[f.name] = input === true;
      continue;
    }
    if (f.kind === "runs") {
      const ids = Array.isArray(input) ? input : [];
      if (ids.length > 0) body[f.name] = ids.map((run_id) => ({ run_id }));
      else if (f.required) errors[f.name] = "Pick at least one other run.";
      continue;
    }
    const text = typeof input === "string" ? input.trim() : "";
    if (text === "") {
      if (f.required) errors[f.name] = "Required.";
      continue;
    }
    if (f.kind === "integer" || f.kind === "number") {
      const n = Number(text);
      if (!Number.isFinite(n) || (f.kind === "integer" && !Number.isInteger(n)))
        errors[f.name] = f.kind === "integer" ? "Use a whole number." : "Use a number.";
      else body[f.name] = n;
    } else if (f.kind === "json") {
      try {
        body[f.name] = JSON.parse(text);
      } catch (err) {
        errors[f.name] = `This is not valid JSON: ${(err as Error).message}`;
      }
    } else {
      body[f.name] = text;
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const parsed = Operation.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, errors: { [String(issue?.path[0] ?? "op")]: issue?.message ?? "Invalid value." } };
  }
  return { ok: true, operation: parsed.data };
}

/** "optimize_threshold" → "Optimize threshold". */
export function operationLabel(op: string): string {
  const words = op.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "n_estimators" → "N estimators", "with" → "With runs". */
export function opFieldLabel(f: OpField): string {
  const words = f.name.replace(/_/g, " ");
  const label = words.charAt(0).toUpperCase() + words.slice(1);
  return f.kind === "runs" ? `${label} runs` : label;
}
