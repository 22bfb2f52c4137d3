import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedCli } from "./cli.fixture.ts";

/** `caretflow datasets transform` (preview, save and run, re-run, stdin) and `datasets transforms`, against the real app over a socket. */
let dir: string;
let s: Awaited<ReturnType<typeof servedCli>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-transform-cli-"));
  await writeFile(join(dir, "sales.csv"), "region,amount\nnorth,10\nsouth,5\nnorth,7\n");
  await writeFile(join(dir, "managers.csv"), "region,manager\nnorth,Ana\nsouth,Bo\n");
  await writeFile(
    join(dir, "totals.sql"),
    "SELECT region, manager, sum(amount) AS total\nFROM sales JOIN managers USING (region)\nGROUP BY ALL ORDER BY region;\n",
  );
  await writeFile(join(dir, "typo.sql"), "SELECT region,\n  amout\nFROM sales\n");
  s = await servedCli();
  for (const name of ["sales", "managers"]) expect((await s.cli(["datasets", "import", join(dir, `${name}.csv`)])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("caretflow datasets transform", () => {
  it("previews, saves and runs a query into a new version, and re-runs it with --name alone", async () => {
    const preview = await s.cli(["datasets", "transform", "--sql", join(dir, "totals.sql"), "--preview"]);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain("reads sales v1, managers v1; nothing stored");
    expect(preview.stdout).toMatch(/total\s+integer\s+HUGEINT/);
    expect(preview.stdout).toMatch(/north\s+Ana\s+17/);
    expect((await s.cli(["datasets", "list"])).stdout).not.toContain("totals");

    const run = await s.cli(["datasets", "transform", "--sql", join(dir, "totals.sql"), "--name", "totals"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("totals: created version 1 (2 rows, 3 columns) from sales v1, managers v1");

    const again = await s.cli(["datasets", "transform", "--name", "totals"]);
    expect(again.stdout).toContain("totals: unchanged (the query's result equals version 1)");

    const listed = await s.cli(["datasets", "transforms"]);
    expect(listed.stdout).toMatch(/totals\s+.*admin\s+SELECT region, manager/);
    const shown = await s.cli(["datasets", "show", "totals"]);
    expect(shown.stdout).toContain("SQL over sales v1, managers v1");
  });

  it("reads the query from stdin with --sql -, as JSON with --json", async () => {
    const res = await s.cli(
      ["datasets", "transform", "--sql", "-", "--name", "north", "--json"],
      {},
      `SELECT * FROM "sales@1" WHERE region = 'north'`,
    );
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout) as { result: { created: boolean; version: { rowCount: number; source: { inputs: unknown } } } };
    expect(doc.result).toMatchObject({ created: true, version: { rowCount: 2, source: { inputs: [{ dataset: "sales", version: 1 }] } } });
  });

  it("says what is wrong: DuckDB's error with its line, an unknown dataset, a missing file", async () => {
    const typo = await s.cli(["datasets", "transform", "--sql", join(dir, "typo.sql"), "--name", "broken"]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('Referenced column "amout" not found');
    expect(typo.stderr).toContain("Fix line 2 of the query");
    expect((await s.cli(["datasets", "list"])).stdout).not.toContain("broken");

    const unknown = await s.cli(["datasets", "transform", "--sql", "-", "--preview"], {}, "SELECT * FROM salse");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("'salse'");

    const missing = await s.cli(["datasets", "transform", "--sql", join(dir, "nope.sql"), "--name", "x"]);
    expect(missing.stderr).toContain("cannot read the query file");
    const noName = await s.cli(["datasets", "transform", "--sql", join(dir, "totals.sql")]);
    expect(noName.stderr).toContain("--name");
  });
});
