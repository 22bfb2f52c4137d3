/**
 * Slows down password guessing per client address: after `freeAttempts`
 * failures, each further attempt must wait 2^(n - free) seconds (capped).
 * A success clears the address. Memory is bounded by pruning old entries.
 */
export class LoginBackoff {
  readonly #failures = new Map<string, { count: number; last: number }>();
  readonly #now: () => number;
  readonly #freeAttempts: number;
  readonly #maxDelayMs: number;

  constructor(opts: { now?: () => number; freeAttempts?: number; maxDelayMs?: number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#freeAttempts = opts.freeAttempts ?? 5;
    this.#maxDelayMs = opts.maxDelayMs ?? 60_000;
  }

  /** Milliseconds the address must still wait before another attempt (0 = go ahead). */
  waitMs(address: string): number {
    const f = this.#failures.get(address);
    if (!f || f.count < this.#freeAttempts) return 0;
    const delay = Math.min(this.#maxDelayMs, 1000 * 2 ** (f.count - this.#freeAttempts));
    return Math.max(0, f.last + delay - this.#now());
  }

  fail(address: string): void {
    const f = this.#failures.get(address);
    this.#failures.set(address, { count: (f?.count ?? 0) + 1, last: this.#now() });
    if (this.#failures.size > 10_000) this.#prune();
  }

  succeed(address: string): void {
    this.#failures.delete(address);
  }

  #prune(): void {
    const cutoff = this.#now() - 2 * this.#maxDelayMs;
    for (const [k, v] of this.#failures) if (v.last < cutoff) this.#failures.delete(k);
  }
}
