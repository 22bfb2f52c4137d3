import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { type AddressPolicy, checkedAddress } from "@caretflow/connectors";
import { CaretflowError, type PipelineStepRun } from "@caretflow/contracts";
import { StepFailure, type StepHandler, type StepRunContext } from "@caretflow/orchestrator";

/** How long a webhook may take to answer. */
export const NOTIFY_TIMEOUT_MS = 10_000;
/** How much of a failed answer's body the failure quotes. */
const QUOTED_BODY_CHARS = 200;
/** How much of an answer is read at most (the rest is dropped). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Deps of the notify step:
 * - `addressPolicy`: the server's outbound address policy (start.ts `addressPolicy`, the one connections
 *   use): loopback, private, link-local and metadata addresses are refused unless a site admin allowed them.
 * - `runSteps` (optional): the steps of a pipeline run so far, for the default message's summary; without
 *   it the summary names the run only.
 * - `timeoutMs` (optional): the webhook's time limit, NOTIFY_TIMEOUT_MS by default.
 */
export interface NotifyStepDeps {
  addressPolicy: () => AddressPolicy;
  runSteps?: (runId: string) => Promise<readonly Pick<PipelineStepRun, "id" | "status">[] | null>;
  timeoutMs?: number;
}

/**
 * `notify` with {url, message?} -> {}: POSTs `{pipeline, project, run, step, message, started_at,
 * started_by, steps}` as JSON to the URL. The URL's host must resolve to addresses the policy allows,
 * and the request goes to the very address checked (no DNS rebinding in between); redirects are not
 * followed. Nothing of caretflow's (cookies, tokens, MLflow's credential) is sent, and a URL carrying a
 * user name or password is refused. A 5xx, 429, time-out or network error is transient; another non-2xx
 * is not. Logs name the URL's origin only, as webhook URLs often hold their secret in the path.
 * @example handlers.notify = notifyStep({ addressPolicy: () => addressPolicy, runSteps: (id) => store.steps(id) });
 */
export function notifyStep(deps: NotifyStepDeps): StepHandler {
  return {
    cacheable: false,
    async run(ctx) {
      const url = webhookUrl(ctx.inputs.url);
      // The summary is a courtesy: a store that cannot answer leaves it shorter, it does not stop the message.
      const steps = await (deps.runSteps?.(ctx.run.id) ?? Promise.resolve(null)).catch((err: Error) => {
        ctx.log(`could not read the run's steps for the summary: ${err.message}`);
        return null;
      });
      const message = typeof ctx.inputs.message === "string" && ctx.inputs.message !== "" ? ctx.inputs.message : runSummary(ctx, steps);
      const body = JSON.stringify({
        pipeline: ctx.run.pipeline,
        project: ctx.run.project,
        run: ctx.run.id,
        step: ctx.step.id,
        message,
        started_at: ctx.run.startedAt,
        started_by: ctx.run.createdBy,
        ...(steps ? { steps: steps.map((s) => ({ id: s.id, status: s.status })) } : {}),
      });
      const address = await allowedAddress(url, deps.addressPolicy());
      const timeoutMs = deps.timeoutMs ?? NOTIFY_TIMEOUT_MS;
      ctx.log(`POST ${url.origin} (${address})`);
      const answer = await post(url, address, body, ctx.signal, timeoutMs);
      if (answer.status < 200 || answer.status > 299) {
        const quoted = answer.body.slice(0, QUOTED_BODY_CHARS);
        throw new StepFailure(
          "webhook_failed",
          `the webhook at ${url.origin} answered HTTP ${answer.status}${quoted ? `: ${quoted}` : ""}`,
          {
            transient: answer.status >= 500 || answer.status === 429,
            hint:
              answer.status >= 300 && answer.status < 400
                ? "caretflow does not follow redirects; use the URL the webhook redirects to"
                : answer.status >= 500 || answer.status === 429
                  ? "the receiving service failed or is busy; retry later (retry: { count: 2 })"
                  : "the receiving service refused the message; check the URL and what it expects",
          },
        );
      }
      ctx.log(`the webhook answered HTTP ${answer.status}`);
      return {};
    },
  };
}

/** The default message: the run, who started it and where its steps stand. */
export function runSummary(ctx: Pick<StepRunContext, "run">, steps: readonly Pick<PipelineStepRun, "id" | "status">[] | null): string {
  const { run } = ctx;
  const head = `pipeline ${run.pipeline} run ${run.id} (project ${run.project}, started ${run.startedAt}${run.createdBy ? ` by ${run.createdBy}` : ""})`;
  if (!steps?.length) return head;
  const byStatus = new Map<string, string[]>();
  for (const s of steps) byStatus.set(s.status, [...(byStatus.get(s.status) ?? []), s.id]);
  const parts = [...byStatus].map(([status, ids]) => `${ids.length} ${status} (${ids.join(", ")})`);
  return `${head}: ${parts.join("; ")}`;
}

function webhookUrl(v: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(v));
  } catch {
    throw new StepFailure("bad_input", `url: '${String(v).slice(0, 120)}' is not a URL`, { hint: "use an http:// or https:// URL" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new StepFailure("bad_input", `url: ${url.protocol} is not http or https`, { hint: "use an http:// or https:// URL" });
  }
  if (url.username || url.password) {
    throw new StepFailure("bad_input", `url: the URL to ${url.host} carries a user name or password`, {
      hint: "caretflow sends no credentials to webhooks; use a webhook URL whose secret is in its path or query",
    });
  }
  return url;
}

/** The address to connect to, once the policy allows every address the host resolves to. */
async function allowedAddress(url: URL, policy: AddressPolicy): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  try {
    return await checkedAddress(host, policy);
  } catch (err) {
    if (!(err instanceof CaretflowError)) throw err;
    // A name that does not resolve may be a DNS hiccup; a refused address stays refused.
    const transient = err.code === "connection_unreachable";
    throw new StepFailure(err.code === "address_refused" ? "address_refused" : "webhook_unreachable", err.message, {
      ...(err.hint ? { hint: err.hint } : {}),
      transient,
    });
  }
}

/** One POST to `address` (checked) with the URL's host name for Host and TLS; its status and the start of its body. */
function post(url: URL, address: string, body: string, signal: AbortSignal, timeoutMs: number): Promise<{ status: number; body: string }> {
  const timer = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([signal, timer]);
  const failed = (err: Error): unknown => {
    if (signal.aborted) return signal.reason;
    if (timer.aborted) {
      return new StepFailure("webhook_timeout", `the webhook at ${url.origin} did not answer within ${timeoutMs / 1000} s`, {
        transient: true,
        hint: "the receiving service is slow or down; retry later (retry: { count: 2 })",
      });
    }
    const code = (err as NodeJS.ErrnoException).code;
    return new StepFailure("webhook_unreachable", `could not POST to ${url.origin}: ${code ? `${code} ` : ""}${err.message}`, {
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
          "user-agent": "caretflow-pipeline-notify",
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
