import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
