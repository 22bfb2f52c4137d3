import { PipelineSchedule, PipelineTrigger } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  dueBetween,
  latestDueBetween,
  MAX_TIMER_MS,
  nextDue,
  type PipelineEvent,
  PipelineScheduler,
  type ScheduledPipeline,
  type ScheduleRunner,
  type ScheduleStore,
  type TriggerablePipeline,
  triggeredBy,
} from "./pipeline.schedule.ts";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const at = (s: string) => new Date(s);

// ---------------------------------------------------------------- cron arithmetic

describe("dueBetween", () => {
  it("answers the fire times in (after, until]: after excluded, until included", () => {
    expect(iso(dueBetween("0 2 * * *", "UTC", at("2026-12-01T02:00:00Z"), at("2026-12-03T02:00:00Z"), 10))).toEqual([
      "2026-12-02T02:00:00.000Z",
      "2026-12-03T02:00:00.000Z",
    ]);
    expect(dueBetween("0 2 * * *", "UTC", at("2026-12-01T02:00:00Z"), at("2026-12-02T01:59:59.999Z"), 10)).toEqual([]);
  });

  it("reads the expression in the time zone, across the spring DST change (Europe/Paris, 29 March 2026)", () => {
    // 02:00 does not exist that night in Paris: the daily run happens at 03:00 CEST (01:00Z) instead.
    expect(iso(dueBetween("0 2 * * *", "Europe/Paris", at("2026-03-27T12:00:00Z"), at("2026-03-31T12:00:00Z"), 10))).toEqual([
      "2026-03-28T01:00:00.000Z", // 02:00 CET
      "2026-03-29T01:00:00.000Z", // 03:00 CEST
      "2026-03-30T00:00:00.000Z", // 02:00 CEST
      "2026-03-31T00:00:00.000Z",
    ]);
  });

  it("runs a fixed-time job once when the autumn DST change repeats the hour (Europe/Paris, 25 October 2026)", () => {
    expect(iso(dueBetween("0 2 * * *", "Europe/Paris", at("2026-10-23T12:00:00Z"), at("2026-10-26T12:00:00Z"), 10))).toEqual([
      "2026-10-24T00:00:00.000Z", // 02:00 CEST
      "2026-10-25T00:00:00.000Z", // 02:00 CEST, not again at 02:00 CET
      "2026-10-26T01:00:00.000Z", // 02:00 CET
    ]);
  });

  it("keeps interval jobs in real time across the repeated hour", () => {
    // Four half hours of real time between 00:00Z and 02:00Z although the Paris clock shows 02:00-03:00 twice.
    expect(iso(dueBetween("*/30 * * * *", "Europe/Paris", at("2026-10-25T00:00:00Z"), at("2026-10-25T02:00:00Z"), 10))).toEqual([
      "2026-10-25T00:30:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:30:00.000Z",
      "2026-10-25T02:00:00.000Z",
    ]);
  });

  it("takes 6-field expressions with seconds, and a start between seconds", () => {
    expect(iso(dueBetween("*/20 * * * * *", "UTC", at("2026-01-01T00:00:00.500Z"), at("2026-01-01T00:01:00Z"), 10))).toEqual([
      "2026-01-01T00:00:20.000Z",
      "2026-01-01T00:00:40.000Z",
      "2026-01-01T00:01:00.000Z",
    ]);
  });

  it("stops at the cap with the earliest times", () => {
    const out = dueBetween("* * * * * *", "UTC", at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"), 5);
    expect(iso(out)).toEqual(["01", "02", "03", "04", "05"].map((s) => `2026-01-01T00:00:${s}.000Z`));
    expect(dueBetween("* * * * * *", "UTC", at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"), 0)).toEqual([]);
  });
});

describe("latestDueBetween", () => {
  it("answers the latest fire times in (after, until], oldest first", () => {
    expect(iso(latestDueBetween("0 * * * *", "UTC", at("2026-12-01T00:00:00Z"), at("2026-12-02T00:00:00Z"), 3))).toEqual([
      "2026-12-01T22:00:00.000Z",
      "2026-12-01T23:00:00.000Z",
      "2026-12-02T00:00:00.000Z",
    ]);
    // Fewer than asked: all of them, never one at or before `after`.
    expect(iso(latestDueBetween("0 * * * *", "UTC", at("2026-12-01T22:00:00Z"), at("2026-12-01T23:30:00Z"), 5))).toEqual([
      "2026-12-01T23:00:00.000Z",
    ]);
  });

  it("agrees with dueBetween across the DST change", () => {
    const args = ["0 2 * * *", "Europe/Paris", at("2026-03-27T12:00:00Z"), at("2026-03-31T12:00:00Z")] as const;
    expect(iso(latestDueBetween(...args, 10))).toEqual(iso(dueBetween(...args, 10)));
  });
});

describe("nextDue", () => {
  it.each([
    ["0 2 * * *", "UTC", "2026-12-01T02:00:00Z", "2026-12-02T02:00:00.000Z"],
    ["0 2 * * *", "Europe/Paris", "2026-12-01T12:00:00Z", "2026-12-02T01:00:00.000Z"],
    ["0 2 * * *", "America/New_York", "2026-12-01T12:00:00Z", "2026-12-02T07:00:00.000Z"],
    ["30 0 2 * * *", "UTC", "2026-12-01T02:00:29.999Z", "2026-12-01T02:00:30.000Z"],
    ["0 6 * * 1-5", "UTC", "2026-12-04T07:00:00Z", "2026-12-07T06:00:00.000Z"], // Friday -> Monday
  ])("%s in %s after %s is %s", (cron, tz, after, expected) => {
    expect(nextDue(cron, tz, at(after))?.toISOString()).toBe(expected);
  });

  it("is null for an expression that never fires", () => {
    expect(nextDue("0 0 30 2 *", "UTC", at("2026-01-01T00:00:00Z"))).toBeNull();
  });
});

// ---------------------------------------------------------------- the scheduler's world: clock, store, runner

class FakeClock {
  t: number;
  #timers: Array<{ id: number; at: number; fire: () => Promise<void> }> = [];
  #ids = 0;
  /** Every delay a timer was armed with. */
  delays: number[] = [];

  constructor(start: string) {
    this.t = Date.parse(start);
  }
  now = () => new Date(this.t);
  setTimer = (fire: () => Promise<void>, ms: number) => {
    this.delays.push(ms);
    const id = ++this.#ids;
    this.#timers.push({ id, at: this.t + ms, fire });
    return id;
  };
  clearTimer = (id: unknown) => {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  };
  get pending(): string[] {
    return this.#timers.map((t) => new Date(t.at).toISOString());
  }
  /** Moves the clock without firing anything (the process slept). */
  jump(to: string) {
    this.t = Date.parse(to);
  }
  /** Moves the clock to `to`, firing each timer at its time and waiting for the tick it starts. */
  async advanceTo(to: string) {
    const target = Date.parse(to);
    for (;;) {
      const next = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.t = Math.max(this.t, next.at);
      await next.fire();
    }
    this.t = Math.max(this.t, target);
  }
}

const key = (project: string, pipeline: string) => `${project}/${pipeline}`;

class MemoryStore implements ScheduleStore {
  rows: ScheduledPipeline[] = [];
  last = new Map<string, string>();
  failClaim = false;
  constructor(readonly journal: string[]) {}
  async schedules() {
    return this.rows.map((r) => ({ ...r }));
  }
  async lastDue(project: string, pipeline: string) {
    return this.last.get(key(project, pipeline)) ?? null;
  }
  async claimDue(project: string, pipeline: string, due: string) {
    if (this.failClaim) throw new Error("the database is not reachable");
    const last = this.last.get(key(project, pipeline));
    if (last !== undefined && last >= due) return false;
    this.journal.push(`claimDue ${pipeline} ${due}`);
    this.last.set(key(project, pipeline), due);
    return true;
  }
}

interface MemoryRun {
  id: string;
  project: string;
  pipeline: string;
  status: "queued" | "running" | "succeeded" | "cancelled";
  detail: string;
  after: string[];
  cancelReason?: string;
}

class MemoryRunner implements ScheduleRunner {
  runs: MemoryRun[] = [];
  /** Pipelines that no longer exist: start throws for them. */
  deleted = new Set<string>();
  /** When set, start waits for it before answering. */
  gate: Promise<void> | null = null;
  /** Runs it starts finish at once, so they never overlap the next due time. */
  finishAtOnce = false;
  #ids = 0;
  constructor(readonly journal: string[]) {}
  add(pipeline: string, status: MemoryRun["status"], project = "p"): string {
    const id = `r${++this.#ids}`;
    this.runs.push({ id, project, pipeline, status, detail: "manual", after: [] });
    return id;
  }
  async activeRuns(project: string, pipeline: string) {
    return this.runs
      .filter((r) => r.project === project && r.pipeline === pipeline && (r.status === "queued" || r.status === "running"))
      .map((r) => r.id);
  }
  async start(project: string, pipeline: string, trigger: { kind: "schedule"; detail: string }, opts: { after: string[] }) {
    if (this.gate) await this.gate;
    if (this.deleted.has(pipeline)) throw new Error(`pipeline '${pipeline}' does not exist in project '${project}'`);
    const id = this.add(pipeline, this.finishAtOnce ? "succeeded" : "queued", project);
    const run = this.runs.at(-1)!;
    run.detail = trigger.detail;
    run.after = opts.after;
    this.journal.push(`start ${pipeline} ${trigger.detail}`);
    return id;
  }
  async cancel(runId: string, reason: string) {
    const run = this.runs.find((r) => r.id === runId)!;
    run.status = "cancelled";
    run.cancelReason = reason;
    this.journal.push(`cancel ${runId}`);
  }
  scheduled(pipeline?: string) {
    return this.runs.filter((r) => r.detail !== "manual" && (!pipeline || r.pipeline === pipeline));
  }
}

function world(start: string, opts: { maxCatchUp?: number } = {}) {
  const journal: string[] = [];
  const clock = new FakeClock(start);
  const store = new MemoryStore(journal);
  const runner = new MemoryRunner(journal);
  const logs: string[] = [];
  const scheduler = new PipelineScheduler({
    store,
    runner,
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    log: (level, msg) => logs.push(`${level}: ${msg}`),
    ...opts,
  });
  const schedule = (pipeline: string, s: Record<string, unknown>, revisionSince = "2026-01-01T00:00:00Z", project = "p") => {
    store.rows = store.rows.filter((r) => key(r.project, r.pipeline) !== key(project, pipeline));
    store.rows.push({ project, pipeline, schedule: PipelineSchedule.parse(s), revisionSince });
  };
  return { journal, clock, store, runner, logs, scheduler, schedule };
}

// ---------------------------------------------------------------- the scheduler

describe("PipelineScheduler", () => {
  it("starts a run when a schedule falls due and arms the timer for the next one", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *", timezone: "Europe/Paris" }, "2026-12-01T11:00:00Z");
    await w.scheduler.start();
    expect(w.runner.runs).toEqual([]);
    expect(w.scheduler.upcoming()).toEqual([{ project: "p", pipeline: "nightly", next: "2026-12-02T01:00:00.000Z" }]);
    expect(w.clock.pending).toEqual(["2026-12-02T01:00:00.000Z"]);

    await w.clock.advanceTo("2026-12-02T00:59:59Z");
    expect(w.runner.runs).toEqual([]);
    await w.clock.advanceTo("2026-12-02T01:30:00Z");
    expect(w.runner.scheduled()).toMatchObject([
      { pipeline: "nightly", detail: "cron 0 2 * * * (Europe/Paris) due 2026-12-02T01:00:00.000Z", after: [] },
    ]);
    expect(w.store.last.get("p/nightly")).toBe("2026-12-02T01:00:00.000Z");
    expect(w.clock.pending).toEqual(["2026-12-03T01:00:00.000Z"]);
    expect(w.logs).toContain(
      `info: pipeline p/nightly: started run ${w.runner.runs[0]!.id} (cron 0 2 * * * (Europe/Paris) due 2026-12-02T01:00:00.000Z)`,
    );
    await w.scheduler.stop();
  });

  it("records the due time before it starts the run (at most once)", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *" }, "2026-12-01T11:00:00Z");
    await w.scheduler.start();
    await w.clock.advanceTo("2026-12-02T02:00:00Z");
    expect(w.journal).toEqual([
      "claimDue nightly 2026-12-02T02:00:00.000Z",
      "start nightly cron 0 2 * * * (UTC) due 2026-12-02T02:00:00.000Z",
    ]);
    await w.scheduler.stop();
  });

  it("two schedulers on one store (two servers, one database) start each due time once", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *", missed: "catch_up", overlap: "queue" }, "2026-11-28T11:00:00Z");
    const other = new PipelineScheduler({
      store: w.store,
      runner: w.runner,
      now: w.clock.now,
      setTimer: w.clock.setTimer,
      clearTimer: w.clock.clearTimer,
      log: (level, msg) => w.logs.push(`${level}: ${msg}`),
    });
    await Promise.all([w.scheduler.start(), other.start()]);
    // Three nights missed (29, 30 November, 1 December), each caught up once.
    expect(w.runner.scheduled().map((r) => r.detail)).toEqual(
      ["2026-11-29", "2026-11-30", "2026-12-01"].map((d) => `catch-up of cron 0 2 * * * (UTC) due ${d}T02:00:00.000Z`),
    );
    w.runner.finishAtOnce = true;
    for (const r of w.runner.runs) r.status = "succeeded";
    await w.clock.advanceTo("2026-12-02T02:00:00Z");
    expect(w.runner.scheduled()).toHaveLength(4);
    expect(w.logs).toContain("info: pipeline p/nightly: due 2026-12-02T02:00:00.000Z already handled by another caretflow server");
    await Promise.all([w.scheduler.stop(), other.stop()]);
  });

  it("never runs a due time twice: a start that failed after the record is not caught up after a restart", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *", missed: "catch_up" }, "2026-12-01T11:00:00Z");
    w.runner.deleted.add("nightly"); // start fails, as if the server died right after recording
    await w.scheduler.start();
    await w.clock.advanceTo("2026-12-02T02:00:00Z");
    await w.scheduler.stop();
    expect(w.store.last.get("p/nightly")).toBe("2026-12-02T02:00:00.000Z");

    w.runner.deleted.clear();
    w.clock.jump("2026-12-02T03:00:00Z");
    const again = new PipelineScheduler({
      store: w.store,
      runner: w.runner,
      now: w.clock.now,
      setTimer: w.clock.setTimer,
      clearTimer: w.clock.clearTimer,
    });
    await again.start();
    expect(w.runner.scheduled()).toEqual([]);
    await again.stop();
  });

  it("missed: skip records the latest due time missed while down, without running", async () => {
    const w = world("2026-12-04T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *", timezone: "Europe/Paris", missed: "skip" });
    w.store.last.set("p/nightly", "2026-12-01T01:00:00.000Z");
    await w.scheduler.start();
    expect(w.runner.runs).toEqual([]);
    expect(w.store.last.get("p/nightly")).toBe("2026-12-04T01:00:00.000Z");
    expect(w.logs).toEqual([
      "info: pipeline p/nightly: skipped 3 missed due times, from 2026-12-02T01:00:00.000Z to 2026-12-04T01:00:00.000Z (missed: skip)",
    ]);
    expect(w.clock.pending).toEqual(["2026-12-05T01:00:00.000Z"]);
    await w.scheduler.stop();
  });

  it("missed: catch_up runs each missed due time, oldest first; with overlap: queue each waits for the one before", async () => {
    const w = world("2026-12-04T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *", timezone: "Europe/Paris", missed: "catch_up", overlap: "queue" });
    w.store.last.set("p/nightly", "2026-12-01T01:00:00.000Z");
    await w.scheduler.start();
    const runs = w.runner.scheduled();
    expect(runs.map((r) => r.detail)).toEqual([
      "catch-up of cron 0 2 * * * (Europe/Paris) due 2026-12-02T01:00:00.000Z",
      "catch-up of cron 0 2 * * * (Europe/Paris) due 2026-12-03T01:00:00.000Z",
      "catch-up of cron 0 2 * * * (Europe/Paris) due 2026-12-04T01:00:00.000Z",
    ]);
    expect(runs.map((r) => r.after)).toEqual([[], [runs[0]!.id], [runs[0]!.id, runs[1]!.id]]);
    expect(w.store.last.get("p/nightly")).toBe("2026-12-04T01:00:00.000Z");
    expect(w.clock.pending).toEqual(["2026-12-05T01:00:00.000Z"]);
    await w.scheduler.stop();
  });

  it("missed: catch_up follows overlap: skip, so a catch-up run still queued stops the next ones", async () => {
    const w = world("2026-12-04T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *", missed: "catch_up", overlap: "skip" });
    w.store.last.set("p/nightly", "2026-12-01T02:00:00.000Z");
    await w.scheduler.start();
    const runs = w.runner.scheduled();
    expect(runs.map((r) => r.detail)).toEqual(["catch-up of cron 0 2 * * * (UTC) due 2026-12-02T02:00:00.000Z"]);
    expect(w.logs.filter((l) => l.includes(`skipped: run ${runs[0]!.id} still running`))).toHaveLength(2);
    await w.scheduler.stop();
  });

  it("counts missed due times from the time the schedule was applied when it never ran", async () => {
    const w = world("2026-12-01T05:30:00Z");
    w.schedule("hourly", { cron: "0 * * * *", missed: "catch_up", overlap: "queue" }, "2026-12-01T02:30:00Z");
    await w.scheduler.start();
    expect(w.runner.scheduled().map((r) => r.detail.slice(-24))).toEqual([
      "2026-12-01T03:00:00.000Z",
      "2026-12-01T04:00:00.000Z",
      "2026-12-01T05:00:00.000Z",
    ]);
    await w.scheduler.stop();
  });

  it("does not catch up due times from before the schedule was last changed", async () => {
    const w = world("2026-12-01T05:30:00Z");
    w.schedule("hourly", { cron: "0 * * * *", missed: "catch_up", overlap: "queue" }, "2026-12-01T04:30:00Z");
    w.store.last.set("p/hourly", "2026-11-20T00:00:00.000Z");
    await w.scheduler.start();
    expect(w.runner.scheduled().map((r) => r.detail.slice(-24))).toEqual(["2026-12-01T05:00:00.000Z"]);
    await w.scheduler.stop();
  });

  it("caps a catch-up at maxCatchUp, keeping the latest due times and logging the ones left out", async () => {
    const w = world("2026-12-02T06:30:00Z", { maxCatchUp: 2 });
    w.schedule("hourly", { cron: "0 * * * *", missed: "catch_up", overlap: "queue" });
    w.store.last.set("p/hourly", "2026-12-01T00:00:00.000Z");
    await w.scheduler.start();
    expect(w.runner.scheduled().map((r) => r.detail)).toEqual([
      "catch-up of cron 0 * * * * (UTC) due 2026-12-02T05:00:00.000Z",
      "catch-up of cron 0 * * * * (UTC) due 2026-12-02T06:00:00.000Z",
    ]);
    expect(w.logs[0]).toBe(
      "info: pipeline p/hourly: skipped 28 missed due times, from 2026-12-01T01:00:00.000Z to 2026-12-02T04:00:00.000Z (catch-up runs the latest 2 at most)",
    );
    expect(w.store.last.get("p/hourly")).toBe("2026-12-02T06:00:00.000Z");
    await w.scheduler.stop();
  });

  it("on a late tick (the process slept) runs the latest due time and treats the earlier ones as missed", async () => {
    const w = world("2026-12-01T00:30:00Z");
    w.schedule("hourly", { cron: "0 * * * *" }, "2026-12-01T00:30:00Z");
    await w.scheduler.start();
    w.clock.jump("2026-12-01T03:10:00Z");
    await w.clock.advanceTo("2026-12-01T03:10:00Z");
    expect(w.runner.scheduled().map((r) => r.detail)).toEqual(["cron 0 * * * * (UTC) due 2026-12-01T03:00:00.000Z"]);
    expect(w.logs[0]).toBe(
      "info: pipeline p/hourly: skipped 2 missed due times, from 2026-12-01T01:00:00.000Z to 2026-12-01T02:00:00.000Z (missed: skip)",
    );
    expect(w.clock.pending).toEqual(["2026-12-01T04:00:00.000Z"]);
    await w.scheduler.stop();
  });

  describe("overlap, when the previous run still runs", () => {
    async function dueWhileRunning(overlap: string) {
      const w = world("2026-12-01T12:00:00Z");
      w.schedule("nightly", { cron: "0 2 * * *", overlap }, "2026-12-01T11:00:00Z");
      const previous = w.runner.add("nightly", "running");
      await w.scheduler.start();
      await w.clock.advanceTo("2026-12-02T02:00:00Z");
      await w.scheduler.stop();
      return { ...w, previous };
    }

    it("skip: records the due time as handled and starts nothing", async () => {
      const w = await dueWhileRunning("skip");
      expect(w.runner.scheduled()).toEqual([]);
      expect(w.store.last.get("p/nightly")).toBe("2026-12-02T02:00:00.000Z");
      expect(w.logs).toEqual([
        `info: pipeline p/nightly: due 2026-12-02T02:00:00.000Z skipped: run ${w.previous} still running (overlap: skip)`,
      ]);
    });

    it("queue: starts a run that waits for the previous one", async () => {
      const w = await dueWhileRunning("queue");
      expect(w.runner.scheduled()).toMatchObject([{ after: [w.previous] }]);
      expect(w.runner.runs.find((r) => r.id === w.previous)!.status).toBe("running");
    });

    it("cancel_previous: cancels the previous run, then starts", async () => {
      const w = await dueWhileRunning("cancel_previous");
      const prev = w.runner.runs.find((r) => r.id === w.previous)!;
      expect(prev).toMatchObject({
        status: "cancelled",
        cancelReason: "a scheduled run fell due at 2026-12-02T02:00:00.000Z (overlap: cancel_previous)",
      });
      expect(w.runner.scheduled()).toMatchObject([{ after: [] }]);
      expect(w.journal.slice(-2)).toEqual([`cancel ${w.previous}`, expect.stringMatching(/^start nightly /)]);
    });

    it("a finished previous run is no overlap", async () => {
      const w = world("2026-12-01T12:00:00Z");
      w.schedule("nightly", { cron: "0 2 * * *", overlap: "skip" }, "2026-12-01T11:00:00Z");
      w.runner.add("nightly", "succeeded");
      w.runner.add("other", "running");
      await w.scheduler.start();
      await w.clock.advanceTo("2026-12-02T02:00:00Z");
      expect(w.runner.scheduled()).toMatchObject([{ pipeline: "nightly", after: [] }]);
      await w.scheduler.stop();
    });
  });

  it("reload picks up a changed, an added and a deleted schedule", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *" }, "2026-12-01T11:00:00Z");
    w.schedule("weekly", { cron: "0 3 * * 1" }, "2026-12-01T11:00:00Z");
    w.runner.finishAtOnce = true;
    await w.scheduler.start();
    expect(w.clock.pending).toEqual(["2026-12-02T02:00:00.000Z"]);

    w.clock.jump("2026-12-01T12:10:00Z");
    w.schedule("nightly", { cron: "*/15 * * * *" }, "2026-12-01T12:10:00Z");
    w.store.rows = w.store.rows.filter((r) => r.pipeline !== "weekly");
    w.schedule("new", { cron: "0 13 * * *" }, "2026-12-01T12:10:00Z");
    await w.scheduler.reload();
    expect(w.clock.pending).toEqual(["2026-12-01T12:15:00.000Z"]);
    expect(w.scheduler.upcoming()).toEqual([
      { project: "p", pipeline: "nightly", next: "2026-12-01T12:15:00.000Z" },
      { project: "p", pipeline: "new", next: "2026-12-01T13:00:00.000Z" },
    ]);

    await w.clock.advanceTo("2026-12-08T04:00:00Z");
    expect(w.runner.scheduled("weekly")).toEqual([]);
    expect(w.runner.scheduled("new")).toHaveLength(7);
    expect(w.runner.scheduled("nightly")[0]!.detail).toBe("cron */15 * * * * (UTC) due 2026-12-01T12:15:00.000Z");
    await w.scheduler.stop();
  });

  it("keeps schedules of different projects apart", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *" }, "2026-12-01T11:00:00Z", "a");
    w.schedule("nightly", { cron: "0 4 * * *" }, "2026-12-01T11:00:00Z", "b");
    await w.scheduler.start();
    await w.clock.advanceTo("2026-12-02T03:00:00Z");
    expect(w.runner.scheduled().map((r) => `${r.project} ${r.detail}`)).toEqual(["a cron 0 2 * * * (UTC) due 2026-12-02T02:00:00.000Z"]);
    expect([...w.store.last.keys()]).toEqual(["a/nightly"]);
    await w.scheduler.stop();
  });

  it("stop clears the timer, waits for the tick in flight, and nothing runs afterwards", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *" }, "2026-12-01T11:00:00Z");
    await w.scheduler.start();
    let open!: () => void;
    w.runner.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const ticking = w.clock.advanceTo("2026-12-02T02:00:00Z");
    await new Promise((r) => setTimeout(r, 10));
    let stopped = false;
    const stopping = w.scheduler.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(stopped).toBe(false);
    open();
    await stopping;
    await ticking;
    expect(w.runner.scheduled()).toHaveLength(1);
    expect(w.clock.pending).toEqual([]);
    await w.clock.advanceTo("2026-12-05T00:00:00Z");
    expect(w.runner.scheduled()).toHaveLength(1);
    await w.scheduler.reload();
    expect(w.clock.pending).toEqual([]);
  });

  it("a runner that throws (pipeline deleted) is logged and the other schedules and later due times go on", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("gone", { cron: "0 2 * * *" }, "2026-12-01T11:00:00Z");
    w.schedule("kept", { cron: "0 2 * * *" }, "2026-12-01T11:00:00Z");
    w.runner.deleted.add("gone");
    w.runner.finishAtOnce = true;
    await w.scheduler.start();
    await w.clock.advanceTo("2026-12-03T03:00:00Z");
    expect(w.runner.scheduled().map((r) => `${r.pipeline} ${r.detail.slice(-24)}`)).toEqual([
      "kept 2026-12-02T02:00:00.000Z",
      "kept 2026-12-03T02:00:00.000Z",
    ]);
    expect(w.logs.filter((l) => l.startsWith("error:"))).toEqual([
      "error: pipeline p/gone: the run due at 2026-12-02T02:00:00.000Z did not start: pipeline 'gone' does not exist in project 'p'",
      "error: pipeline p/gone: the run due at 2026-12-03T02:00:00.000Z did not start: pipeline 'gone' does not exist in project 'p'",
    ]);
    expect(w.clock.pending).toEqual(["2026-12-04T02:00:00.000Z"]);
    await w.scheduler.stop();
  });

  it("a store that fails to record starts nothing and does not spin on the same due time", async () => {
    const w = world("2026-12-01T12:00:00Z");
    w.schedule("nightly", { cron: "0 2 * * *" }, "2026-12-01T11:00:00Z");
    await w.scheduler.start();
    w.store.failClaim = true;
    await w.clock.advanceTo("2026-12-02T02:00:00Z");
    expect(w.runner.runs).toEqual([]);
    expect(w.logs).toEqual([
      "error: pipeline p/nightly: the run due at 2026-12-02T02:00:00.000Z did not start: the database is not reachable",
    ]);
    expect(w.clock.pending).toEqual(["2026-12-03T02:00:00.000Z"]);
    await w.scheduler.stop();
  });

  it("waits longer than setTimeout allows in steps of at most 2^31-1 ms", async () => {
    const w = world("2026-01-02T00:00:00Z");
    w.schedule("yearly", { cron: "0 0 1 1 *" }, "2026-01-02T00:00:00Z");
    await w.scheduler.start();
    expect(w.clock.delays).toEqual([MAX_TIMER_MS]);
    await w.clock.advanceTo("2026-12-31T23:59:59Z");
    expect(w.runner.runs).toEqual([]);
    expect(w.clock.delays.every((d) => d <= MAX_TIMER_MS)).toBe(true);
    expect(w.clock.delays.length).toBeGreaterThan(10);
    await w.clock.advanceTo("2027-01-01T00:00:00Z");
    expect(w.runner.scheduled().map((r) => r.detail)).toEqual(["cron 0 0 1 1 * (UTC) due 2027-01-01T00:00:00.000Z"]);
    await w.scheduler.stop();
  });

  it("runs on the real clock and timers by default", async () => {
    const store = new MemoryStore([]);
    const runner = new MemoryRunner([]);
    runner.finishAtOnce = true;
    store.rows = [
      {
        project: "p",
        pipeline: "every-second",
        schedule: PipelineSchedule.parse({ cron: "* * * * * *" }),
        revisionSince: new Date().toISOString(),
      },
    ];
    const scheduler = new PipelineScheduler({ store, runner });
    await scheduler.start();
    await new Promise((r) => setTimeout(r, 2_300));
    await scheduler.stop();
    const count = runner.scheduled().length;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(runner.scheduled()).toHaveLength(count);
  });

  it("arms no timer without schedules, and a store that fails on start rejects start", async () => {
    const w = world("2026-12-01T12:00:00Z");
    await w.scheduler.start();
    expect(w.clock.pending).toEqual([]);
    await w.scheduler.stop();

    const broken = world("2026-12-01T12:00:00Z");
    broken.store.schedules = async () => {
      throw new Error("the database is not reachable");
    };
    await expect(broken.scheduler.start()).rejects.toThrow("the database is not reachable");
    await broken.scheduler.stop();
  });
});

// ---------------------------------------------------------------- event triggers

describe("triggeredBy", () => {
  const t = (x: unknown) => PipelineTrigger.parse(x);
  const pipelines: TriggerablePipeline[] = [
    { project: "p", name: "retrain", triggers: [t({ dataset_version: { dataset: "sales" } })] },
    { project: "p", name: "report", triggers: [t({ pipeline_finished: { pipeline: "nightly" } })] },
    { project: "p", name: "alert", triggers: [t({ pipeline_finished: { pipeline: "nightly", status: "failed" } })] },
    { project: "p", name: "audit", triggers: [t({ pipeline_finished: { pipeline: "nightly", status: "any" } })] },
    {
      project: "p",
      name: "nightly",
      triggers: [t({ pipeline_finished: { pipeline: "nightly", status: "any" } }), t({ dataset_version: { dataset: "raw" } })],
    },
    {
      project: "p",
      name: "both",
      triggers: [
        t({ dataset_version: { dataset: "sales" } }),
        t({ dataset_version: { dataset: "sales" } }),
        t({ pipeline_finished: { pipeline: "retrain" } }),
      ],
    },
    { project: "q", name: "retrain", triggers: [t({ dataset_version: { dataset: "sales" } })] },
    { project: "p", name: "none", triggers: [] },
  ];
  const finished = (pipeline: string, status: "succeeded" | "failed" | "cancelled"): PipelineEvent => ({
    kind: "pipeline_finished",
    project: "p",
    pipeline,
    status,
    runId: "run-7",
  });

  it.each<[string, PipelineEvent, string[]]>([
    ["a new version of sales", { kind: "dataset_version", project: "p", dataset: "sales", version: 4 }, ["retrain", "both"]],
    ["a dataset nobody follows", { kind: "dataset_version", project: "p", dataset: "other", version: 1 }, []],
    ["nightly succeeded", finished("nightly", "succeeded"), ["report", "audit"]],
    ["nightly failed", finished("nightly", "failed"), ["alert", "audit"]],
    ["nightly cancelled", finished("nightly", "cancelled"), []],
    ["retrain succeeded", finished("retrain", "succeeded"), ["both"]],
    ["a pipeline nobody follows", finished("report", "succeeded"), []],
  ])("%s", (_what, event, expected) => {
    expect(triggeredBy(event, pipelines).map((r) => r.pipeline)).toEqual(expected);
  });

  it("answers the trigger detail for the run", () => {
    expect(triggeredBy({ kind: "dataset_version", project: "p", dataset: "sales", version: 4 }, pipelines)[0]).toEqual({
      project: "p",
      pipeline: "retrain",
      trigger: { kind: "dataset_version", detail: "dataset sales v4" },
    });
    expect(triggeredBy(finished("nightly", "failed"), pipelines)[0]).toEqual({
      project: "p",
      pipeline: "alert",
      trigger: { kind: "pipeline_finished", detail: "pipeline nightly finished (failed), run run-7" },
    });
  });

  it("only in the event's project", () => {
    const inQ = triggeredBy({ kind: "dataset_version", project: "q", dataset: "sales", version: 1 }, pipelines);
    expect(inQ.map((r) => `${r.project}/${r.pipeline}`)).toEqual(["q/retrain"]);
  });

  it("a pipeline never triggers itself, yet its other triggers still apply", () => {
    expect(triggeredBy(finished("nightly", "succeeded"), pipelines).map((r) => r.pipeline)).not.toContain("nightly");
    expect(triggeredBy({ kind: "dataset_version", project: "p", dataset: "raw", version: 2 }, pipelines).map((r) => r.pipeline)).toEqual([
      "nightly",
    ]);
  });
});
