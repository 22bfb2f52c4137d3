import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliAgainst } from "./cli-fixture.test-support.ts";
import { readLabelsFile } from "./deploy.monitor.command.ts";

describe("readLabelsFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-labels-"));
  const id = "0b7f1a52-2f3e-4b8a-9f0e-1d2c3b4a5e6f";

  it("reads CSV and JSON lines, numbers as numbers, row defaulting to 0", async () => {
    writeFileSync(join(dir, "l.csv"), `prediction_id,row,label\n${id},1,CH\n${id},,12.5\n`);
    expect(await readLabelsFile(dir, "l.csv")).toEqual([
      { predictionId: id, row: 1, label: "CH" },
      { predictionId: id, row: 0, label: 12.5 },
    ]);
    writeFileSync(join(dir, "l.jsonl"), `{"prediction_id":"${id}","label":"MM"}\n\n{"predictionId":"${id}","row":2,"label":0}\n`);
    expect(await readLabelsFile(dir, "l.jsonl")).toEqual([
      { predictionId: id, row: 0, label: "MM" },
      { predictionId: id, row: 2, label: 0 },
    ]);
  });

  it("names the file and line of what it cannot read", async () => {
    writeFileSync(join(dir, "bad.jsonl"), `{"prediction_id":"${id}","label":"MM"}\nnot json\n`);
    await expect(readLabelsFile(dir, "bad.jsonl")).rejects.toThrow(/bad\.jsonl, line 2: not JSON/);
    writeFileSync(join(dir, "nolabel.csv"), `prediction_id,outcome\n${id},CH\n`);
    await expect(readLabelsFile(dir, "nolabel.csv")).rejects.toThrow(/nolabel\.csv, label 1: needs a prediction_id and a label/);
    await expect(readLabelsFile(dir, "none.jsonl")).rejects.toThrow(/does not exist/);
  });
});

describe("deploy drift thresholds", () => {
  const started = {
    id: "d1",
    deployment: "churn",
    trigger: "manual",
    at: "2026-12-01T00:00:00.000Z",
    window: { from: "2026-11-30T00:00:00.000Z", to: "2026-12-01T00:00:00.000Z" },
    model: "churn-clf",
    version: 2,
    reference: { dataset: "juice", version: 1 },
    jobId: "job_1",
    status: "queued",
    error: null,
    currentRows: null,
    referenceRows: null,
    maxPsi: null,
    drifted: [],
    predictionDrift: null,
    thresholds: null,
    features: [],
  };

  const cli = (argv: string[]) => cliAgainst(argv, () => ({ status: 202, body: started }));

  it("sends the thresholds given (the others at their defaults), and none when none is", async () => {
    const some = await cli(["deploy", "drift", "churn", "--psi", "0.1", "--ks-p-value", "0.01"]);
    expect(some.code, some.stderr).toBe(0);
    expect(some.calls).toEqual([
      { method: "POST", url: "/api/deployments/churn/drift", body: { thresholds: { psi: 0.1, ks_p_value: 0.01, ks_statistic: 0.1 } } },
    ]);
    expect(some.stdout).toContain("started as job job_1");
    const none = await cli(["deploy", "drift", "churn"]);
    expect(none.calls.map((c) => c.body)).toEqual([{}]);
  });

  it("refuses a p-value outside (0, 1) before sending anything, naming the flags", async () => {
    const bad = await cli(["deploy", "drift", "churn", "--ks-p-value", "2"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--psi/--ks-p-value/--ks-statistic");
    expect(bad.calls).toEqual([]);
  });
});
