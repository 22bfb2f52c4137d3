import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { EngineEvent, JobSpec } from "@caretflow/contracts";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { jobMemoryLimit } from "../src/engine-host.ts";
import { EngineHost, type EngineHostOptions } from "../src/index.ts";
import { groupAlive } from "../src/process-util.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
const venvPython = join(repo, "engine/.venv/bin/python");
const python = process.env.CARETFLOW_TEST_PYTHON ?? (existsSync(venvPython) ? venvPython : "python3");
const fakeEngineDir = join(here, "fixtures/fake_engine");
const tmp = mkdtempSync(join(tmpdir(), "caretflow-enginehost-"));
let n = 0;

function spec(mode: string, extra: Record<string, string> = {}): JobSpec {
  n++;
  return {
    v: 1,
    kind: "train",
    job_id: `job-${n}`,
    tracking_uri: "http://127.0.0.1:1/mlflow",
    experiment_name: "fake",
    dataset: { name: "juice", version: 1, content_hash: "h", rows: 1 },
    task: "classification",
    target: "Purchase",
    ignore_columns: [],
    text_columns: [],
    train_size: 0.7,
    folds: 3,
    seed: 1,
    use_gpu: "off",
    operation: "compare",
    include: [],
    exclude: [],
    custom_metrics: [],
    custom_models: [],
    setup: {},
    n_jobs: 1,
    workers: 1,
    tags: { "fake.mode": mode, ...extra },
  };
}

const hosts: EngineHost[] = [];
const logs: string[] = [];
async function host(o: Partial<EngineHostOptions> = {}): Promise<EngineHost> {
  const h = await EngineHost.start({
    python,
    engineDir: fakeEngineDir,
    logDir: join(tmp, `logs-${hosts.length}`),
    log: (level, msg) => logs.push(`${level}: ${msg}`),
    cancelGraceMs: 2000,
    restartBackoffMs: [100],
    ...o,
  });
  hosts.push(h);
  return h;
}

function collect() {
  const events: EngineEvent[] = [];
  return { events, onEvent: (e: EngineEvent) => events.push(e) };
}

/** The invariants every job's stream must satisfy, whatever happened. */
function expectWellFormed(events: EngineEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  expect(events.filter((e) => e.type === "finished")).toHaveLength(1);
  expect(events.at(-1)?.type).toBe("finished");
}

const logPath = (name: string) => join(tmp, "jobs", `${name}.log`);

afterEach(() => {
  logs.length = 0;
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  rmSync(tmp, { recursive: true, force: true });
});

describe("EngineHost with a fake engine worker", () => {
  it("runs a job: events in order, one finished last, result returned, job output in its log", async () => {
    const h = await host();
    const { events, onEvent } = collect();
    const out = await h.run(spec("ok"), { onEvent, logPath: logPath("ok") });
    expect(out.status).toBe("succeeded");
    expect(out.result?.kind).toBe("train");
    expectWellFormed(events);
    expect(events.map((e) => e.type)).toEqual(["started", "stage", ...Array(3).fill(["progress", "leaderboard_row"]).flat(), "finished"]);
    expect(readFileSync(logPath("ok"), "utf8")).toContain("starting in mode ok");
    expect(h.status()).toMatchObject({ ready: true, versions: { fake: "1" } });
  });

  it("says it is warming up until a worker is ready, and queues jobs meanwhile", async () => {
    const h = await host({ env: { FAKE_READY_DELAY: "1" } });
    expect(h.status()).toMatchObject({ ready: false, message: expect.stringMatching(/warming up/) });
    const { events, onEvent } = collect();
    const out = await h.run(spec("ok"), { onEvent, logPath: logPath("warm") });
    expect(out.status).toBe("succeeded");
    expect(h.status().ready).toBe(true);
    expectWellFormed(events);
  });

  it("queues jobs beyond the pool size and runs them one after another", async () => {
    const h = await host({ workers: 1 });
    await h.waitReady(30_000);
    const a = collect();
    const b = collect();
    const [ra, rb] = await Promise.all([
      h.run(spec("slow", { "fake.sleep": "0.2" }), { onEvent: a.onEvent, logPath: logPath("qa") }),
      h.run(spec("slow", { "fake.sleep": "0.2" }), { onEvent: b.onEvent, logPath: logPath("qb") }),
    ]);
    expect([ra.status, rb.status]).toEqual(["succeeded", "succeeded"]);
    const aEnd = Date.parse(a.events.at(-1)!.ts);
    const bStart = Date.parse(b.events[0]!.ts);
    expect(bStart).toBeGreaterThanOrEqual(aEnd);
  });

  it("cancels a running job within the grace period (op cancel -> SIGTERM)", async () => {
    const h = await host();
    await h.waitReady(30_000);
    const ac = new AbortController();
    const { events, onEvent } = collect();
    const p = h.run(spec("slow", { "fake.sleep": "20" }), {
      onEvent: (e) => {
        onEvent(e);
        if (e.type === "stage") ac.abort();
      },
      logPath: logPath("cancel"),
      signal: ac.signal,
    });
    const t0 = Date.now();
    const out = await p;
    expect(out.status).toBe("cancelled");
    expect(Date.now() - t0).toBeLessThan(2000);
    expectWellFormed(events);
    // The engine said it itself (its own finished event, after its log line).
    expect(events.at(-2)).toMatchObject({ type: "log", message: "cancelled by request" });
  });

  it("SIGKILLs a job that ignores SIGTERM after the grace period, and the worker stays usable", async () => {
    const h = await host({ cancelGraceMs: 500 });
    await h.waitReady(30_000);
    const ac = new AbortController();
    const { events, onEvent } = collect();
    const t0 = Date.now();
    const out = await h.run(spec("ignore_term", { "fake.sleep": "20" }), {
      onEvent: (e) => {
        onEvent(e);
        if (e.type === "stage") ac.abort();
      },
      logPath: logPath("ignore"),
      signal: ac.signal,
    });
    expect(out.status).toBe("cancelled");
    expect(Date.now() - t0).toBeLessThan(5000);
    expectWellFormed(events);
    expect(logs.some((l) => /did not stop within 500 ms/.test(l))).toBe(true);
    expect((await h.run(spec("ok"), { onEvent: () => {}, logPath: logPath("after-ignore") })).status).toBe("succeeded");
  });

  it("cancels a queued job without running it, and a job whose signal is already aborted", async () => {
    const h = await host({ workers: 1 });
    await h.waitReady(30_000);
    const first = h.run(spec("slow", { "fake.sleep": "0.3" }), { onEvent: () => {}, logPath: logPath("busy") });
    const ac = new AbortController();
    const q = collect();
    const queued = h.run(spec("ok"), { onEvent: q.onEvent, logPath: logPath("queued"), signal: ac.signal });
    ac.abort();
    expect((await queued).status).toBe("cancelled");
    expect(q.events.map((e) => e.type)).toEqual(["finished"]);
    expect(existsSync(logPath("queued"))).toBe(false);
    expect((await first).status).toBe("succeeded");
    const pre = collect();
    expect((await h.run(spec("ok"), { onEvent: pre.onEvent, logPath: logPath("pre"), signal: AbortSignal.abort() })).status).toBe(
      "cancelled",
    );
    expectWellFormed(pre.events);
  });

  it.each([
    ["crash", /exited with code 3 at stage setup before the job finished[\s\S]*FakeError: the fake engine crashed on purpose/],
    ["segv", /was killed by SIGSEGV/],
  ])("turns a job process that dies (%s) into EngineCrashed with the log's tail", async (mode, message) => {
    const h = await host();
    const { events, onEvent } = collect();
    const out = await h.run(spec(mode), { onEvent, logPath: logPath(mode) });
    expect(out.status).toBe("failed");
    expect(out.error).toMatchObject({ name: "EngineCrashed", transient: false, message: expect.stringMatching(message) });
    expect(out.error?.hint).toContain(logPath(mode));
    expectWellFormed(events);
    expect(events.at(-2)).toMatchObject({ type: "error", error: { name: "EngineCrashed" } });
    // The pool is unaffected.
    expect((await h.run(spec("ok"), { onEvent: () => {}, logPath: logPath(`${mode}-next`) })).status).toBe("succeeded");
  });

  it("fails the job when its worker dies, restarts the worker and runs the next job", async () => {
    const h = await host();
    const { events, onEvent } = collect();
    const out = await h.run(spec("kill_worker"), { onEvent, logPath: logPath("killw") });
    expect(out.status).toBe("failed");
    expect(out.error).toMatchObject({ name: "EngineCrashed", message: expect.stringMatching(/engine worker was killed by SIGKILL/) });
    expectWellFormed(events);
    expect(logs.some((l) => /engine worker 1 exited \(signal SIGKILL\); restarting/.test(l))).toBe(true);
    const next = await h.run(spec("ok"), { onEvent: () => {}, logPath: logPath("killw-next") });
    expect(next.status).toBe("succeeded");
  });

  it("logs bad lines as warnings and carries on", async () => {
    const h = await host();
    const { events, onEvent } = collect();
    const out = await h.run(spec("bad_lines"), { onEvent, logPath: logPath("bad") });
    expect(out.status).toBe("succeeded");
    expectWellFormed(events);
    expect(logs.filter((l) => l.startsWith("warn: engine worker")).length).toBeGreaterThanOrEqual(9);
    expect(logs.some((l) => /not JSON/.test(l))).toBe(true);
  });

  it("reports the engine's own failure with its error", async () => {
    const h = await host();
    const { events, onEvent } = collect();
    const out = await h.run(spec("fail"), { onEvent, logPath: logPath("fail") });
    expect(out).toEqual({
      status: "failed",
      error: { name: "TargetMissing", message: "column 'x' does not exist", hint: "pick a column", transient: false },
    });
    expectWellFormed(events);
  });

  it("refuses an invalid spec with one error and one finished", async () => {
    const h = await host();
    const { events, onEvent } = collect();
    const bad = { ...spec("ok"), folds: 1 };
    const out = await h.run(bad, { onEvent, logPath: logPath("invalid") });
    expect(out.error).toMatchObject({ name: "InvalidJobSpec", message: expect.stringMatching(/folds/) });
    expect(events.map((e) => e.type)).toEqual(["error", "finished"]);
  });

  it("keeps restarting a worker that cannot start, saying so in status", async () => {
    const h = await host({ env: { FAKE_WORKER_CRASH: "1" }, restartBackoffMs: [200] });
    const deadline = Date.now() + 20_000;
    while (!/exited \(code 5\)/.test(h.status().message ?? "") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(h.status()).toMatchObject({
      ready: false,
      message: expect.stringMatching(/engine worker 1 exited \(code 5\); restarting.*Last log line: fake worker: crashing at start/),
    });
    await h.close();
    expect(h.status().ready).toBe(false);
  });

  it("close() cancels a running job and leaves no process behind", async () => {
    const h = await host();
    await h.waitReady(30_000);
    let jobPid = 0;
    const { events, onEvent } = collect();
    const started = new Promise<void>((ok) => {
      const p = h.run(spec("slow", { "fake.sleep": "30" }), {
        onEvent: (e) => {
          onEvent(e);
          if (e.type === "started") {
            jobPid = e.pid;
            ok();
          }
        },
        logPath: logPath("close"),
      });
      void p.then((o) => expect(o.status).toBe("cancelled"));
    });
    await started;
    const workerPids = (h as unknown as { workers: Array<{ pid: number }> }).workers.map((w) => w.pid);
    await h.close();
    expectWellFormed(events);
    for (const pid of [jobPid, ...workerPids]) expect(groupAlive(pid) || alive(pid)).toBe(false);
    const after = collect();
    expect((await h.run(spec("ok"), { onEvent: after.onEvent, logPath: logPath("closed") })).error?.name).toBe("EngineUnavailable");
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("jobMemoryLimit", () => {
  it("is the lower of the host's job limit and the job's own, or whichever is set", () => {
    expect(jobMemoryLimit(4000, 512)).toBe(512);
    expect(jobMemoryLimit(400, 512)).toBe(400);
    expect(jobMemoryLimit(400, undefined)).toBe(400);
    expect(jobMemoryLimit(undefined, 512)).toBe(512);
    expect(jobMemoryLimit(undefined, undefined)).toBeUndefined();
  });
});
