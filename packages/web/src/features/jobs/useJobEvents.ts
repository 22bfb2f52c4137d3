import { JobEvent } from "@caretflow/contracts";
import { useEffect, useReducer, useState } from "react";
import { useApi } from "../../api/context.tsx";
import { emptyJobView, isTerminal, type JobView, reduceJobEvent } from "./job.state.ts";

export type StreamState = "connecting" | "open" | "reconnecting" | "closed";

/**
 * Follows a job's server-sent events. The server replays everything so far on connect, and the browser's
 * EventSource resends Last-Event-ID when it reconnects; the reducer drops any seq it has seen, so neither
 * path can duplicate a leaderboard row. The stream is closed once the job reaches a final status.
 * With no job id (a page waiting to learn which job to follow) it opens nothing.
 */
export function useJobEvents(jobId: string | null): { view: JobView; stream: StreamState } {
  const api = useApi();
  // Keyed by job: a page that moves on to another job (a link from one job to the next) starts from nothing.
  const [state, dispatch] = useReducer(reduceFor, { jobId, view: emptyJobView });
  const [stream, setStream] = useState<StreamState>("connecting");

  useEffect(() => {
    if (!jobId) return;
    const es = new EventSource(api.jobEventsUrl(jobId), { withCredentials: true });
    let done = false;
    setStream("connecting");
    es.onopen = () => setStream("open");
    const onEvent = (msg: MessageEvent<string>) => {
      let parsed: JobEvent;
      try {
        parsed = JobEvent.parse(JSON.parse(msg.data));
      } catch {
        return; // a message this UI does not understand (newer server); skip it rather than break the page
      }
      dispatch({ jobId, event: parsed });
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

  return { view: state.jobId === jobId ? state.view : emptyJobView, stream: jobId ? stream : "closed" };
}

function reduceFor(state: { jobId: string | null; view: JobView }, action: { jobId: string; event: JobEvent }) {
  const view = state.jobId === action.jobId ? state.view : emptyJobView;
  return { jobId: action.jobId, view: reduceJobEvent(view, action.event) };
}
