import { EngineEvent, userError } from "@caretflow/contracts";
import { z } from "zod";

/**
 * What the warm worker itself says on its out channel, next to the job
 * events it relays (see docs/engine-protocol.md). Tagged by `worker`.
 */
export const WorkerMessage = z.discriminatedUnion("worker", [
  z.object({ worker: z.literal("ready"), pid: z.number().int(), versions: z.record(z.string(), z.string()).default({}) }),
  z.object({
    worker: z.literal("exit"),
    job_id: z.string(),
    pid: z.number().int(),
    code: z.number().int().nullable(),
    signal: z.number().int().nullable(),
    /** Peak memory of the job's processes (PSS), in MB. */
    peak_mb: z.number().optional(),
    /** "memory": the worker stopped the job for going over its memory limit. */
    reason: z.literal("memory").optional(),
    limit_mb: z.number().optional(),
  }),
  z.object({ worker: z.literal("rejected"), job_id: z.string().nullable(), reason: z.string() }),
  z.object({ worker: z.literal("error"), message: z.string() }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;

/** Longest line accepted from the engine; a leaderboard row is a few hundred bytes. */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;

/**
 * Parses one line of the worker's out channel into an engine event or a
 * worker message. Throws a CaretflowError describing the problem; the host
 * logs it as a warning and carries on (a bad line never stops a job).
 */
export function parseEngineLine(line: string): EngineEvent | WorkerMessage {
  if (line.length > MAX_LINE_CHARS) throw userError("engine_line_too_long", `engine line of ${line.length} characters ignored`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw userError("engine_line_not_json", `engine line is not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw userError("engine_line_not_object", `engine line is not a JSON object: ${line.slice(0, 200)}`);
  }
  const schema = "worker" in value ? WorkerMessage : EngineEvent;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw userError(
      "engine_line_invalid",
      `engine line does not match the protocol (${issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid"}): ${line.slice(0, 200)}`,
    );
  }
  return parsed.data;
}

export function isWorkerMessage(m: EngineEvent | WorkerMessage): m is WorkerMessage {
  return "worker" in m;
}
