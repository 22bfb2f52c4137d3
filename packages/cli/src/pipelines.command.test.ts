import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PipelineRun, type PipelineStepRun, pendingStep, validatePipeline } from "@caretflow/contracts";
import { afterAll, describe, expect, it } from "vitest";
import type { CliContext } from "./context.ts";
import { codeFiles, paramArg, typedParams } from "./pipelines.flags.ts";
import { describeStep, describeTrigger, formatDuration, formatRun, formatRuns, runErrors, runLine, stepChanges } from "./pipelines.view.ts";
import { runCli } from "./program.ts";

const dir = mkdtempSync(join(tmpdir(), "caretflow-pipelines-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function testContext() {
  const out = { stdout: "", stderr: "" };
  const ctx: CliContext = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env: {},
    cwd: dir,
    userHome: "/nonexistent-home",
    fetch: () => Promise.reject(new Error("validate needs no server")),
    onInterrupt: () => () => {},
    now: () => 0,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    loadServer: () => Promise.reject(new Error("not in this test")),
  };
  return { ctx, out };
}

const GOOD = `version: 1
name: retrain
steps:
  - id: import
    type: import
    with: { dataset: sales, file: sales.csv }
  - id: train
    type: train
    needs: [import]
    with: { dataset: sales, task: regression, target: amount }
  - id: ping
    type: notify
    needs: [import]
    with: { url: https://hooks.example.com/x }
`;

const BAD = `version: 1
name: retrain
steps:
  - id: train
    type: tarin
    with: { dataset: sales }
  - id: ping
    type: notify
    needs: [trian]
    with: { url: https://hooks.example.com/x }
`;

writeFileSync(join(dir, "good.yaml"), GOOD);
writeFileSync(join(dir, "bad.yaml"), BAD);

describe("caretflow pipelines validate", () => {
  it("reports a valid pipeline with its stages, exit 0", async () => {
    const t = testContext();
    expect(await runCli(["pipelines", "validate", "good.yaml"], t.ctx)).toBe(0);
    expect(t.out.stdout).toBe("good.yaml is a valid pipeline: 3 steps in 2 stages\n  1. import\n  2. ping, train\n");
    expect(t.out.stderr).toBe("");
  });

  it("prints each error as FILE:LINE:COL  code  message on stderr, exit 1", async () => {
    const t = testContext();
    expect(await runCli(["pipelines", "validate", "bad.yaml"], t.ctx)).toBe(1);
    expect(t.out.stdout).toBe("");
    const lines = t.out.stderr.split("\n");
    expect(lines[0]).toMatch(/^bad\.yaml:5:5 {2}unknown_step_type {2}'tarin' is not a step type\. Did you mean 'train'\?/);
    expect(lines[1]).toMatch(/^bad\.yaml:9:13 {2}unknown_dependency {2}step 'ping' needs 'trian'.*Did you mean 'train'\?/);
    expect(t.out.stderr).toContain("bad.yaml: 2 errors\n");
  });

  it("--json prints one document { valid, errors, order }", async () => {
    const good = testContext();
    expect(await runCli(["pipelines", "validate", "good.yaml", "--json"], good.ctx)).toBe(0);
    expect(JSON.parse(good.out.stdout)).toEqual({ valid: true, errors: [], order: [["import"], ["ping", "train"]] });

    const bad = testContext();
    expect(await runCli(["pipelines", "validate", join(dir, "bad.yaml"), "--json"], bad.ctx)).toBe(1);
    const doc = JSON.parse(bad.out.stdout);
    expect(doc.valid).toBe(false);
    expect(doc.order).toEqual([]);
    expect(doc.errors.map((e: { code: string; line: number; step: string }) => [e.code, e.line, e.step])).toEqual([
      ["unknown_step_type", 5, "train"],
      ["unknown_dependency", 9, "ping"],
    ]);
    expect(bad.out.stderr).toBe("");
  });

  it("says clearly when the file is missing", async () => {
    const t = testContext();
    expect(await runCli(["pipelines", "validate", "nope.yaml"], t.ctx)).toBe(1);
    expect(t.out.stderr).toBe("error: nope.yaml does not exist\nhint: give the path of a pipeline's YAML file\n");
    const j = testContext();
    expect(await runCli(["pipelines", "validate", dir, "--json"], j.ctx)).toBe(1);
    expect(JSON.parse(j.out.stdout).error.code).toBe("not_a_file");
  });

  it("is listed under caretflow pipelines", async () => {
    const t = testContext();
    expect(await runCli(["pipelines", "--help"], t.ctx)).toBe(0);
    expect(t.out.stdout).toMatch(/validate \[options\] <file>/);
  });
});

// ---------------------------------------------------------------- apply and run: checked before the server is asked

describe("caretflow pipelines apply, refused before the server is asked", () => {
  it("prints a file's errors as validate does and sends nothing", async () => {
    const t = testContext();
    expect(await runCli(["pipelines", "apply", "bad.yaml"], t.ctx)).toBe(1);
    expect(t.out.stdout).toBe("");
    expect(t.out.stderr).toMatch(/^bad\.yaml:5:5 {2}unknown_step_type /);
    expect(t.out.stderr).toContain("bad.yaml: 2 errors\n");
    expect(t.out.stderr).not.toContain("validate needs no server");

    const j = testContext();
    expect(await runCli(["pipelines", "apply", "bad.yaml", "--json"], j.ctx)).toBe(1);
    expect(JSON.parse(j.out.stdout)).toMatchObject({
      valid: false,
      errors: [{ code: "unknown_step_type" }, { code: "unknown_dependency" }],
    });
  });

  it("refuses a custom step's file outside the pipeline's folder, naming the step", async () => {
    writeFileSync(join(dir, "escape.yaml"), customPipeline("../secrets.py"));
    const t = testContext();
    expect(await runCli(["pipelines", "apply", "escape.yaml"], t.ctx)).toBe(1);
    expect(t.out.stderr).toBe(
      "error: step code: file '../secrets.py' is outside the folder of escape.yaml\n" +
        "hint: move the code next to escape.yaml (or into a folder below it) and name it by a relative path such as scripts/secrets.py\n",
    );
  });

  it("says which code file is missing, relative to the pipeline's folder", async () => {
    writeFileSync(join(dir, "missing.yaml"), customPipeline("scripts/nope.py"));
    const t = testContext();
    expect(await runCli(["pipelines", "apply", "missing.yaml"], t.ctx)).toBe(1);
    expect(t.out.stderr).toContain(`error: step code: file 'scripts/nope.py' does not exist (looked for ${join(dir, "scripts/nope.py")})`);
  });

  it("refuses --param without NAME=VALUE as a usage error", async () => {
    const t = testContext();
    expect(await runCli(["pipelines", "run", "retrain", "--param", "min_auc"], t.ctx)).toBe(1);
    expect(t.out.stderr).toContain("--param takes NAME=VALUE, e.g. --param min_auc=0.8, got 'min_auc'.");
  });

  it("lists every command under caretflow pipelines", async () => {
    const t = testContext();
    expect(await runCli(["pipelines", "--help"], t.ctx)).toBe(0);
    for (const cmd of [
      "apply [options] <file>",
      "list",
      "run [options] <name>",
      "runs [options] [name]",
      "show",
      "logs [options] <run-id>",
      "cancel",
      "resume [options] <run-id>",
    ]) {
      expect(t.out.stdout).toContain(cmd);
    }
  });
});

function customPipeline(file: string): string {
  return `version: 1\nname: code\nsteps:\n  - id: code\n    type: custom\n    with: { language: python, file: ${file} }\n`;
}

// ---------------------------------------------------------------- pure pieces

describe("paramArg and typedParams", () => {
  const declared = {
    dataset: { type: "string" as const },
    min_auc: { type: "number" as const, default: 0.8 },
    force: { type: "boolean" as const },
  };

  it("collects NAME=VALUE pairs in order, the value keeping any '='", () => {
    expect(paramArg("min_auc=0.9", paramArg("dataset=sales", undefined))).toEqual([
      ["dataset", "sales"],
      ["min_auc", "0.9"],
    ]);
    expect(paramArg("filter=a=b", undefined)).toEqual([["filter", "a=b"]]);
    expect(paramArg("dataset=", undefined)).toEqual([["dataset", ""]]);
    expect(() => paramArg("=x", undefined)).toThrow("--param takes NAME=VALUE");
  });

  it.each([
    [[["dataset", "sales"]], { dataset: "sales" }],
    [[["min_auc", "0.75"]], { min_auc: 0.75 }],
    [[["min_auc", "1e-3"]], { min_auc: 0.001 }],
    [[["force", "true"]], { force: true }],
    [[["force", "FALSE"]], { force: false }],
    [[["dataset", "123"]], { dataset: "123" }],
    [
      [
        ["force", "true"],
        ["force", "false"],
      ],
      { force: false },
    ],
  ] as [[string, string][], object][])("%j -> %j", (pairs, expected) => {
    expect(typedParams(pairs, declared, "retrain")).toEqual(expected);
  });

  it.each([
    [["min_auc", "high"], "bad_param", "param 'min_auc' is a number, got 'high'", "--param min_auc=0.8"],
    [["min_auc", ""], "bad_param", "param 'min_auc' is a number, got ''", "give a number"],
    [["force", "yes"], "bad_param", "param 'force' is a boolean, got 'yes'", "give true or false"],
    [
      ["min_acu", "0.9"],
      "unknown_param",
      "pipeline retrain has no param 'min_acu'",
      "its params: dataset (string), force (boolean), min_auc (number)",
    ],
  ] as [[string, string], string, string, string][])("refuses %j: %s", (pair, code, message, hint) => {
    let caught: unknown;
    try {
      typedParams([pair], declared, "retrain");
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code, message });
    expect((caught as { hint: string }).hint).toContain(hint);
  });

  it("says when the pipeline takes no params", () => {
    expect(() => typedParams([["x", "1"]], {}, "plain")).toThrow(/no param 'x'/);
    try {
      typedParams([["x", "1"]], {}, "plain");
    } catch (err) {
      expect((err as { hint: string }).hint).toBe("this pipeline declares no params; leave out --param");
    }
  });
});

describe("codeFiles", () => {
  const spec = (files: string[]) => {
    const r = validatePipeline(
      `version: 1\nname: c\nsteps:\n${files.map((f, i) => `  - id: s${i}\n    type: custom\n    with: { language: python, file: "${f}" }\n`).join("")}  - id: inline\n    type: custom\n    with: { language: python, code: "print(1)" }\n`,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.spec;
  };

  it("names each file once, by its path as written, found beside the pipeline file", () => {
    expect(codeFiles(spec(["scripts/a.py", "./b.py", "scripts/a.py"]), "/repo/pipes", "p.yaml")).toEqual([
      { step: "s0", path: "scripts/a.py", absolute: "/repo/pipes/scripts/a.py" },
      { step: "s1", path: "./b.py", absolute: "/repo/pipes/b.py" },
    ]);
  });

  it.each([["../a.py"], ["scripts/../../a.py"], ["/etc/passwd"], ["."]])("refuses %s, which is not inside the folder", (file) => {
    expect(() => codeFiles(spec([file]), "/repo/pipes", "p.yaml")).toThrow(/is outside the folder of p\.yaml/);
  });

  it("refuses a path the server cannot store", () => {
    expect(() => codeFiles(spec(["my code.py"]), "/repo/pipes", "p.yaml")).toThrow(
      /step s0: file 'my code\.py' cannot be sent: use a relative path/,
    );
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0.0s"],
    [999, "0.9s"],
    [12_345, "12.3s"],
    [59_999, "59.9s"],
    [60_000, "1m00s"],
    [185_000, "3m05s"],
    [3_599_000, "59m59s"],
    [3_720_000, "1h02m"],
    [-5, "0.0s"],
  ])("%d ms is %s", (ms, text) => expect(formatDuration(ms)).toBe(text));
});

const T0 = Date.parse("2026-12-02T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function step(id: string, patch: Partial<PipelineStepRun> = {}): PipelineStepRun {
  return { ...pendingStep({ id, type: "transform" }), ...patch };
}

function attempts(n: number, status: "running" | "succeeded" | "failed" = "running") {
  return Array.from({ length: n }, (_, i) => ({ attempt: i + 1, status, startedAt: at(0), finishedAt: null, error: null }));
}

function run(steps: PipelineStepRun[], patch: Partial<PipelineRun> = {}): PipelineRun {
  return {
    id: "prun_1",
    project: "default",
    pipeline: "nightly",
    revision: 2,
    status: "running",
    params: {},
    trigger: { kind: "manual", detail: null },
    force: false,
    resumedFrom: null,
    createdBy: "admin",
    createdAt: at(0),
    startedAt: at(0),
    finishedAt: null,
    error: null,
    steps,
    ...patch,
  };
}

describe("stepChanges", () => {
  it("prints one line per step state change, ids aligned, nothing for pending steps or unchanged states", () => {
    const seen = new Map<string, string>();
    const looks = [
      run([step("prepare"), step("train"), step("register")]),
      run([step("prepare", { status: "running", attempts: attempts(1), startedAt: at(0) }), step("train"), step("register")]),
      run([step("prepare", { status: "running", attempts: attempts(1), startedAt: at(0) }), step("train"), step("register")]),
      run([
        step("prepare", { status: "succeeded", attempts: attempts(1, "succeeded"), startedAt: at(0), finishedAt: at(12.34) }),
        step("train", { status: "running", attempts: attempts(1) }),
        step("register"),
      ]),
      run([
        step("prepare", { status: "succeeded", attempts: attempts(1, "succeeded"), startedAt: at(0), finishedAt: at(12.34) }),
        step("train", { status: "running", attempts: attempts(2) }),
        step("register"),
      ]),
      run([
        step("prepare", { status: "succeeded", attempts: attempts(1, "succeeded"), startedAt: at(0), finishedAt: at(12.34) }),
        step("train", { status: "succeeded", attempts: [], reusedFrom: "prun_0", startedAt: at(13), finishedAt: at(13) }),
        step("register", { status: "skipped", error: { name: "if_false", message: "if was false", transient: false } }),
      ]),
    ];
    expect(looks.map((r) => stepChanges(r, seen))).toEqual([
      [],
      ["prepare   running"],
      [],
      ["prepare   succeeded 12.3s", "train     running"],
      ["train     running (attempt 2)"],
      ["train     reused from run prun_0", "register  skipped (if was false)"],
    ]);
  });

  it("words failures and cancellations", () => {
    const failed = step("train", {
      status: "failed",
      attempts: attempts(3, "failed"),
      startedAt: at(0),
      finishedAt: at(2),
      error: { name: "x", message: "column amout not found", hint: "fix the query", transient: false },
    });
    expect(describeStep(failed)).toBe("failed 2.0s after 3 attempts: column amout not found");
    expect(describeStep(step("train", { status: "cancelled" }))).toBe("cancelled");
    expect(describeStep(step("train", { status: "skipped" }))).toBe("skipped (if was false)");
    expect(runErrors(run([failed], { status: "failed" }))).toEqual(["step train failed: column amout not found\nhint: fix the query"]);
    expect(runErrors(run([], { status: "failed", error: { name: "lost", message: "the server stopped", transient: true } }))).toEqual([
      "error: the server stopped",
    ]);
  });
});

describe("run and runs as text", () => {
  it("formats a run's header and its steps", () => {
    const r = run(
      [
        step("prepare", { status: "succeeded", attempts: attempts(1, "succeeded"), startedAt: at(0), finishedAt: at(3) }),
        step("train", { type: "train", status: "succeeded", reusedFrom: "prun_0", startedAt: at(3), finishedAt: at(3) }),
        step("check", {
          type: "quality_check",
          status: "failed",
          attempts: attempts(2, "failed"),
          startedAt: at(3),
          finishedAt: at(8),
          error: { name: "x", message: "3 rules failed", transient: false },
        }),
      ],
      { status: "failed", params: { min_auc: 0.9, force: true }, finishedAt: at(8), force: true },
    );
    expect(runLine(r, T0)).toBe("run prun_1 of nightly (revision 2): failed in 8.0s, 3 steps: 2 succeeded, 1 failed");
    const text = formatRun(r, T0).split("\n");
    expect(text.slice(0, 10)).toEqual([
      "run:      prun_1",
      "pipeline: nightly (revision 2)",
      "status:   failed",
      "trigger:  manual by admin",
      "params:   min_auc=0.9 force=true",
      "force:    yes: cached results ignored",
      "created:  2026-12-02 10:00:00",
      "started:  2026-12-02 10:00:00",
      "finished: 2026-12-02 10:00:08",
      "duration: 8.0s",
    ]);
    expect(text.slice(11)).toEqual([
      "STEP     TYPE           STATUS     ATTEMPTS  DURATION  REUSED FROM  ERROR",
      "prepare  transform      succeeded         1      3.0s  -            -",
      "train    train          succeeded         0         -  prun_0       -",
      "check    quality_check  failed            2      5.0s  -            3 rules failed",
      "",
      "step check failed: 3 rules failed",
    ]);
  });

  it("lists runs with their steps ok out of all, the pipeline column only across pipelines", () => {
    const summary = {
      ...run([]),
      status: "succeeded" as const,
      finishedAt: at(65),
      trigger: { kind: "schedule" as const, detail: "cron 0 2 * * *" },
      stepCounts: { succeeded: 3, skipped: 1 },
    };
    expect(formatRuns([summary], T0, false).split("\n")).toEqual([
      "ID      STATUS     TRIGGER   STARTED              DURATION  STEPS OK",
      "prun_1  succeeded  schedule  2026-12-02 10:00:00     1m05s       3/4",
    ]);
    expect(formatRuns([summary], T0, true).split("\n")[1]).toMatch(/^prun_1 {2}nightly +succeeded/);
    expect(describeTrigger({ trigger: summary.trigger, createdBy: "admin" })).toBe("schedule (cron 0 2 * * *)");
  });
});
