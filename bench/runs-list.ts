/**
 * Runs list at scale: a real MLflow server with 10,000 training runs (seeded into its store, tagged as
 * caretflow's engine tags its parent runs), caretflow started on it (`caretflow up
 * --mlflow-url`), then 50 concurrent clients read, in turn: caretflow's first page of /api/runs, a
 * filtered page sorted on a metric, a first page with two parameter columns sorted on one, and (the baseline, same run) the same first page straight from
 * MLflow's runs/search. Prints req/s, p50 and p95 of each, the ratio of the p95s and the goal
 * (p95 of caretflow's list at most 300 ms).
 *
 *   npx tsx bench/runs-list.ts                          # 10,000 runs, 50 clients, 15 s per phase
 *   npx tsx bench/runs-list.ts --runs 2000 --seconds 10
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { basicAuthorization, MlflowSupervisor } from "@caretflow/tracking";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    clients: { type: "string", default: "50" },
    seconds: { type: "string", default: "15" },
  },
});
const nRuns = Number(values.runs);
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const GOAL_P95_MS = 300;
const PAGE = 50;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;

const home = await mkdtemp(join(tmpdir(), "caretflow-runs-list-"));
const sup = new MlflowSupervisor({ mlflowBin: join(root, "engine/.venv/bin/mlflow"), home: join(home, "mlflow"), log: () => {} });
const mlflowUrl = (await sup.start()).url;
const mlflowAuth = basicAuthorization(sup.credentials);
const started: { server?: ChildProcess } = {};

async function mlflow<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${mlflowUrl}/api/2.0/mlflow/${path}`, {
    method: "POST",
    headers: { authorization: mlflowAuth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`MLflow ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * `nRuns` finished parent runs with metrics, params and caretflow's tags, written into MLflow's own store by
 * bench/seed_mlflow_runs.py (MLflow's ORM models, one transaction), while the server runs: MLflow reads its
 * store on every request, so it serves them at once.
 */
async function seed(experimentId: string): Promise<void> {
  const t0 = Date.now();
  await run(join(root, "engine/.venv/bin/python"), [
    join(root, "bench/seed_mlflow_runs.py"),
    join(home, "mlflow", "mlflow.db"),
    experimentId,
    "mlflow-artifacts:",
    String(nRuns),
  ]);
  console.log(`seeded ${nRuns} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function startCaretflow(): Promise<{ url: string; token: string }> {
  const child = spawn(
    process.execPath,
    [
      join(root, "packages/cli/bin/caretflow.js"),
      "up",
      "--home",
      join(home, "cf"),
      "--port",
      "0",
      "--no-demo",
      "--json",
      "--mlflow-url",
      mlflowUrl,
    ],
    {
      cwd: root,
      env: { ...process.env, CARETFLOW_MLFLOW_USERNAME: sup.credentials.username, CARETFLOW_MLFLOW_PASSWORD: sup.credentials.password },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  started.server = child;
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<never>((_, fail) =>
    child.once("exit", (code) => fail(new Error(`caretflow up exited ${code}:\n${stderr.slice(-3000)}`))),
  );
  await Promise.race([
    new Promise<void>((ok) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("}")) ok();
      });
    }),
    exited,
  ]);
  return JSON.parse(await readFile(join(home, "cf", "cli.json"), "utf8")) as { url: string; token: string };
}

interface Target {
  name: string;
  request: () => Promise<Response>;
}

async function measure(t: Target): Promise<{ p50: number; p95: number; rps: number; errors: number }> {
  const ms: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          const res = await t.request();
          await res.arrayBuffer();
          if (res.status !== 200) errors++;
        } catch {
          errors++;
        }
        ms.push(performance.now() - s);
      }
    }),
  );
  ms.sort((a, b) => a - b);
  const r = { p50: quantile(ms, 0.5), p95: quantile(ms, 0.95), rps: ms.length / ((performance.now() - t0) / 1000), errors };
  console.log(
    `${t.name.padEnd(48)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(0).padStart(5)} ms  p95 ${r.p95.toFixed(0).padStart(5)} ms  errors ${errors}`,
  );
  return r;
}

try {
  const { experiment_id } = await mlflow<{ experiment_id: string }>("experiments/create", { name: "bench-runs" });
  await seed(experiment_id);
  const cf = await startCaretflow();
  const headers = { authorization: `Bearer ${cf.token}` };
  const t0 = Date.now();
  for (;;) {
    const res = await fetch(`${cf.url}/api/runs?limit=1`, { headers });
    const total = res.status === 200 ? ((await res.json()) as { total: number }).total : 0;
    if (total >= nRuns) break;
    if (Date.now() - t0 > 600_000) throw new Error(`the runs index holds ${total} of ${nRuns} runs after 10 minutes`);
    await sleep(250);
  }
  console.log(`caretflow indexed ${nRuns} runs ${((Date.now() - t0) / 1000).toFixed(1)} s after it started serving`);
  console.log(`${clients} clients, ${seconds} s each, pages of ${PAGE}`);

  const first = await measure({
    name: "caretflow /api/runs (first page)",
    request: () => fetch(`${cf.url}/api/runs?limit=${PAGE}`, { headers }),
  });
  const filtered = await measure({
    name: "caretflow /api/runs (filtered, sorted on AUC)",
    request: () =>
      fetch(`${cf.url}/api/runs?limit=${PAGE}&sort=metrics.AUC&filter=${encodeURIComponent("metrics.AUC > 0.8 and params.model = lr")}`, {
        headers,
      }),
  });
  // As the Runs page asks once a person picks parameter columns: the page's runs with those params.
  const withParams = await measure({
    name: "caretflow /api/runs (first page with two param columns)",
    request: () => fetch(`${cf.url}/api/runs?limit=${PAGE}&params=model,fold&sort=params.fold`, { headers }),
  });
  const search = (filter: string, orderBy: string) =>
    fetch(`${mlflowUrl}/api/2.0/mlflow/runs/search`, {
      method: "POST",
      headers: { authorization: mlflowAuth, "content-type": "application/json" },
      body: JSON.stringify({ experiment_ids: [experiment_id], filter, order_by: [orderBy], max_results: PAGE }),
    });
  const base = await measure({
    name: "MLflow runs/search (first page, baseline)",
    request: () => search("tags.`caretflow.role` = 'parent'", "attributes.start_time DESC"),
  });
  const baseFiltered = await measure({
    name: "MLflow runs/search (filtered, sorted on AUC)",
    request: () => search("tags.`caretflow.role` = 'parent' and metrics.AUC > 0.8 and params.model = 'lr'", "metrics.AUC DESC"),
  });
  console.log(
    `p95 ratio caretflow/MLflow: first page ${(first.p95 / base.p95).toFixed(2)}, filtered ${(filtered.p95 / baseFiltered.p95).toFixed(2)}`,
  );
  const worst = Math.max(first.p95, filtered.p95, withParams.p95);
  const errors = first.errors + filtered.errors + withParams.errors;
  console.log(
    `goal: p95 of caretflow's list <= ${GOAL_P95_MS} ms with ${nRuns} runs: ${worst <= GOAL_P95_MS && errors === 0 ? "met" : "NOT met"} (${worst.toFixed(0)} ms)`,
  );
} finally {
  const { server } = started;
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  await sup.stop();
  await rm(home, { recursive: true, force: true });
}
