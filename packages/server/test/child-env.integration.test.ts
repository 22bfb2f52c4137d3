import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineHost, ScoringPool } from "@caretflow/engine-host";
import { freePort, MlflowSupervisor } from "@caretflow/tracking";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultRepoRoot } from "../src/start.ts";

/**
 * Child processes (engine workers, scoring processes, MLflow) get an allow-listed environment: a secret in
 * caretflow's own environment never reaches them. Read from /proc/<pid>/environ of the real processes.
 */
const repo = defaultRepoRoot();
const python = join(repo, "engine", ".venv", "bin", "python");
const mlflowBin = join(repo, "engine", ".venv", "bin", "mlflow");
const SECRET = "CARETFLOW_SECRET_TEST";
const SECRET_VALUE = "s3cret-should-stay-in-the-parent";

let dir: string;
const stops: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-childenv-"));
  process.env[SECRET] = SECRET_VALUE;
  process.env.AWS_SECRET_ACCESS_KEY = "not-for-children";
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  delete process.env[SECRET];
  delete process.env.AWS_SECRET_ACCESS_KEY;
  await rm(dir, { recursive: true, force: true });
});

/** Processes descended from this one whose command line matches, with their environment. */
async function descendants(match: RegExp): Promise<Array<{ pid: number; cmd: string; env: Map<string, string> }>> {
  const parent = new Map<number, number>();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(name), ppid);
    } catch {} // exited meanwhile
  }
  const isOurs = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const found = [];
  for (const pid of parent.keys()) {
    if (!isOurs(pid)) continue;
    try {
      const cmd = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ");
      if (!match.test(cmd)) continue;
      const raw = await readFile(`/proc/${pid}/environ`, "utf8");
      const env = new Map(
        raw
          .split("\0")
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as [string, string]),
      );
      found.push({ pid, cmd, env });
    } catch {}
  }
  return found;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function expectClean(procs: Array<{ pid: number; cmd: string; env: Map<string, string> }>, explicit: Record<string, string>) {
  expect(procs.length).toBeGreaterThan(0);
  for (const p of procs) {
    expect(p.env.has(SECRET), `${p.cmd} sees ${SECRET}`).toBe(false);
    expect(p.env.has("AWS_SECRET_ACCESS_KEY"), p.cmd).toBe(false);
    expect([...p.env.values()].join("\n")).not.toContain(SECRET_VALUE);
    expect(p.env.get("PATH"), p.cmd).toBe(process.env.PATH);
    for (const [k, v] of Object.entries(explicit)) expect(p.env.get(k), `${p.cmd}: ${k}`).toBe(v);
  }
}

describe("child process environment", () => {
  it("engine workers and scoring processes see the explicit variables, not caretflow's secrets", async () => {
    const explicit = { CARETFLOW_DATA_ROOT: join(dir, "datasets"), MLFLOW_TRACKING_USERNAME: "caretflow", MLFLOW_TRACKING_PASSWORD: "pw" };
    const engine = await EngineHost.start({
      python,
      engineDir: join(repo, "engine"),
      workers: 1,
      logDir: join(dir, "logs"),
      env: explicit,
    });
    stops.push(() => engine.close());
    await until("the engine worker", () => engine.status().ready);
    expectClean(await descendants(/caretflow_engine worker/), explicit);

    const scoring = new ScoringPool({
      python,
      engineDir: join(repo, "engine"),
      trackingUri: "http://127.0.0.1:1/mlflow",
      logDir: join(dir, "logs"),
      env: explicit,
    });
    stops.push(() => scoring.close());
    expect(await scoring.utility({ op: "ping" })).toMatchObject({ ok: true });
    expectClean(await descendants(/caretflow_engine serve/), explicit);
  }, 180_000);

  it("MLflow (and the processes it starts) does not see caretflow's secrets", async () => {
    const sup = new MlflowSupervisor({
      mlflowBin,
      home: join(dir, "mlflow"),
      port: await freePort(),
      staticPrefix: "/mlflow",
      log: () => {},
    });
    stops.push(() => sup.stop());
    await sup.start();
    const procs = await descendants(/mlflow|uvicorn|gunicorn|huey/);
    expect(procs.some((p) => / server /.test(p.cmd))).toBe(true);
    expectClean(procs, { MLFLOW_DISABLE_TELEMETRY: "true" });
  }, 180_000);
});
