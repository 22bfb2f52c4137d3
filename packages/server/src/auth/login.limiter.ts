import { CaretflowError } from "@caretflow/contracts";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

/** How many failed sign-ins a key may have within `seconds` before further attempts are refused until the window ends. */
export interface LoginLimit {
  failures: number;
  seconds: number;
}

export interface LoginLimits {
  /** Failures for one account from any address (slows a guesser spread over many addresses). */
  perAccount: LoginLimit;
  /** Failures from one address for any account (slows one address trying many accounts). */
  perAddress: LoginLimit;
  /** Failures for one account from one address (the usual mistyped password stops here first). */
  perAccountAddress: LoginLimit;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perAccount: { failures: 10, seconds: 15 * 60 },
  perAddress: { failures: 30, seconds: 15 * 60 },
  perAccountAddress: { failures: 5, seconds: 5 * 60 },
};

type Scope = keyof LoginLimits;
const SCOPES: readonly Scope[] = ["perAccountAddress", "perAccount", "perAddress"];
const WHAT: Record<Scope, string> = {
  perAccount: "for this account",
  perAddress: "from this address",
  perAccountAddress: "for this account from this address",
};

/**
 * Limits password guessing with rate-limiter-flexible, counting failed sign-ins per account, per client
 * address and per account and address. A success clears the account's counters (not the address's, so
 * signing in to one's own account does not reset a guesser's budget). Kept in memory: one server process.
 * @example const l = new LoginLimiter(); await l.check(name, addr); ...; await l.failed(name, addr);
 */
export class LoginLimiter {
  readonly #limiters: Record<Scope, RateLimiterMemory>;

  constructor(limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    const make = (scope: Scope) =>
      new RateLimiterMemory({ keyPrefix: `login_${scope}`, points: limits[scope].failures, duration: limits[scope].seconds });
    this.#limiters = { perAccount: make("perAccount"), perAddress: make("perAddress"), perAccountAddress: make("perAccountAddress") };
  }

  /** Throws a 429 (with retryAfterSeconds in details) when any counter for this attempt is used up. */
  async check(username: string, address: string): Promise<void> {
    const keys = this.#keys(username, address);
    let worst: { scope: Scope; ms: number } | null = null;
    for (const scope of SCOPES) {
      const res = await this.#limiters[scope].get(keys[scope]);
      if (res && res.remainingPoints <= 0 && res.msBeforeNext > 0 && (!worst || res.msBeforeNext > worst.ms)) {
        worst = { scope, ms: res.msBeforeNext };
      }
    }
    if (worst) throw tooManyAttempts(worst.scope, worst.ms);
  }

  /** Counts a failed sign-in against every counter. */
  async failed(username: string, address: string): Promise<void> {
    const keys = this.#keys(username, address);
    for (const scope of SCOPES) {
      try {
        await this.#limiters[scope].consume(keys[scope]);
      } catch (err) {
        // Over the limit already: the next check refuses; anything else is a bug.
        if (!(err instanceof RateLimiterRes)) throw err;
      }
    }
  }

  /** A successful sign-in clears the account's counters. */
  async succeeded(username: string, address: string): Promise<void> {
    const keys = this.#keys(username, address);
    await this.#limiters.perAccount.delete(keys.perAccount);
    await this.#limiters.perAccountAddress.delete(keys.perAccountAddress);
  }

  #keys(username: string, address: string): Record<Scope, string> {
    const account = username.trim().toLowerCase().slice(0, 200);
    return { perAccount: account, perAddress: address, perAccountAddress: `${account}\u0000${address}` };
  }
}

function tooManyAttempts(scope: Scope, ms: number): CaretflowError {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return new CaretflowError({
    code: "too_many_attempts",
    kind: "user",
    status: 429,
    message: `Too many failed sign-in attempts ${WHAT[scope]}`,
    hint: `Wait ${seconds} seconds and try again; a site admin can reset a forgotten password (docs/operations.md).`,
    details: { retryAfterSeconds: seconds },
  });
}
