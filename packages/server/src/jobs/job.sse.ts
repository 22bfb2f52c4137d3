import { isTerminalStatus, type JobEvent } from "@caretflow/contracts";
import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";

export interface JobEventSource {
  /** Stored events with seq > after, in order. */
  events(id: string, after: number): Promise<JobEvent[]>;
  subscribe(id: string, listener: (e: JobEvent) => void): () => void;
}

const isTerminalStatusEvent = (e: JobEvent) => e.type === "status" && isTerminalStatus(e.status);

/** The seq a client has already seen: the larger of Last-Event-ID and ?after=. */
export function resumePoint(lastEventId: string | undefined, after: number | undefined): number {
  const fromHeader = lastEventId !== undefined && /^\d+$/.test(lastEventId.trim()) ? Number(lastEventId.trim()) : 0;
  return Math.max(fromHeader, after ?? 0);
}

/**
 * Streams a job's events: the stored backlog after `after`, then live ones.
 * It subscribes before reading the backlog and skips any seq already sent, so
 * nothing falls between replay and live and nothing is sent twice. It ends
 * after the terminal status event; comments keep idle connections open.
 */
export function streamJobEvents(c: Context, source: JobEventSource, id: string, after: number, opts: { heartbeatMs: number }): Response {
  return streamSSE(c, async (stream) => {
    const pending: JobEvent[] = [];
    let wake: (() => void) | null = null;
    let closed = false;
    const unsubscribe = source.subscribe(id, (e) => {
      pending.push(e);
      wake?.();
    });
    stream.onAbort(() => {
      closed = true;
      wake?.();
    });
    let last = after;
    const send = async (e: JobEvent): Promise<boolean> => {
      if (e.seq <= last) return false;
      await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify(e) });
      last = e.seq;
      return isTerminalStatusEvent(e);
    };
    try {
      for (const e of await source.events(id, after)) if (await send(e)) return;
      while (!closed) {
        while (pending.length > 0) if (await send(pending.shift()!)) return;
        const timedOut = await waitFor(opts.heartbeatMs, (w) => {
          wake = w;
        });
        wake = null;
        if (timedOut && !closed && pending.length === 0) await heartbeat(stream);
      }
    } finally {
      unsubscribe();
    }
  });
}

async function heartbeat(stream: SSEStreamingApi): Promise<void> {
  await stream.write(": heartbeat\n\n");
}

/** Resolves true after `ms`, or false as soon as the registered waker is called. */
function waitFor(ms: number, register: (wake: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    register(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
