import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_HEADER } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { PipelineAutomation } from "./pipeline.automation.ts";
import { PipelineRepository } from "./pipeline.repository.ts";
import { createPipelines } from "./pipeline.wiring.ts";

// Pipelines run through the HTTP API on a real dataset store: SQL transforms, quality checks and custom
// Python steps (real processes), so no PyCaret is needed. Training steps are covered by the CLI test.

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
type Body = Record<string, any>;

let f: Awaited<ReturnType<typeof appFixture>>;
let cookie: string;
let scratch: string;

beforeAll(async () => {
  f = await appFixture({}, { datasets: true });
  cookie = await f.login();
  scratch = await mkdtemp(join(tmpdir(), "cf-pipelines-"));
  expect((await upload("sales", "region,amount\nnorth,10\nsouth,5\nnorth,7\n")).status).toBe(201);
});
afterAll(() => f.close());

async function upload(name: string, csv: string) {
  const form = new FormData();
  form.append("file", new Blob([csv]), `${name}.csv`);
  form.append("name", name);
  return f.app.request("/api/datasets", { method: "POST", headers: { cookie, [PROJECT_HEADER]: "default" }, body: form });
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Body; text: string }> {
  const res = await f.app.request(path, {
    method,
    headers: { cookie, [PROJECT_HEADER]: "default", "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: Body = {};
  try {
    parsed = JSON.parse(text) as Body;
  } catch {}
  return { status: res.status, body: parsed, text };
}

async function apply(yaml: string, files: Record<string, string> = {}) {
  return await call("PUT", "/api/pipelines", { yaml, files });
}

/** Polls the run until it ends. */
async function finished(id: string, timeoutMs = 60_000): Promise<Body> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await call("GET", `/api/pipeline-runs/${id}`);
    if (["succeeded", "failed", "cancelled"].includes(r.body.status)) return r.body;
    if (Date.now() > until) throw new Error(`run ${id} did not end: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

const step = (run: Body, id: string) => run.steps.find((s: Body) => s.id === id);

const REPORT = `version: 1
name: report
params:
  minimum: { type: number, default: 6 }
  marker: { type: string, default: "" }
steps:
  - id: totals
    type: transform
    with:
      sql: "SELECT region, sum(amount) AS total FROM sales GROUP BY ALL ORDER BY 1"
      output: sales-totals
  - id: check
    type: quality_check
    needs: [totals]
    with: { dataset: "\${{ steps.totals.outputs.dataset }}", version: "\${{ steps.totals.outputs.version }}" }
  - id: summarise
    type: custom
    needs: [check]
    with:
      language: python
      file: steps/summarise.py
      args: ["\${{ steps.totals.outputs.version }}", "\${{ params.minimum }}", "\${{ params.marker }}"]
`;

const SUMMARISE = `import json, os, sys
version, minimum, marker = sys.argv[1], float(sys.argv[2]), sys.argv[3]
if marker and not os.path.exists(marker):
    print("waiting for", marker)
    sys.exit(3)
inputs = json.load(open(os.environ["CARETFLOW_INPUTS"]))
print("summarising version", version, "of run", inputs["run"]["id"])
json.dump({"version": int(version), "minimum": minimum}, open(os.environ["CARETFLOW_OUTPUT"], "w"))
`;

describe("pipelines through the API", () => {
  it("applies a file: created, unchanged, updated; a bad file or a missing code file is refused with every reason", async () => {
    const created = await apply(REPORT, { "steps/summarise.py": SUMMARISE });
    expect(created.status).toBe(200);
    expect(created.body.change).toBe("created");
    expect(created.body.pipeline).toMatchObject({ name: "report", revision: 1, steps: 3, schedule: null, lastRun: null });
    expect((await apply(REPORT, { "steps/summarise.py": SUMMARISE })).body.change).toBe("unchanged");
    const changed = await apply(REPORT, { "steps/summarise.py": `${SUMMARISE}\n# v2\n` });
    expect(changed.body).toMatchObject({ change: "updated", pipeline: { revision: 2 } });

    const bad = await apply(REPORT.replace("type: transform", "type: transfrom"));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_pipeline");
    expect(bad.body.error.details.errors[0]).toMatchObject({ code: "unknown_step_type", line: 8 });
    // A code file not sent is kept from the current revision (the web builder sends the YAML alone)...
    expect((await apply(REPORT)).body.change).toBe("unchanged");
    // ...and one that no revision holds is refused.
    const missing = await apply(REPORT.replace("name: report\n", "name: report-copy\n"));
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("missing_file");
    expect(missing.body.error.message).toContain("steps/summarise.py");

    // Every revision stays readable, for the runs that followed it.
    const first = await call("GET", "/api/pipelines/report/revisions/1");
    expect(first.body).toMatchObject({ name: "report", revision: 1, yaml: REPORT, createdBy: "admin" });
    expect((await call("GET", "/api/pipelines/report/revisions/3")).status).toBe(404);
    expect((await call("GET", "/api/pipelines/report/revisions/zero")).status).toBe(400);

    const list = await call("GET", "/api/pipelines");
    expect(list.body.pipelines.map((p: Body) => [p.name, p.revision])).toEqual([["report", 2]]);
    expect((await call("GET", "/api/pipelines/nope")).status).toBe(404);
  });

  it("runs steps in order, passes outputs along, stores logs and outputs, and reuses unchanged results", async () => {
    const start = await call("POST", "/api/pipelines/report/runs", { params: { minimum: 8 } });
    expect(start.status).toBe(202);
    expect(start.body).toMatchObject({ status: "queued", params: { minimum: 8, marker: "" }, trigger: { kind: "manual" } });
    const run = await finished(start.body.id);
    expect(run.status).toBe("succeeded");
    expect(step(run, "totals").outputs).toEqual({ dataset: "sales-totals", version: 1 });
    expect(step(run, "check").outputs.passed).toBe(true);
    expect(step(run, "summarise").outputs).toEqual({ output: { version: 1, minimum: 8 } });
    expect(step(run, "summarise").inputs.args).toEqual(["1", "8", ""]);
    const log = await call("GET", `/api/pipeline-runs/${run.id}/logs?step=summarise`);
    expect(log.text).toContain(`summarising version 1 of run ${run.id}`);
    expect(log.text).toContain("attempt 1 of 1 started");
    const all = await call("GET", `/api/pipeline-runs/${run.id}/logs`);
    expect(all.text).toMatch(/== totals \(transform\): succeeded[\s\S]*== summarise \(custom\): succeeded/);

    // Unchanged inputs and code: the custom step's result is reused; the transform always runs (it reads the latest data).
    const again = await finished((await call("POST", "/api/pipelines/report/runs", { params: { minimum: 8 } })).body.id);
    expect(step(again, "summarise")).toMatchObject({ status: "succeeded", reusedFrom: run.id, attempts: [] });
    expect(step(again, "totals").attempts).toHaveLength(1);
    const forced = await finished((await call("POST", "/api/pipelines/report/runs", { params: { minimum: 8 }, force: true })).body.id);
    expect(step(forced, "summarise").reusedFrom).toBeNull();
    expect(step(forced, "summarise").attempts).toHaveLength(1);
    const otherParam = await finished((await call("POST", "/api/pipelines/report/runs", { params: { minimum: 9 } })).body.id);
    expect(step(otherParam, "summarise").reusedFrom).toBeNull();

    const runs = await call("GET", "/api/pipeline-runs?pipeline=report&status=succeeded&limit=2");
    expect(runs.body.runs).toHaveLength(2);
    expect(runs.body.runs[0].id).toBe(otherParam.id);
    expect(runs.body.runs[0].stepCounts).toEqual({ succeeded: 3 });
    expect((await call("GET", "/api/pipeline-runs?trigger=schedule")).body.runs).toEqual([]);
    expect((await call("GET", "/api/pipelines/report")).body.lastRun.id).toBe(otherParam.id);
  });

  it("answers two applies racing for one revision with a conflict, never a server error", async () => {
    const yaml = (n: number) =>
      `version: 1\nname: racing\nsteps:\n  - { id: a, type: custom, with: { language: python, code: "print(${n})" } }\n`;
    const answers = await Promise.all([1, 2, 3].map((n) => apply(yaml(n))));
    for (const a of answers) expect([200, 409]).toContain(a.status);
    const conflicts = answers.filter((a) => a.status === 409);
    for (const c of conflicts) expect(c.body.error.code).toBe("pipeline_changed");
    const stored = (await call("GET", "/api/pipelines/racing")).body;
    expect(stored.revision).toBe(answers.length - conflicts.length);
    expect((await call("DELETE", "/api/pipelines/racing")).status).toBe(200);
  });

  it("refuses unknown and mistyped params", async () => {
    const unknown = await call("POST", "/api/pipelines/report/runs", { params: { minimun: 1 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("no param 'minimun'");
    const typed = await call("POST", "/api/pipelines/report/runs", { params: { minimum: "1" } });
    expect(typed.status).toBe(400);
    expect(typed.body.error.message).toContain("is a number");
  });

  it("resumes a failed run from the failed step, reusing the steps that succeeded", async () => {
    const marker = join(scratch, "ready");
    const failed = await finished((await call("POST", "/api/pipelines/report/runs", { params: { marker } })).body.id);
    expect(failed.status).toBe("failed");
    expect(step(failed, "summarise")).toMatchObject({ status: "failed", error: { name: "custom_failed" } });
    expect(failed.error.message).toContain("step 'summarise' failed");
    expect((await call("POST", `/api/pipeline-runs/${failed.id}/resume`)).status).toBe(202);
    // Nothing changed yet: the resumed run fails again at the same step, having reused the others.
    const runs = await call("GET", "/api/pipeline-runs?trigger=resume");
    const second = await finished(runs.body.runs[0].id);
    expect(second.status).toBe("failed");
    await writeFile(marker, "");
    const resumed = await call("POST", `/api/pipeline-runs/${second.id}/resume`);
    expect(resumed.body).toMatchObject({ resumedFrom: second.id, trigger: { kind: "resume" } });
    const done = await finished(resumed.body.id);
    expect(done.status).toBe("succeeded");
    expect(step(done, "totals").reusedFrom).toBe(failed.id);
    expect(step(done, "check").reusedFrom).toBe(failed.id);
    expect(step(done, "summarise").reusedFrom).toBeNull();
    const again = await call("POST", `/api/pipeline-runs/${done.id}/resume`);
    expect(again.status).toBe(409);
  });

  it("retries a failing step, stops one past its timeout, and cancels a run, killing its process", async () => {
    const count = join(scratch, "count");
    const pidFile = join(scratch, "pid");
    const yaml = `version: 1
name: flaky
steps:
  - id: twice
    type: custom
    retry: { count: 2, backoff_seconds: 0, on: [any] }
    with:
      language: python
      args: ["${count}"]
      code: |
        import sys, os
        p = sys.argv[1]
        n = int(open(p).read()) if os.path.exists(p) else 0
        open(p, "w").write(str(n + 1))
        sys.exit(0 if n >= 1 else 1)
  - id: slow
    type: custom
    timeout: 1s
    with: { language: python, code: "import time; time.sleep(30)" }
  - id: sleeper
    type: custom
    needs: [twice]
    if: "\${{ params.long }}"
    with:
      language: python
      args: ["${pidFile}"]
      code: |
        import os, sys, time
        open(sys.argv[1], "w").write(str(os.getpid()))
        time.sleep(60)
params:
  long: { type: boolean, default: false }
`;
    expect((await apply(yaml)).status).toBe(200);
    const run = await finished((await call("POST", "/api/pipelines/flaky/runs", {})).body.id);
    expect(step(run, "twice").attempts.map((a: Body) => a.status)).toEqual(["failed", "succeeded"]);
    expect(step(run, "slow")).toMatchObject({ status: "failed", error: { name: "step_timed_out" } });
    expect(step(run, "sleeper")).toMatchObject({ status: "skipped", error: { name: "condition_false" } });

    const long = await call("POST", "/api/pipelines/flaky/runs", { params: { long: true }, force: true });
    const pid = Number(await waitFor("the sleeper's pid", async () => existsSync(pidFile) && (await readFile(pidFile, "utf8"))));
    const cancelled = await call("POST", `/api/pipeline-runs/${long.body.id}/cancel`);
    expect(cancelled.body.status).toBe("cancelled");
    expect(step(cancelled.body, "sleeper")).toMatchObject({ status: "cancelled" });
    expect(step(cancelled.body, "sleeper").attempts[0].status).toBe("cancelled");
    await waitFor("the process to be gone", async () => !isAlive(pid));
    expect((await call("DELETE", "/api/pipelines/flaky")).body).toEqual({ deleted: "flaky" });
  });

  it("continues a run after a restart: a new service picks up where the stopped one left off", async () => {
    const gate = join(scratch, "gate");
    const yaml = `version: 1
name: restartable
steps:
  - id: first
    type: custom
    with: { language: python, code: "import json, os; json.dump(1, open(os.environ['CARETFLOW_OUTPUT'], 'w'))" }
  - id: waits
    type: custom
    needs: [first]
    with:
      language: python
      args: ["${gate}"]
      code: |
        import os, sys, time
        while not os.path.exists(sys.argv[1]): time.sleep(0.05)
        print("gate open")
`;
    expect((await apply(yaml)).status).toBe(200);
    const id = (await call("POST", "/api/pipelines/restartable/runs", {})).body.id as string;
    await waitFor(
      "the second step to run",
      async () => step((await call("GET", `/api/pipeline-runs/${id}`)).body, "waits").status === "running",
    );
    await f.pipelines.close();
    expect((await call("GET", `/api/pipeline-runs/${id}`)).body.status).toBe("running");

    const next = createPipelines({ ...f.pipelineWiring, handlers: {} });
    await writeFile(gate, "");
    expect(await next.recover()).toBe(1);
    const run = await waitFor("the run to end", async () => {
      const r = await next.run(id, "default");
      return r.status === "succeeded" && r;
    });
    expect(run.steps[0]!.attempts).toHaveLength(1);
    expect(run.steps[1]!.attempts).toHaveLength(1);
    expect(run.steps[1]!.attempts[0]!.status).toBe("succeeded");
    expect(await next.logs(id, "default", "waits")).toContain("gate open");
    await next.close();
  });
});

describe("schedules and triggers", () => {
  it("runs a pipeline when a dataset it watches gets a new version, and one when another finishes", async () => {
    const service = createPipelines({ ...f.pipelineWiring, handlers: {} });
    const automation = new PipelineAutomation({
      pipelines: service,
      repo: new PipelineRepository(f.db),
      projects: f.projects,
      onVersionCreated: (l) => f.store!.onVersionCreated(l),
      log: () => {},
    });
    await automation.start();
    try {
      const ok = `steps:\n  - { id: ok, type: custom, with: { language: python, code: "print('ok')" } }\n`;
      await service.apply(
        "default",
        { yaml: `version: 1\nname: on-sales\ntriggers:\n  - dataset_version: { dataset: sales }\n${ok}`, files: {} },
        "admin",
      );
      await service.apply(
        "default",
        { yaml: `version: 1\nname: after-sales\ntriggers:\n  - pipeline_finished: { pipeline: on-sales }\n${ok}`, files: {} },
        "admin",
      );
      expect((await upload("sales", "region,amount\nnorth,11\nsouth,5\n")).status).toBe(201);
      const first = await waitFor(
        "the dataset trigger",
        async () => (await service.runs("default", { pipeline: "on-sales", limit: 5 }))[0],
      );
      expect(first.trigger).toEqual({ kind: "dataset_version", detail: "dataset sales v2" });
      const second = await waitFor(
        "the pipeline trigger",
        async () => (await service.runs("default", { pipeline: "after-sales", limit: 5 }))[0],
      );
      expect(second.trigger.kind).toBe("pipeline_finished");
      expect(second.trigger.detail).toContain(first.id);
      await waitFor(
        "both to end",
        async () => (await service.runs("default", { status: "succeeded", pipeline: "after-sales", limit: 5 })).length === 1,
      );
    } finally {
      await automation.stop();
      await service.delete("default", "on-sales").catch(() => {});
      await service.delete("default", "after-sales").catch(() => {});
      await service.close();
    }
  });

  it("does not let two pipelines that start each other loop", async () => {
    const service = createPipelines({ ...f.pipelineWiring, handlers: {} });
    const lines: string[] = [];
    const automation = new PipelineAutomation({
      pipelines: service,
      repo: new PipelineRepository(f.db),
      projects: f.projects,
      onVersionCreated: () => () => {},
      log: (_level, line) => lines.push(line),
    });
    await automation.start();
    try {
      const ok = `steps:\n  - { id: ok, type: custom, with: { language: python, code: "print('ok')" } }\n`;
      await service.apply(
        "default",
        { yaml: `version: 1\nname: ping\ntriggers:\n  - pipeline_finished: { pipeline: pong }\n${ok}`, files: {} },
        "admin",
      );
      await service.apply(
        "default",
        { yaml: `version: 1\nname: pong\ntriggers:\n  - pipeline_finished: { pipeline: ping }\n${ok}`, files: {} },
        "admin",
      );
      const first = await service.startRun("default", "ping", { params: {}, force: false }, "admin");
      const pong = await waitFor(
        "pong to run",
        async () => (await service.runs("default", { pipeline: "pong", status: "succeeded", limit: 5 }))[0],
      );
      expect(pong.trigger).toMatchObject({ kind: "pipeline_finished", cause: first.id });
      await waitFor("the loop to be refused", async () => lines.some((l) => l.includes("it would loop (ping → pong → ping)")));
      expect((await service.runs("default", { pipeline: "ping", limit: 5 })).map((r) => r.id)).toEqual([first.id]);
    } finally {
      await automation.stop();
      await service.delete("default", "ping").catch(() => {});
      await service.delete("default", "pong").catch(() => {});
      await service.close();
    }
  });

  it("after downtime, runs missed due times with catch_up and skips them with skip, once with two servers on the database", async () => {
    const service = createPipelines({ ...f.pipelineWiring, handlers: {} });
    const repo = new PipelineRepository(f.db);
    const ok = `steps:\n  - { id: ok, type: custom, with: { language: python, code: "print('tick')" } }\n`;
    const schedule = (missed: string) => `schedule: { cron: "0 * * * *", timezone: Europe/Paris, missed: ${missed}, overlap: queue }\n`;
    await service.apply("default", { yaml: `version: 1\nname: hourly-catch\n${schedule("catch_up")}${ok}`, files: {} }, "admin");
    await service.apply("default", { yaml: `version: 1\nname: hourly-skip\n${schedule("skip")}${ok}`, files: {} }, "admin");
    // caretflow was down since just after the hour three hours before the current one: three due times passed.
    const now = Date.now();
    const down = new Date(Math.floor(now / 3600_000) * 3600_000 - 3 * 3600_000 + 1000);
    for (const p of ["hourly-catch", "hourly-skip"]) {
      await f.db
        .updateTable("pipelines")
        .set({ updated_at: new Date(down.getTime() - 86_400_000).toISOString() })
        .where("name", "=", p)
        .execute();
      await repo.claimDue("default", p, down.toISOString());
    }
    // A second server on the same database starts its scheduler at the same moment: each due time still runs once.
    const other = createPipelines({ ...f.pipelineWiring, handlers: {} });
    const automations = [service, other].map(
      (pipelines) =>
        new PipelineAutomation({
          pipelines,
          repo: new PipelineRepository(f.db),
          projects: f.projects,
          onVersionCreated: () => () => {},
          log: () => {},
        }),
    );
    const [automation, otherAutomation] = automations as [PipelineAutomation, PipelineAutomation];
    await Promise.all(automations.map((a) => a.start()));
    try {
      const caught = await waitFor("three caught-up runs", async () => {
        const runs = await service.runs("default", { pipeline: "hourly-catch", limit: 10 });
        return runs.length >= 3 && runs;
      });
      expect(caught).toHaveLength(3);
      // Both schedulers have handled the downtime once start() returned: no further run comes.
      expect(await service.runs("default", { pipeline: "hourly-catch", limit: 10 })).toHaveLength(3);
      expect(caught.every((r) => r.trigger.kind === "schedule")).toBe(true);
      expect((await service.runs("default", { pipeline: "hourly-skip", limit: 10 })).length).toBe(0);
      const skipped = new Date((await repo.lastDue("default", "hourly-skip"))!);
      expect(now - skipped.getTime()).toBeLessThan(3600_000);
      expect(skipped.getUTCMinutes()).toBe(0);
      await waitFor("the caught-up runs to end", async () => (await service.activeRuns("default", "hourly-catch")).length === 0);
      const pipeline = await service.get("default", "hourly-catch");
      expect(new Date(pipeline.schedule!.next!).getTime()).toBeGreaterThan(now);
    } finally {
      await otherAutomation.stop();
      await automation.stop();
      await other.close();
      await service.close();
    }
  });
});

/** Whether the process exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
