import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { StepFailure, type StepHandler, type StepRunContext } from "@caretflow/orchestrator";
import { signalGroup, terminateGroup } from "@caretflow/tracking";
import { z } from "zod";

/**
 * The `custom` step: the user's Python or TypeScript code in a process of its own, in the attempt's work
 * folder, with a memory limit, none of caretflow's environment (so none of its secrets), its inputs in
 * `inputs.json` and its arguments on the command line; what it writes to `output.json` is the step's
 * `output`, and its stdout and stderr are the step log. The contract the code sees is in docs/pipelines.md
 * ("Custom steps").
 */

export interface CustomStepDeps {
  /** The Python interpreter custom Python code runs with: the engine's (`enginePython`), so pandas and the rest are there. */
  python: string;
  /** The text of a code file a step names in `file`, kept with the pipeline's revision; null when there is none. */
  readFile(run: StepRunContext["run"], path: string): Promise<string | null>;
  /** How long the code may take to stop after SIGTERM before it is killed; 5 s by default. */
  graceMs?: number;
}

/** The engine's Python interpreter under the repository root, e.g. enginePython(defaultRepoRoot()). */
export function enginePython(repoRoot: string): string {
  return join(repoRoot, "engine", ".venv", "bin", "python");
}

/** The version of the files the code reads and writes (inputs.json, output.json). */
export const CUSTOM_PROTOCOL_VERSION = 1;
export const DEFAULT_MEMORY_MB = 2048;
/** The largest output.json read back: the output is kept with the run and shown in the UI. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Lines of the code's output quoted in a failure. */
const TAIL_LINES = 10;

const SCRIPT = { python: "main.py", typescript: "main.mts" } as const;

// A whole reference (`${{ steps.x.outputs.version }}`) may stand for a number or a boolean; code gets text.
const Arg = z.unknown().transform((v) => (typeof v === "string" ? v : (JSON.stringify(v) ?? "")));
const CustomInputs = z.object({
  language: z.enum(["python", "typescript"]),
  code: z.string().optional(),
  file: z.string().optional(),
  args: z.array(Arg).default([]),
});
type CustomInputs = z.infer<typeof CustomInputs>;

// Sets the memory limit, then becomes the code's process (same pid, so the limit and the group hold).
// RLIMIT_DATA rather than RLIMIT_AS: Node reserves far more address space than it uses (Wasm, V8's cage)
// and does not start under an address-space limit near the memory it needs.
const LIMIT_WRAPPER =
  "import os, resource, sys\nn = int(sys.argv[1])\nresource.setrlimit(resource.RLIMIT_DATA, (n, n))\nos.execv(sys.argv[2], sys.argv[2:])";

const OUT_OF_MEMORY = /MemoryError|out of memory|Cannot allocate memory|allocation failed|std::bad_alloc/i;

/** The `custom` step handler. */
export function customStep(deps: CustomStepDeps): StepHandler {
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const graceMs = deps.graceMs ?? 5000;

  async function codeOf(inputs: CustomInputs, run: StepRunContext["run"]): Promise<string> {
    if (inputs.code !== undefined) return inputs.code;
    if (inputs.file === undefined)
      throw new StepFailure("custom_no_code", "the custom step has neither code nor file", { hint: "give the step `code` or `file`" });
    const text = await deps.readFile(run, inputs.file);
    if (text === null) {
      throw new StepFailure("custom_file_missing", `the custom step's file ${inputs.file} is not among the pipeline's files`, {
        hint: "keep the file next to the pipeline file (its path relative to it) and apply the pipeline again so the file is sent with it",
      });
    }
    return text;
  }

  return {
    cacheable: true,
    async fingerprint(inputs, run) {
      const code = await codeOf(parseInputs(inputs), run);
      return createHash("sha256").update(code).digest("hex");
    },
    async run(ctx) {
      const inputs = parseInputs(ctx.inputs);
      const code = await codeOf(inputs, ctx.run);
      const dir = ctx.workDir;
      const script = SCRIPT[inputs.language];
      const files = { inputs: join(dir, "inputs.json"), output: join(dir, "output.json") };
      await writeFile(join(dir, script), code);
      await writeFile(
        files.inputs,
        `${JSON.stringify(
          {
            version: CUSTOM_PROTOCOL_VERSION,
            args: inputs.args,
            inputs: { language: inputs.language, ...(inputs.file !== undefined ? { file: inputs.file } : {}), args: inputs.args },
            run: { id: ctx.run.id, pipeline: ctx.run.pipeline, project: ctx.run.project, startedAt: ctx.run.startedAt },
            step: { id: ctx.step.id, attempt: ctx.attempt },
          },
          null,
          2,
        )}\n`,
      );

      const memoryMb = ctx.step.resources.memoryMb ?? DEFAULT_MEMORY_MB;
      const command =
        inputs.language === "python"
          ? [deps.python, "-I", "-u", script]
          : // Node's heap stays under the limit with room for its native memory, so a heap overflow is reported as such.
            [process.execPath, `--max-old-space-size=${Math.max(16, Math.floor(memoryMb * 0.75))}`, "--import", tsxLoader, script];
      const what = `the custom step's ${inputs.language === "python" ? "Python" : "TypeScript"} code`;
      ctx.log(`running ${script} (${inputs.language}) with ${inputs.args.length} argument(s), memory limit ${memoryMb} MB`);

      // Node prints its out-of-memory error well before the end of its output (a native stack follows).
      let memoryLine: string | null = null;
      const result = await runGroup({
        argv: [deps.python, "-I", "-S", "-c", LIMIT_WRAPPER, String(memoryMb * 1024 * 1024), ...command, ...inputs.args],
        cwd: dir,
        env: customEnv(process.env, ctx, files),
        signal: ctx.signal,
        log: (line) => {
          if (memoryLine === null && OUT_OF_MEMORY.test(line)) memoryLine = line;
          ctx.log(line);
        },
        graceMs,
      });

      if (ctx.signal.aborted) {
        const reason: unknown = ctx.signal.reason;
        if (reason instanceof StepFailure) throw reason;
        throw new StepFailure("cancelled", `${what} was stopped`);
      }
      if (result.code !== 0) throw exitFailure(what, result, memoryMb, memoryLine);
      return { output: await readOutput(files.output) };
    },
  };
}

function parseInputs(raw: Record<string, unknown>): CustomInputs {
  const parsed = CustomInputs.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StepFailure(
      "custom_bad_inputs",
      `the custom step's inputs are not valid: ${issue?.path.join(".") || "with"}: ${issue?.message}`,
      {
        hint: "check the step with `caretflow pipelines validate`",
      },
    );
  }
  return parsed.data;
}

/**
 * The code's environment: the system's path, locale and time zone, its own home and temporary folder,
 * and where its files are. Nothing else of caretflow's environment (its secrets, tokens, cloud keys).
 */
export function customEnv(
  parent: Readonly<Record<string, string | undefined>>,
  ctx: Pick<StepRunContext, "run" | "step" | "workDir">,
  files: { inputs: string; output: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && (name === "PATH" || name === "LANG" || name === "TZ" || name.startsWith("LC_"))) env[name] = value;
  }
  const cores = ctx.step.resources.cores;
  // Numeric libraries start a thread per core of the machine unless told the step's share.
  const threads: Record<string, string> = cores
    ? { OMP_NUM_THREADS: String(cores), OPENBLAS_NUM_THREADS: String(cores), MKL_NUM_THREADS: String(cores) }
    : {};
  return {
    ...env,
    ...threads,
    HOME: ctx.workDir,
    TMPDIR: ctx.workDir,
    CARETFLOW_INPUTS: files.inputs,
    CARETFLOW_OUTPUT: files.output,
    CARETFLOW_RUN_ID: ctx.run.id,
    CARETFLOW_STEP_ID: ctx.step.id,
  };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of stdout and stderr. */
  tail: string[];
}

/**
 * Runs argv as the leader of a new process group, sending each line of its output to `log`. When `signal`
 * aborts, the group gets SIGTERM and, after `graceMs`, SIGKILL; when the leader exits, whatever it left
 * behind in its group is killed too, so nothing outlives the step.
 */
async function runGroup(opts: {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  log(line: string): void;
  graceMs: number;
}): Promise<Exit> {
  const tail: string[] = [];
  if (opts.signal.aborted) return { code: null, signal: null, tail };
  const [cmd, ...args] = opts.argv as [string, ...string[]];
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", reject);
  });
  const streams = [child.stdout, child.stderr].map((input) => {
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on("line", (line) => {
      opts.log(line);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    });
    return once(lines, "close");
  });

  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    if (child.pid === undefined) return;
    signalGroup(child.pid, "SIGTERM");
    const pid = child.pid;
    killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), opts.graceMs);
  };
  opts.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const { code, signal } = await exited.catch((err: NodeJS.ErrnoException) => {
      throw new StepFailure("custom_start_failed", `the custom step's process could not start (${cmd}): ${err.message}`, {
        hint: "check that the engine's Python environment is installed (README's install command)",
      });
    });
    return { code, signal, tail };
  } finally {
    opts.signal.removeEventListener("abort", onAbort);
    clearTimeout(killTimer);
    // Whatever the code left running in its group ends with it.
    if (child.pid !== undefined) await terminateGroup(child.pid, 0);
    // The pipes close once no process of the group holds them; the last lines are logged before returning.
    await Promise.race([Promise.all(streams), new Promise((r) => setTimeout(r, 2000))]);
  }
}

function exitFailure(what: string, exit: Exit, memoryMb: number, memoryLine: string | null): StepFailure {
  const how = exit.code !== null ? `exited with code ${exit.code}` : `was stopped by ${exit.signal ?? "a signal"}`;
  const lines = exit.tail.map((l) => (l.length > 500 ? `${l.slice(0, 500)}…` : l)).join("\n");
  const quoted = lines ? `; last lines of its output:\n${lines}` : " without any output";
  // SIGKILL that caretflow did not send is how the system stops a process when memory runs out.
  if (exit.signal === "SIGKILL" || memoryLine !== null) {
    const said = memoryLine !== null && !exit.tail.includes(memoryLine) ? ` (${memoryLine.trim()})` : "";
    return new StepFailure("custom_out_of_memory", `${what} ran out of memory (the limit is ${memoryMb} MB)${said} and ${how}${quoted}`, {
      hint: "raise the step's resources.memory (e.g. memory: 4GB) or make the code use less memory; the step log has its whole output",
    });
  }
  return new StepFailure("custom_failed", `${what} ${how}${quoted}`, { hint: "see the step log for the code's whole output" });
}

/** What the code wrote to output.json: parsed JSON, or null when it wrote nothing. */
async function readOutput(path: string): Promise<unknown> {
  const info = await stat(path).catch(() => null);
  if (info === null) return null;
  if (!info.isFile()) {
    throw new StepFailure("custom_bad_output", "the custom step's output.json is not a file", {
      hint: "write the output as JSON to the file named by CARETFLOW_OUTPUT",
    });
  }
  if (info.size > MAX_OUTPUT_BYTES) {
    throw new StepFailure(
      "custom_output_too_large",
      `the custom step's output.json has ${info.size} bytes, more than the ${MAX_OUTPUT_BYTES} allowed`,
      {
        hint: "write large results to a dataset or an artifact and put only their names or a summary in the output",
      },
    );
  }
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new StepFailure("custom_bad_output", `the custom step's output.json is not valid JSON: ${(err as Error).message}`, {
      hint: "write the output with json.dump (Python) or JSON.stringify (TypeScript) to the file named by CARETFLOW_OUTPUT",
    });
  }
}
