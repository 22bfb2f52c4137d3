import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { type AddressPolicy, checkedAddress } from "@caretflow/connectors";
import { CaretflowError } from "@caretflow/contracts";

/** How much of an answer is read at most (the rest is dropped). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * A webhook that could not be called or refused the message: a code, a message naming the URL's origin
 * only (webhook URLs often hold their secret in the path), a hint, and whether trying again may help.
 */
export class WebhookFailure extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly transient: boolean;
  constructor(code: string, message: string, opts: { hint?: string; transient?: boolean } = {}) {
    super(message);
    this.name = "WebhookFailure";
    this.code = code;
    this.hint = opts.hint;
    this.transient = opts.transient ?? false;
  }
}

/** A webhook URL as caretflow accepts it: http or https, with no user name or password. */
export function webhookUrl(v: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(v));
  } catch {
    throw new WebhookFailure("bad_input", `url: '${String(v).slice(0, 120)}' is not a URL`, { hint: "use an http:// or https:// URL" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new WebhookFailure("bad_input", `url: ${url.protocol} is not http or https`, { hint: "use an http:// or https:// URL" });
  }
  if (url.username || url.password) {
    throw new WebhookFailure("bad_input", `url: the URL to ${url.host} carries a user name or password`, {
      hint: "caretflow sends no credentials to webhooks; use a webhook URL whose secret is in its path or query",
    });
  }
  return url;
}

/** The address to connect to, once the policy allows every address the URL's host resolves to. */
export async function allowedAddress(url: URL, policy: AddressPolicy): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  try {
    return await checkedAddress(host, policy);
  } catch (err) {
    if (!(err instanceof CaretflowError)) throw err;
    // A name that does not resolve may be a DNS hiccup; a refused address stays refused.
    throw new WebhookFailure(err.code === "address_refused" ? "address_refused" : "webhook_unreachable", err.message, {
      ...(err.hint ? { hint: err.hint } : {}),
      transient: err.code === "connection_unreachable",
    });
  }
}

/**
 * POSTs JSON to a webhook through the server's address policy: the request goes to the very address
 * checked (no DNS rebinding in between), redirects are not followed, and nothing of caretflow's
 * (cookies, tokens) is sent. Resolves with the status and the start of the body for any answer;
 * rejects with a WebhookFailure when no answer came (refused address, time-out, network error), or
 * with the signal's reason when `signal` aborted.
 */
export async function postWebhook(
  target: URL,
  body: string,
  opts: { policy: AddressPolicy; signal?: AbortSignal; timeoutMs: number; userAgent: string },
): Promise<{ status: number; body: string; address: string }> {
  const address = await allowedAddress(target, opts.policy);
  const answer = await post(target, address, body, opts.signal ?? new AbortController().signal, opts.timeoutMs, opts.userAgent);
  return { ...answer, address };
}

/** One POST to `address` (checked) with the URL's host name for Host and TLS; its status and the start of its body. */
function post(
  url: URL,
  address: string,
  body: string,
  signal: AbortSignal,
  timeoutMs: number,
  userAgent: string,
): Promise<{ status: number; body: string }> {
  const timer = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([signal, timer]);
  const failed = (err: Error): unknown => {
    if (signal.aborted) return signal.reason;
    if (timer.aborted) {
      return new WebhookFailure("webhook_timeout", `the webhook at ${url.origin} did not answer within ${timeoutMs / 1000} s`, {
        transient: true,
        hint: "the receiving service is slow or down; retry later",
      });
    }
    const code = (err as NodeJS.ErrnoException).code;
    return new WebhookFailure("webhook_unreachable", `could not POST to ${url.origin}: ${code ? `${code} ` : ""}${err.message}`, {
      transient: true,
      hint: "check that the webhook's service is up and reachable from the caretflow server",
    });
  };
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    if (both.aborted) return reject(failed(new Error("aborted")));
    const lib = url.protocol === "https:" ? https : http;
    const req = lib.request(
      {
        method: "POST",
        host: address,
        port: url.port || (url.protocol === "https:" ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        // TLS checks the certificate against the URL's name, not the address connected to.
        ...(isIP(hostname) ? {} : { servername: hostname }),
        headers: {
          host: url.host,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "user-agent": userAgent,
        },
        agent: false,
        signal: both,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        res.on("data", (chunk: Buffer) => {
          if (size >= MAX_BODY_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_BODY_BYTES) {
            res.destroy();
            done();
          }
        });
        res.on("end", done);
        res.on("error", (err) => reject(failed(err)));
      },
    );
    req.on("error", (err) => reject(failed(err)));
    req.end(body);
  });
}
