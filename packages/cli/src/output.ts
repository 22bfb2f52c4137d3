import { CaretflowError } from "@caretflow/contracts";
import type { CliContext } from "./context.ts";

/** How a command reports: one JSON document on stdout with --json, else text; notes always on stderr. */
export interface Output {
  readonly json: boolean;
  /** The command's result. With --json, `value` is the one document printed. */
  result(value: unknown, human: () => string): void;
  /** Progress and remarks for a person; stderr, so stdout stays parseable. */
  note(text: string): void;
}

export function createOutput(ctx: Pick<CliContext, "stdout" | "stderr">, json: boolean): Output {
  return {
    json,
    result(value, human) {
      if (json) ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else {
        const text = human();
        if (text !== "") ctx.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
      }
    },
    note(text) {
      ctx.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
    },
  };
}

/** "error: ...\nhint: ..." for a person. */
export function formatError(err: unknown): string {
  if (err instanceof CaretflowError) {
    return `error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ""}\n`;
  }
  const e = err as Error;
  return `error: ${e?.message ?? String(err)}\nhint: this looks like a bug in caretflow; please report it with the command you ran\n${e?.stack ?? ""}\n`;
}

/** The same error as the one JSON document of a --json run, in the API's error shape. */
export function errorDocument(err: unknown): { error: { code: string; kind: string; message: string; hint?: string } } {
  if (err instanceof CaretflowError) {
    return { error: { code: err.code, kind: err.kind, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } };
  }
  return { error: { code: "internal", kind: "bug", message: (err as Error)?.message ?? String(err) } };
}
