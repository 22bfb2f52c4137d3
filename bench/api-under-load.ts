/**
 * API under load: 50 concurrent clients read the API (health, datasets, a dataset, jobs, a job, the
 * catalog) on an idle caretflow (the baseline), then again while training jobs run one after another
 * (juice, a few fast models, each followed by its evaluation job). Prints p50/p95/p99 latency, errors
 * and throughput of both phases, the ratio loaded/idle, and the goals (p95 at most 200 ms, no errors).
 * /api/runs and /api/models (MLflow-backed lists) are measured on their own, idle, and reported apart.
 *
 *   npx tsx bench/api-under-load.ts                        # 50 clients, 20 s per phase
 *   npx tsx bench/api-under-load.ts --clients 50 --seconds 30 --include lr,dt,ridge,nb
 *
 * caretflow runs as `caretflow up` in a process of its own, so the load generator does not share the
 * server's event loop. The server's event-loop delay in each phase is read from its own /metrics.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Health, Job } from "@caretflow/contracts";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "50" },
    seconds: { type: "string", default: "20" },
    include: { type: "string", default: "lr,dt,ridge,nb" },
    "skip-mlflow-lists": { type: "boolean", default: false },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const include = values.include!.split(",");
const GOAL_P95_MS = 200;

interface Sample {
  path: string;
  ms: number;
  ok: boolean;
}

interface PhaseResult {
  name: string;
  samples: Sample[];
  wallS: number;
  loopP99Ms: number | null;
  loopMaxMs: number | null;
  jobs: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `caretflow up` in its own process; resolves once it serves and the engine and MLflow are ready. */
async function startServer(home: string, metricsToken: string): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(
    process.execPath,
    [join(root, "packages/cli/bin/caretflow.js"), "up", "--home", home, "--port", "0", "--no-demo", "--json"],
    {
      cwd: root,
      env: { ...process.env, CARETFLOW_METRICS_TOKEN: metricsToken },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<never>((_, fail) =>
    child.once("exit", (code) => fail(new Error(`caretflow up exited ${code}:\n${stderr.slice(-3000)}`))),
  );
  const started = new Promise<void>((ok) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("}")) ok();
    });
  });
  await Promise.race([started, exited]);
  const cli = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { url: string; token: string };
  for (const t0 = Date.now(); ; ) {
    const h = (await (await fetch(`${cli.url}/api/health`)).json()) as Health;
    if (h.engine.ready && h.mlflow.ready) break;
    if (Date.now() - t0 > 300_000) throw new Error(`caretflow not ready: ${JSON.stringify(h)}`);
    await Promise.race([sleep(500), exited]);
  }
  return { child, url: cli.url, token: cli.token };
}

const home = await mkdtemp(join(tmpdir(), "caretflow-load-"));
const metricsToken = randomBytes(24).toString("hex");
const server = await startServer(home, metricsToken);
const auth = { authorization: `Bearer ${server.token}` };

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...auth, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The server's event-loop delay since the previous scrape (prom-client resets it on every collection), ms. */
async function eventLoopDelay(): Promise<{ p99: number | null; max: number | null }> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
  const value = (name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(" ")[1]) * 1000 : null;
  };
  return { p99: value("caretflow_nodejs_eventloop_lag_p99_seconds"), max: value("caretflow_nodejs_eventloop_lag_max_seconds") };
}

/** `clients` loops, each calling the paths in turn (from a different start) until `until()` says stop. */
async function drive(paths: string[], until: () => boolean): Promise<Sample[]> {
  const samples: Sample[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; !until(); i++) {
        const path = paths[i % paths.length]!;
        const t0 = performance.now();
        let ok = false;
        try {
          const res = await fetch(`${server.url}${path}`, { headers: auth });
          await res.arrayBuffer();
          ok = res.status === 200;
        } catch {}
        samples.push({ path, ms: performance.now() - t0, ok });
      }
    }),
  );
  return samples;
}

/** Load for `seconds`, optionally with a training job always running (the next one starts when one and its evaluation end). */
async function phase(name: string, paths: string[], withJobs: boolean, phaseSeconds = seconds): Promise<PhaseResult> {
  await eventLoopDelay(); // resets the server's event-loop histogram
  let stop = false;
  let jobs = 0;
  const training = (async () => {
    while (withJobs && !stop) {
      const job = await api<Job>("POST", "/api/jobs/train", { dataset: "juice", task: "classification", target: "Purchase", include });
      // The job and the evaluation queued after it.
      for (;;) {
        const all = (await api<{ jobs: Job[] }>("GET", "/api/jobs")).jobs;
        const mine = all.filter((j) => j.id === job.id || (j.kind === "evaluate" && "after" in j.request && j.request.after === job.id));
        const done = mine.filter((j) => ["succeeded", "failed", "cancelled"].includes(j.status));
        if (mine.some((j) => j.status === "failed")) throw new Error(`a training job failed: ${JSON.stringify(mine.map((j) => j.error))}`);
        if (mine.length === 2 && done.length === 2) break;
        await sleep(500);
      }
      jobs++;
    }
  })();
  if (withJobs) {
    // Measure once the first job is running, not while it is queued.
    for (;;) {
      const running = (await api<{ jobs: Job[] }>("GET", "/api/jobs")).jobs.some((j) => j.status === "running");
      if (running) break;
      await sleep(100);
    }
  }
  const t0 = performance.now();
  const samples = await drive(paths, () => performance.now() - t0 > phaseSeconds * 1000);
  const wallS = (performance.now() - t0) / 1000;
  stop = true;
  const loop = await eventLoopDelay();
  await training;
  return { name, samples, wallS, loopP99Ms: loop.p99, loopMaxMs: loop.max, jobs };
}

function report(r: PhaseResult): { p95: number; errors: number } {
  const ms = r.samples.map((s) => s.ms).sort((a, b) => a - b);
  const errors = r.samples.filter((s) => !s.ok).length;
  const p95 = quantile(ms, 0.95);
  const loop = r.loopP99Ms === null ? "" : `; server event-loop delay p99 ${r.loopP99Ms.toFixed(0)} ms, max ${r.loopMaxMs?.toFixed(0)} ms`;
  console.log(
    `${r.name}: ${r.samples.length} requests in ${r.wallS.toFixed(1)} s (${(r.samples.length / r.wallS).toFixed(0)}/s), ` +
      `p50 ${quantile(ms, 0.5).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, p99 ${quantile(ms, 0.99).toFixed(1)} ms, max ${ms.at(-1)?.toFixed(0)} ms, ` +
      `errors ${errors}${r.jobs ? `, training jobs finished ${r.jobs}` : ""}${loop}`,
  );
  for (const path of [...new Set(r.samples.map((s) => s.path))]) {
    const p = r.samples
      .filter((s) => s.path === path)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    console.log(
      `    ${path.padEnd(40)} p50 ${quantile(p, 0.5).toFixed(1).padStart(7)} ms  p95 ${quantile(p, 0.95).toFixed(1).padStart(7)} ms`,
    );
  }
  return { p95, errors };
}

try {
  // Something to read: the demo dataset, and a finished job with its evaluation.
  const form = new FormData();
  form.append("file", new Blob([await readFile(join(root, "demo-data", "juice.csv"))]), "juice.csv");
  const imported = await fetch(`${server.url}/api/datasets`, { method: "POST", headers: auth, body: form });
  if (imported.status !== 201) throw new Error(`upload: HTTP ${imported.status} ${await imported.text()}`);
  await phase("warm-up", ["/api/health"], true, 1);
  const someJob = (await api<{ jobs: Job[] }>("GET", "/api/jobs")).jobs[0]!.id;
  const paths = ["/api/health", "/api/datasets", "/api/datasets/juice", "/api/jobs", `/api/jobs/${someJob}`, "/api/catalog"];

  console.log(`api-under-load: ${clients} clients, ${seconds} s per phase, training juice with ${include.join(",")}`);
  const idle = report(await phase("idle (baseline)", paths, false));
  const loaded = report(await phase("while training", paths, true));
  const ratio = loaded.p95 / idle.p95;
  console.log(`ratio p95 while training / idle: ${ratio.toFixed(2)}`);
  console.log(
    `goal p95 <= ${GOAL_P95_MS} ms while training: ${loaded.p95 <= GOAL_P95_MS ? "met" : "NOT met"} (${loaded.p95.toFixed(1)} ms); ` +
      `goal 0 errors: ${loaded.errors + idle.errors === 0 ? "met" : "NOT met"} (${loaded.errors + idle.errors})`,
  );
  if (!values["skip-mlflow-lists"]) {
    console.log("MLflow-backed lists, reported apart (idle, same clients):");
    report(await phase("  /api/runs and /api/models", ["/api/runs", "/api/models"], false, Math.min(seconds, 10)));
  }
} finally {
  server.child.kill("SIGINT");
  await new Promise((r) => server.child.once("exit", r));
  await rm(home, { recursive: true, force: true });
}
