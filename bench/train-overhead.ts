// Train-overhead benchmark: the same dataset, seed and options through `caretflow train` (server, warm engine,
// MLflow tracking, plots, model logging) and through a bare PyCaret script (setup + compare_models + finalize).
// Prints both wall times, their ratio (goal: at most 1.10) and whether both leaderboards rank models alike.
//
//   npx tsx bench/train-overhead.ts [--dataset juice|insurance] [--include lr,dt,...] [--repeat 1] [--workers 1]
//
// --workers: processes caretflow's comparison spreads its models over (default 1, the same sequential
// comparison the bare script runs, so the ratio is the cost of caretflow itself; caretflow's default
// is every core). The caretflow time is the training job's, from queued to finished (server clock);
// the evaluation job that follows (charts, SHAP, report) is timed and printed on its own.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startCaretflow } from "@caretflow/server";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    dataset: { type: "string", default: "juice" },
    include: { type: "string", default: "" },
    repeat: { type: "string", default: "1" },
    folds: { type: "string", default: "5" },
    seed: { type: "string", default: "123" },
    workers: { type: "string", default: "1" },
  },
});
const cases = {
  juice: { task: "classification", target: "Purchase" },
  insurance: { task: "regression", target: "charges" },
} as const;
const name = values.dataset as keyof typeof cases;
const c = cases[name];
if (!c) throw new Error(`--dataset must be one of ${Object.keys(cases).join(", ")}`);
// The engine runs estimators with n_jobs=1 on this machine size; the baseline gets the same.
const nJobs = "1";

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; stdout: string }> {
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.on("error", fail);
    p.on("exit", (code) => (code === 0 ? ok({ ms: performance.now() - t0, stdout }) : fail(new Error(`${cmd} exited ${code}`))));
  });
}

async function waitEngineReady(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const h = (await (await fetch(`${url}/api/health`)).json()) as { engine: { ready: boolean }; mlflow: { ready: boolean } };
    if (h.engine.ready && h.mlflow.ready) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("engine did not become ready");
}

async function apiJson<T>(cli: { url: string; token: string }, path: string): Promise<T> {
  const res = await fetch(`${cli.url}${path}`, { headers: { authorization: `Bearer ${cli.token}` } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** How long the evaluation job queued after a training job took (it runs after the job, off its clock). */
async function evaluationOf(cli: { url: string; token: string }, trainJobId: string): Promise<number> {
  for (let i = 0; i < 1200; i++) {
    const { jobs } = await apiJson<{
      jobs: Array<{ kind: string; status: string; request: { after?: string }; createdAt: string; finishedAt: string | null }>;
    }>(cli, "/api/jobs");
    const j = jobs.find((x) => x.kind === "evaluate" && x.request.after === trainJobId);
    if (j?.finishedAt) return Date.parse(j.finishedAt) - Date.parse(j.createdAt);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no evaluation finished for job ${trainJobId}`);
}

const home = mkdtempSync(join(tmpdir(), "caretflow-bench-"));
const cf = await startCaretflow({ home, port: 0, demo: true, log: () => {}, compareWorkers: Number(values.workers) });
try {
  await waitEngineReady(cf.url);
  const cli = JSON.parse(readFileSync(join(home, "cli.json"), "utf8")) as { url: string; token: string };
  const env = { ...process.env, CARETFLOW_URL: cli.url, CARETFLOW_TOKEN: cli.token };
  const common = ["--folds", values.folds!, "--seed", values.seed!];
  const include = values.include ? ["--include", values.include] : [];
  const rows: {
    caretflow: number;
    cli: number;
    evaluate: number;
    bare: number;
    bareAfterImport: number;
    sameOrder: boolean;
    cfOrder: string[];
    bareOrder: string[];
  }[] = [];
  for (let i = 0; i < Number(values.repeat); i++) {
    const bare = await run(join(root, "engine/.venv/bin/python"), [
      join(root, "bench/bare_pycaret.py"),
      ...["--csv", join(root, `demo-data/${name}.csv`), "--task", c.task, "--target", c.target, "--n-jobs", nJobs],
      ...common,
      ...include,
    ]);
    const bareOut = JSON.parse(bare.stdout.trim().split("\n").at(-1)!) as { order: string[]; after_import_s: number };
    const cfRun = await run(
      "node",
      [
        join(root, "packages/cli/bin/caretflow.js"),
        "train",
        "--dataset",
        name,
        "--task",
        c.task,
        "--target",
        c.target,
        ...common,
        ...include,
        "--json",
      ],
      env,
    );
    const cfOut = JSON.parse(cfRun.stdout) as { jobId: string; leaderboard: { model_id: string }[] };
    const cfOrder = cfOut.leaderboard.map((r) => r.model_id);
    const job = await apiJson<{ createdAt: string; finishedAt: string }>(cli, `/api/jobs/${cfOut.jobId}`);
    const evaluation = await evaluationOf(cli, cfOut.jobId);
    rows.push({
      caretflow: Date.parse(job.finishedAt) - Date.parse(job.createdAt),
      cli: cfRun.ms,
      evaluate: evaluation,
      bare: bare.ms,
      bareAfterImport: bareOut.after_import_s * 1000,
      sameOrder: cfOrder.join() === bareOut.order.join(),
      cfOrder,
      bareOrder: bareOut.order,
    });
  }
  const sum = (k: "caretflow" | "bare" | "bareAfterImport" | "cli" | "evaluate") => rows.reduce((s, r) => s + r[k], 0) / 1000;
  const ratio = sum("caretflow") / sum("bare");
  console.log(
    `train-overhead on ${name} (${c.task}, target ${c.target}, folds ${values.folds}, seed ${values.seed}, models ${values.include || "all"})`,
  );
  for (const [i, r] of rows.entries()) {
    console.log(
      `  run ${i + 1}: caretflow training job ${(r.caretflow / 1000).toFixed(1)} s (CLI command ${(r.cli / 1000).toFixed(1)} s; evaluation job after it ${(r.evaluate / 1000).toFixed(1)} s), bare PyCaret ${(r.bare / 1000).toFixed(1)} s (${(r.bareAfterImport / 1000).toFixed(1)} s after its imports), same ranking: ${r.sameOrder}`,
    );
    if (!r.sameOrder) console.log(`    caretflow: ${r.cfOrder.join(" ")}\n    bare:      ${r.bareOrder.join(" ")}`);
  }
  console.log(`compare workers: ${values.workers}`);
  console.log(`ratio caretflow/bare: ${ratio.toFixed(3)}`);
  // caretflow's warm worker has PyCaret imported already; leaving the baseline's imports out shows what
  // tracking and model logging cost on top of the same computation.
  const noImports = sum("caretflow") / sum("bareAfterImport");
  console.log(
    `ratio caretflow/bare without the baseline's Python imports: ${noImports.toFixed(3)} (goal <= 1.10: ${noImports <= 1.1 ? "met" : "NOT met"})`,
  );
  console.log(
    `ratio of the CLI command (node start and following included) without the baseline's imports: ${(sum("cli") / sum("bareAfterImport")).toFixed(3)}`,
  );
  console.log(`leaderboards rank models in the same order: ${rows.every((r) => r.sameOrder)}`);
} finally {
  await cf.close();
  rmSync(home, { recursive: true, force: true });
}
