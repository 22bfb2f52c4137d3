import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { PipelineRun } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedCli } from "./cli.fixture.ts";

/**
 * `caretflow pipelines apply, list, run, runs, show, logs, cancel, resume` against the real app over a socket,
 * with data steps (transform, quality_check) on datasets the test imports, so no training is needed.
 */
const repo = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
let dir: string;
let s: Awaited<ReturnType<typeof servedCli>>;

const REPORT = `version: 1
name: sales-report
params:
  region: { type: string, default: north }
  min_total: { type: number, default: 0 }
  publish: { type: boolean, default: true }
steps:
  - id: totals
    type: transform
    with:
      sql: "SELECT region, sum(amount) AS total FROM sales WHERE region = '\${{ params.region }}' GROUP BY region HAVING sum(amount) >= \${{ params.min_total }}"
      output: totals
  - id: check
    type: quality_check
    needs: [totals]
    with: { dataset: totals, version: "\${{ steps.totals.outputs.version }}" }
  - id: publish
    type: transform
    needs: [check]
    if: "\${{ params.publish }}"
    with: { sql: "SELECT * FROM totals", output: published }
`;

// `join` reads a dataset that does not exist until the test imports it: the run fails there, then resumes.
const JOINED = `version: 1
name: joined
steps:
  - id: totals
    type: transform
    with: { sql: "SELECT region, sum(amount) AS total FROM sales GROUP BY region", output: region_totals }
  - id: join
    type: transform
    needs: [totals]
    with: { sql: "SELECT * FROM region_totals JOIN managers USING (region)", output: managed }
  - id: check
    type: quality_check
    needs: [join]
    with: { dataset: managed }
`;

// A query that runs for minutes unless stopped.
const SLOW = `version: 1
name: slow
steps:
  - id: heavy
    type: transform
    with: { sql: "SELECT count(*) AS n FROM range(100000000000) t(i) WHERE (i * 7919) % 1000003 = 17", output: heavy }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-pipelines-cli-"));
  await writeFile(join(dir, "sales.csv"), "region,amount\nnorth,10\nsouth,5\nnorth,7\nsouth,30\n");
  await writeFile(join(dir, "managers.csv"), "region,manager\nnorth,Ana\nsouth,Bo\n");
  await writeFile(join(dir, "report.yaml"), REPORT);
  await writeFile(join(dir, "joined.yaml"), JOINED);
  await writeFile(join(dir, "slow.yaml"), SLOW);
  s = await servedCli();
  expect((await s.cli(["datasets", "import", join(dir, "sales.csv")])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The run id in "run ID of ..." or "started run ID of ...". */
function runIdIn(text: string): string {
  const m = /run ([0-9a-f-]{36}) of/.exec(text);
  if (!m) throw new Error(`no run id in: ${text}`);
  return m[1]!;
}

async function showJson(id: string): Promise<PipelineRun> {
  const res = await s.cli(["pipelines", "show", id, "--json"]);
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as PipelineRun;
}

/** Waits until `check` holds of the run, looking every 100 ms. */
async function until(id: string, check: (run: PipelineRun) => boolean, what: string): Promise<PipelineRun> {
  const t0 = Date.now();
  for (;;) {
    const run = await showJson(id);
    if (check(run)) return run;
    if (Date.now() - t0 > 30_000) throw new Error(`run ${id}: ${what} did not happen in 30 s (${run.status})`);
    await sleep(100);
  }
}

describe("caretflow pipelines apply and list", () => {
  it("refuses an invalid file with each error at its line and stores nothing", async () => {
    await writeFile(join(dir, "typo.yaml"), REPORT.replace("type: quality_check", "type: quality_chek"));
    const res = await s.cli(["pipelines", "apply", join(dir, "typo.yaml")]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `${join(dir, "typo.yaml")}:14:5  unknown_step_type  'quality_chek' is not a step type. Did you mean 'quality_check'?`,
    );
    expect((await s.cli(["pipelines", "list"])).stdout).toContain("no pipelines yet; store one with `caretflow pipelines apply FILE`");
  });

  it("creates a pipeline, leaves it unchanged when applied again, and lists it", async () => {
    const created = await s.cli(["pipelines", "apply", join(dir, "report.yaml")]);
    expect(created).toMatchObject({ code: 0, stdout: "created pipeline sales-report (revision 1)\n" });
    const again = await s.cli(["pipelines", "apply", join(dir, "report.yaml")]);
    expect(again.stdout).toBe("unchanged pipeline sales-report (revision 1)\n");
    for (const f of ["joined.yaml", "slow.yaml"]) expect((await s.cli(["pipelines", "apply", join(dir, f)])).code).toBe(0);

    const listed = await s.cli(["pipelines", "list"]);
    expect(listed.stdout).toMatch(/^NAME\s+REVISION\s+STEPS\s+SCHEDULE\s+LAST RUN\s+UPDATED$/m);
    expect(listed.stdout).toMatch(/^sales-report\s+1\s+3\s+-\s+-\s+\d{4}-\d\d-\d\d /m);
  });

  it("sends the code files of custom steps, so a changed file makes the next revision", async () => {
    const folder = join(dir, "coded");
    await mkdir(join(folder, "scripts"), { recursive: true });
    const yaml = `version: 1
name: coded
steps:
  - id: score
    type: custom
    with: { language: python, file: scripts/score.py, args: ["x"] }
`;
    await writeFile(join(folder, "pipeline.yaml"), yaml);
    await writeFile(join(folder, "scripts", "score.py"), "print('v1')\n");
    expect((await s.cli(["pipelines", "apply", join(folder, "pipeline.yaml")])).stdout).toBe("created pipeline coded (revision 1)\n");
    expect((await s.cli(["pipelines", "apply", join(folder, "pipeline.yaml")])).stdout).toBe("unchanged pipeline coded (revision 1)\n");
    await writeFile(join(folder, "scripts", "score.py"), "print('v2')\n");
    const updated = await s.cli(["pipelines", "apply", join(folder, "pipeline.yaml"), "--json"]);
    expect(JSON.parse(updated.stdout)).toMatchObject({ change: "updated", pipeline: { name: "coded", revision: 2 } });

    await writeFile(join(folder, "escape.yaml"), yaml.replace("name: coded", "name: escape").replace("scripts/score.py", "../report.yaml"));
    const outside = await s.cli(["pipelines", "apply", join(folder, "escape.yaml")]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain("error: step score: file '../report.yaml' is outside the folder of");
    expect((await s.cli(["pipelines", "list"])).stdout).not.toContain("escape");
  });
});

describe("caretflow pipelines run, runs, show and logs", () => {
  let first: string;

  it("runs with typed params and --wait, one line per step change, exit 0", async () => {
    const res = await s.cli([
      "pipelines",
      "run",
      "sales-report",
      "--param",
      "region=south",
      "--param",
      "min_total=1.5",
      "--param",
      "publish=false",
      "--wait",
    ]);
    expect(res.code).toBe(0);
    first = runIdIn(res.stdout);
    expect(res.stdout).toMatch(
      /^run [0-9a-f-]{36} of sales-report \(revision 1\): succeeded in \d+\.\ds, 3 steps: 2 succeeded, 1 skipped\n$/,
    );
    expect(res.stderr).toContain(`run ${first} of sales-report (revision 1) started`);
    expect(res.stderr).toMatch(/^totals {3}succeeded \d+\.\ds$/m);
    expect(res.stderr).toMatch(/^check {4}succeeded \d+\.\ds$/m);
    expect(res.stderr).toContain(`publish  skipped (its if (\${{ params.publish }}) was false)\n`);
    // Each step's final state is printed once.
    expect(res.stderr.match(/^totals {3}succeeded/gm)).toHaveLength(1);

    const run = await showJson(first);
    expect(run.params).toEqual({ region: "south", min_total: 1.5, publish: false });
    const preview = await s.cli(["datasets", "show", "totals"]);
    expect(preview.stdout).toMatch(/south\s+35/);
  });

  it("refuses a param of the wrong type or an unknown one, naming it, and starts nothing", async () => {
    const bad = await s.cli(["pipelines", "run", "sales-report", "--param", "min_total=lots"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("error: param 'min_total' is a number, got 'lots'\nhint: give a number, e.g. --param min_total=0.8\n");
    const unknown = await s.cli(["pipelines", "run", "sales-report", "--param", "regoin=north"]);
    expect(unknown.stderr).toBe(
      "error: pipeline sales-report has no param 'regoin'\nhint: its params: min_total (number), publish (boolean), region (string)\n",
    );
    const flag = await s.cli(["pipelines", "run", "sales-report", "--param", "publish=maybe"]);
    expect(flag.stderr).toContain("param 'publish' is a boolean, got 'maybe'");
    const missing = await s.cli(["pipelines", "run", "no-such", "--param", "a=1"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no-such");
    const runs = JSON.parse((await s.cli(["pipelines", "runs", "sales-report", "--json"])).stdout) as { runs: unknown[] };
    expect(runs.runs).toHaveLength(1);
  });

  it("lists runs, newest first, filtered by status, with steps ok out of all", async () => {
    const started = await s.cli(["pipelines", "run", "sales-report", "--force"]);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^started run [0-9a-f-]{36} of sales-report \(revision 1\); follow it with `caretflow pipelines show /);
    const second = runIdIn(started.stdout);
    const done = await until(second, (r) => r.status === "succeeded", "succeeding");
    expect(done).toMatchObject({ force: true, params: { region: "north", min_total: 0, publish: true } });
    expect((await s.cli(["pipelines", "show", second])).stdout).toContain("\nforce:    yes: cached results ignored\n");

    const runs = await s.cli(["pipelines", "runs", "sales-report"]);
    const lines = runs.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+TRIGGER\s+STARTED\s+DURATION\s+STEPS OK$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${second}\\s+succeeded\\s+manual\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\d+\\.\\ds\\s+3/3$`),
    );
    expect(lines[2]).toMatch(new RegExp(`^${first}\\s+succeeded\\s+manual\\s+.*2/3$`));
    expect((await s.cli(["pipelines", "runs", "sales-report", "--limit", "1"])).stdout.trimEnd().split("\n")).toHaveLength(2);
    expect((await s.cli(["pipelines", "runs", "sales-report", "--status", "failed"])).stdout).toBe(
      "no runs of sales-report that match; start one with `caretflow pipelines run sales-report`\n",
    );
    const bad = await s.cli(["pipelines", "runs", "--status", "done"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Allowed choices are queued, running, succeeded, failed, cancelled");
  });

  it("shows a run's header and steps, and prints the logs of the run or one step", async () => {
    const shown = await s.cli(["pipelines", "show", first]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(
      `run:      ${first}\npipeline: sales-report (revision 1)\nstatus:   succeeded\ntrigger:  manual by admin\n`,
    );
    expect(shown.stdout).toContain("params:   region=south min_total=1.5 publish=false\n");
    expect(shown.stdout).toMatch(/^STEP\s+TYPE\s+STATUS\s+ATTEMPTS\s+DURATION\s+REUSED FROM\s+ERROR$/m);
    expect(shown.stdout).toMatch(/^totals\s+transform\s+succeeded\s+1\s+\d+\.\ds\s+-\s+-$/m);
    expect(shown.stdout).toMatch(/^check\s+quality_check\s+succeeded\s+1\s+\d+\.\ds\s+-\s+-$/m);
    expect(shown.stdout).toMatch(/^publish\s+transform\s+skipped\s+0\s+-\s+-\s+its if \(\$\{\{ params\.publish \}\}\) was false$/m);

    const step = await s.cli(["pipelines", "logs", first, "--step", "totals"]);
    expect(step.code).toBe(0);
    expect(step.stdout).toMatch(/running the SQL into totals\n.*stored totals v1 \(1 rows; read sales v1\)/);
    const all = await s.cli(["pipelines", "logs", first]);
    expect(all.stdout).toContain("== totals (transform): succeeded\n");
    expect(all.stdout).toContain("== publish (transform): skipped\n");
    const json = JSON.parse((await s.cli(["pipelines", "logs", first, "--step", "check", "--json"])).stdout);
    expect(json).toMatchObject({ runId: first, step: "check", log: expect.stringContaining("totals v1: 0 rule(s), passed") });

    const unknown = await s.cli(["pipelines", "logs", first, "--step", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("totals, check, publish");
    expect((await s.cli(["pipelines", "show", "no-such-run"])).code).toBe(1);
  });
});

describe("caretflow pipelines run: cached results of a custom Python step", () => {
  it("reuses the step's result on a second run, runs it again with --force or other inputs", async () => {
    const folder = join(dir, "cached");
    await mkdir(join(folder, "scripts"), { recursive: true });
    await writeFile(
      join(folder, "scripts", "score.py"),
      'import json, os, sys\nprint(f"scoring {sys.argv[1:]}")\nwith open(os.environ["CARETFLOW_OUTPUT"], "w") as f:\n    json.dump({"label": sys.argv[1]}, f)\n',
    );
    await writeFile(
      join(folder, "pipeline.yaml"),
      `version: 1
name: cached
params:
  label: { type: string, default: a }
steps:
  - id: count
    type: transform
    with: { sql: "SELECT count(*) AS n FROM sales", output: sales_count }
  - id: score
    type: custom
    needs: [count]
    with: { language: python, file: scripts/score.py, args: ["\${{ params.label }}"] }
`,
    );
    expect((await s.cli(["pipelines", "apply", join(folder, "pipeline.yaml")])).stdout).toBe("created pipeline cached (revision 1)\n");

    const first = await s.cli(["pipelines", "run", "cached", "--wait"]);
    expect(first.code).toBe(0);
    const firstId = runIdIn(first.stdout);
    expect(first.stderr).toMatch(/^score {2}succeeded \d+\.\ds$/m);
    expect((await s.cli(["pipelines", "logs", firstId, "--step", "score"])).stdout).toContain("scoring ['a']");
    expect((await showJson(firstId)).steps[1]).toMatchObject({
      status: "succeeded",
      outputs: { output: { label: "a" } },
      reusedFrom: null,
    });

    const second = await s.cli(["pipelines", "run", "cached", "--wait"]);
    expect(second.code).toBe(0);
    const secondId = runIdIn(second.stdout);
    expect(second.stderr).toMatch(/^count {2}succeeded \d+\.\ds$/m);
    expect(second.stderr).toMatch(new RegExp(`^score  reused from run ${firstId}$`, "m"));
    expect((await s.cli(["pipelines", "show", secondId])).stdout).toMatch(
      new RegExp(`^score\\s+custom\\s+succeeded\\s+0\\s+-\\s+${firstId}\\s+-$`, "m"),
    );

    const forced = await s.cli(["pipelines", "run", "cached", "--force", "--wait"]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/^score {2}succeeded \d+\.\ds$/m);
    expect(forced.stderr).not.toContain("reused");

    const other = await s.cli(["pipelines", "run", "cached", "--param", "label=b", "--wait", "--json"]);
    expect(other.code).toBe(0);
    const run = JSON.parse(other.stdout) as PipelineRun;
    expect(run.steps[1]).toMatchObject({ status: "succeeded", reusedFrom: null, outputs: { output: { label: "b" } } });
    expect(other.stderr).toMatch(/^score {2}succeeded \d+\.\ds$/m);
  }, 60_000);
});

describe("caretflow pipelines: a failed run, resume, cancel", () => {
  it("fails with the step's error and exit 1, then resume reuses the finished step and succeeds", async () => {
    const failed = await s.cli(["pipelines", "run", "joined", "--wait"]);
    expect(failed.code).toBe(1);
    const id = runIdIn(failed.stdout);
    expect(failed.stdout).toMatch(/: failed in \d+\.\ds, 3 steps: 1 succeeded, 1 failed, 1 skipped\n$/);
    expect(failed.stderr).toMatch(
      /^join {4}failed \d+\.\ds: The query reads 'managers' \(line 1\), but no dataset of this project has that name$/m,
    );
    expect(failed.stderr).toMatch(/^check {3}skipped \(step 'join' failed\)$/m);
    expect(failed.stderr).toMatch(/^step join failed: .*managers.*\nhint: Name a dataset of this project as a table/m);
    expect(failed.stderr).toContain(`hint: fix the cause, then run the failed steps again with \`caretflow pipelines resume ${id}\``);
    expect((await s.cli(["pipelines", "show", id])).stdout).toMatch(/^join\s+transform\s+failed\s+1\s+\d+\.\ds\s+-\s+.*managers/m);

    expect((await s.cli(["datasets", "import", join(dir, "managers.csv")])).code).toBe(0);
    const resumed = await s.cli(["pipelines", "resume", id, "--wait"]);
    expect(resumed.code).toBe(0);
    const next = runIdIn(resumed.stdout);
    expect(next).not.toBe(id);
    expect(resumed.stderr).toContain(`resumed run ${id} as run ${next} of joined (revision 1)`);
    expect(resumed.stderr).toMatch(new RegExp(`^totals  reused from run ${id}$`, "m"));
    expect(resumed.stderr).toMatch(/^join {4}succeeded \d+\.\ds$/m);
    expect(resumed.stdout).toMatch(/: succeeded in \d+\.\ds, 3 steps: 3 succeeded\n$/);

    const shown = await s.cli(["pipelines", "show", next]);
    expect(shown.stdout).toContain(`trigger:  resume (resumes run ${id})`);
    expect(shown.stdout).toContain(`resumes:  ${id}`);
    expect(shown.stdout).toMatch(new RegExp(`^totals\\s+transform\\s+succeeded\\s+0\\s+-\\s+${id}\\s+-$`, "m"));

    const again = await s.cli(["pipelines", "resume", next]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`run ${next} succeeded; only a failed or cancelled run can be resumed`);
    expect((await s.cli(["pipelines", "runs", "joined", "--status", "failed"])).stdout).toContain(id);
  });

  it("cancels a running run; a --wait following it ends with exit 1", async () => {
    const follow = s.cli(["pipelines", "run", "slow", "--wait"]);
    let id = "";
    const t0 = Date.now();
    while (!id) {
      const { runs } = JSON.parse((await s.cli(["pipelines", "runs", "slow", "--status", "running", "--json"])).stdout) as {
        runs: { id: string }[];
      };
      id = runs[0]?.id ?? "";
      if (Date.now() - t0 > 30_000) throw new Error("the slow run did not start");
      if (!id) await sleep(100);
    }
    await until(id, (r) => r.steps[0]?.status === "running", "the heavy step running");

    const cancelled = await s.cli(["pipelines", "cancel", id]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^run ${id} of slow \\(revision 1\\): cancelled in \\d+\\.\\ds, 1 step: 1 cancelled\\n$`));

    const followed = await follow;
    expect(followed.code).toBe(1);
    expect(followed.stderr).toMatch(/^heavy {2}cancelled$/m);
    expect(followed.stdout).toContain(`run ${id} of slow (revision 1): cancelled`);
    expect(followed.stderr).toContain("error: the run was cancelled");
    expect(followed.stderr).not.toContain("caretflow pipelines resume");

    const shown = await showJson(id);
    expect(shown).toMatchObject({ status: "cancelled", error: { name: "run_cancelled" } });
  }, 60_000);

  it("Ctrl-C stops waiting, not the run, and says how to cancel it (exit 130)", async () => {
    const child = spawn(process.execPath, [join(repo, "packages/cli/bin/caretflow.js"), "pipelines", "run", "slow", "--wait"], {
      env: { ...process.env, CARETFLOW_URL: s.url, CARETFLOW_TOKEN: s.adminToken, CARETFLOW_PROJECT: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)));
    const t0 = Date.now();
    while (!/^heavy {2}running$/m.test(stderr)) {
      if (Date.now() - t0 > 60_000) {
        child.kill("SIGKILL");
        throw new Error(`the CLI did not report the step running: ${stderr}`);
      }
      await sleep(100);
    }
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    const id = runIdIn(stderr);
    expect(stderr).toContain(`stopped waiting; run ${id} goes on (running)`);
    expect(stderr).toContain(`cancel it with \`caretflow pipelines cancel ${id}\``);
    expect(stdout).toBe("");

    expect((await showJson(id)).status).toBe("running");
    expect((await s.cli(["pipelines", "cancel", id])).stdout).toContain(": cancelled");
  }, 90_000);
});
