import type { ErrorInfo, Job } from "@caretflow/contracts";
import type { ApiClient } from "./client.ts";
import type { CommandEnv } from "./common.ts";
import { followJob } from "./job-follow.ts";
import { createJobView } from "./job-view.ts";

export type Followed = { interrupted: false; job: Job } | { interrupted: true; job: Job | null };

/**
 * Follow a job with a live view on stderr. Ctrl-C (or SIGTERM) while waiting asks the server
 * to cancel the job, so an interrupted `caretflow train` does not leave training running.
 */
export async function followWithView(env: CommandEnv, client: ApiClient, jobId: string, opts: { rows: boolean }): Promise<Followed> {
  const view = createJobView(env.ctx, opts);
  const abort = new AbortController();
  let cancelling: Promise<Job | null> | null = null;
  const dispose = env.ctx.onInterrupt(() => {
    if (cancelling) return;
    view.stop();
    env.out.note(`interrupted: cancelling job ${jobId}...`);
    abort.abort();
    cancelling = client
      .POST("/api/jobs/{id}/cancel", { params: { path: { id: jobId } }, signal: AbortSignal.timeout(10_000) })
      .then((job) => {
        env.out.note(
          job.status === "cancelled"
            ? `job ${jobId} cancelled`
            : `the server is cancelling job ${jobId}; see \`caretflow jobs show ${jobId}\``,
        );
        return job;
      })
      .catch((err: Error) => {
        env.out.note(`could not cancel job ${jobId}: ${err.message}\nhint: run \`caretflow jobs cancel ${jobId}\``);
        return null;
      });
  });
  try {
    const job = await followJob(client, jobId, {
      onEvent: (ev) => view.onEvent(ev),
      onReconnect: (attempt, reason) => env.out.note(`lost the event stream (${reason}); reconnecting (attempt ${attempt})`),
      signal: abort.signal,
    });
    return { interrupted: false, job };
  } catch (err) {
    if (cancelling) return { interrupted: true, job: await cancelling };
    throw err;
  } finally {
    view.stop();
    dispose();
  }
}

export function formatJobError(error: ErrorInfo): string {
  return `error: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}`;
}
