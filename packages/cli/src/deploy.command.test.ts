import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliAgainst } from "./cli-fixture.test-support.ts";
import { driftEveryFromFlag, parseModelTarget, policyFromFlags, readRowsFile } from "./deploy.command.ts";

describe("parseModelTarget", () => {
  it.each([
    ["churn@production", { model: "churn", target: { alias: "production" } }],
    ["churn.v2/3", { model: "churn.v2", target: { version: 3 } }],
  ])("%s", (value, expected) => expect(parseModelTarget(value, "--model")).toEqual(expected));

  it.each(["churn", "churn@", "churn/x", "@prod"])("refuses %s naming the flag", (value) => {
    expect(() => parseModelTarget(value, "--model")).toThrow(/--model: '.*' is not MODEL@ALIAS or MODEL\/VERSION/);
  });
});

describe("policyFromFlags", () => {
  it("reads --ab, --shadow and --canary with --ramp", () => {
    expect(policyFromFlags({ ab: ["churn/2:10", "churn@staging:5"] }, "churn")).toEqual({
      kind: "ab",
      splits: [
        { target: { version: 2 }, weight: 10 },
        { target: { alias: "staging" }, weight: 5 },
      ],
    });
    expect(policyFromFlags({ shadow: "churn/3" }, "churn")).toEqual({ kind: "shadow", shadow: { version: 3 } });
    expect(policyFromFlags({ canary: "4", ramp: "5:10:60:50" }, "churn")).toEqual({
      kind: "canary",
      canary: { version: 4 },
      startPercent: 5,
      stepPercent: 10,
      intervalSeconds: 60,
      maxPercent: 50,
    });
    expect(policyFromFlags({}, "churn")).toBeUndefined();
  });

  it("refuses combined policies, another model's version and a malformed ramp", () => {
    expect(() => policyFromFlags({ ab: ["churn/2:10"], shadow: "churn/3" }, "churn")).toThrow(/--ab and --shadow cannot be combined/);
    expect(() => policyFromFlags({ shadow: "other/3" }, "churn")).toThrow(/names model 'other'/);
    expect(() => policyFromFlags({ ab: ["churn/2"] }, "churn")).toThrow(/MODEL\/VERSION:PERCENT/);
    expect(() => policyFromFlags({ canary: "churn/2", ramp: "5:10" }, "churn")).toThrow(/START:STEP:INTERVAL_S:MAX/);
    expect(() => policyFromFlags({ ramp: "5:10:60:50" }, "churn")).toThrow(/--ramp applies to --canary/);
  });
});

describe("readRowsFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-rows-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads CSV with numbers as numbers and empty cells as null, and JSON arrays or {rows}", async () => {
    writeFileSync(join(dir, "rows.csv"), "PriceCH,Store7,LoyalCH\n1.99,No,0.5\n2.09,Yes,\n");
    expect(await readRowsFile(dir, "rows.csv")).toEqual([
      { PriceCH: 1.99, Store7: "No", LoyalCH: 0.5 },
      { PriceCH: 2.09, Store7: "Yes", LoyalCH: null },
    ]);
    writeFileSync(join(dir, "rows.json"), JSON.stringify({ rows: [{ a: 1 }] }));
    expect(await readRowsFile(dir, "rows.json")).toEqual([{ a: 1 }]);
    await expect(readRowsFile(dir, "none.csv")).rejects.toThrow(/does not exist/);
    writeFileSync(join(dir, "bad.json"), "{");
    await expect(readRowsFile(dir, "bad.json")).rejects.toThrow(/is not JSON/);
  });
});

describe("driftEveryFromFlag", () => {
  it.each([
    [undefined, undefined],
    ["1h", "1h"],
    ["6H", "6h"],
    ["1d", "1d"],
    ["7d", "7d"],
    ["off", null],
  ])("%s", (value, expected) => expect(driftEveryFromFlag(value)).toBe(expected));

  it.each(["2h", "daily", "", "null"])("refuses %j, listing the schedules", (value) => {
    expect(() => driftEveryFromFlag(value)).toThrow(/--drift-every: '.*' is not a drift schedule/);
    try {
      driftEveryFromFlag(value);
    } catch (err) {
      expect((err as { hint?: string }).hint).toMatch(/1h, 6h, 1d, 7d, or off/);
    }
  });
});

describe("deploy create and update --drift-every", () => {
  const deployment = (driftEvery: string | null) => ({
    name: "churn",
    model: "churn-clf",
    target: { alias: "production" },
    policy: { kind: "single" },
    status: "active",
    driftEvery,
    serving: [],
    problem: null,
    project: "default",
    policySince: "2026-12-01T00:00:00.000Z",
    createdBy: "admin",
    createdAt: "2026-12-01T00:00:00.000Z",
    updatedBy: "admin",
    updatedAt: "2026-12-01T00:00:00.000Z",
  });

  const cli = (argv: string[]) =>
    cliAgainst(argv, ({ method, body }) => ({
      status: method === "POST" ? 201 : 200,
      body: deployment(body && typeof body === "object" && "driftEvery" in body ? (body.driftEvery as string | null) : "1d"),
    }));

  it("sends the schedule when creating, and off as null when updating", async () => {
    const created = await cli(["deploy", "create", "churn", "--model", "churn-clf@production", "--drift-every", "6h"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.calls).toEqual([
      {
        method: "POST",
        url: "/api/deployments",
        body: { name: "churn", model: "churn-clf", target: { alias: "production" }, policy: { kind: "single" }, driftEvery: "6h" },
      },
    ]);
    expect(created.stdout).toContain("drift checks: every 6h");

    const updated = await cli(["deploy", "update", "churn", "--drift-every", "off"]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ["GET", "/api/deployments/churn", null],
      ["PUT", "/api/deployments/churn", { driftEvery: null }],
    ]);
    expect(updated.stdout).toContain("drift checks: on demand");
  });

  it("refuses an unknown schedule before sending anything, and an update that changes nothing", async () => {
    const bad = await cli(["deploy", "create", "churn", "--model", "churn-clf@production", "--drift-every", "2h"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--drift-every: '2h' is not a drift schedule/);
    expect(bad.calls).toEqual([]);

    const nothing = await cli(["deploy", "update", "churn"]);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain("--drift-every");
    expect(nothing.calls.filter((c) => c.method === "PUT")).toEqual([]);
  });
});
