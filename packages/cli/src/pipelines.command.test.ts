import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CliContext } from "./context.ts";
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
