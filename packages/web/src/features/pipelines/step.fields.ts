import { STEP_TYPES, type StepType, WHOLE_REFERENCE } from "@caretflow/contracts";
import { z } from "zod";

/**
 * The step form is generated from the step type's `with` schema in the contracts (the same zod schema that
 * validates the file), so a new input or step type shows up in the builder without UI code.
 */

/** How an input is edited: one line of text, several lines, a number, a choice, a list (one per line), JSON. */
export type FieldKind = "text" | "multiline" | "number" | "boolean" | "enum" | "list" | "json";

/** Where the suggestions of a text input come from: the project's datasets, connections, models, or the chosen dataset's columns. */
export type FieldSource = "dataset" | "connection" | "model" | "column";

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
  description: string;
  /** The choices of an enum input. */
  options: string[];
  /** The value used when the input is left out, as text. */
  defaultText: string | null;
  source: FieldSource | null;
}

const MULTILINE = new Set(["sql", "code", "query", "message"]);
const SOURCES: Record<string, FieldSource> = {
  dataset: "dataset",
  output: "dataset",
  connection: "connection",
  model: "model",
  target: "column",
};

function unwrap(schema: z.ZodType): { inner: z.ZodType; defaultValue: unknown } {
  let s = schema;
  let defaultValue: unknown;
  for (;;) {
    if (s instanceof z.ZodDefault) {
      defaultValue = s.def.defaultValue;
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else return { inner: s, defaultValue };
  }
}

function kindOf(name: string, s: z.ZodType): { kind: FieldKind; options: string[] } {
  if (s instanceof z.ZodUnion) {
    // refOr(x): the value's own schema first, a reference second
    return kindOf(name, s.options[0] as z.ZodType);
  }
  if (s instanceof z.ZodNumber) return { kind: "number", options: [] };
  if (s instanceof z.ZodBoolean) return { kind: "boolean", options: [] };
  if (s instanceof z.ZodEnum) return { kind: "enum", options: s.options.map(String) };
  if (s instanceof z.ZodArray) return { kind: "list", options: [] };
  if (s instanceof z.ZodRecord || s instanceof z.ZodObject) return { kind: "json", options: [] };
  return { kind: MULTILINE.has(name) ? "multiline" : "text", options: [] };
}

/** The form fields of a step type's inputs, in the order of its schema. */
export function stepFields(type: StepType): FieldSpec[] {
  const shape = STEP_TYPES[type].with.shape as Record<string, z.ZodType>;
  return Object.entries(shape).map(([name, schema]) => {
    const { inner, defaultValue } = unwrap(schema);
    const { kind, options } = kindOf(name, inner);
    return {
      name,
      kind,
      required: !schema.safeParse(undefined).success,
      description: schema.description ?? inner.description ?? "",
      options,
      defaultText: defaultValue === undefined ? null : formatValue(kind, defaultValue),
      source: SOURCES[name] ?? null,
    };
  });
}

/** A value of the file as the text its input shows. */
export function formatValue(kind: FieldKind, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (kind === "list" && Array.isArray(value)) return value.map(String).join("\n");
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value, null, 2);
}

/**
 * The text of an input as the value written to the file: empty text leaves the input out; a number input
 * gives a number when the text is one; a list gives one item per line; JSON gives its value. Anything
 * else (a `${{ ... }}` reference, a typo) stays text, and validation says what is wrong with it.
 */
export function parseValue(kind: FieldKind, text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  if (WHOLE_REFERENCE.test(trimmed) && kind !== "multiline") return trimmed;
  switch (kind) {
    case "number":
      return parseNumber(trimmed);
    case "boolean":
      return trimmed === "true" ? true : trimmed === "false" ? false : trimmed;
    case "list":
      return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
    case "json":
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        return trimmed;
      }
    case "text":
    case "enum":
      return trimmed;
    case "multiline":
      return text.replace(/\s+$/, "");
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/** A number input's text as a number when it is one; other text is kept for validation to name; empty text is undefined. */
export function parseNumber(text: string): number | string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t;
}
