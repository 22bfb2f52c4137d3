import type { AddressPolicy } from "@caretflow/connectors";
import type { PipelineStepRun } from "@caretflow/contracts";
import { StepFailure, type StepHandler, type StepRunContext } from "@caretflow/orchestrator";
import { postWebhook, WebhookFailure, webhookUrl } from "../../http/webhook.ts";

/** How long a webhook may take to answer. */
export const NOTIFY_TIMEOUT_MS = 10_000;
/** How much of a failed answer's body the failure quotes. */
const QUOTED_BODY_CHARS = 200;

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
      const url = (() => {
        try {
          return webhookUrl(ctx.inputs.url);
        } catch (err) {
          return stepFailureOf(err);
        }
      })();
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
      const timeoutMs = deps.timeoutMs ?? NOTIFY_TIMEOUT_MS;
      const answer = await postWebhook(url, body, {
        policy: deps.addressPolicy(),
        signal: ctx.signal,
        timeoutMs,
        userAgent: "caretflow-pipeline-notify",
      }).catch(stepFailureOf);
      ctx.log(`POST ${url.origin} (${answer.address})`);
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

/** A webhook failure as the step's failure (transient ones are retried by the step's retry policy); anything else as it is. */
function stepFailureOf(err: unknown): never {
  if (!(err instanceof WebhookFailure)) throw err;
  const retry = err.transient ? "; a step retries it with retry: { count: 2 }" : "";
  throw new StepFailure(err.code, err.message, { ...(err.hint ? { hint: `${err.hint}${retry}` } : {}), transient: err.transient });
}
