import { CaretflowError, ErrorInfo, Explanation } from "@caretflow/contracts";
import { z } from "zod";

/** Lines the `caretflow_engine serve` process writes on fd 4. */
export const ServeReady = z.object({ ready: z.literal(true) });

export const ServeAnswer = z.discriminatedUnion("ok", [
  z.object({ id: z.number().int().nullable(), ok: z.literal(true) }).catchall(z.unknown()),
  z.object({
    id: z.number().int().nullable(),
    ok: z.literal(false),
    error: ErrorInfo.partial({ transient: true }).required({ name: true, message: true }),
  }),
]);
export type ServeAnswer = z.infer<typeof ServeAnswer>;

/** One row of predictions; its columns depend on the model's task (see the catalog's predictionColumns). */
export const ServePrediction = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
export type ServePrediction = z.infer<typeof ServePrediction>;

export const PredictAnswer = z.object({
  columns: z.array(z.string()),
  predictions: z.array(ServePrediction),
  aligned: z
    .boolean()
    .optional()
    .describe("true: one prediction per input row, in order; false: one per group (a transaction, a forecast period)"),
  explanations: z.array(Explanation).optional(),
});
export type PredictAnswer = z.infer<typeof PredictAnswer>;

/** Parses one line from a scoring process; null (with the reason) when it is neither ready nor an answer. */
export function parseServeLine(line: string): { ready: true } | { answer: ServeAnswer } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { problem: `not JSON: ${line.slice(0, 200)}` };
  }
  if (ServeReady.safeParse(value).success) return { ready: true };
  const a = ServeAnswer.safeParse(value);
  return a.success ? { answer: a.data } : { problem: `not a scoring answer: ${line.slice(0, 200)}` };
}

/** snake_case code from an engine error name: MissingFeatureColumns -> missing_feature_columns. */
export function errorCode(name: string): string {
  return (
    name
      .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
      .replace(/[^A-Za-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .toLowerCase() || "scoring_error"
  );
}

/**
 * A scoring error as caretflow's vocabulary: a permanent one is the caller's
 * (bad rows, a model that fails its hash check), a transient one is operational.
 */
export function scoringError(e: {
  name: string;
  message: string;
  hint?: string | undefined;
  transient?: boolean | undefined;
}): CaretflowError {
  const transient = e.transient === true;
  return new CaretflowError({
    code: errorCode(e.name),
    kind: transient ? "operational" : "user",
    status: transient ? 503 : 400,
    message: e.message,
    ...(e.hint ? { hint: e.hint } : transient ? { hint: "retry in a few seconds" } : {}),
  });
}

/** A predict answer checked: its shape, and one prediction per row where the model answers per row. */
export function checkedPredictAnswer(answer: ServeAnswer, rows: number, perRow: (a: PredictAnswer) => boolean): PredictAnswer {
  if (!answer.ok) throw scoringError(answer.error);
  const parsed = PredictAnswer.safeParse(answer);
  if (!parsed.success || (perRow(parsed.data) && parsed.data.predictions.length !== rows)) {
    throw new CaretflowError({
      code: "scoring_bad_answer",
      kind: "bug",
      message: `the scoring process answered ${rows} rows with something unexpected`,
      hint: "report this with the model reference",
    });
  }
  return parsed.data;
}
