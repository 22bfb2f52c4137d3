import { useApi, useResource } from "../../api/context.tsx";
import { Skeleton } from "../../ui/feedback.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";

/** The last lines of the engine's stdout/stderr, where a traceback usually is; the full log is one click away. */
export function tailLines(text: string, n: number): string {
  const lines = text.replace(/\s+$/, "").split("\n");
  return lines.slice(-n).join("\n");
}

export function LogTail({ jobId, lines = 40 }: { jobId: string; lines?: number }) {
  const api = useApi();
  const log = useResource((a) => a.jobLog(jobId), `log:${jobId}`);
  return (
    <div className="log-tail">
      <div className="log-tail-head">
        <span className="muted small">Last {lines} lines of the engine log</span>
        <a href={api.jobLogUrl(jobId)} target="_blank" rel="noreferrer" className="small" data-testid="log-link">
          Full log ↗
        </a>
      </div>
      {log.data !== undefined ? (
        <ScrollRegion as="pre" className="log" label="Engine log">
          {tailLines(log.data, lines) || "(the log is empty)"}
        </ScrollRegion>
      ) : log.error ? (
        <p className="muted small">The log could not be loaded.</p>
      ) : (
        <Skeleton lines={4} />
      )}
    </div>
  );
}
