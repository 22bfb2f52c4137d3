import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { LOG_COLUMNS, PredictionLog, retentionDaysFrom } from "./prediction.log.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "cf-plog-"));
  dirs.push(d);
  return d;
};

it("writes one JSON line per row under deployment/day, with inputs, outputs and the caretflow columns", async () => {
  const root = tmp();
  const log = new PredictionLog({ root, flushMs: 60_000 });
  log.add({
    predictionId: "p1",
    deployment: "churn",
    model: "m",
    version: 2,
    shadow: false,
    time: "2026-12-03T10:15:00.000Z",
    latencyMs: 3.5,
    rows: [{ price: 1 }, { price: 2 }],
    predictions: [{ prediction_label: "a" }, { prediction_label: "b" }],
  });
  log.add({
    predictionId: "p1",
    deployment: "churn",
    model: "m",
    version: 3,
    shadow: true,
    time: "2026-12-03T10:15:00.000Z",
    latencyMs: 4,
    rows: [{ price: 1 }],
    error: "lost",
  });
  expect(readdirSync(root)).toEqual([]);
  await log.close();
  const files = readdirSync(join(root, "churn", "2026-12-03"));
  expect(files).toHaveLength(1);
  expect(files[0]).toMatch(/^part-10-[0-9a-f]{8}\.jsonl$/);
  const lines = readFileSync(join(root, "churn", "2026-12-03", files[0]!), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines).toHaveLength(3);
  expect(lines[1]).toMatchObject({
    price: 2,
    prediction_label: "b",
    [LOG_COLUMNS.predictionId]: "p1",
    [LOG_COLUMNS.row]: 1,
    [LOG_COLUMNS.version]: 2,
    [LOG_COLUMNS.shadow]: false,
  });
  expect(lines[2]).toMatchObject({ [LOG_COLUMNS.shadow]: true, [LOG_COLUMNS.version]: 3, [LOG_COLUMNS.error]: "lost" });
});

it("deletes day folders older than the retention", async () => {
  const root = tmp();
  for (const day of ["2026-11-01", "2026-11-30", "2026-12-03"]) {
    mkdirSync(join(root, "churn", day), { recursive: true });
    writeFileSync(join(root, "churn", day, "part-00-a.jsonl"), "{}\n");
  }
  const log = new PredictionLog({ root, retentionDays: 7, now: () => new Date("2026-12-03T12:00:00Z") });
  expect(await log.applyRetention()).toBe(1);
  expect(readdirSync(join(root, "churn")).sort()).toEqual(["2026-11-30", "2026-12-03"]);
  await log.close();
});

it.each([
  [undefined, 30],
  ["", 30],
  ["7", 7],
  ["0", 0],
])("CARETFLOW_PREDICTION_LOG_DAYS=%j keeps %d days (0: everything)", (value, days) => {
  expect(retentionDaysFrom(value)).toBe(days);
});

it.each(["-1", "2.5", "a month"])("refuses CARETFLOW_PREDICTION_LOG_DAYS=%j, saying what to set", (value) => {
  expect(() => retentionDaysFrom(value)).toThrow(/not a whole number of days/);
});
