import { filterQuote, type MlflowClient, type MlflowRun, TAG, toRunSummary } from "@caretflow/tracking";
import type { Logger } from "../ports.ts";
import type { IndexedRun, RunsIndexRepository } from "./runs.index.ts";

const PARENT = `tags.\`${TAG.role}\` = 'parent'`;
const EXPERIMENTS_PER_SEARCH = 50;
const IDS_PER_SEARCH = 100;
/** Runs started this long before the latest one indexed are asked for again (clocks of engines on other machines). */
const START_MARGIN_MS = 60_000;

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

function indexed(run: MlflowRun, experimentName: string): IndexedRun {
  return {
    summary: toRunSummary(run, experimentName),
    params: Object.fromEntries(run.data.params.map((p) => [p.key, p.value])),
    tags: Object.fromEntries(run.data.tags.map((t) => [t.key, t.value])),
  };
}

export interface RunsIndexSyncOptions {
  client: MlflowClient;
  repo: RunsIndexRepository;
  log: Logger;
  /** How often new and unfinished runs are asked for (default 5 s). */
  intervalMs?: number;
  /** How often every run is compared (default 5 min): catches changes made straight in MLflow, and deletions. */
  fullEveryMs?: number;
}

/**
 * Keeps the runs index in step with MLflow on one timer. Each tick asks MLflow for the runs started
 * since the latest one indexed and for those the index still has unfinished (cheap when nothing
 * changed); every `fullEveryMs`, and when a job finishes (`refresh`), it compares every run and
 * forgets deleted ones. Ticks never overlap; a refresh asked for during one runs right after it.
 */
export class RunsIndexSync {
  readonly #o: Required<RunsIndexSyncOptions>;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #fullDue = true;
  #lastFull = 0;
  #closed = false;
  #next: Promise<void> | null = null;

  constructor(o: RunsIndexSyncOptions) {
    this.#o = { intervalMs: 5000, fullEveryMs: 300_000, ...o };
  }

  /** Starts the timer; the first tick (a full comparison) runs now. */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.tick(), this.#o.intervalMs);
    this.#timer.unref();
    void this.tick();
  }

  /** Compares every run at once (after a job finished); resolves when the index has it. */
  refresh(): Promise<void> {
    this.#fullDue = true;
    return this.tick();
  }

  /** One sync; when one is under way, the next one after it (callers meanwhile share that one). */
  tick(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#next) return this.#next;
    if (!this.#running) return this.#run();
    this.#next = this.#running.then(() => {
      this.#next = null;
      return this.#closed ? undefined : this.#run();
    });
    return this.#next;
  }

  #run(): Promise<void> {
    const running = this.#once()
      .catch((err: Error) => this.#o.log("warn", `runs index: could not sync with MLflow: ${err.message}`))
      .finally(() => {
        if (this.#running === running) this.#running = null;
      });
    this.#running = running;
    return running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#next;
    await this.#running;
  }

  async #once(): Promise<void> {
    const now = Date.now();
    const full = this.#fullDue || now - this.#lastFull >= this.#o.fullEveryMs;
    this.#fullDue = false;
    const { client, repo } = this.#o;
    const experiments = await client.allExperiments();
    const names = new Map(experiments.map((e) => [e.experiment_id, e.name]));
    const ids = [...names.keys()];
    const search = async (filter: string, experimentIds = ids): Promise<IndexedRun[]> => {
      const out: IndexedRun[] = [];
      for (const part of chunks(experimentIds, EXPERIMENTS_PER_SEARCH)) {
        const runs = await client.searchAllRuns({ experimentIds: part, filter, orderBy: ["attributes.start_time DESC"] }, 10_000_000);
        for (const r of runs) out.push(indexed(r, names.get(r.info.experiment_id) ?? r.info.experiment_id));
      }
      return out;
    };
    const stamp = new Date(now).toISOString();
    if (full) {
      const runs = await search(PARENT);
      const known = await repo.digests();
      const written = await repo.upsert(runs, stamp, known);
      const forgotten = await repo.retainOnly(new Set(runs.map((r) => r.summary.runId)));
      this.#lastFull = now;
      if (written + forgotten > 0) this.#o.log("info", `runs index: ${written} run(s) updated, ${forgotten} forgotten`);
      return;
    }
    const latest = await repo.latestStart();
    const since = latest ? Date.parse(latest) - START_MARGIN_MS : 0;
    const fresh = await search(`${PARENT} and attributes.start_time >= ${since}`);
    const open = await repo.openRunIds();
    const reread: IndexedRun[] = [];
    for (const part of chunks(open, IDS_PER_SEARCH)) {
      reread.push(...(await search(`attributes.run_id IN (${part.map(filterQuote).join(", ")})`)));
    }
    await repo.upsert([...fresh, ...reread], stamp);
  }
}
