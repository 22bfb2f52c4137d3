import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DriftRequest, ImportResult, Job } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedCaretflow, startCaretflow } from "../src/start.ts";
import { runCliAt } from "./cli.fixture.ts";
import { signIn, type TestClient, waitReady } from "./http.client.ts";

/**
 * Drift through the HTTP API with the real engine: juice split into two random halves (one
 * distribution), and a copy of the second half with a price shifted and a category swapped.
 */
let home: string;
let cf: StartedCaretflow;
let api: TestClient;

const repo = join(import.meta.dirname, "..", "..", "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitJob(id: string, timeoutMs = 300_000): Promise<Job> {
  const t0 = Date.now();
  for (;;) {
    const job = (await api.get<Job>(`/api/jobs/${id}`)).body;
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} still ${job.status}`);
    await sleep(300);
  }
}

async function upload(name: string, csv: string): Promise<ImportResult> {
  const form = new FormData();
  form.append("file", new Blob([csv]), `${name}.csv`);
  const res = await api.raw("/api/datasets", { method: "POST", body: form });
  const body = (await res.json()) as ImportResult;
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

/** A seeded shuffle (mulberry32), so the halves are the same on every run. */
function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed;
  const rand = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function drift(body: DriftRequest): Promise<Job> {
  const started = await api.post<Job>("/api/drift", body);
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body.kind).toBe("drift");
  const job = await waitJob(started.body.id);
  expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
  return job;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "caretflow-drift-"));
  cf = await startCaretflow({ home, port: 0, log: () => {} });
  api = await signIn(cf.url, cf.adminPassword ?? "");
  await waitReady(api, "engine");
  const [header, ...lines] = (await readFile(join(repo, "demo-data", "juice.csv"), "utf8")).trim().split(/\r?\n/);
  const rows = shuffled(lines, 11);
  const half = Math.floor(rows.length / 2);
  const columns = header!.split(",");
  const price = columns.indexOf("PriceCH");
  const store7 = columns.indexOf("Store7");
  const shift = (line: string) => {
    const cells = line.split(",");
    cells[price] = String(Number(cells[price]) * 1.3 + 0.2);
    cells[store7] = cells[store7] === "Yes" ? "No" : "Yes";
    return cells.join(",");
  };
  await upload("juice-ref", `${[header, ...rows.slice(0, half)].join("\n")}\n`);
  await upload("juice-fresh", `${[header, ...rows.slice(half)].join("\n")}\n`);
  await upload("juice-shifted", `${[header, ...rows.slice(half).map(shift)].join("\n")}\n`);
}, 300_000);

afterAll(async () => {
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("drift jobs", () => {
  it("flags the shifted columns of a shifted copy", async () => {
    const job = await drift({ reference: { dataset: "juice-ref" }, current: { dataset: "juice-shifted", version: 1 } });
    expect(job.request).toMatchObject({
      reference: { dataset: "juice-ref", version: 1 },
      thresholds: { psi: 0.2, ks_p_value: 0.05, ks_statistic: 0.1 },
    });
    if (job.result?.kind !== "drift") throw new Error("no drift result");
    expect([...job.result.drifted].sort()).toEqual(["PriceCH", "Store7"]);
    const price = job.result.features.find((f) => f.column === "PriceCH")!;
    expect(price).toMatchObject({ role: "feature", type: "numeric", drifted: true });
    expect(price.ks_p_value).toBeLessThan(0.05);
    expect(job.result.features.find((f) => f.column === "Store7")).toMatchObject({ type: "categorical", drifted: true, ks_p_value: null });
  });

  it("does not flag a fresh sample of the same distribution", async () => {
    const job = await drift({ reference: { dataset: "juice-ref", version: 1 }, current: { dataset: "juice-fresh" } });
    if (job.result?.kind !== "drift") throw new Error("no drift result");
    expect(job.result.drifted).toEqual([]);
    expect(job.result.features.length).toBe(19);
    expect(job.result.current_rows + job.result.reference_rows).toBe(1070);
  });

  it("applies thresholds and features from the request", async () => {
    const job = await drift({
      reference: { dataset: "juice-ref" },
      current: { dataset: "juice-fresh" },
      features: ["PriceCH", "LoyalCH"],
      thresholds: { psi: 0.0001 },
    });
    if (job.result?.kind !== "drift") throw new Error("no drift result");
    expect(job.result.features.map((f) => f.column).sort()).toEqual(["LoyalCH", "PriceCH"]);
    expect(job.result.thresholds.psi).toBe(0.0001);
    expect(job.result.drifted.length).toBeGreaterThan(0);
  });

  it("caretflow drift --wait prints the table, drifted columns first", async () => {
    const cli = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { url: string; token: string };
    const out = await runCliAt(["drift", "--reference", "juice-ref@1", "--current", "juice-shifted", "--wait"], {
      CARETFLOW_URL: cli.url,
      CARETFLOW_TOKEN: cli.token,
    });
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^COLUMN\s+ROLE\s+TYPE\s+PSI\s+KS\s+KS P/);
    expect(
      lines
        .slice(1, 3)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual(["PriceCH", "Store7"]);
    expect(lines[1]).toMatch(/DRIFT$/);
    expect(lines.at(-1)).toMatch(/^2 of 19 features drifted \(535 current rows against 535 reference rows/);
  });

  it("refuses an unknown dataset before queueing anything", async () => {
    const res = await api.post<{ error: { code: string } }>("/api/drift", {
      reference: { dataset: "nope" },
      current: { dataset: "juice-fresh" },
    });
    expect(res.status).toBe(404);
  });
});
