import { join } from "node:path";
import { StepFailure, type StepRunContext } from "@caretflow/orchestrator";

/**
 * A step attempt's context as the runtime would give it, for handler tests: the log's lines are kept in
 * `lines`, and `controller` aborts the attempt (cancel or timeout).
 */
export function stepContext(o: {
  type: StepRunContext["step"]["type"];
  inputs: Record<string, unknown>;
  workDir: string;
  id?: string;
  run?: Partial<StepRunContext["run"]>;
  attempt?: number;
  resources?: Partial<StepRunContext["step"]["resources"]>;
  signal?: AbortSignal;
}): StepRunContext & { lines: string[]; controller: AbortController } {
  const controller = new AbortController();
  const lines: string[] = [];
  return {
    run: { id: "run-1", project: "alpha", pipeline: "nightly", startedAt: "2026-12-02T01:00:00.000Z", createdBy: "alice", ...o.run },
    step: { id: o.id ?? o.type, type: o.type, timeoutMs: null, resources: { memoryMb: null, cores: null, ...o.resources } },
    inputs: o.inputs,
    attempt: o.attempt ?? 1,
    signal: o.signal ?? controller.signal,
    log: (line) => lines.push(line),
    logPath: join(o.workDir, "step.log"),
    workDir: o.workDir,
    state: null,
    saveState: async () => {},
    lines,
    controller,
  };
}

/** The StepFailure `p` rejects with; anything else fails the test. */
export async function stepFailure(p: Promise<unknown>): Promise<StepFailure> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof StepFailure)) throw new Error(`expected a StepFailure, got ${String(err)}`);
  return err;
}
