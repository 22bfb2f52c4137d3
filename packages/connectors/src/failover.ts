import { CaretflowError } from "@caretflow/contracts";
import pRetry, { AbortError } from "p-retry";
import { type AddressPolicy, checkedAddress } from "./address-guard.ts";

/** Network error codes that mean "this host did not answer" (try the next host, retry later). */
export const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);

/** Why a host could not be reached, in a few words for a message. */
export function reachFailure(error: unknown): string {
  const e = error as { code?: string; message?: string };
  if (e?.code === "ECONNREFUSED") return "connection refused";
  if (e?.code === "ETIMEDOUT" || /timeout/i.test(e?.message ?? "")) return "timed out";
  if (e?.code === "EHOSTUNREACH" || e?.code === "ENETUNREACH") return "no route to host";
  if (e?.code === "ENOTFOUND" || e?.code === "EAI_AGAIN") return "host name not found";
  return e?.code ?? "unreachable";
}

export interface FailoverOptions<Pool, Client> {
  /** The engine's name for messages ("PostgreSQL", "MySQL"). */
  engine: string;
  hosts: readonly { host: string; port: number }[];
  addressPolicy: AddressPolicy;
  /** A pool for one host, reaching it at `address` (the one the address guard checked). */
  createPool(host: string, port: number, address: string): Pool;
  /** A client from the pool: the connection attempt itself. */
  take(pool: Pool): Promise<Client>;
  end(pool: Pool): Promise<unknown>;
  /** The host did not answer (try the next one); anything else (credentials, permissions) stops at once. */
  isUnreachable(error: unknown): boolean;
  /** The clear error for a failure that is not a reachability one, at "host:port". */
  explain(error: unknown, at: string): CaretflowError;
}

/**
 * Connect to the first host of a list that answers (failover): each host is checked by the address guard
 * and reached at the checked address. A round over all hosts that none answered is retried with backoff;
 * refused credentials and refused addresses are not. Returns the pool that answered, a client from it and
 * its "host:port".
 */
export async function connectWithFailover<Pool, Client>(
  o: FailoverOptions<Pool, Client>,
): Promise<{ pool: Pool; client: Client; host: string }> {
  return pRetry(
    async () => {
      const failures: string[] = [];
      for (const { host, port } of o.hosts) {
        let address: string;
        try {
          address = await checkedAddress(host, o.addressPolicy);
        } catch (error) {
          throw new AbortError(error as Error);
        }
        const pool = o.createPool(host, port, address);
        try {
          const client = await o.take(pool);
          return { pool, client, host: `${host}:${port}` };
        } catch (error) {
          await o.end(pool).catch(() => undefined);
          if (!o.isUnreachable(error)) throw new AbortError(o.explain(error, `${host}:${port}`));
          failures.push(`${host}:${port} (${reachFailure(error)})`);
        }
      }
      throw new CaretflowError({
        code: "connection_unreachable",
        kind: "operational",
        status: 503,
        message: `Could not reach ${o.engine} at ${failures.join(", ")}`,
        hint: "Check the host and port, that the server is running, and that a firewall lets this server reach it.",
      });
    },
    { retries: 2, minTimeout: 200, factor: 2, randomize: true },
  );
}
