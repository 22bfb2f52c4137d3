import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { CaretflowError, Catalog, PROTOCOL_VERSION } from "@caretflow/contracts";
import type { EngineRunner } from "@caretflow/orchestrator";
import type { CatalogPort, Logger } from "../ports.ts";

export interface CatalogServiceOptions {
  /** Runs the engine's `catalog` job (a warm worker answers in a few seconds). */
  engine: EngineRunner;
  /** Cache file, named after the engine's fingerprint so a changed engine publishes anew. */
  cacheFile: string;
  /** Log file of the catalog job. */
  logPath: string;
  log: Logger;
  /** How long get() waits for the engine before answering 503. Default 120 s. */
  waitMs?: number;
}

/**
 * The engine's catalog, asked of the engine once per engine version and kept in a cache file,
 * so later starts have it at once. Forms, request validation and the CLI's help all read it.
 */
export class CatalogService implements CatalogPort {
  readonly #o: CatalogServiceOptions;
  #current: Catalog | null = null;
  #loading: Promise<Catalog> | null = null;
  #problem: string | null = null;

  constructor(opts: CatalogServiceOptions) {
    this.#o = opts;
  }

  /** Loads the cache, or starts asking the engine in the background. */
  async start(): Promise<void> {
    const cached = await readFile(this.#o.cacheFile, "utf8").then(
      (text) => Catalog.safeParse(JSON.parse(text)),
      () => null,
    );
    if (cached?.success) {
      this.#current = cached.data;
      return;
    }
    void this.#load().catch(() => {});
  }

  /** Whether the catalog is ready, and why not. */
  status(): { ready: boolean; message?: string } {
    if (this.#current) return { ready: true };
    return { ready: false, message: this.#problem ?? "the engine is publishing its catalog (tasks, models, options)" };
  }

  async get(): Promise<Catalog> {
    if (this.#current) return this.#current;
    const waitMs = this.#o.waitMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`the engine has not published its catalog after ${waitMs / 1000} s`)), waitMs);
    });
    try {
      return await Promise.race([this.#load(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #load(): Promise<Catalog> {
    this.#loading ??= this.#fetch().finally(() => {
      this.#loading = null;
    });
    return this.#loading;
  }

  async #fetch(): Promise<Catalog> {
    const outcome = await this.#o.engine.run(
      { v: PROTOCOL_VERSION, kind: "catalog", job_id: `catalog_${Date.now()}` },
      { onEvent: () => {}, logPath: this.#o.logPath },
    );
    if (outcome.status !== "succeeded" || outcome.result?.kind !== "catalog") {
      const why = outcome.error ? `${outcome.error.name}: ${outcome.error.message}` : `the catalog job ended ${outcome.status}`;
      this.#problem = `the engine could not publish its catalog (${why}); see ${this.#o.logPath}`;
      this.#o.log("error", this.#problem);
      throw unavailable(this.#problem);
    }
    const catalog = outcome.result.catalog;
    this.#current = catalog;
    this.#problem = null;
    this.#o.log("info", `engine catalog ready: ${catalog.tasks.map((t) => t.task).join(", ")}`);
    try {
      await mkdir(dirname(this.#o.cacheFile), { recursive: true });
      const tmp = `${this.#o.cacheFile}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(catalog));
      await rename(tmp, this.#o.cacheFile);
    } catch (err) {
      // A read-only install still works; the engine is asked again at the next start.
      this.#o.log("warn", `could not cache the engine catalog in ${this.#o.cacheFile}: ${(err as Error).message}`);
    }
    return catalog;
  }
}

function unavailable(message: string): CaretflowError {
  return new CaretflowError({
    code: "catalog_unavailable",
    kind: "operational",
    message,
    hint: "The engine publishes its catalog once after an install (about 20 s); try again shortly. GET /api/health shows the engine's state.",
    status: 503,
  });
}
