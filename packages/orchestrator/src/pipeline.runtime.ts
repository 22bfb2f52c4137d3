import { createHash } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  durationSeconds,
  type ErrorInfo,
  type ParamValue,
  type PipelineRunStatus,
  type PipelineSpec,
  type PipelineStep,
  type PipelineStepRun,
  pendingStep,
  REFERENCE_IN_TEXT,
  STEP_TYPES,
  type StepAttempt,
  WHOLE_REFERENCE,
} from "@caretflow/contracts";
import { errorInfo } from "./executor.ts";
import { StepFailure, type StepHandler, type StepHandlers, type StepRunContext } from "./pipeline.steps.ts";

/**
 * Runs one pipeline run: steps in dependency order, independent ones at the same time up to a limit,
 * each with its `if`, references, retries with backoff, timeout and cache; cancelling stops running
 * steps and starts no more. Every change of a step is handed to the store at once, so a run can be
 * shown live and picked up again after a restart (steps still `running` are run again with the state
 * their handler saved, e.g. the job they follow).
 */

/** Bumped when the runtime's way of running a step changes what a cached result means. */
const CACHE_VERSION = 1;
const DEFAULT_PARALLEL = 4;

export interface PipelineRunStore {
  /** Stores the step as it is now, with the handler's saved state. */
  saveStep(step: PipelineStepRun, state: Record<string, unknown> | null): Promise<void>;
  /** A succeeded step of an earlier run of the same pipeline with this cache key, newest first. */
  findCached(stepId: string, cacheKey: string): Promise<{ runId: string; outputs: Record<string, unknown> } | null>;
  /** Appends a line to the step's log. */
  log(stepId: string, line: string): void;
  /** The step's log file. */
  logPath(stepId: string): string;
}

export interface PipelineRunInput {
  run: StepRunContext["run"];
  spec: PipelineSpec;
  /** The run's params as given; declared defaults fill the rest. */
  params: Record<string, ParamValue>;
  force: boolean;
  /** Steps as stored (a resumed run's reused steps, or a restarted run's progress); the others start pending. */
  steps?: PipelineStepRun[];
  /** Saved handler state by step id (restart). */
  states?: Record<string, Record<string, unknown> | null>;
}

export interface PipelineRuntimeDeps {
  handlers: StepHandlers;
  store: PipelineRunStore;
  /** A folder under which each attempt gets its own work folder. */
  workRoot: string;
  /** Aborted to cancel the run. */
  signal: AbortSignal;
  maxParallel?: number;
  now?: () => Date;
  /** Waits `ms` unless `signal` aborts first (tests pass a fast one). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface PipelineRunResult {
  status: Exclude<PipelineRunStatus, "queued" | "running">;
  steps: PipelineStepRun[];
  error: ErrorInfo | null;
}

/** The run's params: declared defaults, overridden by what the run gives. Unknown or mistyped params are refused. */
export function runParams(spec: PipelineSpec, given: Record<string, ParamValue>): Record<string, ParamValue> {
  const declared = spec.params ?? {};
  const out: Record<string, ParamValue> = {};
  for (const [name, value] of Object.entries(given)) {
    const p = declared[name];
    if (!p) {
      throw new StepFailure("unknown_param", `pipeline ${spec.name} has no param '${name}'`, {
        hint: Object.keys(declared).length ? `its params are: ${Object.keys(declared).join(", ")}` : "it declares no params",
      });
    }
    if (typeof value !== p.type) {
      throw new StepFailure("bad_param", `param '${name}' is a ${p.type} but ${JSON.stringify(value)} was given`, {
        hint: `give a ${p.type}`,
      });
    }
    out[name] = value;
  }
  for (const [name, p] of Object.entries(declared)) {
    if (out[name] !== undefined) continue;
    if (p.default === undefined) {
      throw new StepFailure("missing_param", `param '${name}' has no default and the run gives none`, {
        hint: `give it, e.g. --param ${name}=...`,
      });
    }
    out[name] = p.default;
  }
  return out;
}

interface Scope {
  params: Record<string, ParamValue>;
  run: StepRunContext["run"];
  steps: Map<string, PipelineStepRun>;
}

function evaluate(expr: string, scope: Scope, whole: string): unknown {
  const e = expr.trim();
  if (e === "run.id") return scope.run.id;
  if (e === "run.started_at") return scope.run.startedAt;
  const param = /^params\.(.+)$/.exec(e);
  if (param) {
    const v = scope.params[param[1]!];
    if (v === undefined) throw new StepFailure("unknown_param", `${whole}: the run has no param '${param[1]}'`);
    return v;
  }
  const ref = /^steps\.([^.]+)\.outputs\.([^.]+)$/.exec(e);
  if (ref) {
    const step = scope.steps.get(ref[1]!);
    if (step?.status !== "succeeded") {
      throw new StepFailure("missing_output", `${whole}: step '${ref[1]}' has not succeeded in this run`, {
        hint: "a step may only use outputs of steps it needs",
      });
    }
    if (!(ref[2]! in step.outputs)) {
      throw new StepFailure("missing_output", `${whole}: step '${ref[1]}' gave no output '${ref[2]}'`, {
        hint: `its outputs are: ${Object.keys(step.outputs).join(", ") || "none"}`,
      });
    }
    return step.outputs[ref[2]!];
  }
  throw new StepFailure("bad_reference", `${whole} is not a reference caretflow knows`);
}

/** `value` with every `${{ ... }}` replaced: a whole-string reference keeps its value's type, others become text. */
export function resolveReferences(value: unknown, scope: Scope): unknown {
  if (typeof value === "string") {
    if (WHOLE_REFERENCE.test(value)) return evaluate(value.slice(3, -2), scope, value);
    if (!value.includes("${{")) return value;
    return value.replace(REFERENCE_IN_TEXT, (whole, expr: string) => {
      const v = evaluate(expr, scope, whole);
      return typeof v === "string" ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, scope));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, scope)]));
  }
  return value;
}

/** The cache key of a step: its type, resolved inputs and the facts its handler adds (code, data hashes). */
export function cacheKey(type: string, inputs: Record<string, unknown>, fingerprint: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify(canonical({ v: CACHE_VERSION, type, inputs, fingerprint: fingerprint ?? null })))
    .digest("hex");
}

/** Objects with sorted keys, so equal values serialise equally. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** The error of a failed attempt: a StepFailure or caretflow error keeps its code, hint and whether it is transient. */
export function failureInfo(err: unknown): ErrorInfo {
  if (err instanceof StepFailure) return err.info();
  return errorInfo(err);
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

const TERMINAL = new Set(["succeeded", "failed", "skipped", "cancelled"]);

function memoryMb(m: string | undefined): number | null {
  if (!m) return null;
  const n = Number(m.slice(0, -2));
  return m.endsWith("GB") ? n * 1024 : n;
}

/** Runs the pipeline to its end (or until cancelled) and answers how it ended. */
export async function runPipeline(input: PipelineRunInput, deps: PipelineRuntimeDeps): Promise<PipelineRunResult> {
  const { spec, run } = input;
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? defaultSleep;
  const limit = Math.max(1, deps.maxParallel ?? DEFAULT_PARALLEL);
  const given = new Map((input.steps ?? []).map((s) => [s.id, s]));
  const steps = new Map<string, PipelineStepRun>(spec.steps.map((s) => [s.id, given.get(s.id) ?? pendingStep(s)]));
  const states = new Map(Object.entries(input.states ?? {}));
  const scope: Scope = { params: runParams(spec, input.params), run, steps };
  const running = new Map<string, Promise<void>>();
  const iso = () => now().toISOString();

  const save = (step: PipelineStepRun) =>
    deps.store.saveStep({ ...step, attempts: step.attempts.map((a) => ({ ...a })) }, states.get(step.id) ?? null);
  const finish = async (step: PipelineStepRun, status: PipelineStepRun["status"], error: ErrorInfo | null) => {
    step.status = status;
    step.error = error;
    step.finishedAt = iso();
    await save(step);
  };

  /** Why a pending step cannot run, when one of its needs did not succeed. */
  const blocked = (s: PipelineStep): { status: "skipped" | "cancelled"; error: ErrorInfo } | null => {
    for (const need of s.needs) {
      const n = steps.get(need)!;
      if (n.status === "succeeded") continue;
      if (n.status === "cancelled") return { status: "cancelled", error: info("run_cancelled", `step '${need}' was cancelled`) };
      const why = n.status === "failed" ? "failed" : "was skipped";
      return { status: "skipped", error: info(n.status === "failed" ? "upstream_failed" : "upstream_skipped", `step '${need}' ${why}`) };
    }
    return null;
  };

  const runStep = async (s: PipelineStep): Promise<void> => {
    const step = steps.get(s.id)!;
    const handler = deps.handlers[s.type];
    try {
      if (!handler)
        throw new StepFailure("unsupported_step", `this caretflow cannot run ${s.type} steps`, {
          hint: "remove the step or upgrade caretflow",
        });
      const inputs = parseInputs(s, resolveReferences(s.with, scope) as Record<string, unknown>);
      step.inputs = inputs;
      step.startedAt ??= iso();
      if (handler.cacheable) {
        step.cacheKey = cacheKey(s.type, inputs, handler.fingerprint ? await handler.fingerprint(inputs, run) : null);
        if (!input.force && step.attempts.length === 0) {
          const hit = await deps.store.findCached(s.id, step.cacheKey);
          if (hit) {
            step.outputs = hit.outputs;
            step.reusedFrom = hit.runId;
            deps.store.log(s.id, `reused the result of run ${hit.runId}: same inputs and code (cache key ${step.cacheKey.slice(0, 12)})`);
            return await finish(step, "succeeded", null);
          }
        }
      }
      await attempts(s, step, handler, inputs);
    } catch (err) {
      if (deps.signal.aborted) return await finish(step, "cancelled", info("run_cancelled", "the run was cancelled"));
      const e = failureInfo(err);
      deps.store.log(s.id, `failed: ${e.message}`);
      await finish(step, "failed", e);
    }
  };

  const attempts = async (s: PipelineStep, step: PipelineStepRun, handler: StepHandler, inputs: Record<string, unknown>) => {
    const retry = s.retry;
    const maxAttempts = 1 + (retry?.count ?? 0);
    const timeoutMs = s.timeout ? durationSeconds(s.timeout) * 1000 : null;
    // A restarted run continues the attempt that was under way, with the state its handler saved.
    const last = step.attempts.at(-1);
    let n = last?.status === "running" ? last.attempt : (last?.attempt ?? 0) + 1;
    if (last?.status !== "running") step.attempts.push(newAttempt(n, iso()));
    step.status = "running";
    await save(step);
    for (;;) {
      const attempt = step.attempts.at(-1)!;
      const timer = new AbortController();
      const timeout = timeoutMs === null ? null : setTimeout(() => timer.abort(stepTimedOut(s, timeoutMs)), timeoutMs);
      const signal = AbortSignal.any([deps.signal, timer.signal]);
      const workDir = join(deps.workRoot, run.id, `${s.id}-${n}`);
      deps.store.log(s.id, `attempt ${n} of ${maxAttempts} started`);
      try {
        await mkdir(workDir, { recursive: true });
        const outputs = await raceAbort(
          handler.run({
            run,
            step: {
              id: s.id,
              type: s.type,
              timeoutMs,
              resources: { memoryMb: memoryMb(s.resources?.memory), cores: s.resources?.cores ?? null },
            },
            inputs,
            attempt: n,
            signal,
            log: (line) => deps.store.log(s.id, line),
            logPath: deps.store.logPath(s.id),
            workDir,
            state: states.get(s.id) ?? null,
            saveState: async (state) => {
              states.set(s.id, state);
              if (typeof state.jobId === "string") step.jobId = state.jobId;
              await save(step);
            },
          }),
          signal,
        );
        attempt.status = "succeeded";
        attempt.finishedAt = iso();
        step.outputs = outputs;
        deps.store.log(s.id, `attempt ${n} succeeded`);
        return await finish(step, "succeeded", null);
      } catch (err) {
        const cancelled = deps.signal.aborted;
        const e = cancelled
          ? info("run_cancelled", "the run was cancelled")
          : failureInfo(timer.signal.aborted ? timer.signal.reason : err);
        attempt.status = cancelled ? "cancelled" : "failed";
        attempt.finishedAt = iso();
        attempt.error = e;
        if (cancelled) throw err;
        const retryable = retry && (retry.on.includes("any") || e.transient);
        if (!retryable || n >= maxAttempts) {
          if (retry && !retryable && n < maxAttempts)
            deps.store.log(s.id, `not retried: ${e.name} is not transient (retry.on: [${retry.on.join(", ")}])`);
          throw new StepFailure(e.name, e.message, { hint: e.hint, transient: e.transient });
        }
        const waitMs = retry.backoff_seconds * retry.factor ** (n - 1) * 1000;
        deps.store.log(s.id, `attempt ${n} failed: ${e.message}; retrying in ${(waitMs / 1000).toFixed(1)}s`);
        states.delete(s.id);
        await save(step);
        await sleep(waitMs, deps.signal);
        if (deps.signal.aborted) throw new StepFailure("run_cancelled", "the run was cancelled");
        n += 1;
        step.attempts.push(newAttempt(n, iso()));
        await save(step);
      } finally {
        if (timeout) clearTimeout(timeout);
        await rm(workDir, { recursive: true, force: true }).catch(() => {});
      }
    }
  };

  const cancelPending = async () => {
    for (const step of steps.values()) {
      if (step.status === "pending")
        await finish(step, "cancelled", info("run_cancelled", "the run was cancelled before this step started"));
    }
  };

  for (;;) {
    if (deps.signal.aborted) await cancelPending();
    // Settle what cannot run, then start what is ready, in the spec's order.
    let changed = true;
    while (changed && !deps.signal.aborted) {
      changed = false;
      for (const s of spec.steps) {
        const step = steps.get(s.id)!;
        if (running.has(s.id) || TERMINAL.has(step.status)) continue;
        if (!s.needs.every((n) => TERMINAL.has(steps.get(n)!.status))) continue;
        const stop = blocked(s);
        if (stop) {
          deps.store.log(s.id, `not run: ${stop.error.message}`);
          await finish(step, stop.status, stop.error);
          changed = true;
          continue;
        }
        if (s.if !== undefined) {
          let go: boolean;
          try {
            go = truthy(resolveReferences(s.if, scope), s);
          } catch (err) {
            await finish(step, "failed", failureInfo(err));
            changed = true;
            continue;
          }
          if (!go) {
            deps.store.log(s.id, "skipped: its if was false");
            await finish(step, "skipped", info("condition_false", `its if (${String(s.if)}) was false`));
            changed = true;
            continue;
          }
        }
        if (running.size >= limit) continue;
        const p = runStep(s).finally(() => running.delete(s.id));
        running.set(s.id, p);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (deps.signal.aborted) await cancelPending();

  const all = spec.steps.map((s) => steps.get(s.id)!);
  const failed = all.find((s) => s.status === "failed");
  const status = deps.signal.aborted || all.some((s) => s.status === "cancelled") ? "cancelled" : failed ? "failed" : "succeeded";
  const error =
    status === "cancelled"
      ? info("run_cancelled", "the run was cancelled")
      : failed
        ? { ...failed.error!, message: `step '${failed.id}' failed: ${failed.error?.message ?? ""}` }
        : null;
  return { status, steps: all, error };
}

/**
 * The step's resolved `with`, checked by its type's schema. A whole reference that gave a number or boolean
 * where text is expected (an argument, a name) is written as text, as it would be inside a longer text.
 */
function parseInputs(s: PipelineStep, resolved: Record<string, unknown>): Record<string, unknown> {
  const schema = STEP_TYPES[s.type].with;
  let r = schema.safeParse(resolved);
  for (let i = 0; !r.success && i < 100; i++) {
    const textual = r.error.issues.filter(
      (x) => x.code === "invalid_type" && x.expected === "string" && ["number", "boolean"].includes(typeof valueAt(resolved, x.path)),
    );
    if (textual.length === 0) break;
    for (const x of textual) setAt(resolved, x.path, String(valueAt(resolved, x.path)));
    r = schema.safeParse(resolved);
  }
  if (r.success) return r.data as Record<string, unknown>;
  const issue = r.error.issues[0]!;
  const field = issue.path.join(".") || "with";
  throw new StepFailure(
    "bad_input",
    `step '${s.id}': ${field}: ${issue.message} (after references were resolved: ${JSON.stringify(valueAt(resolved, issue.path))})`,
    {
      hint: "check the values the references gave; the step log and the run's params show them",
    },
  );
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) v = (v as Record<PropertyKey, unknown> | undefined)?.[k];
  return v;
}

function setAt(root: unknown, path: readonly PropertyKey[], value: unknown): void {
  let v = root as Record<PropertyKey, unknown>;
  for (const k of path.slice(0, -1)) v = v[k] as Record<PropertyKey, unknown>;
  v[path.at(-1)!] = value;
}

function truthy(v: unknown, s: PipelineStep): boolean {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new StepFailure("bad_condition", `step '${s.id}': its if gave ${JSON.stringify(v)}, not true or false`, {
    hint: "use a reference to a boolean output or param",
  });
}

function newAttempt(attempt: number, startedAt: string): StepAttempt {
  return { attempt, status: "running", startedAt, finishedAt: null, error: null };
}

function info(name: string, message: string, hint?: string): ErrorInfo {
  return { name, message, transient: false, ...(hint ? { hint } : {}) };
}

function stepTimedOut(s: PipelineStep, ms: number): StepFailure {
  return new StepFailure("step_timed_out", `step '${s.id}' ran longer than its timeout (${s.timeout ?? `${ms} ms`}) and was stopped`, {
    hint: "raise the step's timeout, or give it less work",
    transient: true,
  });
}

/** `work`, or the abort reason as soon as `signal` aborts (a handler that ignores its signal cannot hold the run). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
