export interface ReadCacheOptions {
  /** How long an answer is served after its read started, at most (ms): the bound on staleness for changes no one announces. */
  ttlMs: number;
  /** Answers kept at most; the least recently used goes first. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * A small cache of read answers by key, for lists many clients ask for at once. Readers of a key that is
 * being read share that one read; an answer is served until `ttlMs` after its read started or until
 * `invalidate()` (called by whoever changes what was read). A failed read is not kept.
 * @example const page = await cache.get(JSON.stringify(query), () => repo.readPage(query));
 */
export class ReadCache<V> {
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { at: number; value: Promise<V> }>();

  constructor(o: ReadCacheOptions) {
    this.#ttl = o.ttlMs;
    this.#max = o.maxEntries ?? 200;
    this.#now = o.now ?? Date.now;
  }

  get(key: string, read: () => Promise<V>): Promise<V> {
    const now = this.#now();
    const hit = this.#entries.get(key);
    this.#entries.delete(key);
    if (hit && now - hit.at < this.#ttl && now >= hit.at) {
      this.#entries.set(key, hit); // most recently used last
      return hit.value;
    }
    const entry = { at: now, value: read() };
    if (this.#ttl <= 0) return entry.value;
    this.#entries.set(key, entry);
    entry.value.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#max) break;
      this.#entries.delete(oldest);
    }
    return entry.value;
  }

  /** Forgets every answer: the next read of each key reads again (reads under way are not kept). */
  invalidate(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
