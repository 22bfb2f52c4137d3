import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StepFailure, type StepRunContext } from "@caretflow/orchestrator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defaultRepoRoot } from "../../start.ts";
import { type CustomStepDeps, customStep, enginePython } from "./custom.step.ts";
import { stepContext, stepFailure } from "./step.test-support.ts";

/** Real processes: the engine's Python and the repository's tsx, each in a temporary work folder. */
const python = enginePython(defaultRepoRoot());
const SECRETS = {
  CARETFLOW_SECRET_TEST: "s3cret-of-the-parent",
  AWS_SECRET_ACCESS_KEY: "aws-not-for-code",
  MLFLOW_TRACKING_PASSWORD: "mlflow-pw",
};

const files = new Map<string, string>();
const deps: CustomStepDeps = { python, readFile: async (_run, path) => files.get(path) ?? null, graceMs: 500 };
const handler = customStep(deps);

let root: string;
beforeAll(async () => {
  if (!existsSync(python)) throw new Error(`the engine's Python environment is missing (${python}); run README's install command first`);
  root = await mkdtemp(join(tmpdir(), "caretflow-custom-step-"));
  Object.assign(process.env, SECRETS);
});
afterAll(async () => {
  for (const name of Object.keys(SECRETS)) delete process.env[name];
  await rm(root, { recursive: true, force: true });
});
afterEach(() => files.clear());

let n = 0;
async function context(
  inputs: Record<string, unknown>,
  opts: { memoryMb?: number; cores?: number } = {},
): Promise<StepRunContext & { lines: string[]; controller: AbortController }> {
  const workDir = await mkdtemp(join(root, `attempt-${++n}-`));
  return stepContext({
    type: "custom",
    id: "score",
    inputs,
    workDir,
    attempt: 2,
    run: { project: "default", startedAt: "2025-01-02T03:04:05.000Z", createdBy: null },
    resources: { memoryMb: opts.memoryMb ?? null, cores: opts.cores ?? null },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForLine(lines: string[], text: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!lines.includes(text)) {
    if (Date.now() > deadline) throw new Error(`no line "${text}" in the log: ${lines.join(" | ")}`);
    await sleep(50);
  }
}

/** Whether a process runs (a zombie waiting to be reaped counts as gone). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

const PY_HAPPY = `
import json, os, sys
with open(os.environ["CARETFLOW_INPUTS"]) as f:
    given = json.load(f)
print("hello from python")
print("a warning", file=sys.stderr)
with open(os.environ["CARETFLOW_OUTPUT"], "w") as f:
    json.dump({"argv": sys.argv[1:], "given": given, "cwd": os.getcwd(), "total": sum(int(a) for a in sys.argv[2:])}, f)
`;

describe("custom step: python", () => {
  it("runs the code with its args and inputs.json, logs its output and answers output.json", async () => {
    const ctx = await context({ language: "python", code: PY_HAPPY, args: ["sum", "2", 40] });
    const out = (await handler.run(ctx)) as { output: Record<string, unknown> };
    expect(out.output.argv).toEqual(["sum", "2", "40"]);
    expect(out.output.total).toBe(42);
    expect(out.output.cwd).toBe(ctx.workDir);
    expect(out.output.given).toEqual({
      version: 1,
      args: ["sum", "2", "40"],
      inputs: { language: "python", args: ["sum", "2", "40"] },
      run: { id: "run-1", pipeline: "nightly", project: "default", startedAt: "2025-01-02T03:04:05.000Z" },
      step: { id: "score", attempt: 2 },
    });
    expect(ctx.lines).toContain("hello from python");
    expect(ctx.lines).toContain("a warning");
  });

  it("answers a null output when the code writes no output.json", async () => {
    const ctx = await context({ language: "python", code: "print('nothing to say')" });
    expect(await handler.run(ctx)).toEqual({ output: null });
    expect(ctx.lines).toContain("nothing to say");
  });

  it("runs the code of a pipeline file, and its fingerprint follows the file's text", async () => {
    files.set("scripts/score.py", `import json, os\njson.dump({"from": "file"}, open(os.environ["CARETFLOW_OUTPUT"], "w"))\n`);
    const inputs = { language: "python", file: "scripts/score.py" };
    const ctx = await context(inputs);
    expect(await handler.run(ctx)).toEqual({ output: { from: "file" } });
    const sha = (t: string) => createHash("sha256").update(t).digest("hex");
    expect(await handler.fingerprint?.(inputs, ctx.run)).toBe(sha(files.get("scripts/score.py")!));
    files.set("scripts/score.py", "print('changed')\n");
    expect(await handler.fingerprint?.(inputs, ctx.run)).toBe(sha("print('changed')\n"));
    expect(await handler.fingerprint?.({ language: "python", code: "print(1)" }, ctx.run)).toBe(sha("print(1)"));
    expect(handler.cacheable).toBe(true);
  });

  it("fails clearly when the file is not among the pipeline's files", async () => {
    const ctx = await context({ language: "python", file: "scripts/missing.py" });
    const err = await stepFailure(handler.run(ctx));
    expect(err.code).toBe("custom_file_missing");
    expect(err.message).toContain("scripts/missing.py");
    expect(err.hint).toContain("apply the pipeline again");
    expect((await stepFailure(handler.fingerprint!(ctx.inputs, ctx.run))).code).toBe("custom_file_missing");
  });

  it("fails with the exit code and the last lines of output when the code exits non-zero", async () => {
    const ctx = await context({ language: "python", code: "import sys\nprint('step 1 done')\nraise SystemExit('the data is empty')" });
    const err = await stepFailure(handler.run(ctx));
    expect(err.code).toBe("custom_failed");
    expect(err.transient).toBe(false);
    expect(err.message).toContain("exited with code 1");
    expect(err.message).toContain("step 1 done");
    expect(err.message).toContain("the data is empty");
    expect(err.hint).toContain("step log");
  });

  it("fails when output.json is not JSON", async () => {
    const ctx = await context({ language: "python", code: "import os\nopen(os.environ['CARETFLOW_OUTPUT'], 'w').write('{not json')" });
    const err = await stepFailure(handler.run(ctx));
    expect(err.code).toBe("custom_bad_output");
    expect(err.message).toContain("not valid JSON");
  });

  it("fails when output.json is larger than allowed", async () => {
    const ctx = await context({
      language: "python",
      code: "import os, json\njson.dump('x' * 2_000_000, open(os.environ['CARETFLOW_OUTPUT'], 'w'))",
    });
    expect((await stepFailure(handler.run(ctx))).code).toBe("custom_output_too_large");
  });

  it("sees none of caretflow's environment: only its own variables", async () => {
    const code = "import json, os\njson.dump(dict(os.environ), open(os.environ['CARETFLOW_OUTPUT'], 'w'))";
    const ctx = await context({ language: "python", code }, { cores: 2 });
    const env = (await handler.run(ctx)).output as Record<string, string>;
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(process.env[name]).toBe(value);
      expect(env[name]).toBeUndefined();
      expect(JSON.stringify(env)).not.toContain(value);
    }
    const allowed = /^(PATH|LANG|TZ|LC_.*|HOME|TMPDIR|CARETFLOW_(INPUTS|OUTPUT|RUN_ID|STEP_ID)|(OMP|OPENBLAS|MKL)_NUM_THREADS)$/;
    // Python itself adds LC_CTYPE when it coerces a C locale.
    expect(Object.keys(env).filter((k) => !allowed.test(k))).toEqual([]);
    expect(env).toMatchObject({
      HOME: ctx.workDir,
      TMPDIR: ctx.workDir,
      CARETFLOW_INPUTS: join(ctx.workDir, "inputs.json"),
      CARETFLOW_OUTPUT: join(ctx.workDir, "output.json"),
      CARETFLOW_RUN_ID: "run-1",
      CARETFLOW_STEP_ID: "score",
      OMP_NUM_THREADS: "2",
    });
  });

  it("stops code that uses more memory than the step's limit", async () => {
    const ctx = await context(
      { language: "python", code: "print('allocating')\nblock = bytearray(600 * 1024 * 1024)\nprint('done')" },
      { memoryMb: 256 },
    );
    const err = await stepFailure(handler.run(ctx));
    expect(err.code).toBe("custom_out_of_memory");
    expect(err.message).toContain("256 MB");
    expect(err.message).toContain("MemoryError");
    expect(err.hint).toContain("resources.memory");
    expect(ctx.lines).not.toContain("done");
  });

  it("kills the whole process tree when the step is cancelled or times out", async () => {
    const code = `
import os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
open("pids", "w").write(f"{os.getpid()} {child.pid}")
print("ready", flush=True)
time.sleep(300)
`;
    const ctx = await context({ language: "python", code });
    const running$ = handler.run(ctx);
    await waitForLine(ctx.lines, "ready");
    const pids = (await readFile(join(ctx.workDir, "pids"), "utf8")).split(" ").map(Number);
    expect(await running(pids[0]!)).toBe(true);
    expect(await running(pids[1]!)).toBe(true);
    const timeout = new StepFailure("step_timeout", "the step took longer than its timeout (1s)");
    ctx.controller.abort(timeout);
    expect(await stepFailure(running$)).toBe(timeout);
    for (const pid of pids) expect(await running(pid)).toBe(false);
  });

  it("kills code that ignores SIGTERM once the grace period is over", async () => {
    const code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(300)";
    const ctx = await context({ language: "python", code });
    const running$ = handler.run(ctx);
    await waitForLine(ctx.lines, "ready");
    const started = Date.now();
    ctx.controller.abort(new StepFailure("cancelled", "the run was cancelled"));
    expect((await stepFailure(running$)).code).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("leaves no process behind when the code exits but started one in the background", async () => {
    const code = "import os, subprocess\nchild = subprocess.Popen(['sleep', '300'])\nopen('pid', 'w').write(str(child.pid))";
    const ctx = await context({ language: "python", code });
    expect(await handler.run(ctx)).toEqual({ output: null });
    const pid = Number(await readFile(join(ctx.workDir, "pid"), "utf8"));
    expect(await running(pid)).toBe(false);
  });

  it("runs the example of docs/pipelines.md", async () => {
    const docs = await readFile(join(defaultRepoRoot(), "docs", "pipelines.md"), "utf8");
    const section = docs.slice(docs.indexOf("### Custom steps"));
    const code = /```python\n([\s\S]*?)```/.exec(section)?.[1];
    if (code === undefined) throw new Error("docs/pipelines.md has no Python example under Custom steps");
    const ctx = await context({ language: "python", code, args: ["--fast"] });
    expect(await handler.run(ctx)).toEqual({ output: { rows: 1200, ok: true } });
    expect(ctx.lines).toContain("scoring for run run-1 with ['--fast']");
  });

  it("does not start when the step was already cancelled", async () => {
    const ctx = await context({ language: "python", code: "open('started', 'w').write('yes')" });
    ctx.controller.abort(new StepFailure("cancelled", "the run was cancelled"));
    expect((await stepFailure(handler.run(ctx))).code).toBe("cancelled");
    expect(existsSync(join(ctx.workDir, "started"))).toBe(false);
  });
});

const TS_HAPPY = `
import { readFileSync, writeFileSync } from "node:fs";
interface Given { args: string[]; run: { id: string }; step: { id: string; attempt: number } }
const given: Given = JSON.parse(readFileSync(process.env.CARETFLOW_INPUTS!, "utf8"));
const rows: number = await Promise.resolve(process.argv.slice(2).length);
console.log("hello from typescript");
console.error("a typescript warning");
writeFileSync(process.env.CARETFLOW_OUTPUT!, JSON.stringify({ argv: process.argv.slice(2), rows, run: given.run.id, step: given.step }));
`;

describe("custom step: typescript", () => {
  it("runs TypeScript (types, imports, top-level await) with its args and inputs", { timeout: 30_000 }, async () => {
    const ctx = await context({ language: "typescript", code: TS_HAPPY, args: ["--rows", "10"] });
    expect(await handler.run(ctx)).toEqual({
      output: { argv: ["--rows", "10"], rows: 2, run: "run-1", step: { id: "score", attempt: 2 } },
    });
    expect(ctx.lines).toContain("hello from typescript");
    expect(ctx.lines).toContain("a typescript warning");
  });

  it("fails with the exit code when the code throws", { timeout: 30_000 }, async () => {
    const ctx = await context({ language: "typescript", code: `throw new Error("no rows to score");` });
    const err = await stepFailure(handler.run(ctx));
    expect(err.code).toBe("custom_failed");
    expect(err.message).toContain("exited with code 1");
    expect(err.message).toContain("no rows to score");
  });

  it("stops code that uses more memory than the step's limit", { timeout: 30_000 }, async () => {
    const code = "const kept: number[][] = [];\nfor (;;) kept.push(new Array(1_000_000).fill(1.5));";
    const ctx = await context({ language: "typescript", code }, { memoryMb: 256 });
    const err = await stepFailure(handler.run(ctx));
    expect(err.code).toBe("custom_out_of_memory");
    expect(err.message).toContain("256 MB");
    expect(err.message).toContain("JavaScript heap out of memory");
  });
});
