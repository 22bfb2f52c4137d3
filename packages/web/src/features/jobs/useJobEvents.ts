import { JobEvent } from "@caretflow/contracts";
import { useEffect, useReducer, useState } from "react";
import { useApi } from "../../api/context.tsx";
import { emptyJobView, isTerminal, type JobView, reduceJobEvent } from "./job.state.ts";

export type StreamState = "connecting" | "open" | "reconnecting" | "closed";

/**
 * Follows a job's server-sent events. The server replays everything so far on connect, and the browser's
 * EventSource resends Last-Event-ID when it reconnects; the reducer drops any seq it has seen, so neither
 * path can duplicate a leaderboard row. The stream is closed once the job reaches a final status.
 */
export function useJobEvents(jobId: string): { view: JobView; stream: StreamState } {
  const api = useApi();
  const [view, dispatch] = useReducer(reduceJobEvent, emptyJobView);
  const [stream, setStream] = useState<StreamState>("connecting");

  useEffect(() => {
    const es = new EventSource(api.jobEventsUrl(jobId), { withCredentials: true });
    let done = false;
    es.onopen = () => setStream("open");
    const onEvent = (msg: MessageEvent<string>) => {
      let parsed: JobEvent;
      try {
        parsed = JobEvent.parse(JSON.parse(msg.data));
      } catch {
        return; // a message this UI does not understand (newer server); skip it rather than break the page
      }
      dispatch(parsed);
      if (parsed.type === "status" && isTerminal(parsed.status)) {
        done = true;
        es.close();
        setStream("closed");
      }
    };
    // The server names each event after its type (`event: status`, `event: engine`); unnamed ones arrive as "message".
    for (const name of ["message", "status", "engine"]) es.addEventListener(name, onEvent as EventListener);
    es.onerror = () => {
      if (done) return;
      // CLOSED means the browser gave up (for example a 401 or 404); CONNECTING means it is retrying by itself.
      setStream(es.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    };
    return () => {
      done = true;
      es.close();
    };
  }, [api, jobId]);

  return { view, stream };
}
