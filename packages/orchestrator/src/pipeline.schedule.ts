import type { PipelineSchedule, PipelineTrigger } from "@caretflow/contracts";
import { Cron } from "croner";

/**
 * When pipelines run by themselves: cron arithmetic (pure), the `PipelineScheduler` that starts
 * scheduled runs (its store, runner, clock and timer are passed in, so it runs without a server),
 * and which pipelines an event triggers (pure). docs/pipelines.md "Schedules and triggers" describes
 * the behaviour for users.
 */

// ---------------------------------------------------------------- cron arithmetic

function cronOf(cron: string, timezone: string): Cron {
  // No callback, so croner arms no timer of its own; paused all the same, as contracts' cronProblem does.
  return new Cron(cron, { timezone, paused: true });
}

/**
 * The fire times of `cron` read in `timezone` that lie in (after, until], oldest first; at most `max`
 * (the earliest ones), so a long window over a per-second expression stays cheap.
 * `dueBetween("0 2 * * *", "Europe/Paris", a, b, 10)`.
 */
export function dueBetween(cron: string, timezone: string, after: Date, until: Date, max: number): Date[] {
  const job = cronOf(cron, timezone);
  const out: Date[] = [];
  let at: Date | null = after;
  while (out.length < max) {
    at = job.nextRun(at);
    if (!at || at.getTime() > until.getTime()) break;
    out.push(at);
  }
  return out;
}

/** The latest (at most `max`) fire times in (after, until], oldest first: the ones a capped catch-up keeps. */
export function latestDueBetween(cron: string, timezone: string, after: Date, until: Date, max: number): Date[] {
  if (max <= 0) return [];
  // previousRuns answers runs strictly before its reference; fire times are whole seconds, so one
  // millisecond past `until` makes the window inclusive.
  return cronOf(cron, timezone)
    .previousRuns(max, new Date(until.getTime() + 1))
    .filter((d) => d.getTime() > after.getTime() && d.getTime() <= until.getTime())
    .reverse();
}

/** The first fire time strictly after `after`, or null when the expression never fires again. */
export function nextDue(cron: string, timezone: string, after: Date): Date | null {
  return cronOf(cron, timezone).nextRun(after);
}

// ---------------------------------------------------------------- the scheduler

export interface ScheduledPipeline {
  project: string;
  pipeline: string;
  schedule: PipelineSchedule;
  /** ISO time the schedule was applied (changed); due times before it belong to no schedule of this pipeline. */
  revisionSince: string;
}

/** Where schedules and the last handled due times live; the server implements it on its database. */
export interface ScheduleStore {
  schedules(): Promise<ScheduledPipeline[]>;
  /** The last due time handled (run, or skipped on purpose), ISO; null before the first. */
  lastDue(project: string, pipeline: string): Promise<string | null>;
  /**
   * Records `due` (ISO) as handled, in one atomic step, unless it or a later due time already is: true
   * when this call recorded it. Servers sharing one database each run a scheduler; only the one whose
   * claim succeeds starts the run, so a due time runs once however many servers saw it.
   */
  claimDue(project: string, pipeline: string, due: string): Promise<boolean>;
}

/** Starts and cancels pipeline runs; the server implements it with its pipeline service. */
export interface ScheduleRunner {
  /** Ids of the pipeline's queued or running runs; a run `start` answered counts until it finishes. */
  activeRuns(project: string, pipeline: string): Promise<string[]>;
  /** Starts a run that waits for the runs in `opts.after` to finish first (overlap: queue); answers its id. */
  start(project: string, pipeline: string, trigger: { kind: "schedule"; detail: string }, opts: { after: string[] }): Promise<string>;
  cancel(runId: string, reason: string): Promise<void>;
}

export type ScheduleLog = (level: "info" | "warn" | "error", msg: string) => void;

export interface PipelineSchedulerOptions {
  store: ScheduleStore;
  runner: ScheduleRunner;
  now?: () => Date;
  /** Calls `fire` after `ms`; `fire` resolves once the tick it starts is done. Default: setTimeout, unref'd. */
  setTimer?: (fire: () => Promise<void>, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** The most missed due times a `missed: catch_up` schedule runs after a downtime (the latest ones). */
  maxCatchUp?: number;
  log?: ScheduleLog;
}

/** setTimeout fires at once for delays above 2^31-1 ms; longer waits are cut and the timer re-armed. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  project: string;
  pipeline: string;
  schedule: PipelineSchedule;
  timezone: string;
  /** The last due time handled (or the time the schedule was applied): later ones are still to handle. */
  handledUntil: Date;
  next: Date | null;
}

function describeCron(s: PipelineSchedule): string {
  return `cron ${s.cron} (${s.timezone ?? "UTC"})`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Starts scheduled pipeline runs. One timer, armed for the earliest next due time across schedules and
 * re-armed after each tick. On `start()` the due times missed while caretflow was down are skipped or
 * caught up (`missed`); a due time whose previous run still runs follows `overlap`. Each due time is
 * claimed as handled (`claimDue`) before its run starts: at most once, so a crash between the two
 * loses that run rather than running it twice, and of several servers on one database only one runs it.
 */
export class PipelineScheduler {
  readonly #store: ScheduleStore;
  readonly #runner: ScheduleRunner;
  readonly #now: () => Date;
  readonly #setTimer: (fire: () => Promise<void>, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;
  readonly #maxCatchUp: number;
  readonly #log: ScheduleLog;
  #entries = new Map<string, Entry>();
  #timer: unknown = null;
  #running = false;
  /** start, reload and ticks run one after another on this chain. */
  #work: Promise<void> = Promise.resolve();

  constructor(o: PipelineSchedulerOptions) {
    this.#store = o.store;
    this.#runner = o.runner;
    this.#now = o.now ?? (() => new Date());
    this.#setTimer =
      o.setTimer ??
      ((fire, ms) => {
        const t = setTimeout(() => void fire(), ms);
        t.unref();
        return t;
      });
    this.#clearTimer = o.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
    this.#maxCatchUp = Math.max(0, o.maxCatchUp ?? 10);
    this.#log = o.log ?? (() => {});
  }

  /** Reads the schedules, handles the due times missed while down, and arms the timer. */
  start(): Promise<void> {
    this.#running = true;
    return this.#serial(() => this.#load(true));
  }

  /** Reads the schedules again; the server calls it after a pipeline is applied or deleted. */
  reload(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return this.#serial(() => this.#load(false));
  }

  /** Clears the timer and waits for the tick in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#disarm();
    await this.#work;
  }

  /** Each schedule's next due time (ISO, or null when it never fires again), earliest first. */
  upcoming(): Array<{ project: string; pipeline: string; next: string | null }> {
    return [...this.#entries.values()]
      .map((e) => ({ project: e.project, pipeline: e.pipeline, next: e.next?.toISOString() ?? null }))
      .sort((a, b) => (a.next ?? "~").localeCompare(b.next ?? "~"));
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const p = this.#work.then(fn);
    this.#work = p.catch(() => {});
    return p;
  }

  async #load(startup: boolean): Promise<void> {
    try {
      const rows = await this.#store.schedules();
      const entries = new Map<string, Entry>();
      for (const row of rows) {
        const timezone = row.schedule.timezone ?? "UTC";
        const last = await this.#store.lastDue(row.project, row.pipeline);
        const since = new Date(row.revisionSince);
        // A schedule applied after the last due time starts afresh: earlier due times were another schedule's.
        const handledUntil = last && new Date(last).getTime() > since.getTime() ? new Date(last) : since;
        try {
          const next = nextDue(row.schedule.cron, timezone, handledUntil);
          entries.set(`${row.project}\u0000${row.pipeline}`, { ...row, timezone, handledUntil, next });
        } catch (err) {
          this.#log(
            "error",
            `pipeline ${row.project}/${row.pipeline}: schedule ${describeCron(row.schedule)} is not usable and is left out: ${messageOf(err)}; apply the pipeline again with a valid schedule`,
          );
        }
      }
      this.#entries = entries;
      if (this.#running) await this.#handleDue(startup);
    } finally {
      this.#arm();
    }
  }

  async #tick(): Promise<void> {
    if (!this.#running) return;
    try {
      await this.#handleDue(false);
    } finally {
      this.#arm();
    }
  }

  #arm(): void {
    this.#disarm();
    if (!this.#running) return;
    let next: Date | null = null;
    for (const e of this.#entries.values()) if (e.next && (!next || e.next < next)) next = e.next;
    if (!next) return;
    const delay = Math.min(Math.max(0, next.getTime() - this.#now().getTime()), MAX_TIMER_MS);
    this.#timer = this.#setTimer(() => {
      this.#timer = null;
      return this.#serial(() => this.#tick()).catch((err) => this.#log("error", `the pipeline scheduler's tick failed: ${messageOf(err)}`));
    }, delay);
  }

  #disarm(): void {
    if (this.#timer !== null) this.#clearTimer(this.#timer);
    this.#timer = null;
  }

  /**
   * Handles every schedule whose next due time has come. At start-up all of them were missed; on a
   * tick the latest is on time and any earlier ones were missed (the process slept past them).
   */
  async #handleDue(startup: boolean): Promise<void> {
    const now = this.#now();
    const due = [...this.#entries.values()].filter((e) => e.next && e.next.getTime() <= now.getTime());
    due.sort((a, b) => a.next!.getTime() - b.next!.getTime());
    for (const e of due) {
      try {
        await this.#handleEntry(e, now, startup);
      } catch (err) {
        this.#log("error", `pipeline ${e.project}/${e.pipeline}: the schedule could not be handled: ${messageOf(err)}`);
      }
      e.next = nextDue(e.schedule.cron, e.timezone, e.handledUntil);
    }
  }

  async #handleEntry(e: Entry, now: Date, startup: boolean): Promise<void> {
    const { cron } = e.schedule;
    // Enough of the latest due times to fill the catch-up and tell whether older ones were left out.
    const latest = latestDueBetween(cron, e.timezone, e.handledUntil, now, this.#maxCatchUp + 2);
    const onTime = startup ? undefined : latest.pop();
    const missed = latest;
    const last = onTime ?? missed.at(-1);
    if (!last) return;
    try {
      if (missed.length > 0) await this.#handleMissed(e, missed, onTime !== undefined);
      if (onTime) await this.#fire(e, onTime, `${describeCron(e.schedule)} due ${onTime.toISOString()}`);
    } finally {
      // Moved on even when the store failed: the timer must not fire again at once for the same due times.
      e.handledUntil = last;
    }
  }

  /**
   * `missed` holds the latest missed due times, oldest first (more may precede them). catch_up runs the
   * latest `maxCatchUp` of them; the others are skipped, and logged as such.
   */
  async #handleMissed(e: Entry, missed: Date[], onTimeFollows: boolean): Promise<void> {
    const keep = e.schedule.missed === "catch_up" ? this.#maxCatchUp : 0;
    const runs = keep > 0 ? missed.slice(-keep) : [];
    const lastSkipped = missed.at(-runs.length - 1);
    if (lastSkipped) {
      const { cron } = e.schedule;
      const first = nextDue(cron, e.timezone, e.handledUntil) ?? lastSkipped;
      const count = dueBetween(cron, e.timezone, e.handledUntil, lastSkipped, 1000).length;
      const times = count === 1 ? first.toISOString() : `from ${first.toISOString()} to ${lastSkipped.toISOString()}`;
      const why = keep > 0 ? `catch-up runs the latest ${keep} at most` : e.schedule.missed === "skip" ? "missed: skip" : "catch-up is off";
      this.#log(
        "info",
        `pipeline ${e.project}/${e.pipeline}: skipped ${count >= 1000 ? "1000 or more" : count} missed due time${count === 1 ? "" : "s"}, ${times} (${why})`,
      );
      if (runs.length === 0 && !onTimeFollows) {
        await this.#store.claimDue(e.project, e.pipeline, lastSkipped.toISOString());
        e.handledUntil = lastSkipped;
      }
    }
    for (const due of runs) await this.#fire(e, due, `catch-up of ${describeCron(e.schedule)} due ${due.toISOString()}`);
  }

  /** Records `due` as handled, applies the overlap policy and starts the run. Errors are logged, not thrown. */
  async #fire(e: Entry, due: Date, detail: string): Promise<void> {
    const name = `pipeline ${e.project}/${e.pipeline}`;
    const when = due.toISOString();
    try {
      // At most once: recorded before the run starts, so a crash in between never runs this due time twice,
      // and a server that finds it recorded already (another server on the same database) starts nothing.
      const claimed = await this.#store.claimDue(e.project, e.pipeline, when);
      e.handledUntil = due;
      if (!claimed) {
        this.#log("info", `${name}: due ${when} already handled by another caretflow server`);
        return;
      }
      const active = await this.#runner.activeRuns(e.project, e.pipeline);
      let after: string[] = [];
      if (active.length > 0) {
        const overlap = e.schedule.overlap;
        switch (overlap) {
          case "skip":
            this.#log("info", `${name}: due ${when} skipped: run ${active.join(", ")} still running (overlap: skip)`);
            return;
          case "queue":
            after = active;
            break;
          case "cancel_previous":
            for (const id of active) await this.#runner.cancel(id, `a scheduled run fell due at ${when} (overlap: cancel_previous)`);
            break;
          default: {
            const never: never = overlap;
            throw new Error(`unknown overlap policy ${String(never)}`);
          }
        }
      }
      const id = await this.#runner.start(e.project, e.pipeline, { kind: "schedule", detail }, { after });
      this.#log("info", `${name}: started run ${id} (${detail})${after.length > 0 ? `, after run ${after.join(", ")}` : ""}`);
    } catch (err) {
      this.#log("error", `${name}: the run due at ${when} did not start: ${messageOf(err)}`);
    }
  }
}

// ---------------------------------------------------------------- event triggers

export type PipelineEvent =
  | { kind: "dataset_version"; project: string; dataset: string; version: number }
  | { kind: "pipeline_finished"; project: string; pipeline: string; status: "succeeded" | "failed" | "cancelled"; runId: string };

export interface TriggerablePipeline {
  project: string;
  name: string;
  triggers: readonly PipelineTrigger[];
}

export interface TriggeredRun {
  project: string;
  pipeline: string;
  trigger: { kind: PipelineEvent["kind"]; detail: string };
}

function eventDetail(event: PipelineEvent): string {
  switch (event.kind) {
    case "dataset_version":
      return `dataset ${event.dataset} v${event.version}`;
    case "pipeline_finished":
      return `pipeline ${event.pipeline} finished (${event.status}), run ${event.runId}`;
    default: {
      const never: never = event;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

function matches(trigger: PipelineTrigger, event: PipelineEvent, self: string): boolean {
  if ("dataset_version" in trigger) return event.kind === "dataset_version" && trigger.dataset_version.dataset === event.dataset;
  const want = trigger.pipeline_finished;
  if (event.kind !== "pipeline_finished" || want.pipeline !== event.pipeline) return false;
  // A pipeline never triggers itself: that would start it again each time it finishes.
  if (want.pipeline === self) return false;
  // A cancelled run was stopped on purpose; nothing follows it, not even `status: any`.
  if (event.status === "cancelled") return false;
  return want.status === "any" || want.status === event.status;
}

/**
 * The pipelines of the event's project that `event` starts, once each, with the trigger detail for
 * the run: `triggeredBy({ kind: "dataset_version", project, dataset: "sales", version: 4 }, pipelines)`
 * answers `[{ project, pipeline: "retrain", trigger: { kind: "dataset_version", detail: "dataset sales v4" } }]`.
 */
export function triggeredBy(event: PipelineEvent, pipelines: readonly TriggerablePipeline[]): TriggeredRun[] {
  const detail = eventDetail(event);
  return pipelines
    .filter((p) => p.project === event.project && p.triggers.some((t) => matches(t, event, p.name)))
    .map((p) => ({ project: p.project, pipeline: p.name, trigger: { kind: event.kind, detail } }));
}
