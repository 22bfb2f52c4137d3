import { z } from "zod";

/**
 * Rules for input caretflow refuses, shared by the server, the CLI and the web UI: names that
 * point somewhere else (paths, URIs, encoded traversal), text with control or invisible
 * characters, template syntax in names, and the spreadsheet-formula neutralisation of exports.
 */

/** Characters that make a spreadsheet run a cell as a formula when they start it. */
export const FORMULA_TRIGGERS = ["=", "+", "-", "@", "\t", "\r"] as const;

/**
 * A text cell made safe for CSV and Excel: a cell starting with a formula trigger gets a leading
 * single quote. Only text is neutralised; numbers (-1.5) are written as numbers by the callers.
 * @example neutralizeFormula("=HYPERLINK(\"http://x\")") // "'=HYPERLINK(\"http://x\")"
 */
export function neutralizeFormula(text: string): string {
  return text.length > 0 && (FORMULA_TRIGGERS as readonly string[]).includes(text[0]!) ? `'${text}` : text;
}

/** Control characters, and the invisible format characters (bidi overrides, zero-width) that disguise text. */
const CONTROL_OR_INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
/** Template syntax of the common engines (Jinja, Mustache, JS template literals). */
const TEMPLATE_SYNTAX = /\{\{|\}\}|\{%|%\}|\$\{/;

/**
 * A value as sent and each layer of its percent-encoding decoded, up to three times (double and triple
 * encoding), stopping at the first value that is no longer encoded or not valid encoding.
 */
export function decodeLayers(value: string): string[] {
  const layers = [value];
  let current = value;
  for (let i = 0; i < 3 && current.includes("%"); i++) {
    try {
      const next = decodeURIComponent(current);
      if (next === current) break;
      layers.push(next);
      current = next;
    } catch {
      break;
    }
  }
  return layers;
}

/**
 * Why a value that should name one plain thing (a file name, an experiment) or, with `nested`, a
 * relative path inside one folder (an artifact), points somewhere else; null when it does not.
 * Refused, in the value as sent or once to three times percent-decoded: a URI scheme (file://,
 * dbfs:/, http:), an absolute, home or drive path, a `.` or `..` segment, an empty segment, a
 * backslash, a NUL, control or invisible character, and (unless nested) any '/'.
 * @example locationTrick("..%252f..%252fetc") // "it climbs out of its folder with '..'"
 */
export function locationTrick(value: string, opts: { nested?: boolean } = {}): string | null {
  for (const v of decodeLayers(value)) {
    if (CONTROL_OR_INVISIBLE.test(v)) return "it contains a control or invisible character";
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(v)) return "it is a URI or drive path (file:, dbfs:, C:)";
    if (v.startsWith("/") || v.startsWith("~")) return "it is an absolute or home path";
    if (v.includes("\\")) return "it contains a backslash";
    const segments = v.split("/");
    if (segments.some((s) => s === ".." || s === ".")) return "it climbs out of its folder with '..' or '.'";
    if (!opts.nested && segments.length > 1) return "it contains a '/'";
    if (segments.some((s) => s === "")) return "it has an empty path segment";
  }
  return null;
}

/** Why free text is refused (control or invisible characters; line breaks and tabs are text), or null. */
export function textTrick(value: string): string | null {
  return CONTROL_OR_INVISIBLE.test(value.replace(/[\n\t]/g, " ")) ? "it contains a control or invisible character" : null;
}

/**
 * An upload's file name: a plain name of at most 255 characters, no folders, URIs, traversal or
 * control characters (only its extension is used, but it is stored and shown).
 */
export const UploadFilename = z
  .string()
  .min(1, "the file has no name")
  .max(255, "a file name has at most 255 characters")
  .superRefine((v, ctx) => {
    const why = locationTrick(v);
    if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a plain file name: ${why}` });
  });

/**
 * An MLflow experiment name: letters, digits, space and `_ . - + @ ( )`, starting with a letter or
 * digit, at most 200 characters: no paths, URIs, look-alike letters, control characters or templates.
 */
export const ExperimentName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 _.+@()-]*$/, "use letters, digits, spaces and '_ . - + @ ( )', starting with a letter or digit")
  .refine((v) => !v.includes(".."), "an experiment name does not contain '..'");

/** A short label chosen by a person (an API token's name): printable ASCII, no template syntax. */
export const Label = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\x20-\x7e]+$/, "use printable ASCII characters (letters, digits, spaces, punctuation)")
  // biome-ignore lint/suspicious/noTemplateCurlyInString: names template syntax, not a template
  .refine((v) => !TEMPLATE_SYNTAX.test(v), "a label does not contain template syntax ({{ }}, {% %} or ${ })");

/** Free text such as a description: any language, line breaks and tabs, but no other control or invisible characters. */
export const Description = z
  .string()
  .max(2000)
  .refine((v) => textTrick(v) === null, "a description has no control or invisible characters (bidi overrides, zero-width)");
