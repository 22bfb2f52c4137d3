import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedCli } from "./cli.fixture.ts";

/** `caretflow datasets rules ...` and `datasets check` against the real app over a socket. */
let dir: string;
let s: Awaited<ReturnType<typeof servedCli>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-quality-cli-"));
  const rows = ["id,price,region"];
  for (let i = 1; i <= 12; i++) rows.push(`${i},${i * 100},${i % 2 ? "north" : "south"}`);
  await writeFile(join(dir, "sales.csv"), `${rows.join("\n")}\n`);
  s = await servedCli();
}, 120_000);

afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("caretflow datasets rules and check", () => {
  it("adds, lists, suggests, checks (exit 1 on a blocking failure) and removes rules", async () => {
    expect((await s.cli(["datasets", "import", join(dir, "sales.csv")])).code).toBe(0);
    const none = await s.cli(["datasets", "rules", "sales"]);
    expect(none.stdout).toContain("sales has no quality rules");

    const added = await s.cli([
      "datasets",
      "rules",
      "add",
      "sales",
      "--type",
      "range",
      "--column",
      "price",
      "--min",
      "0",
      "--max",
      "1000",
      "--blocking",
    ]);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/added rule [0-9a-f-]{36} to sales: price in range 0\.\.1000 \(blocking\)/);
    const id = /added rule ([0-9a-f-]{36})/.exec(added.stdout)![1]!;

    const bad = await s.cli(["datasets", "rules", "add", "sales", "--type", "range", "--column", "price"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/a range needs min, max or both/);

    const listed = await s.cli(["datasets", "rules", "sales"]);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+price in range 0\\.\\.1000\\s+range\\s+blocking`));

    const failing = await s.cli(["datasets", "check", "sales"]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/FAIL\s+blocking\s+price in range 0\.\.1000\s+2\s+2 rows out of range/);
    expect(failing.stdout).toContain('{"id":11,"price":1100,"region":"north"}');
    expect(failing.stdout).toContain("sales v1: 1 blocking rule fails; training on this version is refused");

    const suggested = await s.cli(["datasets", "rules", "suggest", "sales"]);
    expect(suggested.stdout).toContain("id unique");
    expect(suggested.stdout).toContain("region in {north, south}");
    const accepted = await s.cli(["datasets", "rules", "suggest", "sales", "--accept", "--json"]);
    const doc = JSON.parse(accepted.stdout) as { added: Array<{ severity: string }> };
    expect(doc.added.length).toBeGreaterThanOrEqual(4);
    expect(doc.added.every((r) => r.severity === "warning")).toBe(true);
    expect((await s.cli(["datasets", "rules", "suggest", "sales"])).stdout).toContain("no new rules to suggest");

    expect((await s.cli(["datasets", "rules", "remove", "sales", id])).stdout).toBe(`removed rule ${id} from sales\n`);
    const passing = await s.cli(["datasets", "check", "sales", "--version", "1"]);
    expect(passing.code).toBe(0);
    expect(passing.stdout).toContain("sales v1: every rule passed");
  });
});
