import { CaretflowError, isTerminalStatus, type Job, JobEvent } from "@caretflow/contracts";
import type { ApiClient } from "./client.ts";
import { createSseParser } from "./sse.ts";

export interface FollowOptions {
  /** Called once per event, in sequence order, never twice for the same seq. */
  onEvent(event: JobEvent): void;
  /** Called when the stream dropped and the CLI reconnects. */
  onReconnect?(attempt: number, reason: string): void;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  /** Give up after this many reconnects in a row without a new event. */
  maxRetries?: number;
}

/**
 * Follow a job's server-sent events until it ends, resuming with Last-Event-ID after a
 * dropped connection (the server replays what was missed, and seq filters duplicates).
 * Returns the job as the server reports it at the end.
 */
export async function followJob(client: ApiClient, jobId: string, opts: FollowOptions): Promise<Job> {
  const params = { path: { id: jobId } };
  const sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const maxRetries = opts.maxRetries ?? 8;
  let lastSeq = 0;
  let failures = 0;

  for (;;) {
    const seqBefore = lastSeq;
    let ended = false;
    let reason = "the event stream ended";
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await client.raw("get", "/api/jobs/{id}/events", {
        params,
        headers: { accept: "text/event-stream", ...(lastSeq > 0 ? { "last-event-id": String(lastSeq) } : {}) },
        signal: abort.signal,
      });
      if (!res.body) throw new Error("the event stream has no body");
      const parser = createSseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        for (const msg of parser.push(decoder.decode(chunk, { stream: true }))) {
          // The SSE event name mirrors the JobEvent type; the data alone is authoritative.
          const parsed = JobEvent.safeParse(safeJson(msg.data));
          if (!parsed.success) continue; // an event type newer than this CLI: skip it, keep following
          const ev = parsed.data;
          if (ev.seq <= lastSeq) continue;
          lastSeq = ev.seq;
          opts.onEvent(ev);
          if (ev.type === "status" && isTerminalStatus(ev.status)) ended = true;
        }
        if (ended) break;
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // Answers from the server (404, 401...) are final; a dropped connection is retried below.
      if (err instanceof CaretflowError && err.code !== "server_unreachable") throw err;
      reason = (err as Error).message;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      abort.abort(); // release the connection even when we stopped reading early
    }

    if (ended) return client.GET("/api/jobs/{id}", { params });
    // The stream closed without a final status: ask for the job; it may have ended anyway.
    const job = await client.GET("/api/jobs/{id}", { params }).catch(() => null);
    if (job && isTerminalStatus(job.status)) return job;
    // Count reconnects in a row that brought nothing new; progress resets the count.
    failures = lastSeq > seqBefore ? 1 : failures + 1;
    if (failures > maxRetries) throw lostStream(jobId, reason);
    opts.onReconnect?.(failures, reason);
    await sleep(Math.min(5000, 250 * 2 ** Math.min(failures, 5)));
  }
}

function lostStream(jobId: string, reason: string): CaretflowError {
  return new CaretflowError({
    code: "stream_lost",
    kind: "operational",
    message: `lost the event stream of job ${jobId}: ${reason}`,
    hint: `the job may still be running: see \`caretflow jobs show ${jobId}\``,
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
