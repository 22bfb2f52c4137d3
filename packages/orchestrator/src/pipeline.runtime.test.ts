import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PipelineSpec, type PipelineStepRun, validatePipeline } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { cacheKey, type PipelineRunStore, resolveReferences, runParams, runPipeline } from "./pipeline.runtime.ts";
import { StepFailure, type StepHandler, type StepHandlers, type StepRunContext } from "./pipeline.steps.ts";

const workRoot = mkdtempSync(join(tmpdir(), "cf-runtime-"));
const RUN = { id: "run1", project: "default", pipeline: "p", startedAt: "2026-12-02T00:00:00.000Z", createdBy: "ann" };

function spec(yaml: string): PipelineSpec {
  const r = validatePipeline(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

class MemoryStore implements PipelineRunStore {
  saved: PipelineStepRun[] = [];
  states = new Map<string, Record<string, unknown> | null>();
  logs = new Map<string, string[]>();
  cache = new Map<string, { runId: string; outputs: Record<string, unknown> }>();
  async saveStep(step: PipelineStepRun, state: Record<string, unknown> | null) {
    this.saved.push(step);
    this.states.set(step.id, state);
  }
  async findCached(stepId: string, key: string) {
    return this.cache.get(`${stepId}:${key}`) ?? null;
  }
  log(stepId: string, line: string) {
    this.logs.set(stepId, [...(this.logs.get(stepId) ?? []), line]);
  }
  logPath(stepId: string) {
    return join(workRoot, `${stepId}.log`);
  }
  /** The statuses a step went through, without repeats. */
  trail(id: string): string[] {
    return this.saved
      .filter((s) => s.id === id)
      .map((s) => s.status)
      .filter((s, i, a) => a[i - 1] !== s);
  }
}

/** A handler answering what `fn` answers, recording each call. */
function handler(
  fn: (ctx: StepRunContext) => Promise<Record<string, unknown>> | Record<string, unknown>,
  extra: Partial<StepHandler> = {},
) {
  const calls: StepRunContext[] = [];
  const h: StepHandler = {
    run: async (ctx) => {
      calls.push(ctx);
      return await fn(ctx);
    },
    ...extra,
  };
  return { h, calls };
}

function run(
  s: PipelineSpec,
  handlers: StepHandlers,
  opts: {
    store?: MemoryStore;
    params?: Record<string, string | number | boolean>;
    force?: boolean;
    signal?: AbortSignal;
    maxParallel?: number;
    steps?: PipelineStepRun[];
    states?: Record<string, Record<string, unknown> | null>;
    sleeps?: number[];
  } = {},
) {
  const store = opts.store ?? new MemoryStore();
  const result = runPipeline(
    { run: RUN, spec: s, params: opts.params ?? {}, force: opts.force ?? false, steps: opts.steps, states: opts.states },
    {
      handlers,
      store,
      workRoot,
      signal: opts.signal ?? new AbortController().signal,
      maxParallel: opts.maxParallel,
      sleep: async (ms) => {
        opts.sleeps?.push(ms);
      },
    },
  );
  return { store, result };
}

const CHAIN = spec(`
version: 1
name: p
params:
  n: { type: number, default: 3 }
  label: { type: string, default: x }
steps:
  - id: a
    type: custom
    with: { language: python, code: a, args: ["\${{ params.label }}-\${{ run.id }}"] }
  - id: b
    type: set_alias
    needs: [a]
    with: { model: m, version: "\${{ steps.a.outputs.output }}", alias: champion }
  - id: c
    type: notify
    needs: [a]
    with: { url: "http://hooks.example/\${{ steps.a.outputs.output }}" }
`);

describe("runPipeline", () => {
  it("runs steps after their needs and passes outputs through references, typed", async () => {
    const order: string[] = [];
    const a = handler((ctx) => {
      order.push("a");
      return { output: (ctx.inputs.args as string[]).length + 6 };
    });
    const b = handler(() => {
      order.push("b");
      return {};
    });
    const c = handler(() => {
      order.push("c");
      return {};
    });
    const { result, store } = run(CHAIN, { custom: a.h, set_alias: b.h, notify: c.h }, { params: { label: "L" } });
    const r = await result;
    expect(r.status).toBe("succeeded");
    expect(order[0]).toBe("a");
    expect(a.calls[0]!.inputs.args).toEqual(["L-run1"]);
    expect(b.calls[0]!.inputs.version).toBe(7);
    expect(c.calls[0]!.inputs.url).toBe("http://hooks.example/7");
    expect(store.trail("b")).toEqual(["running", "succeeded"]);
    expect(r.steps.map((s) => s.attempts.length)).toEqual([1, 1, 1]);
  });

  it("runs independent steps at the same time, up to the limit", async () => {
    const s = spec(`
version: 1
name: p
steps:
  - { id: a, type: notify, with: { url: "http://h/a" } }
  - { id: b, type: notify, with: { url: "http://h/b" } }
  - { id: c, type: notify, with: { url: "http://h/c" } }
`);
    const peak = async (maxParallel: number) => {
      let now = 0;
      let max = 0;
      const h = handler(async () => {
        max = Math.max(max, ++now);
        await new Promise((r) => setTimeout(r, 30));
        now--;
        return {};
      });
      await run(s, { notify: h.h }, { maxParallel }).result;
      return max;
    };
    expect(await peak(4)).toBe(3);
    expect(await peak(2)).toBe(2);
    expect(await peak(1)).toBe(1);
  });

  it("skips a step whose if is false and the steps that need it; a failure skips its dependents but not other branches", async () => {
    const s = spec(`
version: 1
name: p
params: { go: { type: boolean, default: false } }
steps:
  - { id: a, type: notify, with: { url: "http://h/a" }, if: "\${{ params.go }}" }
  - { id: b, type: notify, needs: [a], with: { url: "http://h/b" } }
  - { id: c, type: set_alias, with: { model: m, version: 1, alias: x } }
  - { id: d, type: notify, needs: [c], with: { url: "http://h/d" } }
  - { id: e, type: notify, with: { url: "http://h/e" } }
`);
    const notify = handler(() => ({}));
    const bad = handler(() => {
      throw new StepFailure("model_not_found", "model m does not exist", { hint: "register it first" });
    });
    const r = await run(s, { notify: notify.h, set_alias: bad.h }).result;
    const by = Object.fromEntries(r.steps.map((x) => [x.id, x]));
    expect(by.a!.status).toBe("skipped");
    expect(by.a!.error?.name).toBe("condition_false");
    expect(by.b!.status).toBe("skipped");
    expect(by.b!.error?.name).toBe("upstream_skipped");
    expect(by.c!.status).toBe("failed");
    expect(by.c!.error).toMatchObject({ name: "model_not_found", hint: "register it first" });
    expect(by.d!.status).toBe("skipped");
    expect(by.d!.error?.name).toBe("upstream_failed");
    expect(by.e!.status).toBe("succeeded");
    expect(r.status).toBe("failed");
    expect(r.error?.message).toContain("step 'c' failed: model m does not exist");
    expect(notify.calls.map((c) => c.step.id)).toEqual(["e"]);
  });

  it("retries transient failures with backoff and gives up on others unless retry.on is any", async () => {
    const s = (on: string) =>
      spec(`
version: 1
name: p
steps:
  - id: a
    type: notify
    with: { url: "http://h/a" }
    retry: { count: 3, backoff_seconds: 10, factor: 2, on: [${on}] }
`);
    let n = 0;
    const flaky = handler(() => {
      if (++n < 3) throw new StepFailure("webhook_unreachable", `try ${n} failed`, { transient: true });
      return {};
    });
    const sleeps: number[] = [];
    const r = await run(s("transient"), { notify: flaky.h }, { sleeps }).result;
    expect(r.status).toBe("succeeded");
    expect(sleeps).toEqual([10_000, 20_000]);
    expect(r.steps[0]!.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, "failed"],
      [2, "failed"],
      [3, "succeeded"],
    ]);
    expect(flaky.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);

    const permanent = handler(() => {
      throw new StepFailure("bad_url", "no such host");
    });
    const once = await run(s("transient"), { notify: permanent.h }).result;
    expect(once.steps[0]!.attempts).toHaveLength(1);
    expect(once.steps[0]!.error?.name).toBe("bad_url");
    const any = await run(s("any"), { notify: permanent.h }).result;
    expect(any.steps[0]!.attempts).toHaveLength(4);
    expect(any.status).toBe("failed");
  });

  it("stops a step that runs past its timeout", async () => {
    const s = spec(`
version: 1
name: p
steps:
  - { id: a, type: notify, with: { url: "http://h/a" }, timeout: 1s }
`);
    let aborted: unknown;
    const slow = handler(
      (ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => {
            aborted = ctx.signal.reason;
            reject(ctx.signal.reason);
          }),
        ),
    );
    const t0 = Date.now();
    const r = await run(s, { notify: slow.h }).result;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(r.steps[0]!.status).toBe("failed");
    expect(r.steps[0]!.error?.name).toBe("step_timed_out");
    expect((aborted as StepFailure).code).toBe("step_timed_out");
  });

  it("cancelling stops the running step and starts no other", async () => {
    const ac = new AbortController();
    let started!: () => void;
    const isRunning = new Promise<void>((r) => (started = r));
    const a = handler(
      (ctx) =>
        new Promise((_, reject) => {
          started();
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
        }),
    );
    const other = handler(() => ({}));
    const { result } = run(CHAIN, { custom: a.h, set_alias: other.h, notify: other.h }, { signal: ac.signal });
    await isRunning;
    ac.abort();
    const r = await result;
    expect(r.status).toBe("cancelled");
    expect(r.steps.map((x) => x.status)).toEqual(["cancelled", "cancelled", "cancelled"]);
    expect(r.steps[0]!.attempts[0]!.status).toBe("cancelled");
    expect(other.calls).toHaveLength(0);
  });

  it("reuses a cached result for equal inputs and code unless forced", async () => {
    const s = spec(`
version: 1
name: p
params: { x: { type: string, default: one } }
steps:
  - { id: a, type: custom, with: { language: python, code: "\${{ params.x }}" } }
`);
    let code = "print(1)";
    const h = handler(() => ({ output: 42 }), { cacheable: true, fingerprint: async () => code });
    const store = new MemoryStore();
    const first = await run(s, { custom: h.h }, { store }).result;
    const key = first.steps[0]!.cacheKey!;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    store.cache.set(`a:${key}`, { runId: "run0", outputs: { output: 41 } });
    const second = await run(s, { custom: h.h }, { store }).result;
    expect(second.steps[0]).toMatchObject({ status: "succeeded", reusedFrom: "run0", outputs: { output: 41 }, attempts: [] });
    expect(h.calls).toHaveLength(1);
    expect(store.logs.get("a")!.some((l) => l.includes("reused the result of run run0"))).toBe(true);
    const forced = await run(s, { custom: h.h }, { store, force: true }).result;
    expect(forced.steps[0]!.reusedFrom).toBeNull();
    expect(h.calls).toHaveLength(2);
    const otherParam = await run(s, { custom: h.h }, { store, params: { x: "two" } }).result;
    expect(otherParam.steps[0]!.cacheKey).not.toBe(key);
    code = "print(2)";
    const otherCode = await run(s, { custom: h.h }, { store }).result;
    expect(otherCode.steps[0]!.cacheKey).not.toBe(key);
    expect(h.calls).toHaveLength(4);
  });

  it("resumes: steps given as succeeded are kept, the rest run; a restarted attempt gets its saved state", async () => {
    const a = handler(() => ({ output: 1 }));
    const b = handler((ctx) => ({ seen: ctx.state }));
    const c = handler(() => ({}));
    const reused: PipelineStepRun = {
      id: "a",
      type: "custom",
      status: "succeeded",
      inputs: {},
      outputs: { output: 5 },
      attempts: [],
      error: null,
      cacheKey: null,
      reusedFrom: "run0",
      jobId: null,
      startedAt: null,
      finishedAt: null,
    };
    const runningB: PipelineStepRun = {
      ...reused,
      id: "b",
      type: "set_alias",
      status: "running",
      outputs: {},
      reusedFrom: null,
      attempts: [{ attempt: 2, status: "running", startedAt: RUN.startedAt, finishedAt: null, error: null }],
    };
    const r = await run(CHAIN, { custom: a.h, set_alias: b.h, notify: c.h }, { steps: [reused, runningB], states: { b: { jobId: "j9" } } })
      .result;
    expect(r.status).toBe("succeeded");
    expect(a.calls).toHaveLength(0);
    expect(b.calls[0]!.attempt).toBe(2);
    expect(b.calls[0]!.state).toEqual({ jobId: "j9" });
    expect(b.calls[0]!.inputs.version).toBe(5);
    expect(r.steps[1]!.attempts).toHaveLength(1);
    expect(r.steps[0]!.reusedFrom).toBe("run0");
  });

  it("fails a step whose resolved inputs do not fit its type, naming the field", async () => {
    const a = handler(() => ({ output: "not a number" }));
    const b = handler(() => ({}));
    const r = await run(CHAIN, { custom: a.h, set_alias: b.h, notify: b.h }).result;
    const step = r.steps.find((s) => s.id === "b")!;
    expect(step.status).toBe("failed");
    expect(step.error?.name).toBe("bad_input");
    expect(step.error?.message).toContain("version");
    expect(step.error?.message).toContain('"not a number"');
  });

  it("saves handler state so a restart can follow the same work, and records the job id", async () => {
    const store = new MemoryStore();
    const a = handler(async (ctx) => {
      await ctx.saveState({ jobId: "job-7" });
      return { output: 1 };
    });
    const other = handler(() => ({}));
    const r = await run(CHAIN, { custom: a.h, set_alias: other.h, notify: other.h }, { store }).result;
    expect(r.steps[0]!.jobId).toBe("job-7");
    expect(store.states.get("a")).toEqual({ jobId: "job-7" });
  });
});

describe("params and references", () => {
  it("fills defaults, refuses unknown, mistyped and missing params", () => {
    const s = spec(`
version: 1
name: p
params:
  a: { type: number, default: 1 }
  b: { type: string }
steps: [{ id: x, type: notify, with: { url: "http://h" } }]
`);
    expect(runParams(s, { b: "k" })).toEqual({ a: 1, b: "k" });
    expect(() => runParams(s, { b: "k", c: 1 })).toThrow(/no param 'c'/);
    expect(() => runParams(s, { a: "1", b: "k" })).toThrow(/param 'a' is a number/);
    expect(() => runParams(s, {})).toThrow(/param 'b' has no default/);
  });

  it("keeps a whole reference's type and writes others into text", () => {
    const ref = (expr: string) => `\${{ ${expr} }}`;
    const scope = { params: { n: 3, f: false }, run: RUN, steps: new Map() };
    expect(resolveReferences({ a: ref("params.n"), b: `n=${ref("params.n")} ${ref("run.id")}`, c: [ref("params.f")] }, scope)).toEqual({
      a: 3,
      b: "n=3 run1",
      c: [false],
    });
    expect(() => resolveReferences(ref("steps.x.outputs.y"), scope)).toThrow(/step 'x' has not succeeded/);
  });

  it("cache keys ignore key order and change with any input", () => {
    expect(cacheKey("t", { a: 1, b: { c: 2, d: 3 } }, null)).toBe(cacheKey("t", { b: { d: 3, c: 2 }, a: 1 }, null));
    expect(cacheKey("t", { a: 1 }, null)).not.toBe(cacheKey("t", { a: 2 }, null));
    expect(cacheKey("t", { a: 1 }, "x")).not.toBe(cacheKey("t", { a: 1 }, "y"));
    expect(cacheKey("t", { a: 1 }, null)).not.toBe(cacheKey("u", { a: 1 }, null));
  });
});
