import { randomBytes } from "node:crypto";
import { appendFile, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { userError } from "@caretflow/contracts";

/** One scored request as logged: expanded to one line per input row when written. */
export interface PredictionRecord {
  predictionId: string;
  deployment: string;
  model: string;
  version: number;
  /** A shadow version's answer: logged, never returned. */
  shadow: boolean;
  /** ISO time the request arrived. */
  time: string;
  latencyMs: number;
  rows: Record<string, unknown>[];
  /** One per row; absent when the version failed (then `error` says why). */
  predictions?: Record<string, unknown>[];
  error?: string;
}

export interface PredictionLogOptions {
  /** <home>/prediction-log */
  root: string;
  /** Days of logs kept; older day folders are deleted. Default 30; 0 keeps everything. */
  retentionDays?: number;
  /** Flush at least this often. Default 1000 ms. */
  flushMs?: number;
  /** ...or when this many records wait. Default 500. */
  maxBuffered?: number;
  /** Records beyond this many waiting are dropped (and counted) rather than letting memory grow. Default 100000. */
  maxPending?: number;
  log?: (level: "info" | "warn" | "error", msg: string) => void;
  now?: () => Date;
}

/** Column names caretflow adds to each logged row; the model's inputs and outputs keep their own names. */
export const LOG_COLUMNS = {
  predictionId: "caretflow_prediction_id",
  row: "caretflow_row",
  deployment: "caretflow_deployment",
  model: "caretflow_model",
  version: "caretflow_version",
  shadow: "caretflow_shadow",
  time: "caretflow_time",
  latencyMs: "caretflow_latency_ms",
  error: "caretflow_error",
} as const;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The prediction log: every prediction through a deployment, buffered in memory and appended in batches
 * off the request path to JSON-lines files `<root>/<deployment>/<YYYY-MM-DD>/part-<HH>-<writer>.jsonl`
 * (UTC; one file per hour and server process). Each line is one input row: its features under their own
 * names, the prediction columns (prediction_label, prediction_score...), and the `caretflow_*` columns
 * (LOG_COLUMNS). DuckDB reads a deployment's log with
 * `read_json_auto('<root>/<deployment>/*\/*.jsonl')`; the drift job takes the same files.
 */
export class PredictionLog {
  private buffer: PredictionRecord[] = [];
  private readonly writer = randomBytes(4).toString("hex");
  private readonly timer: NodeJS.Timeout;
  private readonly sweeper: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly log: NonNullable<PredictionLogOptions["log"]>;
  private readonly now: () => Date;
  /** Records dropped because the buffer was full (the disk could not keep up). */
  dropped = 0;

  constructor(private readonly opts: PredictionLogOptions) {
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? (() => new Date());
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 1000);
    this.timer.unref();
    this.sweeper = setInterval(() => void this.applyRetention(), 3600_000);
    this.sweeper.unref();
  }

  /** Queues a record; never waits and never throws. */
  add(record: PredictionRecord): void {
    if (this.buffer.length >= (this.opts.maxPending ?? 100_000)) {
      this.dropped += 1;
      return;
    }
    this.buffer.push(record);
    if (this.buffer.length >= (this.opts.maxBuffered ?? 500)) void this.flush();
  }

  /** Writes what is buffered (batches are written one after the other). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write()).catch((err: Error) => this.log("warn", `prediction log: ${err.message}`));
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const files = new Map<string, string[]>();
    for (const r of batch) {
      const at = new Date(r.time);
      const day = at.toISOString().slice(0, 10);
      const hour = at.toISOString().slice(11, 13);
      const file = join(r.deployment, day, `part-${hour}-${this.writer}.jsonl`);
      const lines = files.get(file) ?? [];
      files.set(file, lines);
      r.rows.forEach((row, i) => {
        lines.push(
          JSON.stringify({
            ...row,
            ...(r.predictions?.[i] ?? {}),
            [LOG_COLUMNS.predictionId]: r.predictionId,
            [LOG_COLUMNS.row]: i,
            [LOG_COLUMNS.deployment]: r.deployment,
            [LOG_COLUMNS.model]: r.model,
            [LOG_COLUMNS.version]: r.version,
            [LOG_COLUMNS.shadow]: r.shadow,
            [LOG_COLUMNS.time]: r.time,
            [LOG_COLUMNS.latencyMs]: r.latencyMs,
            [LOG_COLUMNS.error]: r.error ?? null,
          }),
        );
      });
    }
    for (const [file, lines] of files) {
      const path = join(this.opts.root, file);
      await mkdir(join(path, ".."), { recursive: true });
      await appendFile(path, `${lines.join("\n")}\n`);
    }
  }

  /** Deletes day folders older than the retention; returns how many. */
  async applyRetention(): Promise<number> {
    const days = this.opts.retentionDays ?? 30;
    if (days <= 0) return 0;
    const oldest = new Date(this.now().getTime() - days * 86_400_000).toISOString().slice(0, 10);
    let removed = 0;
    const deployments = await readdir(this.opts.root, { withFileTypes: true }).catch(() => []);
    for (const d of deployments) {
      if (!d.isDirectory()) continue;
      for (const day of await readdir(join(this.opts.root, d.name)).catch(() => [] as string[])) {
        if (DAY.test(day) && day < oldest) {
          await rm(join(this.opts.root, d.name, day), { recursive: true, force: true });
          removed += 1;
        }
      }
    }
    if (removed > 0) this.log("info", `prediction log: deleted ${removed} day folder(s) older than ${days} days`);
    return removed;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.sweeper);
    await this.flush();
  }
}

/**
 * CARETFLOW_PREDICTION_LOG_DAYS: whole days the log keeps, 0 for everything; unset or empty, 30.
 * @example retentionDaysFrom("0") // 0; retentionDaysFrom(undefined) // 30
 */
export function retentionDaysFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 30;
  const days = Number(value);
  if (!Number.isInteger(days) || days < 0) {
    throw userError(
      "invalid_config",
      `CARETFLOW_PREDICTION_LOG_DAYS is '${value}', not a whole number of days`,
      "Set it to the days the prediction log keeps (e.g. 30), or 0 to keep everything.",
    );
  }
  return days;
}
