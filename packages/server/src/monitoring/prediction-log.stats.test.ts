import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PredictionLogStats } from "./prediction-log.stats.ts";

/** Figures over a prediction log laid out as the gateway writes it, computed by a real DuckDB. */
let dir: string;
let stats: PredictionLogStats;

function line(id: string, time: string, latency: number, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    Price: 1.5,
    prediction_label: "CH",
    caretflow_prediction_id: id,
    caretflow_row: 0,
    caretflow_deployment: "churn",
    caretflow_model: "juice",
    caretflow_version: 1,
    caretflow_shadow: false,
    caretflow_time: time,
    caretflow_latency_ms: latency,
    caretflow_error: null,
    ...extra,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-plog-"));
  const day1 = join(dir, "log", "churn", "2026-12-01");
  const day2 = join(dir, "log", "churn", "2026-12-02");
  await mkdir(day1, { recursive: true });
  await mkdir(day2, { recursive: true });
  // Day 1, 23:00: one request of two rows (counted once), one failed request, one shadow answer.
  await writeFile(
    join(day1, "part-23-aaaa.jsonl"),
    [
      line("r1", "2026-12-01T23:10:00.000Z", 10),
      line("r1", "2026-12-01T23:10:00.000Z", 10, { caretflow_row: 1 }),
      line("r2", "2026-12-01T23:20:00.000Z", 30, { caretflow_error: "scoring_process_lost", prediction_label: null }),
      line("r1", "2026-12-01T23:10:00.000Z", 500, { caretflow_shadow: true, caretflow_version: 2 }),
    ].join("\n"),
  );
  // Day 2: nineteen more requests, latencies 1..19 ms, written by two servers.
  const a: string[] = [];
  const b: string[] = [];
  for (let i = 1; i <= 19; i++) (i % 2 ? a : b).push(line(`s${i}`, `2026-12-02T00:${String(i).padStart(2, "0")}:00.000Z`, i));
  await writeFile(join(day2, "part-00-aaaa.jsonl"), `${a.join("\n")}\n`);
  await writeFile(join(day2, "part-00-bbbb.jsonl"), `${b.join("\n")}\n`);
  stats = new PredictionLogStats({ root: join(dir, "log"), tmpDir: dir });
});

afterAll(async () => {
  await stats?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("prediction log figures", () => {
  it("counts requests once per prediction id, leaves shadow answers out, and spans day folders", async () => {
    const s = await stats.served("churn", new Date("2026-12-01T23:00:00Z"), new Date("2026-12-02T01:00:00Z"));
    expect(s.requests).toBe(21);
    expect(s.errors).toBe(1);
    expect(s.errorRate).toBeCloseTo(1 / 21, 10);
    // 21 latencies (1..19, 10 and 30), sorted: the median is the 11th (10), the 95th percentile the 20th (19).
    expect(s.latencyP50Ms).toBe(10);
    expect(s.latencyP95Ms).toBe(19);
  });

  it("keeps to the window", async () => {
    const s = await stats.served("churn", new Date("2026-12-01T23:15:00Z"), new Date("2026-12-02T00:05:00Z"));
    // r2 (failed) and s1..s4.
    expect(s).toMatchObject({ requests: 5, errors: 1, errorRate: 0.2 });
  });

  it("has no figures for a window or a deployment without a log", async () => {
    const empty = { requests: 0, errors: 0, errorRate: null, latencyP50Ms: null, latencyP95Ms: null };
    expect(await stats.served("churn", new Date("2026-11-01T00:00:00Z"), new Date("2026-11-02T00:00:00Z"))).toEqual(empty);
    expect(await stats.served("nobody", new Date("2026-12-01T00:00:00Z"), new Date("2026-12-03T00:00:00Z"))).toEqual(empty);
  });

  it("gives alert rules requests, error_rate and latency_p95_ms", async () => {
    const sources = Object.fromEntries(stats.alertSources().map((s) => [s.info.name, s]));
    expect(Object.keys(sources).sort()).toEqual(["error_rate", "latency_p95_ms", "requests"]);
    const q = { project: "default", deployment: "churn", from: new Date("2026-12-01T23:15:00Z"), to: new Date("2026-12-02T00:05:00Z") };
    expect(await sources.requests!.value(q)).toBe(5);
    expect(await sources.error_rate!.value(q)).toBe(0.2);
    expect(await sources.latency_p95_ms!.value({ ...q, deployment: "nobody" })).toBeNull();
  });
});
