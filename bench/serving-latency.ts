/**
 * Online prediction through caretflow's serving gateway versus MLflow's own scoring server for the same
 * registered model, in one run: p50/p95 latency and throughput at concurrency 1 and 10, ratios
 * gateway/MLflow, and the goals (latency at most 1.2x, throughput at least 80%).
 *
 *   npx tsx bench/serving-latency.ts                      # juice, lr, 10 s per phase, 1 row per request
 *   npx tsx bench/serving-latency.ts --seconds 20 --rows 10 --model dt
 *
 * caretflow runs in this process (its HTTP server shares the event loop with the load generator);
 * `mlflow models serve -m models:/NAME/1 --env-manager local` runs from engine/.venv with
 * MLFLOW_TRACKING_URI set to caretflow's MLflow.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Job, PreviewPage } from "@caretflow/contracts";
import { workerMlflowEnv } from "../packages/server/src/mlflow.backend.ts";
import { startCaretflow } from "../packages/server/src/start.ts";
import { signIn, waitReady } from "../packages/server/test/http.client.ts";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    rows: { type: "string", default: "1" },
    model: { type: "string", default: "lr" },
  },
});
const seconds = Number(values.seconds);
const rowsPerRequest = Number(values.rows);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function freePort(): Promise<number> {
  return await new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

interface Phase {
  p50: number;
  p95: number;
  rps: number;
  errors: number;
}

/** `concurrency` loops send `send()` for `seconds`; latency of each answer, throughput, errors. */
async function measure(send: () => Promise<boolean>, concurrency: number): Promise<Phase> {
  for (let i = 0; i < 20; i++) await send(); // warm-up
  const times: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        const ok = await send();
        times.push(performance.now() - t);
        if (!ok) errors += 1;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p95: quantile(times, 0.95), rps: times.length / wall, errors };
}

async function main(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), "cf-bench-serving-"));
  const cf = await startCaretflow({ home, port: 0, demo: true, log: () => {} });
  let mlflowServe: ChildProcess | null = null;
  try {
    const api = await signIn(cf.url, cf.adminPassword!);
    await waitReady(api, "engine");
    const started = await api.post<Job>("/api/jobs/train", {
      dataset: "juice",
      task: "classification",
      target: "Purchase",
      include: [values.model],
      folds: 2,
    });
    let job = started.body;
    while (!["succeeded", "failed", "cancelled"].includes(job.status)) {
      await sleep(500);
      job = (await api.get<Job>(`/api/jobs/${job.id}`)).body;
    }
    if (job.result?.kind !== "train") throw new Error(`training failed: ${JSON.stringify(job.error)}`);
    const name = "bench-juice";
    const reg = await api.post<{ version: number }>("/api/models", { runId: job.result.best_run_id, name });
    const version = reg.body.version;
    const made = await api.post("/api/deployments", { name: "bench", model: name, target: { version } });
    if (made.status !== 201) throw new Error(`deployment: ${JSON.stringify(made.body)}`);
    const input = (await api.get<PreviewPage>("/api/datasets/juice/versions/1/preview?limit=50")).body;
    const rows = input.rows
      .map((r) => Object.fromEntries(input.columns.filter((c) => c.name !== "Purchase").map((c) => [c.name, r[input.columns.indexOf(c)]])))
      .slice(0, rowsPerRequest);

    const port = await freePort();
    // caretflow's own MLflow: its port and credential are kept in the home.
    const mlflowHome = join(home, "mlflow");
    const trackingUri = `http://127.0.0.1:${(await readFile(join(mlflowHome, "port"), "utf8")).trim()}/mlflow`;
    const credentials = await workerMlflowEnv(mlflowHome, null);
    mlflowServe = spawn(
      join(root, "engine/.venv/bin/mlflow"),
      ["models", "serve", "-m", `models:/${name}/${version}`, "--env-manager", "local", "-p", String(port), "-h", "127.0.0.1"],
      {
        // The venv's bin first: mlflow starts its uvicorn from PATH.
        env: {
          ...process.env,
          ...credentials,
          MLFLOW_TRACKING_URI: trackingUri,
          PATH: `${join(root, "engine/.venv/bin")}:${process.env.PATH}`,
        },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    const mlflowUrl = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if ((await fetch(`${mlflowUrl}/ping`).catch(() => null))?.ok) break;
      if (i > 600 || mlflowServe.exitCode !== null) throw new Error("mlflow models serve did not start");
      await sleep(500);
    }

    const gateway = async () => (await api.post(`/api/deployments/bench/predict`, { rows })).status === 200;
    const body = JSON.stringify({ dataframe_records: rows });
    const mlflow = async () => {
      const r = await fetch(`${mlflowUrl}/invocations`, { method: "POST", headers: { "content-type": "application/json" }, body });
      await r.arrayBuffer();
      return r.ok;
    };
    const fmt = (x: number) => x.toFixed(1).padStart(8);
    console.log(`juice ${values.model}, ${rowsPerRequest} row(s) per request, ${seconds} s per phase`);
    console.log("concurrency  server     p50 ms   p95 ms   req/s  errors");
    for (const c of [1, 10]) {
      const m = await measure(mlflow, c);
      const g = await measure(gateway, c);
      console.log(`${String(c).padStart(11)}  mlflow   ${fmt(m.p50)} ${fmt(m.p95)} ${fmt(m.rps)} ${String(m.errors).padStart(7)}`);
      console.log(`${String(c).padStart(11)}  gateway  ${fmt(g.p50)} ${fmt(g.p95)} ${fmt(g.rps)} ${String(g.errors).padStart(7)}`);
      const lat = g.p50 / m.p50;
      const lat95 = g.p95 / m.p95;
      const thr = g.rps / m.rps;
      console.log(
        `             ratio    p50 ${lat.toFixed(2)}x  p95 ${lat95.toFixed(2)}x  throughput ${(thr * 100).toFixed(0)}%  ` +
          `(goals: latency <= 1.2x ${lat <= 1.2 && lat95 <= 1.2 ? "met" : "missed"}, throughput >= 80% ${thr >= 0.8 ? "met" : "missed"})`,
      );
    }
  } finally {
    mlflowServe?.kill("SIGTERM");
    await cf.close();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
